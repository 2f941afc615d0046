"""Ranking within groups: the one rule every predictor, trainer and protocol shares.

Scores and accuracies of different search spaces are never compared directly: a *group* is a search space
(``row_groups``; ``space:label`` where a space mixes label sources: ``label_groups``), values become ranks or quantiles within their group (``rank_within``, ``SpaceQuantiles``), and
rank agreement is measured per group and then averaged (``group_correlation``, ``mean_kendall``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

# SciPy is imported where it is used: scoring one file (``onnxnet predict``, the service) needs none of it.


def row_groups(rows: Any) -> np.ndarray:
    """The group (search space) of each row as strings: the ``space`` column, or ``"?"`` for every row when the
    rows carry none."""
    if hasattr(rows, "columns") and "space" in rows.columns:
        return rows["space"].astype(str).to_numpy(object)
    return np.array(["?"] * len(rows), dtype=object)


def label_groups(spaces: Sequence[str], labels: Sequence[Any]) -> np.ndarray:
    """The comparison group of each row: its space, or ``space:label`` where a space's rows mix label sources
    (e.g. NB101's 108-epoch and 4-epoch accuracies), so they are normalised and ranked apart. A missing label
    (``None``/NaN) is no source of its own."""
    sp = np.asarray([str(s) for s in spaces], dtype=object)
    lab = np.asarray(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in labels],
                     dtype=object)
    mixed = {s for s in np.unique(sp) if len({v for v in lab[sp == s] if v}) > 1}
    return np.array([f"{s}:{v}" if s in mixed else s for s, v in zip(sp, lab)], dtype=object)


def rank_within(values: Sequence[float], groups: Sequence[str]) -> np.ndarray:
    """Each value's fractional rank in [0, 1] within its group (ties share their mean rank): scale-free, so
    values of different spaces, or of different predictors, can be compared and averaged."""
    from scipy.stats import rankdata

    v = np.asarray(values, dtype=float)
    g = np.asarray(list(groups), dtype=object)
    out = np.empty(len(v), dtype=float)
    for s in np.unique(g):
        m = g == s
        out[m] = (rankdata(v[m]) - 1.0) / max(int(m.sum()) - 1, 1)
    return out


def group_correlation(pred: Sequence[float], y: Sequence[float], groups: Sequence[str], *,
                      min_rows: int = 2) -> dict[str, dict[str, float]]:
    """Kendall tau and Spearman rho within each group of at least ``min_rows`` rows (``{"kendall", "spearman",
    "n"}`` per group), plus their mean over groups under ``"mean"``. A constant side counts 0 (no ranking)."""
    from scipy.stats import kendalltau, spearmanr

    p, t = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    g = np.asarray(list(groups), dtype=object)
    out: dict[str, dict[str, float]] = {}
    for s in np.unique(g):
        m = g == s
        if m.sum() < min_rows:
            continue
        kt = float(kendalltau(p[m], t[m]).statistic)
        sr = float(spearmanr(p[m], t[m]).statistic)
        out[str(s)] = {"kendall": 0.0 if math.isnan(kt) else kt, "spearman": 0.0 if math.isnan(sr) else sr,
                       "n": int(m.sum())}
    if out:
        out["mean"] = {k: float(np.mean([v[k] for v in out.values()])) for k in ("kendall", "spearman")}
    return out


def mean_kendall(y_pred: Sequence[float], y_true: Sequence[float], groups: Sequence[str]) -> float:
    """Kendall tau within each group (search space), averaged: scores are never ranked across spaces.
    A group whose predictions are constant counts as 0; groups of fewer than two rows are skipped."""
    per = group_correlation(y_pred, y_true, groups)
    return per["mean"]["kendall"] if per else float("nan")


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
    import pandas as pd  # only callers with frames need it

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
