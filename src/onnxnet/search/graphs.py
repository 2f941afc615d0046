"""The ONNX graphs of candidate architectures, as store-like rows, cached by architecture hash.

Scoring a candidate with a graph-based predictor (or costing it by #params / FLOPs) needs its canonical ONNX
graph; building one NB201 network costs ~0.3-0.5 s on a small CPU. ``GraphRows`` reads a network from a benchmark
store when one is given (``--store``), else builds it with the space's own builder (``bench.build.canonical_onnx``,
weight-free like the store), and keeps every built row in ``graphs.parquet`` under its cache folder, flushed
atomically, so a resumed or repeated search never builds a network twice. Isomorphic architectures share one
row (the key is ``SearchSpace.arch_hash``). ``jobs`` > 1 builds missing networks in that many processes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd

from onnxnet.errors import DataError

#: Built rows are flushed to the cache at least this often (seconds), and every ``flush_every`` networks.
FLUSH_SECONDS = 60.0
#: Columns of a graph row (the store schema without labels).
ROW_COLUMNS = ("id", "space", "arch", "arch_hash", "graph_hash", "onnx", "n_params", "flops", "n_nodes", "macs",
               "depth", "split")


class GraphRows:
    """Store-like rows (``onnx`` bytes, static facts, ``graph_hash``) of architectures of one space."""

    def __init__(self, space: Any, cache_dir: str | os.PathLike[str] | None = None,
                 store: str | os.PathLike[str] | None = None, flush_every: int = 64, jobs: int = 1) -> None:
        self.space = space
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.store = Path(store) if store is not None else None
        self.flush_every = flush_every
        self.jobs = jobs
        self._pool: Any = None
        self._flushed = time.monotonic()
        self._rows: dict[str, dict[str, Any]] = {}
        self._new = 0
        self._store_index: dict[str, int] | None = None
        self._store_rows: pd.DataFrame | None = None
        self.built = 0  # networks built here (not read from a store or cache)
        if self.cache_dir is not None and self._disk.is_file():
            try:
                cached = pd.read_parquet(self._disk)
            except Exception as e:  # noqa: BLE001  (pyarrow raises several types for a damaged file)
                raise DataError(f"graph cache {self._disk} is unreadable ({e}); delete it (it is rebuilt)") from None
            for rec in cached.to_dict("records"):
                self._rows[str(rec["arch_hash"])] = rec

    @property
    def _disk(self) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / f"graphs-{self.space.name}.parquet"

    def _open_store(self) -> None:
        from onnxnet.bench.store import BenchStore

        if self.store is None or self._store_index is not None:
            return
        if not self.store.is_dir():
            raise DataError(f"benchmark store {self.store} not found; pass a folder made by `onnxnet bench build`")
        rows = BenchStore(self.store).read(spaces=[self.space.name], columns=list(ROW_COLUMNS))
        self._store_rows = rows
        self._store_index = {}
        for i, h in enumerate(rows["arch_hash"].astype(str)):
            self._store_index.setdefault(h, i)

    def rows(self, archs: Sequence[Hashable]) -> pd.DataFrame:
        """One row per architecture (in order); a network that cannot be built raises ``DataError``."""
        keys = [self.space.arch_hash(a) for a in archs]
        missing: dict[str, Hashable] = {}
        for arch, key in zip(archs, keys):
            if key in self._rows or key in missing:
                continue
            if self.store is not None:
                self._open_store()
                assert self._store_index is not None and self._store_rows is not None
                i = self._store_index.get(key)
                if i is not None:
                    self._rows[key] = self._store_rows.iloc[i].to_dict()  # not flushed: the store has it
                    continue
            missing[key] = arch
        if missing:
            self._build(missing)
        out = [{**self._rows[key], "arch": self.space.to_string(arch)} for arch, key in zip(archs, keys)]
        frame = pd.DataFrame(out, columns=list(ROW_COLUMNS))
        for col in ("n_params", "flops", "n_nodes", "macs", "depth"):
            frame[col] = frame[col].astype(np.int64)
        return frame

    def _build(self, todo: dict[str, Hashable]) -> None:
        items = list(todo.items())
        if self.jobs > 1 and len(items) > 1:
            from concurrent.futures import ProcessPoolExecutor

            if self._pool is None:
                import multiprocessing as mp

                self._pool = ProcessPoolExecutor(self.jobs, mp_context=mp.get_context("spawn"))
            results = list(self._pool.map(_build_row, [self.space.name] * len(items), [a for _, a in items],
                                          [_space_settings(self.space)] * len(items)))
        else:
            results = [_build_row(self.space.name, a, _space_settings(self.space), self.space) for _, a in items]
        for (key, arch), (rec, err) in zip(items, results):
            if rec is None:
                raise DataError(f"cannot build the ONNX graph of {self.space.name} architecture "
                                f"{self.space.to_string(arch)} ({err}); report it with this architecture")
            self._rows[key] = rec
            self.built += 1
            self._new += 1
        if self._new >= self.flush_every or time.monotonic() - self._flushed > FLUSH_SECONDS:
            self.flush()

    def close(self) -> None:
        """Flush the cache and stop the build workers."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def flush(self) -> None:
        """Write the rows built since the last flush to the cache (atomically)."""
        if self.cache_dir is None or self._new == 0:
            return
        from onnxnet.atomic import write_with

        built = [r for r in self._rows.values() if "onnx" in r]
        frame = pd.DataFrame(built, columns=list(ROW_COLUMNS))
        if self.store is not None and self._store_index is not None:
            frame = frame[~frame["arch_hash"].isin(self._store_index)]  # the store keeps those
        write_with(self._disk, lambda p: frame.to_parquet(p, index=False))
        self._new = 0
        self._flushed = time.monotonic()


def _space_settings(space: Any) -> dict[str, Any]:
    """Class-level network settings of a space (e.g. NB201's ``C`` and ``N``), passed to build workers."""
    return {k: getattr(space, k) for k in ("C", "N") if hasattr(type(space), k)}


def _build_row(name: str, arch: Hashable, settings: dict[str, Any], space: Any = None) -> tuple[Any, str]:
    """The graph row of one architecture (run in a worker process when building in parallel)."""
    from onnxnet.bench.build import _StageError, canonical_onnx, network_id, row_for

    if space is None:
        import torch

        from onnxnet.spaces import get_space

        torch.set_num_threads(1)
        space = get_space(name)
        for k, v in settings.items():
            setattr(space, k, v)
    try:
        model = canonical_onnx(space, arch)
    except _StageError as e:
        return None, str(e)
    return {"id": network_id(space, arch), **row_for(space, arch, model)}, ""
