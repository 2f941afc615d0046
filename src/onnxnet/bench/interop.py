"""Interop with the published ONNX-Bench layout: one folder per space, one ``.onnx`` file per network, accuracy
in the model's ``metadata_props``.

The official ONNX-Net code reads the accuracy as ``model.metadata_props[0].value`` (the *first* property, whatever
its key), so: on import the key is configurable (``key=``); by default the first of ``ACCURACY_KEYS`` present is
used, else the first property if it parses as a number. On export the accuracy is written as the first property
(under ``key``, default ``accuracy``), followed by ``onnxnet.*`` properties (id, space, arch, label, provenance).
Files may sit in nested folders (ONNX-Bench's einspace has ``<space>/<dataset>/<seed>/<net>.onnx``); the
first folder level names the space (``nasbench201_simplify`` -> ``nb201``, see ``SPACE_ALIASES``).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from onnxnet import atomic
from onnxnet.bench.build import _one_thread, run_tasks
from onnxnet.bench.store import BenchStore, split_of
from onnxnet.errors import DataError, OnnxNetError
from onnxnet.graph import graph_facts, graph_hash, load_model
from onnxnet.graph.weights import materialize, strip

#: Metadata keys tried, in order, for the accuracy when no ``key`` is given.
ACCURACY_KEYS: tuple[str, ...] = ("accuracy", "acc", "test_accuracy", "val_accuracy", "test_acc", "val_acc",
                                  "cifar10_accuracy", "top1")
#: ONNX-Bench / NASLib folder names -> onnxnet space names.
SPACE_ALIASES: dict[str, str] = {
    "nasbench201": "nb201", "nas-bench-201": "nb201", "natsbench": "nb201", "nats": "nb201", "nb201": "nb201",
    "natsbench_tss": "nb201", "nasbench101": "nb101", "nas-bench-101": "nb101", "nb101": "nb101",
    "nasbench301": "nb301", "nas-bench-301": "nb301", "darts": "nb301", "nb301": "nb301",
    "hnasbench201": "hnb201", "hnas": "hnb201", "hnb201": "hnb201", "einspace": "einspace",
    "transnas_micro": "transnas_micro", "transbench101_micro": "transnas_micro",
}
IMPORT_CHUNK = 64


def space_from_folder(name: str) -> str:
    """``nasbench201_simplify`` -> ``nb201``; unknown names are kept (lower-cased) as the space name."""
    base = name.lower()
    for suffix in ("_simplify", "_simplified", "_onnx", "-onnx"):
        base = base.removesuffix(suffix)
    return SPACE_ALIASES.get(base, base)


def read_accuracy(model: Any, key: str | None = None) -> tuple[float, str | None]:
    """``(accuracy, key used)`` from ``metadata_props``; ``(nan, None)`` when there is none."""
    props = [(p.key, p.value) for p in model.metadata_props]
    d = dict(props)
    if key is not None:
        if key not in d:
            return math.nan, None
        return _num(d[key]), key
    for k in ACCURACY_KEYS:
        if k in d and not math.isnan(_num(d[k])):
            return _num(d[k]), k
    if props and not math.isnan(_num(props[0][1])):
        return _num(props[0][1]), props[0][0]
    return math.nan, None


def _num(v: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class ImportReport:
    store: str
    files: int = 0
    imported: int = 0
    failed: int = 0
    unlabelled: int = 0
    skipped_done: int = 0
    per_space: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        spaces = ", ".join(f"{s}: {n}" for s, n in sorted(self.per_space.items()))
        keys = ", ".join(f"{k}: {n}" for k, n in sorted(self.keys.items())) or "none"
        return (f"imported {self.imported} of {self.files} files ({spaces}); {self.failed} failed, "
                f"{self.unlabelled} without an accuracy, {self.skipped_done} already imported; accuracy keys "
                f"used: {keys}; {self.seconds:.1f} s -> {self.store}")


def find_onnx_files(src: Path, space: str | None) -> list[tuple[str, str, Path]]:
    """``(space, name, path)`` for every ``.onnx`` file under ``src``, in sorted order."""
    out = []
    for p in sorted(src.rglob("*.onnx")):
        rel = p.relative_to(src)
        if len(rel.parts) >= 2 and space is None:
            sp = space_from_folder(rel.parts[0])
            name = "/".join(rel.with_suffix("").parts[1:])
        elif space is not None:
            sp = space
            name = "/".join(rel.with_suffix("").parts)
        else:
            raise DataError(f"{p} is not inside a per-space folder of {src}; pass --space NAME for loose files")
        out.append((sp, name, p))
    return out


@dataclass
class ImportTask:
    """One chunk of files to import and the part it is committed as."""

    store: str
    part: str
    space: str
    items: list[tuple[str, str]]  # (name, path)
    key: str | None
    simplifier: str | None
    keep_weights: bool


def import_chunk(task: ImportTask) -> dict[str, Any]:
    """Load, canonicalise and commit one chunk of ONNX files; runs in a worker process. Returns counts."""
    import warnings

    import onnx

    warnings.filterwarnings("ignore")
    rows, fails = [], []
    keys: dict[str, int] = {}
    unlabelled = 0
    sp = task.space
    for name, path in task.items:
        nid, p = f"{sp}/{name}", Path(path)
        try:
            raw = onnx.load(str(p), load_external_data=False)
            acc, used = read_accuracy(raw, task.key)
            model = load_model(p, simplifier=task.simplifier, name=str(p))
            if not task.keep_weights:
                model = strip(model)
            facts, gh = graph_facts(model), graph_hash(model)
        except OnnxNetError as e:
            fails.append({"id": nid, "space": sp, "arch": str(p), "stage": "load", "reason": str(e)[:500]})
            continue
        except Exception as e:  # a file onnx itself cannot parse
            why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            fails.append({"id": nid, "space": sp, "arch": str(p), "stage": "load",
                          "reason": f"cannot read {p} as ONNX ({why}); not a valid ONNX file"[:500]})
            continue
        if used is None:
            unlabelled += 1
        else:
            keys[used] = keys.get(used, 0) + 1
        rows.append({"id": nid, "space": sp, "arch": f"file:{name}", "arch_hash": "", "graph_hash": gh,
                     "onnx": model.SerializeToString(), "n_params": int(facts.n_params),
                     "flops": int(facts.flops), "n_nodes": int(facts.n_nodes), "macs": int(facts.macs),
                     "depth": int(facts.depth), "split": split_of(gh), "accuracy": acc,
                     "accuracy_label": f"onnx_bench:{used}" if used else ""})
    BenchStore(task.store).write_part(task.part, pd.DataFrame(rows) if rows else pd.DataFrame(columns=["id"]),
                                      pd.DataFrame(fails) if fails else None)
    return {"space": sp, "imported": len(rows), "failed": len(fails), "unlabelled": unlabelled, "keys": keys,
            "n": len(task.items)}


def import_onnx_bench(src: str | os.PathLike[str], out: str | os.PathLike[str], *, key: str | None = None,
                      space: str | None = None, simplifier: str | None = "onnxsim", keep_weights: bool = False,
                      jobs: int = 1, progress: bool = True) -> ImportReport:
    """Import every ``.onnx`` file under ``src`` into the store ``out`` (created if needed); resumable.

    Each file is loaded through ``onnxnet.graph.load_model`` (checked, simplified, canonical) and stored
    weight-free unless ``keep_weights``. Files that cannot be loaded are recorded in ``failures``. Chunks of
    ``IMPORT_CHUNK`` files are committed atomically, in ``jobs`` worker processes; rerunning skips done chunks.
    """
    from tqdm.auto import tqdm

    t0 = time.time()
    if jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {jobs}")
    srcp = Path(src)
    if not srcp.is_dir():
        raise DataError(f"{srcp} is not a folder; expected the ONNX-Bench layout <space>/<net>.onnx")
    files = find_onnx_files(srcp, space)
    if not files:
        raise DataError(f"no .onnx files under {srcp}; expected the ONNX-Bench layout <space>/<net>.onnx")
    store = BenchStore.create(out)
    rep = ImportReport(str(store.path), files=len(files))
    by_space: dict[str, list[tuple[str, Path]]] = {}
    for sp, name, p in files:
        by_space.setdefault(sp, []).append((name, p))
    tasks: list[ImportTask] = []
    for sp, items in sorted(by_space.items()):
        rep.per_space[sp] = 0
        for sub in ("networks", "failures"):  # leftovers of a killed import of this space
            for tmp in (store.path / sub).glob(f".{sp}-import*{atomic.TMP_MARK}*"):
                tmp.unlink(missing_ok=True)
        for k in range(0, len(items), IMPORT_CHUNK):
            chunk = items[k:k + IMPORT_CHUNK]
            digest = hashlib.sha256("\n".join(n for n, _ in chunk).encode()).hexdigest()[:10]
            part = f"{sp}-import{digest}-{k // IMPORT_CHUNK:05d}"
            if store.has_part(part):
                rep.skipped_done += len(chunk)
                continue
            tasks.append(ImportTask(str(store.path), part, sp, [(n, str(p)) for n, p in chunk], key, simplifier,
                                    keep_weights))
    bar = tqdm(total=len(files) - rep.skipped_done, desc="import", unit="file", disable=not progress)

    def done(res: dict[str, Any]) -> None:
        rep.imported += res["imported"]
        rep.failed += res["failed"]
        rep.unlabelled += res["unlabelled"]
        rep.per_space[res["space"]] += res["imported"]
        for k_, v_ in res["keys"].items():
            rep.keys[k_] = rep.keys.get(k_, 0) + v_
        bar.update(res["n"])

    try:
        if jobs == 1:
            _one_thread()
            for t in tasks:
                done(import_chunk(t))
        elif tasks:
            run_tasks(import_chunk, tasks, jobs, done)
    finally:
        bar.close()
    entry = {"source": str(srcp.resolve()), "files": rep.files, "imported": rep.imported, "failed": rep.failed,
             "key": key, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    store.update_meta(lambda m: m.setdefault("imports", []).append(entry))
    rep.seconds = time.time() - t0
    return rep


def export_onnx_bench(store: str | os.PathLike[str] | BenchStore, dest: str | os.PathLike[str], *,
                      key: str = "accuracy", spaces: Sequence[str] | None = None,
                      labelled_only: bool = False) -> int:
    """Write every stored network as ``dest/<space>/<name>.onnx`` with its accuracy in ``metadata_props``.

    Weight-free networks get placeholder weights (``onnxnet.graph.weights.materialize``) so each file is a
    valid, runnable ONNX model. The accuracy is the first property (what the ONNX-Net reference code reads).
    Returns the number of files written.
    """
    import onnx

    st = store if isinstance(store, BenchStore) else BenchStore(store)
    df = st.read(spaces=spaces, columns=["id", "space", "arch", "onnx", "accuracy", "accuracy_label"])
    provenance = {s: v.get("labels", {}).get(v.get("primary_label") or "", {})
                  for s, v in st.meta.get("spaces", {}).items()}
    root = Path(dest)
    n = 0
    for r in df.itertuples(index=False):
        acc = float(r.accuracy) if r.accuracy is not None else math.nan
        if labelled_only and math.isnan(acc):
            continue
        model = materialize(onnx.load_from_string(r.onnx))
        props = [(k_, v_) for k_, v_ in ((p.key, p.value) for p in model.metadata_props)]
        del model.metadata_props[:]
        meta: list[tuple[str, str]] = [(key, repr(acc) if not math.isnan(acc) else "nan")]
        meta += [("onnxnet.id", r.id), ("onnxnet.space", r.space), ("onnxnet.arch", r.arch),
                 ("onnxnet.accuracy_label", r.accuracy_label or "")]
        prov = provenance.get(r.space) or {}
        if prov:
            meta.append(("onnxnet.accuracy_provenance",
                         f"{prov.get('source_repo')} ({prov.get('licence')}); {prov.get('benchmark')}"))
        meta += [p for p in props if p[0] not in dict(meta)]
        for k_, v_ in meta:
            model.metadata_props.add(key=k_, value=str(v_))
        name = r.id.split("/", 1)[1] if "/" in r.id else r.id
        target = root / r.space / f"{name}.onnx"
        atomic.write_bytes(target, model.SerializeToString())
        n += 1
    return n
