"""The ``onnxnet train`` job: read a benchmark store, encode, train, and report held-out rank correlation.

Training uses the store's ``train`` split of the chosen spaces; the epoch is selected on their ``val`` split;
the ``test`` split (and any ``--zero-shot`` spaces) is only reported, never used to select anything.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.bench.store import BenchStore
from onnxnet.errors import DataError, TrainingError
from onnxnet.ranking import group_correlation, label_groups
from onnxnet.surrogate.inputs import encode_items, encoding_version
from onnxnet.surrogate.pretrain import PretrainConfig, pretrain_backbone
from onnxnet.surrogate.trainer import TrainConfig, train_surrogate


def _sample(df: Any, n: int | None, seed: int) -> Any:
    """At most ``n`` rows per space, seeded."""
    import pandas as pd

    if n is None:
        return df
    parts = [g.sample(n=min(n, len(g)), random_state=seed) for _, g in df.groupby("space", sort=True)]
    return df.iloc[0:0] if not parts else pd.concat(parts)


def _is_main_process() -> bool:
    """False on the non-zero ranks of an ``accelerate launch`` (they must not write shared files)."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


def encode_rows(rows: Any, encoding: str, desc: str, progress: bool = True, store: Any = None) -> list[str]:
    """Encodings of store rows: from the store's encoding cache where present, else encoded (and cached there)."""
    import pandas as pd
    from tqdm.auto import tqdm

    have: dict[str, str] = {}
    # Our own cache folder in the store: these texts are of the materialised, reloaded graph (see
    # ``inputs._row_model``), which differs from the store's own cache of the weight-free graph.
    version = f"{encoding_version(encoding)}.loaded"
    if store is not None:
        cached = store.encodings(encoding, None, version)
        if len(cached):
            want = set(rows["id"])
            have = {i: t for i, t in zip(cached["id"], cached["text"]) if i in want}
    todo = [(i, b) for i, b in zip(rows["id"], rows["onnx"]) if i not in have]
    new: dict[str, str] = {}
    for i, b in tqdm(todo, desc=desc, disable=not progress or not todo, leave=False, unit="net"):
        new[i] = encode_items([{"onnx": b}], encoding)[0]
    if new and store is not None and _is_main_process():  # one writer under multi-process launches
        try:
            store.add_encodings(encoding, version, None, pd.DataFrame({"id": list(new), "text": list(new.values())}))
        except OSError:  # a read-only store still trains; the texts are just not cached
            pass
    have.update(new)
    return [have[i] for i in rows["id"]]


def run_training(config: TrainConfig, *, bench: Path, spaces: Sequence[str], out: Path, limit: int | None = None,
                 val_limit: int | None = 500, test_limit: int = 1000, zero_shot: Sequence[str] = (),
                 resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """Train on ``bench`` with ``config`` and return ``{"surrogate", "val", "test", "zero_shot", "seconds"}``.

    ``config.val_fraction`` is replaced: 0 when the store has a ``val`` split for the spaces, else 0.1."""
    if not spaces:
        raise TrainingError("no training spaces given; pass --spaces nb201 (or several, comma-separated)")
    seed, encoding = config.seed, config.encoding
    overlap = sorted(set(spaces) & set(zero_shot))
    if overlap:
        raise TrainingError(f"{', '.join(overlap)} cannot be both a training and a zero-shot space")
    t0 = time.time()
    store = BenchStore(bench)
    df = store.read(spaces=list(spaces) + list(zero_shot))
    if df is None or len(df) == 0:
        raise DataError(f"benchmark store {bench} has no networks of {', '.join(list(spaces) + list(zero_shot))}")
    df = df[np.isfinite(df["accuracy"].astype(float))].copy()
    df["group"] = label_groups(df["space"], df["accuracy_label"]) if "accuracy_label" in df.columns \
        else df["space"].astype(str).to_numpy(object)
    missing = [s for s in spaces if not (df["space"] == s).any()]
    if missing:
        raise DataError(f"benchmark store {bench} has no labelled networks of {', '.join(missing)}; "
                        f"it holds: {', '.join(sorted(df['space'].unique()))}")
    tr = _sample(df[df["space"].isin(spaces) & (df["split"] == "train")], limit, seed)
    va = _sample(df[df["space"].isin(spaces) & (df["split"] == "val")], val_limit, seed)
    if len(tr) == 0:
        raise TrainingError(f"the store {bench} has no 'train' split rows for {', '.join(spaces)}")
    sizes = tr["group"].value_counts()
    small = sorted(sizes[sizes < 2].index)
    if small and len(small) < len(sizes):  # a label group of one network cannot be normalised or ranked
        print(f"note: leaving out label group(s) {', '.join(small)}: fewer than 2 training networks")
        tr = tr[~tr["group"].isin(small)]
    vs = va["group"].value_counts()
    va = va[va["group"].isin([g for g in vs.index if vs[g] >= 2 and g in set(tr["group"])])]
    cfg = dataclasses.replace(config, val_fraction=0.1 if len(va) == 0 else 0.0)
    tr_texts = encode_rows(tr, encoding, "encode train", progress, store)
    val = None
    if len(va):
        val = (encode_rows(va, encoding, "encode val", progress, store), va["accuracy"].to_numpy(float),
               va["group"].tolist())
    label = ", ".join(sorted(set(map(str, tr.get("accuracy_label", [])))))
    s = train_surrogate(tr_texts, tr["accuracy"].to_numpy(float), tr["group"].tolist(), out, cfg, val=val,
                        resume=resume, progress=progress,
                        data_info={"source": str(bench), "label": label})
    result: dict[str, Any] = {"surrogate": s, "val": s.settings["training"].get("val_metrics"), "test": None,
                              "zero_shot": None}
    if test_limit > 0:
        te = _sample(df[df["space"].isin(spaces) & (df["split"] == "test")], test_limit, seed)
        if len(te):
            p = s.predict_texts(encode_rows(te, encoding, "encode test", progress, store))
            result["test"] = group_correlation(p, te["accuracy"].to_numpy(float), te["group"].to_numpy(object))
        if zero_shot:
            zs = _sample(df[df["space"].isin(zero_shot)], test_limit, seed)
            if len(zs):
                p = s.predict_texts(encode_rows(zs, encoding, "encode zero-shot", progress, store))
                result["zero_shot"] = group_correlation(p, zs["accuracy"].to_numpy(float), zs["group"].to_numpy(object))
    result["seconds"] = time.time() - t0
    s.settings["training"]["held_out"] = {"test": result["test"], "zero_shot": result["zero_shot"]}
    if _is_main_process():
        s.save_pretrained(out)  # the model card also lists the held-out figures (reported, not used for selection)
    return result


def run_pretraining(config: PretrainConfig, *, bench: Sequence[Path], spaces: Sequence[str], out: Path,
                    encoding: str = "compact", limit: int | None = None, resume: bool = True,
                    progress: bool = True) -> Path:
    """Pretrain a backbone on the encodings of every network of ``spaces`` in the stores ``bench``, labelled or
    not (``onnxnet.surrogate.pretrain``), with ``config``. Returns the folder."""
    if not spaces:
        raise TrainingError("no spaces given; pass --spaces nb201 (or several, comma-separated)")
    texts: list[str] = []
    for folder in bench:
        store = BenchStore(folder)
        df = store.read(spaces=list(spaces), columns=["id", "space", "onnx"])
        if df is None or len(df) == 0:
            raise DataError(f"benchmark store {folder} has no networks of {', '.join(spaces)}")
        df = _sample(df, limit, config.seed) if limit else df
        texts += encode_rows(df, encoding, f"encode {folder}", progress, store)
    n_before = len(texts)
    texts = list(dict.fromkeys(texts))  # a graph stored twice (two stores, or isomorphic ids) counts once
    print(f"pretraining on {len(texts)} distinct encodings of {', '.join(spaces)} ({n_before - len(texts)} repeats "
          "left out)")
    return pretrain_backbone(texts, out, config, resume=resume, progress=progress)


def report_table(result: dict[str, Any]) -> None:
    """Print validation / test / zero-shot rank correlations as a table."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"surrogate rank correlation ({result.get('seconds', 0):.0f} s)")
    for c in ("set", "space", "n", "Kendall tau", "Spearman rho"):
        t.add_column(c, justify="left" if c in ("set", "space") else "right")
    for name in ("val", "test", "zero_shot"):
        for sp, m in (result.get(name) or {}).items():
            if sp == "mean":
                continue
            t.add_row(name.replace("_", "-"), sp, str(m.get("n", "")), f"{m['kendall']:.3f}", f"{m['spearman']:.3f}")
    Console().print(t)
