import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from onnxnet.errors import ProtocolError
from onnxnet.evaluate.metrics import evaluate_predictions, kendall_tau, mae, precision_at_top_k, r2, spearman_rho


def test_rank_metrics_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.7, size=200)
    p[:20] = 0.0  # ties
    assert kendall_tau(y, p) == pytest.approx(kendalltau(y, p).statistic)
    assert spearman_rho(y, p) == pytest.approx(spearmanr(y, p).statistic)
    assert kendall_tau(y, -y) == pytest.approx(-1.0)


def test_constant_prediction_gives_nan_not_a_fake_score():
    assert np.isnan(kendall_tau([1, 2, 3], [5, 5, 5]))
    assert np.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


def test_precision_at_top_k_known_case():
    y = np.arange(100, dtype=float)  # best is index 99
    p = y.copy()
    p[99] = -1  # the best network is predicted worst
    assert precision_at_top_k(y, p, 1) == 0.0  # top 1 of 100
    assert precision_at_top_k(y, p, 5) == pytest.approx(4 / 5)
    assert precision_at_top_k(y, y, 10) == 1.0


def test_mae_r2_and_bad_input():
    y, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.5, 4.0])
    assert mae(y, p) == pytest.approx(0.25)
    assert r2(y, p) == pytest.approx(1 - 0.5 / 5.0)
    with pytest.raises(ProtocolError, match="NaN"):
        kendall_tau([1, 2], [np.nan, 1])
    with pytest.raises(ProtocolError, match="pair up"):
        spearman_rho([1, 2, 3], [1, 2])
    m = evaluate_predictions(y, p, regression=True)
    assert set(m) == {"kendall", "spearman", "p@top1%", "p@top5%", "p@top10%", "mae", "r2"}
