"""The numpy evaluator of saved LightGBM models equals ``lightgbm.Booster.predict`` (NaNs and zeros included),
falls back to LightGBM for what it lacks, and needs no LightGBM import to score."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from onnxnet.predictors.trees import LightGBMModel, TreeEnsemble, Unsupported, load_trees  # noqa: E402


def _data(seed: int, n: int, missing: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random(X.shape) < missing] = np.nan
    X[rng.random(X.shape) < missing] = 0.0
    return X


TRAIN = _data(0, 500, 0.1)
LABEL = (np.nan_to_num(TRAIN[:, 0]) + np.nan_to_num(TRAIN[:, 1]) ** 2 > 0.5).astype(float)
MODELS = {
    "binary": lambda: lgb.LGBMClassifier(n_estimators=60, num_leaves=15, subsample=0.8, subsample_freq=1),
    "cross_entropy": lambda: lgb.LGBMRegressor(objective="cross_entropy", n_estimators=40),
    "regression": lambda: lgb.LGBMRegressor(n_estimators=60),
    "zero_as_missing": lambda: lgb.LGBMRegressor(n_estimators=40, zero_as_missing=True),
    "no_missing": lambda: lgb.LGBMRegressor(n_estimators=30, use_missing=False),
    "random_forest": lambda: lgb.LGBMRegressor(boosting_type="rf", extra_trees=True, subsample=0.7, subsample_freq=1,
                                               colsample_bytree=0.5, n_estimators=40),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_numpy_evaluator_equals_lightgbm(kind: str) -> None:
    booster = MODELS[kind]().set_params(verbose=-1, n_jobs=1).fit(TRAIN, LABEL).booster_
    test = _data(1, 2000, 0.15)
    test[:3] = np.inf
    test[3:6] = -np.inf
    trees = TreeEnsemble(booster.model_to_string())
    assert trees.num_feature() == 6 and trees.num_trees() == booster.num_trees()
    np.testing.assert_allclose(trees.predict_numpy(test), booster.predict(test), rtol=0, atol=1e-9)
    np.testing.assert_allclose(trees.predict(test), booster.predict(test), rtol=0, atol=1e-9)


def test_single_leaf_trees_and_the_missing_rules_are_exercised() -> None:
    y = np.full(len(TRAIN), 0.25)  # a constant target: every tree is one leaf
    booster = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(TRAIN, y).booster_
    trees = TreeEnsemble(booster.model_to_string())
    np.testing.assert_allclose(trees.predict(TRAIN[:50]), booster.predict(TRAIN[:50]), atol=1e-12)
    nan_model = TreeEnsemble(MODELS["regression"]().set_params(verbose=-1).fit(TRAIN, LABEL).booster_
                             .model_to_string())
    zero_model = TreeEnsemble(MODELS["zero_as_missing"]().set_params(verbose=-1).fit(TRAIN, LABEL).booster_
                              .model_to_string())
    assert set(nan_model.missing.tolist()) == {2} and set(zero_model.missing.tolist()) == {1}


def test_a_categorical_model_falls_back_to_lightgbm() -> None:
    X = np.column_stack([np.arange(400) % 7, np.random.default_rng(0).normal(size=400)])
    y = (X[:, 0] % 3 == 0) + 0.1 * X[:, 1]
    booster = lgb.train({"verbose": -1, "min_data_per_group": 5, "cat_smooth": 1},
                        lgb.Dataset(X, y, categorical_feature=[0]), num_boost_round=10)
    text = booster.model_to_string()
    with pytest.raises(Unsupported):
        TreeEnsemble(text)
    model = load_trees(text)
    assert isinstance(model, LightGBMModel) and model.model_to_string() == text
    np.testing.assert_allclose(model.predict(X), booster.predict(X), atol=1e-12)


def test_large_batches_use_lightgbm_with_the_same_result(monkeypatch) -> None:
    import onnxnet.predictors.trees as trees_module

    booster = MODELS["binary"]().set_params(verbose=-1).fit(TRAIN, LABEL).booster_
    trees = TreeEnsemble(booster.model_to_string())
    monkeypatch.setattr(trees_module, "NUMPY_MAX_CELLS", 10)
    test = _data(2, 300, 0.1)
    np.testing.assert_allclose(trees.predict(test), booster.predict(test), atol=1e-12)
    assert trees._lgb is not None


@pytest.mark.parametrize("text", ["", "hello", "tree\nversion=v4\nmax_feature_idx=1\n"])
def test_text_that_is_no_model_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        load_trees(text)


def test_wrong_width_input_is_a_clear_error() -> None:
    trees = TreeEnsemble(MODELS["regression"]().set_params(verbose=-1).fit(TRAIN, LABEL).booster_.model_to_string())
    with pytest.raises(ValueError, match="reads 6 features"):
        trees.predict(np.zeros((2, 5)))


def test_scoring_imports_no_lightgbm(tmp_path) -> None:
    booster = MODELS["binary"]().set_params(verbose=-1).fit(TRAIN, LABEL).booster_
    (tmp_path / "m.txt").write_text(booster.model_to_string())
    np.save(tmp_path / "x.npy", TRAIN[:20])
    np.save(tmp_path / "want.npy", booster.predict(TRAIN[:20]))
    code = ("import sys, numpy as np\nfrom onnxnet.predictors.trees import load_trees\n"
            f"d = {str(tmp_path)!r}\n"
            "p = load_trees(open(d + '/m.txt').read()).predict(np.load(d + '/x.npy'))\n"
            "assert np.abs(p - np.load(d + '/want.npy')).max() < 1e-9\n"
            "heavy = [m for m in ('lightgbm', 'sklearn', 'scipy') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=env)
