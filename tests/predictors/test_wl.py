"""Weisfeiler-Lehman pattern features of ONNX graphs and the ``wl-ridge`` predictor built on them."""

import numpy as np
import onnx
import pytest

from onnxnet.predictors import get_predictor, load_predictor
from onnxnet.features.wl import BUCKETS, ITERATIONS, normalise, wl_features
from predictor_nets import block_model


def _block(features: dict[str, float], t: int) -> np.ndarray:
    return np.array([features[f"wl{t}_{b:03d}"] for b in range(BUCKETS)])


def test_patterns_count_every_node_and_ignore_tensor_names():
    plain, res = wl_features(block_model(False)), wl_features(block_model(True))
    assert len(res) == (ITERATIONS + 1) * BUCKETS
    for t in range(ITERATIONS + 1):  # every data-flow node carries one label per iteration
        assert _block(plain, t).sum() == 4 and _block(res, t).sum() == 5
    assert not np.array_equal(_block(plain, 1), _block(res, 1))  # the skip changes the neighbourhoods
    renamed = block_model(True)
    mapping = {"a": "t1", "b": "t2", "c": "t3", "d": "t4"}
    for node in renamed.graph.node:
        node.name = "renamed_" + node.name
        for i, name in enumerate(node.input):
            node.input[i] = mapping.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = mapping.get(name, name)
    onnx.checker.check_model(renamed)
    assert wl_features(renamed) == res


def test_a_zero_branch_is_labelled_as_such():
    with_zero = wl_features(block_model(True, zero_branch=True))
    assert _block(with_zero, 0).sum() == 7  # Mul-by-zero ('Zero') and its Add join the 5 nodes
    assert wl_features(block_model(True)) != with_zero


def test_normalise_scales_each_iteration_to_unit_length():
    X = np.abs(np.random.default_rng(0).normal(size=(3, (ITERATIONS + 1) * 4)))
    X[2] = 0.0
    N = normalise(X)
    for cols in np.array_split(np.arange(X.shape[1]), ITERATIONS + 1):
        np.testing.assert_allclose(np.linalg.norm(N[:2, cols], axis=1), 1.0)
    assert not N[2].any()
    np.testing.assert_allclose(normalise(3 * X[:2]), N[:2])  # a graph repeated 3x has the same proportions


def test_wl_ridge_fits_predicts_and_reloads(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    wl = get_predictor("wl-ridge", cache_dir=str(tmp_path)).fit(onnx_nets, y)
    before = wl.predict(onnx_nets)
    assert np.isfinite(before).all() and wl.alpha_ in wl.alphas
    assert wl.predict(onnx_nets.iloc[[3]])[0] == pytest.approx(before[3])
    folder = wl.save(tmp_path / "wl")
    np.testing.assert_allclose(load_predictor(folder).predict(onnx_nets), before, rtol=1e-9)
