"""The feature engine: features of many graphs, computed once per graph and kept in memory and on disk.

``features_frame(rows, kind)`` computes the registered feature family ``kind`` (``FEATURES``) for every row,
in-process or in a pool of spawned processes, keyed by the row's ``graph_hash`` (else a hash of its ONNX bytes).
The disk cache is one Parquet file per family and version under ``cache_dir``
(``graph_features_<tag>.parquet``), written atomically as it grows and when the computation stops (an error,
Ctrl-C, SIGTERM), so a killed run resumes where it stopped; the worker processes stop with it (``features.jobs``).
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import Any, Sequence

from onnxnet.atomic import write_with
from onnxnet.errors import ProtocolError
from onnxnet.features.base import FEATURES
from onnxnet.features.jobs import map_chunks, progress_bar, sigterm_interrupts

_MEM_CACHE: dict[tuple[str, str], dict[str, float]] = {}
#: Disk caches already merged into ``_MEM_CACHE``, with the (mtime, size) they had then.
_DISK_READ: dict[Path, tuple[int, int]] = {}


def clear_memory_cache() -> None:
    """Forget the features held in memory (the next ``features_frame`` reads the disk caches again)."""
    _MEM_CACHE.clear()
    _DISK_READ.clear()


def _row_key(row: dict[str, Any]) -> str:
    gh = row.get("graph_hash")
    if isinstance(gh, str) and gh:
        return gh
    raw = row.get("onnx")
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return "sha1:" + hashlib.sha1(bytes(raw)).hexdigest()
    return "id:" + str(row.get("id"))


def _compute_chunk(kind: str, chunk: list[tuple[str, Any]]) -> list[tuple[str, dict[str, float] | None, str]]:
    """Features of ``(key, onnx bytes or path)`` pairs; a failure gives ``(key, None, reason)``."""
    import onnx

    import onnxnet.features  # noqa: F401  (a spawned worker registers the families first)

    fn = FEATURES.get(kind).compute
    out: list[tuple[str, dict[str, float] | None, str]] = []
    for key, src in chunk:
        try:
            model = onnx.load_from_string(bytes(src)) if not isinstance(src, str) else onnx.load(src)
            out.append((key, fn(model), ""))
        except Exception as e:  # noqa: BLE001  (one bad graph is recorded, not fatal)
            out.append((key, None, f"{type(e).__name__}: {e}"))
    return out


def _flush(disk: Path, new: dict[str, dict[str, float]]) -> None:
    """Merge ``new`` into the Parquet cache at ``disk`` (written atomically; existing keys win)."""
    import pandas as pd

    old = _read_parquet(disk) if disk.is_file() else None
    add = pd.DataFrame.from_dict(new, orient="index")
    both = add if old is None else pd.concat([old, add[~add.index.isin(old.index)]])
    write_with(disk, both.to_parquet)


#: Fewer graphs than this to compute are computed in-process whatever ``jobs`` says.
_MIN_PARALLEL = 32


def features_frame(
    rows: Any,
    kind: str = "all",
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    jobs: int = 1,
    flush_every: int = 256,
    compute: bool = True,
    flush_seconds: float = 60.0,
) -> tuple[Any, list[dict[str, str]]]:
    """Features of every row as a DataFrame aligned with ``rows``.

    ``kind``: ``all``, ``facts`` or ``topology`` (static, milliseconds per graph) or ``proxies`` (zero-cost proxies
    of the untrained network, ``onnxnet.features.onnx_proxies``; any registered family, ~0.3 s per NB201 graph). Rows whose graph
    fails get NaN features and an entry ``{"id", "reason"}`` in the returned failure list. Results are cached in
    memory, and on disk under ``cache_dir`` (one Parquet file per kind and version, written atomically every
    ``flush_every`` new graphs or ``flush_seconds``, and when the computation stops for any reason, Ctrl-C and
    SIGTERM included, so a killed run resumes where it stopped); the key is the row's ``graph_hash`` (else a hash
    of its ONNX bytes). ``jobs`` > 1 computes in that many spawned processes (from ``_MIN_PARALLEL`` graphs to
    compute on; they stop with this process, ``features.jobs.map_chunks``). ``progress`` (or
    ``features.jobs.set_progress(True)``) shows networks done, rate and ETA on stderr. ``compute=False`` only
    reads the caches: rows not in them get NaN and a failure saying so.
    """
    import pandas as pd

    if kind not in FEATURES:
        raise ProtocolError(f"unknown feature kind {kind!r}; choose one of {', '.join(FEATURES.names())}")
    tag = FEATURES.get(kind).tag
    disk: Path | None = Path(cache_dir) / f"graph_features_{tag}.parquet" if cache_dir is not None else None
    _read_disk_cache(disk, tag)
    cols = [c for c in ("id", "graph_hash", "onnx", "onnx_path") if c in rows.columns]
    records = rows[cols].to_dict("records")
    keys = [_row_key(r) for r in records]
    failures: list[dict[str, str]] = []
    todo = _to_compute(keys, records, tag, kind, compute, failures)
    failed = _compute(kind, tag, todo, disk, jobs, progress, flush_every, flush_seconds) if todo else {}
    out = []
    for key, row in zip(keys, records):
        rec = _MEM_CACHE.get((tag, key))
        if rec is None and key in failed:
            failures.append({"id": str(row.get("id")), "reason": failed[key]})
        out.append(rec)
    names = sorted({k for r in out if r for k in r})
    frame = pd.DataFrame([r if r else {} for r in out], columns=names, index=rows.index, dtype=float)
    return frame, failures


def _read_parquet(disk: Path) -> Any:
    """The Parquet file at ``disk`` read from one snapshot of its bytes: another process may replace the file
    (atomically) while this one reads, and pyarrow opens a path more than once (footer, then pages)."""
    import io

    import pandas as pd

    return pd.read_parquet(io.BytesIO(disk.read_bytes()))


def _read_disk_cache(disk: Path | None, tag: str) -> None:
    """Load the Parquet cache of one feature kind into the memory cache (once per version of the file)."""
    if disk is None or not disk.is_file():
        return
    stamp = (disk.stat().st_mtime_ns, disk.stat().st_size)
    if _DISK_READ.get(disk.resolve()) != stamp:  # a file already read, unchanged, adds nothing
        cached = _read_parquet(disk)
        for key, rec in zip(cached.index, cached.to_dict("records")):
            _MEM_CACHE.setdefault((tag, str(key)), rec)
        _DISK_READ[disk.resolve()] = stamp


def _to_compute(keys: list[str], records: list[dict[str, Any]], tag: str, kind: str, compute: bool,
                failures: list[dict[str, str]]) -> dict[str, Any]:
    """Graph key -> ONNX bytes or path of every row not cached yet (each graph once); rows that cannot be
    computed (no ONNX, or ``compute=False``) go to ``failures``."""
    todo: dict[str, Any] = {}
    for key, row in zip(keys, records):
        if (tag, key) in _MEM_CACHE or key in todo:
            continue
        if not compute:
            failures.append({"id": str(row.get("id")), "reason": f"not in the {kind} feature cache"})
            continue
        raw = row.get("onnx")
        src = bytes(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else row.get("onnx_path")
        if not src:
            failures.append({"id": str(row.get("id")),
                             "reason": f"row {row.get('id')!r} has no ONNX bytes ('onnx' column) or 'onnx_path'"})
            continue
        todo[key] = src
    return todo


def _compute(kind: str, tag: str, todo: dict[str, Any], disk: Path | None, jobs: int, progress: bool,
             flush_every: int, flush_seconds: float) -> dict[str, str]:
    """Compute ``todo`` into the memory cache (and ``disk`` every ``flush_every`` graphs); the failed graphs'
    reasons by key."""
    failed: dict[str, str] = {}
    import time

    items = list(todo.items())
    # Spawned workers each import torch (seconds): worth it for a store, not for a handful of user files.
    parallel = jobs > 1 and len(items) >= _MIN_PARALLEL
    # Proxies take seconds per network: one per task, so progress and an interrupt lose at most one each.
    size = 1 if not parallel or kind.startswith("prox") else 8
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    bar = progress_bar(len(items), f"{kind} features", progress)
    new: dict[str, dict[str, float]] = {}
    pending, flushed_at = 0, time.monotonic()

    def take(results: list[tuple[str, dict[str, float] | None, str]]) -> None:
        nonlocal pending, flushed_at
        for key, rec, reason in results:
            if rec is None:
                failed[key] = reason
            else:
                _MEM_CACHE[(tag, key)] = new[key] = rec
                pending += 1
        if bar is not None:
            bar.update(len(results))
        if disk is not None and pending and (pending >= flush_every
                                             or time.monotonic() - flushed_at >= flush_seconds):
            _flush(disk, new)
            pending, flushed_at = 0, time.monotonic()

    try:
        with sigterm_interrupts():
            map_chunks(partial(_compute_chunk, kind), chunks, jobs if parallel else 1, take)
    finally:  # also on Ctrl-C / SIGTERM: what was computed is kept
        if bar is not None:
            bar.close()
        if disk is not None and new and pending:
            _flush(disk, new)
    return failed


def compose(rows: Any, families: Sequence[str], **engine: Any) -> tuple[Any, list[dict[str, str]]]:
    """The frames of several registered ``families`` side by side, aligned with ``rows`` (a column an earlier
    family already gave is kept from that one), and their failures, one per row (its first reason, prefixed
    with the family when there are several). ``engine``: ``features_frame``'s keyword arguments."""
    import pandas as pd

    frames, failures, seen = [], [], set()
    for kind in families:
        frame, failed = features_frame(rows, kind=kind, **engine)
        taken = {c for f in frames for c in f.columns}
        frames.append(frame.drop(columns=[c for c in frame.columns if c in taken]))
        for f in failed:
            if f["id"] not in seen:
                seen.add(f["id"])
                failures.append(f if len(families) == 1 else {**f, "reason": f"{kind}: {f['reason']}"})
    return (pd.concat(frames, axis=1) if frames else pd.DataFrame(index=rows.index)), failures
