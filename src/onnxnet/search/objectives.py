"""Search objectives: accuracy (from the oracle or the predictor) and an optional cost to minimise.

A cost comes from the network's graph (``params``: #parameters, ``flops``: FLOPs, both from the canonical ONNX
graph's static facts) or from a published table (``latency``: HW-NAS-Bench's NB201 latency, edge GPU by default;
``latency:raspi4`` etc. pick another device). Two objectives give a Pareto front (higher accuracy, lower cost)
and its hypervolume.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Hashable, Sequence

import numpy as np

from onnxnet.errors import DataError, OnnxNetError
from onnxnet.registry import Registry


class SearchError(OnnxNetError, ValueError):
    """A search that cannot run as asked (bad budget, objective, strategy settings or run folder)."""


#: Cost objectives by name: a function ``(space, archs, rows) -> costs`` (``rows`` are store-like graph rows,
#: ``None`` when the cost needs no graph).
COSTS: Registry[Any] = Registry("search cost")

#: HW-NAS-Bench columns of ``nb201/nb201_hw_cifar10.csv`` per device.
LATENCY_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")


@dataclass(frozen=True)
class Objective:
    """Accuracy alone (``cost is None``) or accuracy against one cost."""

    cost: str | None = None

    @property
    def n(self) -> int:
        return 1 if self.cost is None else 2

    @property
    def needs_graph(self) -> bool:
        return self.cost is not None and self.cost.split(":")[0] in ("params", "flops")

    def label(self) -> str:
        return "accuracy" if self.cost is None else f"accuracy,{self.cost}"

    def costs(self, space: Any, archs: Sequence[Hashable], rows: Any = None) -> np.ndarray:
        """The cost of each architecture (NaN where unknown)."""
        if self.cost is None:
            return np.full(len(archs), np.nan)
        name, _, arg = self.cost.partition(":")
        return np.asarray(COSTS.get(name)(space, archs, rows, arg), dtype=float)


def parse_objective(text: str) -> Objective:
    """``accuracy`` or ``accuracy,COST`` (COST: ``params``, ``flops``, ``latency`` or ``latency:DEVICE``)."""
    parts = [p.strip().lower() for p in str(text).split(",") if p.strip()]
    if not parts or parts[0] != "accuracy" or len(parts) > 2:
        raise SearchError(f"--objective {text!r}: expected 'accuracy' or 'accuracy,COST' with COST one of "
                          f"{', '.join(COSTS.names())} (latency:DEVICE for one of {', '.join(LATENCY_DEVICES)})")
    if len(parts) == 1:
        return Objective(None)
    name, _, arg = parts[1].partition(":")
    COSTS.get(name)  # unknown cost -> UnknownNameError listing the choices
    if name == "latency" and arg and arg not in LATENCY_DEVICES:
        raise SearchError(f"--objective {text!r}: unknown latency device {arg!r}; choose one of "
                          f"{', '.join(LATENCY_DEVICES)}")
    return Objective(parts[1])


def _graph_column(column: str):  # noqa: ANN202
    def cost(space: Any, archs: Sequence[Hashable], rows: Any, arg: str) -> np.ndarray:
        if rows is None or column not in rows.columns:
            raise SearchError(f"the {column} cost needs the networks' graphs (internal: no rows were given)")
        return rows[column].to_numpy(dtype=float)

    return cost


COSTS.register("params")(_graph_column("n_params"))
COSTS.register("flops")(_graph_column("flops"))


@lru_cache(maxsize=4)
def latency_table(device: str = "edgegpu", data: str | None = None) -> dict[str, float]:
    """HW-NAS-Bench NB201 latency (ms) on ``device`` per canonical NB201 cell string."""
    import pandas as pd

    from onnxnet.config import data_dir
    from onnxnet.spaces import get_space

    path = data_dir(data) / "nb201" / "nb201_hw_cifar10.csv"
    col = f"{device}_latency"
    try:
        frame = pd.read_csv(path, usecols=["net", col])
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the latency table {path} ({e}); it ships in the data folder as "
                        "nb201/nb201_hw_cifar10.csv (HW-NAS-Bench)") from None
    sp = get_space("nb201")
    return {sp.to_string(sp.parse(k)): float(v) for k, v in zip(frame["net"], frame[col])}


@COSTS.register("latency")
def _latency(space: Any, archs: Sequence[Hashable], rows: Any, arg: str) -> np.ndarray:
    if space.name != "nb201":
        raise SearchError(f"the latency objective reads HW-NAS-Bench's NB201 table; space {space.name!r} has none. "
                          "Use accuracy,params or accuracy,flops")
    table = latency_table(arg or "edgegpu")
    return np.array([table.get(space.to_string(a), np.nan) for a in archs], dtype=float)


# ------------------------------------------------------------------------------------------------ Pareto sets

def pareto_mask(acc: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """True for points no other point dominates (higher-or-equal accuracy and lower-or-equal cost, one strictly);
    points with a NaN are never on the front."""
    a, c = np.asarray(acc, dtype=float), np.asarray(cost, dtype=float)
    ok = np.isfinite(a) & np.isfinite(c)
    mask = np.zeros(len(a), dtype=bool)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((-a[idx], c[idx]))]  # by cost, then accuracy descending
    best = -np.inf
    for i in order:
        if a[i] > best:
            mask[i] = True
            best = a[i]
    return mask


def nondominated_ranks(acc: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """Front number of each point (0 = Pareto front), by repeated peeling; NaN points get the last rank."""
    a, c = np.asarray(acc, dtype=float), np.asarray(cost, dtype=float)
    rank = np.full(len(a), len(a), dtype=int)
    left = np.isfinite(a) & np.isfinite(c)
    r = 0
    while left.any():
        sub = np.flatnonzero(left)
        front = sub[pareto_mask(a[sub], c[sub])]
        rank[front] = r
        left[front] = False
        r += 1
    return rank


def hypervolume(acc: Sequence[float], cost: Sequence[float], ref: tuple[float, float]) -> float:
    """Area dominated by the points and bounded by ``ref = (accuracy, cost)`` (maximise accuracy, minimise cost);
    points worse than the reference in either objective add nothing."""
    a, c = np.asarray(acc, dtype=float), np.asarray(cost, dtype=float)
    m = pareto_mask(a, c) & (a > ref[0]) & (c < ref[1])
    if not m.any():
        return 0.0
    pts = sorted(zip(c[m], a[m]))  # cost ascending, accuracy ascending along the front
    area, prev_cost = 0.0, ref[1]
    for cost_i, acc_i in reversed(pts):  # from the most expensive (most accurate) point
        area += (prev_cost - cost_i) * (acc_i - ref[0])
        prev_cost = cost_i
    return float(area)
