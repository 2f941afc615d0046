"""The build pipeline: architecture -> torch -> ONNX -> simplified, canonical ONNX -> facts -> store row.

``build_store(BuildOptions(space="nb201", out="runs/bench"))`` plans the architectures (all, the labelled ones,
a seeded sample, or a file), splits the plan into fixed chunks, and builds the chunks in worker processes (one
torch thread each). Each worker commits its chunk as one Parquet part file, atomically, and only then is the
chunk done: a build killed at any moment (even ``kill -9``) is resumed by running the same command again, and
the resumed store equals an uninterrupted one (same part files, same rows, no row lost or duplicated).
Every network that fails is recorded in ``failures`` with the stage (build, export, load, facts) and reason.

Stored ONNX is weight-free (see ``onnxnet.graph.weights``): exact graph, attributes, shapes and structural
constants, but large random-init weight tensors keep only their dims, unless ``keep_weights`` is set. That
keeps an NB201 network at ~16 KB instead of ~1.8 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from onnxnet import atomic
from onnxnet.bench.labels import load_labels
from onnxnet.bench.store import BenchStore, split_of
from onnxnet.errors import ArchitectureError, DataError, OnnxNetError
from onnxnet.graph import export_torch, graph_facts, graph_hash, load_model
from onnxnet.graph.weights import strip as strip_weights
from onnxnet.spaces import get_space

#: Bumped when the rows a build produces change; it is part of the plan key (and so of every part name), so
#: parts from an older pipeline are never resumed into or mixed with a newer build's chunks.
PIPELINE_VERSION = 3  # 2: constant-valued (e.g. all-zero) weights kept in stored ONNX; 3: all-zero kernels in graph_hash and text


@dataclass
class BuildOptions:
    """What to build and how (mirrors ``onnxnet bench build``)."""

    space: str
    out: str | os.PathLike[str]
    limit: int | None = None  # a seeded random subset of this many archs from the plan
    jobs: int = 1
    seed: int = 0
    archs: str | os.PathLike[str] | None = None  # file of architectures (one per line, or a JSON list)
    labelled_only: bool = False
    require_label: str | None = None  # only archs that have this label (e.g. cifar10_val_108ep)
    chunk_size: int = 32
    reuse_isomorphic: str = "auto"  # auto | on | off
    keep_weights: bool = False
    simplifier: str | None = "onnxsim"
    data: str | os.PathLike[str] | None = None
    progress: bool = True
    executor: str = "local"  # local (process pool of --jobs) | ray (one Ray task per chunk)
    address: str | None = None  # Ray cluster to join (executor ray); None starts a local Ray

    def plan_settings(self) -> dict[str, Any]:
        """The settings that determine the rows (and thus the plan key)."""
        return {"space": self.space, "keep_weights": self.keep_weights, "simplifier": self.simplifier,
                "pipeline": PIPELINE_VERSION, "chunk_size": self.chunk_size}


@dataclass
class BuildReport:
    """What a build did."""

    store: str
    space: str
    plan: str
    planned: int
    built: int = 0
    failed: int = 0
    skipped_existing: int = 0
    chunks_done_before: int = 0
    chunks_built: int = 0
    seconds: float = 0.0
    reuse_isomorphic: bool = False
    reuse_check: dict[str, Any] = field(default_factory=dict)
    labels_unjoined: int = 0

    def summary(self) -> str:
        rate = self.built / self.seconds if self.seconds > 0 else float("nan")
        return (f"{self.space}: {self.planned} planned, {self.built} built, {self.failed} failed, "
                f"{self.skipped_existing} already in the store from other builds; {self.chunks_built} chunks built, "
                f"{self.chunks_done_before} done before (resumed); {self.seconds:.1f} s ({rate:.2f} nets/s); "
                f"isomorphic reuse {'on' if self.reuse_isomorphic else 'off'} -> {self.store}")


# ------------------------------------------------------------------------------------------------------ planning

def network_id(space: Any, arch: Hashable) -> str:
    """``{space}/{official index}`` when the space has an index, else ``{space}/{hash of the arch string}``."""
    if hasattr(space, "index_of"):
        try:
            return f"{space.name}/{int(space.index_of(arch))}"
        except (KeyError, OnnxNetError, ValueError):
            pass
    return f"{space.name}/{hashlib.sha256(space.to_string(arch).encode()).hexdigest()[:16]}"


def read_arch_file(space: Any, path: str | os.PathLike[str]) -> list[Hashable]:
    """Architectures from a file: a JSON list, or one architecture per line (``#`` comments allowed)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"architecture file {p} not found")
    text = p.read_text()
    items: list[tuple[int, Any]]
    if text.lstrip().startswith("[") and p.suffix == ".json":
        try:
            items = list(enumerate(json.loads(text), start=1))
        except json.JSONDecodeError as e:
            raise DataError(f"{p} is not valid JSON: {e}") from e
    else:
        items = [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), start=1)
                 if ln.strip() and not ln.lstrip().startswith("#")]
    out = []
    for line, item in items:
        try:
            out.append(space.parse(item))
        except ArchitectureError as e:
            raise ArchitectureError(f"{p}, entry {line}: {e}") from None
    return out


def labelled_archs(table: Any, require_label: str | None = None) -> list[Hashable]:
    """The architectures of a ``LabelTable`` (only those with ``require_label`` when given)."""
    frame = table.frame
    if require_label is not None:
        name = require_label.removeprefix("label:")
        if name not in frame.columns:
            raise DataError(f"--require-label {name!r}: space {table.space!r} has no such label; its labels are: "
                            f"{', '.join(frame.columns) or 'none'}")
        frame = frame[frame[name].notna()]
    return [table.parsed[a] for a in frame.index]


def _sample_unique(space: Any, n: int, seed: int, rounds: int = 10) -> list[Hashable]:
    """Up to ``n`` distinct architectures sampled with seeds ``seed, seed+1, ...`` (deterministic)."""
    out: dict[str, Hashable] = {}
    for r in range(rounds):
        for a in space.sample_many(n, seed=seed + r):
            out.setdefault(space.to_string(a), a)
            if len(out) == n:
                return list(out.values())
    return list(out.values())


def plan_archs(opts: BuildOptions, space: Any, labelled: Sequence[Hashable] | None) -> list[Hashable]:
    """The ordered, duplicate-free list of architectures a build covers."""
    if opts.archs is not None:
        archs = read_arch_file(space, opts.archs)
    elif opts.labelled_only or opts.require_label is not None:
        archs = list(labelled or [])
        if not archs:
            raise DataError(f"--labelled-only: no labelled architectures for space {space.name!r} in the data folder")
    else:
        try:
            archs = list(space.enumerate())
        except ArchitectureError:
            if not opts.limit:
                raise ArchitectureError(f"space {space.name!r} cannot be enumerated; pass --limit N to sample N "
                                        "architectures, --labelled-only, or --archs FILE") from None
            archs = _sample_unique(space, int(opts.limit), opts.seed)
    seen: dict[str, Hashable] = {}
    for a in archs:
        seen.setdefault(space.to_string(a), a)
    archs = list(seen.values())
    if opts.limit is not None:
        if opts.limit < 1:
            raise ArchitectureError(f"--limit must be a positive number, got {opts.limit}")
        if opts.limit < len(archs):
            rng = np.random.default_rng(opts.seed)
            keep = np.sort(rng.choice(len(archs), size=int(opts.limit), replace=False))
            archs = [archs[i] for i in keep]
    if hasattr(space, "index_of"):
        try:
            archs.sort(key=space.index_of)
        except (KeyError, OnnxNetError):
            pass
    return archs


# -------------------------------------------------------------------------------------------------- one network

def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}"[:500]


def canonical_onnx(space: Any, arch: Hashable, *, simplifier: str | None = "onnxsim",
                   keep_weights: bool = False) -> Any:
    """The canonical (weight-free unless ``keep_weights``) ModelProto of one architecture.

    Raises ``_StageError`` naming the stage (build, export, load, weights) that failed and why.
    """
    stage = "build"
    try:
        module = space.build(arch)
        stage = "export"
        model = export_torch(module, space.input_shape)
        stage = "load"
        model = load_model(model, simplifier=simplifier, name=f"{space.name}:{space.to_string(arch)}")
        if not keep_weights:
            stage = "weights"
            model = strip_weights(model)
    except Exception as e:  # any failure of any library: recorded with its stage, never swallowed
        raise _StageError(stage, _reason(e)) from e
    return model


class _StageError(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


def row_for(space: Any, arch: Hashable, model: Any) -> dict[str, Any]:
    """The store row of ``arch`` given its canonical model (labels are added by the caller)."""
    facts = graph_facts(model)
    gh = graph_hash(model)
    return {
        "space": space.name, "arch": space.to_string(arch), "arch_hash": space.arch_hash(arch), "graph_hash": gh,
        "onnx": model.SerializeToString(), "n_params": int(facts.n_params), "flops": int(facts.flops),
        "n_nodes": int(facts.n_nodes), "macs": int(getattr(facts, "macs", 0) or 0),
        "depth": int(getattr(facts, "depth", 0) or 0), "split": split_of(gh),
    }


# ------------------------------------------------------------------------------------------------------ workers

@dataclass
class ChunkTask:
    """One chunk: what a worker builds and where it commits it."""

    store: str
    part: str
    space: str
    items: list[tuple[str, str, dict[str, float]]]  # (id, canonical arch string, labels incl. accuracy)
    primary: str | None
    simplifier: str | None
    keep_weights: bool
    reuse_isomorphic: bool


def _init_worker(parent: int) -> None:
    """Worker-process setup: die with the build process, one torch thread."""
    _die_with_parent(parent)
    _one_thread()


def _one_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _die_with_parent(parent: int) -> None:
    """Have this worker end when the build process ``parent`` dies (no orphans after ``kill -9``).

    Linux: the kernel sends SIGKILL on the parent's death (PR_SET_PDEATHSIG). Everywhere: a watchdog thread
    exits when the parent pid changes. If the parent already died while this worker was starting, exit now.
    """
    import sys
    import threading

    if os.getppid() != parent:
        os._exit(1)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="onnxnet-parent-watchdog", daemon=True).start()


def build_chunk(task: ChunkTask) -> tuple[str, int, int]:
    """Build and commit one chunk; returns ``(part, n_built, n_failed)``. Runs in a worker process."""
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    space = get_space(task.space)
    rows, fails = [], []
    by_hash: dict[str, dict[str, Any]] = {}  # arch_hash -> row, when isomorphic reuse is on
    for nid, arch_str, labels in task.items:
        try:
            arch = space.parse(arch_str)
        except OnnxNetError as e:
            fails.append({"id": nid, "space": space.name, "arch": arch_str, "stage": "parse", "reason": _reason(e)})
            continue
        try:
            ah = space.arch_hash(arch) if task.reuse_isomorphic else None
            if ah is not None and ah in by_hash:
                row = dict(by_hash[ah], arch=space.to_string(arch), arch_hash=ah)
            else:
                model = canonical_onnx(space, arch, simplifier=task.simplifier, keep_weights=task.keep_weights)
                try:
                    row = row_for(space, arch, model)
                except Exception as e:
                    raise _StageError("facts", _reason(e)) from e
                if ah is not None:
                    by_hash[ah] = row
        except _StageError as e:
            fails.append({"id": nid, "space": space.name, "arch": arch_str, "stage": e.stage, "reason": e.reason})
            continue
        row = dict(row)
        row["id"] = nid
        row["accuracy"] = labels.get(task.primary, float("nan")) if task.primary else float("nan")
        row["accuracy_label"] = task.primary or ""
        for k, v in labels.items():
            row[f"label:{k}"] = v
        rows.append(row)
    store = BenchStore(task.store)
    store.write_part(task.part, pd.DataFrame(rows) if rows else pd.DataFrame(columns=["id"]),
                     pd.DataFrame(fails) if fails else None)
    return task.part, len(rows), len(fails)


# ----------------------------------------------------------------------------------------- isomorphic reuse check

def check_isomorphic_reuse(space: Any, archs: Sequence[Hashable], *, sample: int = 8, seed: int = 0,
                           simplifier: str | None = "onnxsim", keep_weights: bool = False) -> dict[str, Any]:
    """Export pairs of isomorphic architectures and compare their stored ONNX bytes.

    Reuse is safe only if every sampled pair gives byte-identical canonical ONNX (weight-free form, so only structure is compared).
    """
    groups: dict[str, list[Hashable]] = {}
    for a in archs:
        groups.setdefault(space.arch_hash(a), []).append(a)
    multi = [g for g in groups.values() if len(g) > 1]
    if not multi:
        return {"checked": 0, "identical": 0, "groups": len(groups), "ok": False, "why": "no isomorphic pairs"}
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(multi), size=min(sample, len(multi)), replace=False)
    same, diffs = 0, []
    for i in pick:
        g = multi[int(i)]
        j = int(rng.integers(1, len(g)))
        try:
            b0 = canonical_onnx(space, g[0], simplifier=simplifier, keep_weights=keep_weights)
            b1 = canonical_onnx(space, g[j], simplifier=simplifier, keep_weights=keep_weights)
        except _StageError as e:
            diffs.append(f"{space.to_string(g[0])}: {e}")
            continue
        if b0.SerializeToString() == b1.SerializeToString():
            same += 1
        else:
            diffs.append(f"{space.to_string(g[0])} vs {space.to_string(g[j])}")
    return {"checked": len(pick), "identical": same, "groups": len(groups), "ok": same == len(pick),
            "differing": diffs[:5]}


# ------------------------------------------------------------------------------------------------------ driver

def build_store(opts: BuildOptions, on_progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Build (or resume building) ``opts.space`` into the store at ``opts.out``; see the module docstring."""
    t0 = time.time()
    if opts.limit is not None and opts.limit < 1:
        raise ArchitectureError(f"--limit must be a positive number, got {opts.limit}")
    if opts.chunk_size < 1:
        raise DataError(f"--chunk-size must be at least 1, got {opts.chunk_size}")
    check_out_folder(opts.out)
    if opts.jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {opts.jobs}")
    if opts.reuse_isomorphic not in ("auto", "on", "off"):
        raise DataError(f"reuse_isomorphic must be auto, on or off, got {opts.reuse_isomorphic!r}")
    space = get_space(opts.space)
    table = load_labels(space.name, opts.data)
    labelled = labelled_archs(table, opts.require_label)
    archs = plan_archs(opts, space, labelled)
    store = BenchStore.create(opts.out)
    with _space_lock(store, space.name):
        return _build_locked(opts, space, table, archs, store, t0, on_progress)


@contextmanager
def _space_lock(store: BenchStore, space: str) -> Iterator[None]:
    """One build per (store, space) at a time; builds of different spaces may share a store."""
    import fcntl

    with open(store.path / f".build-{space}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"another build of space {space!r} is running into {store.path}; wait for it to finish "
                            "(builds of other spaces may run at the same time)") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_locked(opts: BuildOptions, space: Any, table: Any, archs: list[Hashable], store: BenchStore,
                  t0: float, on_progress: Callable[[int, int], None] | None) -> BuildReport:
    # temp files of killed writers of this space (other spaces' writers may be alive and writing)
    for sub in ("networks", "failures"):
        for p in (store.path / sub).glob(f".{space.name}-*{atomic.TMP_MARK}*"):
            p.unlink(missing_ok=True)
    strings = [space.to_string(a) for a in archs]
    plan_key, reuse, reuse_check, order = _plan(opts, space, archs, strings, store)
    store.record_space(space.name, {"label_summary": {c: int(table.frame[c].notna().sum())
                                                      for c in table.frame.columns},
                                    "labels_unjoined": table.unjoined.to_dict("records")[:200],
                                    "labels_unjoined_count": int(len(table.unjoined))})
    report = BuildReport(str(store.path), space.name, plan_key, len(archs), reuse_isomorphic=reuse,
                         reuse_check=reuse_check, labels_unjoined=len(table.unjoined))
    tasks = _chunk_tasks(opts, space, table, archs, strings, order, plan_key, reuse, store, report)
    _run_chunks(opts, space.name, tasks, report, on_progress)

    def finish(meta: dict[str, Any]) -> None:
        meta["builds"][plan_key].update(status="complete",
                                        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    store.update_meta(finish)
    report.seconds = time.time() - t0
    return report


def _plan(opts: BuildOptions, space: Any, archs: list[Hashable], strings: list[str],
          store: BenchStore) -> tuple[str, bool, dict[str, Any], list[int]]:
    """The build plan (key, isomorphic reuse and its check, network order): the saved one when this build is
    resumed, else decided now and recorded in the store before any network is built."""
    settings = opts.plan_settings()
    plan_key = hashlib.sha256(json.dumps([settings, strings]).encode()).hexdigest()[:10]
    plan_file = store.path / "plans" / f"{plan_key}.json"
    builds = store.meta.setdefault("builds", {})
    if plan_key in builds and plan_file.is_file():
        rec = builds[plan_key]
        return plan_key, bool(rec["reuse_isomorphic"]), rec.get("reuse_check", {}), \
            json.loads(plan_file.read_text())["order"]
    reuse_check: dict[str, Any] = {}
    if opts.reuse_isomorphic == "on":
        reuse = True
    elif opts.reuse_isomorphic == "off":
        reuse = False
    else:
        reuse_check = check_isomorphic_reuse(space, archs, seed=opts.seed, simplifier=opts.simplifier,
                                             keep_weights=opts.keep_weights)
        reuse = bool(reuse_check["ok"])
    order = list(range(len(archs)))
    if reuse:  # isomorphic archs adjacent, so a chunk exports each graph once
        hashes = [space.arch_hash(a) for a in archs]
        order.sort(key=lambda i: (hashes[i], i))
    atomic.write_json(plan_file, {"space": space.name, "settings": settings, "order": order, "archs": strings})
    record = {"space": space.name, "settings": settings, "n": len(archs),
              "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()
                          if k not in ("out", "progress")},
              "reuse_isomorphic": reuse, "reuse_check": reuse_check, "status": "running",
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    store.update_meta(lambda m: m.setdefault("builds", {}).__setitem__(plan_key, record))
    return plan_key, reuse, reuse_check, order


def _chunk_tasks(opts: BuildOptions, space: Any, table: Any, archs: list[Hashable], strings: list[str],
                 order: list[int], plan_key: str, reuse: bool, store: BenchStore,
                 report: BuildReport) -> list[ChunkTask]:
    """The chunks still to build; finished chunks and ids held by parts of *other* builds (never duplicated) are
    counted in ``report`` and skipped."""
    own_prefix = f"{space.name}-{plan_key}-"
    other_ids: set[str] = set()
    for f in store.part_files():
        if f.name.startswith(f"{space.name}-") and not f.name.startswith(own_prefix):
            other_ids.update(store._read_file(f, ["id"]).column("id").to_pylist())
    label_rows = table.frame.to_dict("index") if len(table.frame) else {}
    ids = [network_id(space, a) for a in archs]
    tasks: list[ChunkTask] = []
    for k in range(0, len(order), opts.chunk_size):
        part = f"{own_prefix}{k // opts.chunk_size:05d}"
        if store.has_part(part):
            report.chunks_done_before += 1
            continue
        items = []
        for i in order[k:k + opts.chunk_size]:
            if ids[i] in other_ids:
                report.skipped_existing += 1
                continue
            labs = {n: float(v) for n, v in label_rows.get(strings[i], {}).items() if v == v}
            items.append((ids[i], strings[i], labs))
        tasks.append(ChunkTask(str(store.path), part, space.name, items, table.primary, opts.simplifier,
                               opts.keep_weights, reuse))
    return tasks


def _run_chunks(opts: BuildOptions, space_name: str, tasks: list[ChunkTask], report: BuildReport,
                on_progress: Callable[[int, int], None] | None) -> None:
    """Build ``tasks`` (in this process with ``jobs=1``, else in a pool), counting into ``report``."""
    from tqdm.auto import tqdm

    total = sum(len(t.items) for t in tasks)
    bar = tqdm(total=total, desc=f"build {space_name}", unit="net", disable=not opts.progress, smoothing=0.05)

    def done(res: tuple[str, int, int]) -> None:
        _, ok, bad = res
        report.built += ok
        report.failed += bad
        report.chunks_built += 1
        bar.update(ok + bad)
        if on_progress:
            on_progress(report.built + report.failed, total)

    try:
        if opts.executor == "ray" and tasks:
            from onnxnet.bench.ray_tasks import map_ray

            map_ray(build_chunk, tasks, done, address=opts.address, num_cpus=opts.jobs if not opts.address else None)
        elif opts.executor != "local":
            raise DataError(f"unknown build executor {opts.executor!r}; use local or ray")
        elif opts.jobs == 1:
            _one_thread()
            for t in tasks:
                done(build_chunk(t))
        elif tasks:
            run_tasks(build_chunk, tasks, opts.jobs, done)
    finally:
        bar.close()


def check_out_folder(out: str | os.PathLike[str]) -> None:
    """Refuse to turn a file, or a non-empty folder that is not a store, into a store (before any work)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise DataError(f"{p} exists and is not a folder; choose another --out")
    if p.is_dir() and not (p / "meta.json").is_file() and any(x for x in p.iterdir() if not x.name.startswith(".")):
        raise DataError(f"{p} is a non-empty folder without meta.json; refusing to turn it into a store. "
                        "Choose an empty or new --out folder")


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Terminate the workers of ``pool`` and drop its queued chunks (each finished chunk is already committed)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def run_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any], jobs: int, done: Callable[[Any], None]) -> None:
    """Run ``fn(task)`` for every chunk task in ``jobs`` spawned workers, calling ``done`` as each one finishes.

    Each task commits its own part file, so whatever finished is safe if the build dies; a worker that dies
    (killed, out of memory) becomes a ``DataError`` telling the user to rerun and resume.
    """
    import multiprocessing as mp

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),))
    try:
        pending = {}
        queue = list(tasks)
        # keep at most 2*jobs chunks in flight so an interrupted build has little half-done work
        while queue or pending:
            while queue and len(pending) < 2 * jobs:
                t = queue.pop(0)
                pending[pool.submit(fn, t)] = t
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                t = pending.pop(fut)
                try:
                    done(fut.result())
                except BrokenProcessPool:
                    raise DataError(f"a build worker died (killed or out of memory) while building chunk {t.part}; "
                                    "every finished chunk is safely stored: rerun the same command to resume") from None
                except OnnxNetError:
                    raise
                except Exception as e:
                    raise DataError(f"chunk {t.part} failed outside the per-network error handling: {_reason(e)}\n"
                                    f"{traceback.format_exc(limit=3)}") from e
    except BaseException:  # Ctrl-C / SIGTERM / a failed chunk: stop the workers now, not after their chunks
        _stop_pool(pool)
        raise
    pool.shutdown()