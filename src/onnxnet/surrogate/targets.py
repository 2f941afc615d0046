"""Per-space target normalisation: raw accuracies from different spaces are never compared directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from onnxnet.errors import TrainingError

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


def rank_within(values: Sequence[float], groups: Sequence[str]) -> np.ndarray:
    """Each value's fractional rank in [0, 1] within its group (ties share their mean rank): scale-free, so
    values of different spaces, or of different predictors, can be compared and averaged."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(list(groups), dtype=object)
    out = np.empty(len(v), dtype=float)
    for s in np.unique(g):
        m = g == s
        from scipy.stats import rankdata  # here, not at import: scipy.stats costs a second at start-up

        out[m] = (rankdata(v[m]) - 1.0) / max(int(m.sum()) - 1, 1)
    return out


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


@dataclass
class SpaceQuantiles:
    """Per-space reference values, so a score or feature becomes its quantile among the *fitted* networks of its
    space: the same network gets the same value whether it is scored alone or in a batch of 10,000.

    ``transform`` maps a value of a space seen at ``fit`` to its mid-rank quantile in [0, 1] among that space's
    reference values; rows of a space not seen at fit (zero-shot) have no reference, so they are ranked among
    the rows transformed together (mid-rank quantiles), which needs at least two of them (a lone row gets 0.5).
    References are kept as at most ``points`` quantiles, so a saved predictor stays small.
    """

    points: int = 513
    reference: dict[str, list[float]] = field(default_factory=dict)

    def fit(self, values: Sequence[float], groups: Sequence[str]) -> "SpaceQuantiles":
        v = np.asarray(values, dtype=float)
        g = np.asarray(list(groups), dtype=object)
        self.reference = {}
        for s in np.unique(g):
            ref = np.sort(v[(g == s) & np.isfinite(v)])
            if len(ref) > self.points:
                ref = np.quantile(ref, np.linspace(0.0, 1.0, self.points))
            if len(ref):
                self.reference[str(s)] = ref.tolist()
        return self

    def transform(self, values: Sequence[float], groups: Sequence[str]) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        g = np.asarray([str(s) for s in groups], dtype=object)
        out = np.full(len(v), np.nan)
        ok = np.isfinite(v)
        for s in np.unique(g):
            m = (g == s) & ok
            if not m.any():
                continue
            ref = self.reference.get(s)
            if ref is None:  # the mid-rank quantile among these rows, on the same scale as a reference's
                from scipy.stats import rankdata

                out[m] = (rankdata(v[m]) - 0.5) / m.sum()
            else:
                r = np.asarray(ref)
                # Ties within a relative 1e-6: a value recomputed in another batch differs in the last bits (a
                # float32 language model's score by ~1e-7 between a padded batch and a single text).
                eps = 1e-6 * max(1.0, float(np.abs(r).max()))
                out[m] = (np.searchsorted(r, v[m] - eps, "left") + np.searchsorted(r, v[m] + eps, "right")) \
                    / (2.0 * len(r))
        return out


def fit_column_quantiles(X: Any, groups: Sequence[str]) -> dict[str, SpaceQuantiles]:
    """One ``SpaceQuantiles`` per column of the frame ``X``: each feature's per-space reference values."""
    return {c: SpaceQuantiles().fit(X[c].to_numpy(dtype=float), groups) for c in X.columns}


def column_quantiles(X: Any, quantiles: dict[str, SpaceQuantiles], groups: Sequence[str]) -> Any:
    """The frame ``X`` with every column replaced by its per-space quantile under ``quantiles[column]``."""
    import pandas as pd

    return pd.DataFrame({c: quantiles[c].transform(X[c].to_numpy(dtype=float), groups) for c in X.columns},
                        index=X.index)


def column_references(quantiles: dict[str, SpaceQuantiles]) -> dict[str, dict[str, list[float]]]:
    """What ``load_column_quantiles`` needs to restore ``quantiles`` (JSON values)."""
    return {c: q.reference for c, q in quantiles.items()}


def load_column_quantiles(references: dict[str, dict[str, list[float]]],
                          names: Sequence[str] | None = None) -> dict[str, SpaceQuantiles]:
    """``SpaceQuantiles`` per column from ``column_references``; ``names``: the columns that must be there."""
    return {c: SpaceQuantiles(reference={s: list(v) for s, v in dict(references[c]).items()})
            for c in (references if names is None else names)}
