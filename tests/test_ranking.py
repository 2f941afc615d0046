"""The ranking layer: the group rule and per-group rank correlation, shared by predictors, trainer and protocols."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, spearmanr

from onnxnet.ranking import group_correlation, label_groups, mean_kendall, rank_within, row_groups


def test_a_space_mixing_label_sources_splits_into_groups():
    got = label_groups(["nb101", "nb101", "nb201", "nb201"], ["108ep", "4ep", "200ep", float("nan")])
    assert got.tolist() == ["nb101:108ep", "nb101:4ep", "nb201", "nb201"]
    assert row_groups(pd.DataFrame({"x": [1, 2]})).tolist() == ["?", "?"]


def test_group_correlation_is_per_group_and_never_across():
    pred = np.array([1.0, 2.0, 3.0, 30.0, 20.0, 10.0, 5.0])
    y = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 9.0])
    groups = ["a", "a", "a", "b", "b", "b", "c"]  # "c" has one row: skipped
    out = group_correlation(pred, y, groups)
    assert set(out) == {"a", "b", "mean"} and out["a"]["kendall"] == 1.0 and out["b"]["kendall"] == -1.0
    assert out["a"]["spearman"] == spearmanr(pred[:3], y[:3]).statistic and out["a"]["n"] == 3
    assert out["mean"]["kendall"] == 0.0 == mean_kendall(pred, y, groups)
    flat = group_correlation([1, 1, 1], [1, 2, 3], ["a"] * 3)  # constant scores rank nothing: 0, not NaN
    assert flat["a"]["kendall"] == 0.0 and flat["a"]["spearman"] == 0.0
    assert math.isnan(mean_kendall([1.0], [2.0], ["a"]))
    assert group_correlation([1, 2], [1, 2], ["a", "a"], min_rows=3) == {}
    assert np.isclose(mean_kendall(pred[:3], y[:3][::-1], ["a"] * 3), kendalltau(pred[:3], y[:3][::-1]).statistic)


def test_rank_within_scales_each_group_to_unit_range():
    assert rank_within([10, 30, 20, 5, 5], ["a", "a", "a", "b", "b"]).tolist() == [0.0, 1.0, 0.5, 0.5, 0.5]  # ties share their mean rank
