"""Resumable labelling into a store: every finished training becomes one row of a trained-label table.

Layout inside a store (beside ``networks/``)::

    STORE/trained/<label>/<hash of id>.parquet     one row per network (any status), written atomically

The file name is a function of the network id, so a network can never be recorded twice, and a run killed at any
moment leaves each network either fully recorded or not at all: rerunning the same command trains exactly the
networks without a row. ``meta.json`` records each label's provenance (recipe, its hash, data split, dataset,
who wrote it) under ``trained_labels``. A label name belongs to one recipe: continuing it with a different recipe
is refused. ``read_trained`` returns the table; ``import_table`` merges a table trained elsewhere (e.g. on a GPU).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from onnxnet import atomic
from onnxnet.errors import DataError
from onnxnet.label.recipe import Recipe
from onnxnet.label.train import Network, TrainResult

#: Columns of a trained-label table (``curve`` and ``recipe`` are JSON text).
COLUMNS = ["id", "space", "arch", "status", "val_acc", "test_acc", "curve", "epochs", "seconds", "train_images",
           "images_per_s", "n_params", "seed", "recipe_hash", "hardware", "mode", "error"]
TRAINED = "trained"


def label_dir(store: Any, label: str) -> Path:
    if not label.replace("_", "").replace("-", "").isalnum():
        raise DataError(f"label name {label!r} may hold only letters, digits, '_' and '-'")
    return Path(store.path) / TRAINED / label


def _part_name(net_id: str) -> str:
    return hashlib.sha256(net_id.encode()).hexdigest()[:24] + ".parquet"


def result_row(net: Network, res: TrainResult) -> dict[str, Any]:
    d = res.as_dict()
    row = {c: d.get(c) for c in COLUMNS}
    row.update(id=net.id, space=net.space or "", arch=net.arch or net.source, curve=json.dumps(res.curve))
    return row


def write_row(folder: Path, row: dict[str, Any]) -> None:
    """Commit one network's row atomically (its file name is fixed by the id: no duplicates, ever)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.DataFrame([{c: row.get(c) for c in COLUMNS}]).astype(
        {"val_acc": "float64", "test_acc": "float64", "seconds": "float64", "images_per_s": "float64"}),
        preserve_index=False)
    atomic.write_with(folder / _part_name(str(row["id"])), lambda t: pq.write_table(table, t))


def read_trained(store: Any, label: str) -> pd.DataFrame:
    """The trained-label table ``label`` of ``store`` (one row per network, sorted by id)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = label_dir(store, label)
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=COLUMNS)
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f))
        except (pa.ArrowInvalid, OSError) as e:
            raise DataError(f"trained-label file {f} is unreadable ({e}); delete it and rerun the label command "
                            "(that network is trained again)") from e
    df = pa.concat_tables(tables, promote_options="default").to_pandas()
    return df.sort_values("id", kind="stable").reset_index(drop=True)


def trained_labels(store: Any) -> dict[str, dict[str, Any]]:
    """Provenance of every trained label of ``store`` (from ``meta.json``)."""
    return dict(store.reload_meta().get("trained_labels", {}))


def register_label(store: Any, label: str, recipe: dict[str, Any], recipe_hash: str, split: str,
                   origin: str) -> None:
    """Record (or check) ``label``'s provenance; a label name holds one recipe only."""
    def change(meta: dict[str, Any]) -> None:
        labels = meta.setdefault("trained_labels", {})
        old = labels.get(label)
        if old is not None and old.get("recipe_hash") != recipe_hash:
            raise DataError(f"store {store.path} already holds label {label!r} from recipe {old.get('recipe_hash')} "
                            f"({json.dumps(old.get('recipe'))}); this run's recipe is {recipe_hash}. Use the same "
                            "recipe to continue it, or --label NAME for a new label")
        if old is None:
            labels[label] = {"dataset": "cifar10", "recipe": recipe, "recipe_hash": recipe_hash, "split": split,
                             "metric": "top-1 accuracy (%)", "splits": "val_acc: validation, test_acc: test",
                             "origin": origin, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    store.update_meta(change)


@dataclass
class LabelReport:
    label: str
    planned: int = 0
    done_before: int = 0
    trained: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    train_images: int = 0
    lost: int = 0
    lost_reason: str = ""

    def summary(self) -> str:
        rate = self.train_images / self.seconds if self.seconds else 0.0
        st = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) or "none"
        return (f"{self.label}: {self.planned} planned, {self.done_before} labelled before (resumed), "
                f"{self.trained} trained now ({st}); {self.seconds:.1f} s, {rate:,.0f} training images/s"
                + (f"; {self.lost} not recorded (their worker died: {self.lost_reason or 'no reason given'}): "
                   "rerun the same command to train them" if self.lost else ""))


class Progress:
    """networks done / total, training images/s and ETA (a tqdm bar when enabled)."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        self.t0 = time.time()
        self.images = 0
        self.bar = tqdm(total=total, desc=f"label {label}", unit="net", disable=not enabled, smoothing=0.1)

    def update(self, res: TrainResult) -> None:
        self.images += res.train_images
        rate = self.images / max(time.time() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"{rate:,.0f} img/s, last {res.status}", refresh=False)
        self.bar.update(1)  # tqdm's ETA: remaining networks at the observed networks/s

    def close(self) -> None:
        self.bar.close()


def label_networks(store: Any, nets: Sequence[Network], recipe: Recipe, executor: Any, *,
                   label: str | None = None, progress: bool = True, retry: Iterable[str] = (),
                   on_result: Callable[[Network, TrainResult], None] | None = None) -> LabelReport:
    """Train every network of ``nets`` that ``label`` does not hold yet and record each as it finishes.

    ``retry``: statuses (e.g. ``failed``, ``timeout``) whose recorded networks are trained again.
    """
    from onnxnet.label.data import split_name
    from onnxnet.label.executors import Job

    label = label or recipe.label_name()
    folder = label_dir(store, label)
    register_label(store, label, recipe.hashed_fields(), recipe.hash, split_name(), "onnxnet bench label")
    seen: dict[str, Network] = {}
    for n in nets:
        seen.setdefault(n.id, n)
    have = read_trained(store, label)
    retry = set(retry)
    done = set(have["id"][~have["status"].isin(retry)]) if len(have) else set()
    todo = [n for n in seen.values() if n.id not in done]
    rep = LabelReport(label=label, planned=len(seen), done_before=len(seen) - len(todo))
    bar = Progress(len(todo), label, progress)
    t0 = time.time()

    def done_one(job: Any, res: TrainResult) -> None:
        write_row(folder, result_row(job.net, res))
        rep.trained += 1
        rep.statuses[res.status] = rep.statuses.get(res.status, 0) + 1
        rep.train_images += res.train_images
        bar.update(res)
        if on_result is not None:
            on_result(job.net, res)

    try:
        executor.run((Job(n, recipe) for n in todo), done_one)
    finally:
        bar.close()
        rep.seconds = time.time() - t0
        rep.lost = len(getattr(executor, "lost", []))
        rep.lost_reason = getattr(executor, "lost_reason", "")
        close = getattr(executor, "close", None)
        if close is not None:
            close()
    return rep


# ----------------------------------------------------------------------------------------- choosing networks

def store_networks(store: Any, spaces: Sequence[str] | None = None, n: int | None = None, seed: int = 0,
                   ids: Sequence[str] | None = None) -> list[Network]:
    """Networks of ``store`` to label: ``ids`` (in that order), else a seeded sample of ``n`` (all if ``None``)
    of ``spaces``. Registered spaces train from their builder, others from the stored ONNX graph."""
    from onnxnet.spaces import space_names

    cols = ["id", "space", "arch"]
    df = store.read(spaces=spaces, columns=cols)
    if ids is not None:
        missing = [i for i in ids if i not in set(df["id"])]
        if missing:
            raise DataError(f"{len(missing)} ids are not in store {store.path} (e.g. {missing[:3]}); "
                            f"build those networks first (`onnxnet bench build`)")
        df = df.set_index("id").loc[list(ids)].reset_index()
    elif n is not None:
        if n < 1:
            raise DataError(f"--n must be a positive number, got {n}")
        if n < len(df):
            keep = np.sort(np.random.default_rng(seed).choice(len(df), size=n, replace=False))
            df = df.iloc[keep]
    if not len(df):
        raise DataError(f"store {store.path} holds no networks of {', '.join(spaces or []) or 'any space'}; "
                        "build them first with `onnxnet bench build --space NAME --out STORE`")
    known = set(space_names())
    out = []
    for r in df.itertuples():
        if r.space in known:
            out.append(Network(id=r.id, space=r.space, arch=r.arch))
        else:
            out.append(Network(id=r.id, onnx=store.onnx(r.id).SerializeToString(), source=f"{store.path}:{r.id}"))
    return out


def read_id_file(path: str | os.PathLike[str]) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"id file {p} not found (one store id per line, e.g. nb201/1234)")
    return [ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


# ----------------------------------------------------------------------------------------------- import

def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A label table written by ``benchmarks/bench_label_gpu.py`` or another run (``.jsonl`` or ``.parquet``)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"label table {p} not found")
    try:
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.DataFrame([json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()])
    except (ValueError, OSError) as e:
        raise DataError(f"label table {p} is unreadable ({e}); expected .jsonl or .parquet rows") from None
    need = {"space", "arch", "status", "val_acc", "test_acc", "recipe_hash", "recipe"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise DataError(f"label table {p} lacks columns {missing}; it is not an onnxnet label table")
    return df


def import_table(store: Any, path: str | os.PathLike[str], label: str | None = None) -> dict[str, int]:
    """Merge a label table into ``store``: rows are matched to stored networks by space + arch string.

    Rows already present are kept (not repeated); rows whose network is not in the store are counted and
    reported, never silently dropped. Returns counts ``{added, present, not_in_store}``.
    """
    from onnxnet.spaces import get_space

    df = read_table(path)
    hashes = df["recipe_hash"].unique()
    if len(hashes) != 1:
        raise DataError(f"label table {path} mixes {len(hashes)} recipes ({list(hashes)[:3]}); import one recipe "
                        "per label")
    recipe = df["recipe"].iloc[0]
    recipe = json.loads(recipe) if isinstance(recipe, str) else dict(recipe)
    name = label or (str(df["label"].iloc[0]) if "label" in df.columns else Recipe.from_dict(recipe).label_name())
    split = str(df["split"].iloc[0]) if "split" in df.columns else ""
    register_label(store, name, recipe, str(hashes[0]), split, f"import of {Path(path).name}")
    folder = label_dir(store, name)
    stored = store.read(columns=["id", "space", "arch"])
    by_arch = {(s, a): i for i, s, a in zip(stored["id"], stored["space"], stored["arch"])}
    have = set(read_trained(store, name)["id"])
    counts = {"added": 0, "present": 0, "not_in_store": 0}
    missing_by_space: dict[str, int] = {}
    for r in df.to_dict("records"):
        sp = get_space(r["space"])
        arch = sp.to_string(sp.parse(r["arch"]))
        nid = by_arch.get((r["space"], arch))
        if nid is None:
            counts["not_in_store"] += 1
            missing_by_space[r["space"]] = missing_by_space.get(r["space"], 0) + 1
            continue
        if nid in have:
            counts["present"] += 1
            continue
        row = {c: r.get(c) for c in COLUMNS}
        curve = r.get("curve")
        row.update(id=nid, arch=arch, curve=curve if isinstance(curve, str) else json.dumps(curve or []))
        for c in ("val_acc", "test_acc"):
            v = row.get(c)
            row[c] = None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
        write_row(folder, row)
        have.add(nid)
        counts["added"] += 1
    counts["missing_by_space"] = missing_by_space  # type: ignore[assignment]
    return counts
