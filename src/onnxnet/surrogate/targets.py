"""Per-space target normalisation for training: raw accuracies from different spaces are never compared directly.

Ranks and quantiles themselves live in ``onnxnet.ranking`` (re-exported here for old imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from onnxnet.errors import TrainingError
from onnxnet.ranking import (SpaceQuantiles, column_quantiles, column_references,  # noqa: F401  (old path)
                              fit_column_quantiles, load_column_quantiles, rank_within)

#: Names accepted by ``normalize_per_space``.
TARGET_NORMS = ("rank", "zscore", "none")


@dataclass
class SpaceStats:
    """Per-space mean and std of the raw targets, kept so regressed scores can be mapped back to accuracies."""

    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {"mean": self.mean, "std": self.std, "count": self.count}


def normalize_per_space(
    y: Sequence[float], spaces: Sequence[str], method: str = "rank"
) -> tuple[np.ndarray, SpaceStats]:
    """Normalise ``y`` within each space.

    ``rank``: the fractional rank in [0, 1] (ties averaged); ``zscore``: ``(y - mean) / std``;
    ``none``: raw values (only sensible for a single space).
    """
    y_arr = np.asarray(y, dtype=float)
    sp = np.asarray(list(spaces), dtype=object)
    if method not in TARGET_NORMS:
        raise TrainingError(f"unknown target normalisation {method!r}; choose one of: {', '.join(TARGET_NORMS)}")
    if len(sp) != len(y_arr):
        raise TrainingError(f"{len(y_arr)} targets but {len(sp)} space names")
    if not np.all(np.isfinite(y_arr)):
        bad = np.flatnonzero(~np.isfinite(y_arr))
        raise TrainingError(
            f"{len(bad)} of {len(y_arr)} training targets are NaN or infinite (first at row {int(bad[0])}); "
            "drop unlabelled networks before training"
        )
    out = rank_within(y_arr, sp) if method == "rank" else np.empty_like(y_arr)
    stats = SpaceStats()
    for s in np.unique(sp):
        m = sp == s
        v = y_arr[m]
        mu, sd = float(v.mean()), float(v.std())
        stats.mean[str(s)], stats.std[str(s)], stats.count[str(s)] = mu, sd, int(m.sum())
        if method == "zscore":
            out[m] = (v - mu) / (sd if sd > 0 else 1.0)
        elif method == "none":
            out[m] = v
    return out, stats
