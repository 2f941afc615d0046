"""Metrics for accuracy predictors: rank agreement (Kendall, Spearman), precision@top-k%, MAE and R^2.

Rank metrics are what NAS needs (is the better network scored higher?); MAE / R^2 only mean something for
predictors that regress the accuracy itself, so ``evaluate_predictions`` reports them only when asked.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.ranking import mean_kendall  # noqa: F401  (part of the metrics API)

#: The top-k% levels reported by default (the paper's precision@1/5/10%).
TOP_K_PERCENTS: tuple[float, ...] = (1.0, 5.0, 10.0)


def _pair(y_true: Sequence[float], y_pred: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ProtocolError(f"metrics: {t.size} true values but {p.size} predictions; they must pair up")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise ProtocolError("metrics: NaN or infinite values; drop failed rows (and count them) before scoring")
    return t, p


def kendall_tau(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Kendall tau-b (ties handled as scipy does); NaN when either side is constant or has < 2 values."""
    from scipy.stats import kendalltau

    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(kendalltau(t, p).statistic)


def spearman_rho(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Spearman rank correlation; NaN when either side is constant or has < 2 values."""
    from scipy.stats import spearmanr

    t, p = _pair(y_true, y_pred)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(spearmanr(t, p).statistic)


def precision_at_top_k(y_true: Sequence[float], y_pred: Sequence[float], k_percent: float) -> float:
    """Fraction of the truly best ``k_percent``% of networks that are also in the predicted best ``k_percent``%.

    ``m = max(1, round(n * k / 100))`` networks on each side; ties in the prediction are broken by a stable sort
    of the row order, so a constant predictor scores the base rate, not 1.
    """
    t, p = _pair(y_true, y_pred)
    if not 0 < k_percent <= 100:
        raise ProtocolError(f"precision@top-k: k_percent must be in (0, 100], got {k_percent}")
    n = t.size
    if n == 0:
        return float("nan")
    m = max(1, int(round(n * k_percent / 100.0)))
    true_top = set(np.argsort(-t, kind="stable")[:m].tolist())
    pred_top = set(np.argsort(-p, kind="stable")[:m].tolist())
    return len(true_top & pred_top) / m


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Mean absolute error (same unit as the accuracy, usually percent)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p))) if t.size else float("nan")


def r2(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``; NaN when the true values are constant."""
    t, p = _pair(y_true, y_pred)
    ss_tot = float(np.sum((t - t.mean()) ** 2)) if t.size else 0.0
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((t - p) ** 2)) / ss_tot


def evaluate_predictions(
    y_true: Sequence[float],
    y_pred: Sequence[float],
    *,
    regression: bool = False,
    top_k_percents: Sequence[float] = TOP_K_PERCENTS,
) -> dict[str, float]:
    """All metrics for one test set: ``kendall``, ``spearman``, ``p@top{k}%`` and, if ``regression``, ``mae``/``r2``."""
    out = {"kendall": kendall_tau(y_true, y_pred), "spearman": spearman_rho(y_true, y_pred)}
    for k in top_k_percents:
        out[f"p@top{k:g}%"] = precision_at_top_k(y_true, y_pred, k)
    if regression:
        out["mae"] = mae(y_true, y_pred)
        out["r2"] = r2(y_true, y_pred)
    return out
