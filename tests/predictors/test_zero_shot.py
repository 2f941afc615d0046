"""The ``zero-shot`` predictor: signal weights from the training spaces, novelty-gated learned member, explanations."""

import numpy as np
import pandas as pd
import pytest
import torch
from predictor_nets import residual_5x5

from onnxnet.errors import ProtocolError
from onnxnet.predictors import get_predictor, load_predictor
from onnxnet.predictors.novelty import SpaceNovelty

SIGNALS = ("n_params", "depth", "nwot")
LEARNED = ("rank-linear", {"proxies": ("nwot",)})


def _foreign_rows() -> pd.DataFrame:
    """6 networks unlike the fixture's plain CNNs: wide 5x5 convs with residual adds, 16x16 input."""
    from onnxnet.graph import graph_hash, load_model

    rows = []
    for i, (w, n) in enumerate((w, n) for w in (24, 32) for n in (2, 3, 4)):
        torch.manual_seed(i)
        model = load_model(residual_5x5(w, n), (1, 3, 16, 16))
        n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        rows.append({"id": f"far/{i}", "space": "far", "graph_hash": graph_hash(model),
                     "onnx": model.SerializeToString(), "n_params": n_params, "flops": n_params * 256,
                     "accuracy": 50.0 + n + w / 8})
    return pd.DataFrame(rows)


def test_weights_follow_the_training_spaces_and_far_spaces_get_the_vote(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    cache = str(tmp_path / "cache")
    zs = get_predictor("zero-shot", signals=SIGNALS, learned=LEARNED, cache_dir=cache).fit(onnx_nets, y)
    assert set(zs.signal_kendall_) == {"s0", "s1"}
    # accuracy grows with width and depth: #params and depth order both spaces the right way
    assert zs.weights_["n_params"] > 0 and zs.weights_["depth"] > 0
    assert any("signal weights" in line for line in zs.fit_summary())

    # New networks of the fitted kind lie inside: the learned member carries the score.
    near = onnx_nets.assign(space="near")
    zs.predict(near)
    assert zs.explain_["near"]["inside"] == 1.0 and zs.explain_["near"]["learned_weight"] == 1.0
    assert "rank-linear" in zs.explain_["near"]["signal"]

    # A space unlike the training networks gets the training-free vote, and says why.
    far = _foreign_rows()
    scores = zs.predict(far)
    e = zs.explain_["far"]
    assert e["inside"] == 0.0 and e["learned_weight"] == 0.0 and e["signal"].startswith("vote")
    assert "only 0%" in e["why"] and any(line.startswith("far: vote") for line in zs.explain_lines())
    assert np.isfinite(scores).all() and len(set(scores)) > 1

    folder = zs.save(tmp_path / "zs")
    again = load_predictor(folder)
    np.testing.assert_allclose(again.predict(far), scores, rtol=1e-6)
    assert again.explain_["far"] == e
    np.testing.assert_allclose(again.predict(near), zs.predict(near), rtol=1e-6)


def test_best_equal_and_transductive_weightings(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    cache = str(tmp_path / "cache")
    best = get_predictor("zero-shot", signals=SIGNALS, weighting="best", cache_dir=cache).fit(onnx_nets, y)
    assert sum(w != 0 for w in best.weights_.values()) == 1
    one = next(s for s, w in best.weights_.items() if w)
    mean_tau = {s: np.mean([t[s] for t in best.signal_kendall_.values()]) for s in SIGNALS}
    assert one == max(mean_tau, key=mean_tau.get)
    eq = get_predictor("zero-shot", signals=SIGNALS, weighting="equal", cache_dir=cache).fit(onnx_nets, y)
    assert set(abs(w) for w in eq.weights_.values() if w) == {1.0}
    tr = get_predictor("zero-shot", signals=SIGNALS, transductive=True, cache_dir=cache).fit(onnx_nets, y)
    tr.predict(onnx_nets)
    assert "agreement" in tr.explain_["s0"]["why"]
    with pytest.raises(ProtocolError, match="weighting must be one of"):
        get_predictor("zero-shot", weighting="magic", signals=SIGNALS, cache_dir=cache).fit(onnx_nets, y)
    with pytest.raises(ProtocolError, match="unknown signal"):
        get_predictor("zero-shot", signals=("nwot", "vibes"), cache_dir=cache).fit(onnx_nets, y)


def test_novelty_scale_and_state():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)) + 10, columns=list("abcd"))
    nov = SpaceNovelty().fit(X)
    inside = nov.novelty(X.iloc[:50])
    assert np.all(inside < 1e-6)  # a training network is its own nearest neighbour
    assert nov.inside_fraction(X + 8) == 0.0 and nov.inside_fraction(X.iloc[:20] + 0.01) == 1.0
    again = SpaceNovelty.from_state(nov.state(), nov.references_)
    np.testing.assert_allclose(again.novelty(X + 3), nov.novelty(X + 3), rtol=1e-4)
    # Each training space has its own reach: a tight space does not inherit a spread-out one's radius.
    tight = pd.DataFrame(rng.normal(size=(100, 4)) * 0.01 + 50, columns=list("abcd"))
    both = SpaceNovelty().fit(pd.concat([X, tight]), ["wide"] * 200 + ["tight"] * 100)
    assert set(both.radii_) == {"wide", "tight"} and both.radii_["tight"] < both.radii_["wide"] / 10
    assert both.inside_fraction(tight + 0.5) == 0.0 and both.inside_fraction(tight.iloc[:10]) == 1.0
    with pytest.raises(ProtocolError, match="at least 3"):
        SpaceNovelty().fit(X.iloc[:2])


def test_best_checked_trusts_the_best_signal_until_it_contradicts_the_others(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    cache = str(tmp_path / "cache")
    zs = get_predictor("zero-shot", signals=SIGNALS, weighting="best-checked", cache_dir=cache).fit(onnx_nets, y)
    best = next(s for s, w in zs.weights_.items() if w)
    assert sum(w != 0 for w in zs.weights_.values()) == 1 and zs.agreement_floor_ == 0.0
    assert zs.fallback_weights_ == zs._weights("kendall")
    others = [s for s in SIGNALS if s != best and zs.fallback_weights_[s] != 0]
    assert others, "the fixture needs a second voting signal"

    # On a target where the best signal orders the networks like the others it is used alone ...
    n = 12
    up = np.arange(n, dtype=float)
    agree = pd.DataFrame({s: up * np.sign(zs.fallback_weights_[s] or 1.0) for s in SIGNALS})
    weights, why = zs._target_weights(agree)
    assert weights == {best: 1.0} and "trusted alone" in why
    # ... and where it ranks them against all the others, the Kendall-weighted vote takes over, and says why.
    against = agree.assign(**{best: -agree[best]})
    weights, why = zs._target_weights(against)
    assert set(weights) == {s for s, w in zs.fallback_weights_.items() if w} and "unlike the training spaces" in why

    scores = zs.predict(onnx_nets)
    assert np.isfinite(scores).all() and "trusted alone" in zs.explain_["s0"]["why"]
    again = load_predictor(zs.save(tmp_path / "zs"))
    np.testing.assert_allclose(again.predict(onnx_nets), scores, rtol=1e-6)
    assert again._target_weights(against) == zs._target_weights(against)

    # The floor can be each training space's own agreement; a floor that is neither is refused.
    tr = get_predictor("zero-shot", signals=SIGNALS, weighting="best-checked", check_floor="training",
                       cache_dir=cache).fit(onnx_nets, y)
    assert -1.0 <= tr.agreement_floor_ <= 1.0 and any("used alone unless" in line for line in tr.fit_summary())
    with pytest.raises(ProtocolError, match="check_floor must be"):
        get_predictor("zero-shot", signals=SIGNALS, weighting="best-checked", check_floor="high",
                      cache_dir=cache).fit(onnx_nets, y)


def test_best_checked_fitted_on_one_space_votes(onnx_nets, tmp_path):
    one = onnx_nets[onnx_nets["space"] == "s0"].reset_index(drop=True)
    zs = get_predictor("zero-shot", signals=SIGNALS, weighting="best-checked",
                       cache_dir=str(tmp_path / "cache")).fit(one, one["accuracy"].to_numpy())
    assert zs.weights_ == zs._weights("kendall") and zs.fallback_weights_ is None
    zs.predict(_foreign_rows())
    assert "fitted on one space" in zs.explain_["far"]["why"]


def test_auto_unseen_default_on_the_committed_development_sample():
    """Real labels and proxies (benchmarks/data/zero_shot): trained on three cell spaces, the default notices that
    MeCo, the best of them on those, ranks TransNAS micro against every other signal, and votes instead."""
    from pathlib import Path

    from onnxnet.evaluate.metrics import kendall_tau
    from onnxnet.evaluate.splits import labelled
    from onnxnet.predictors.auto import UNSEEN

    data = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "zero_shot"
    rows = labelled(pd.read_parquet(data / "rows.parquet"), "accuracy")
    train = rows[~rows["space"].str.startswith("transnas_micro")].reset_index(drop=True)  # both tasks' labels
    test = rows[rows["space"] == "transnas_micro"].reset_index(drop=True)
    name, params = UNSEEN
    zs = get_predictor(name, **params, cache_dir=str(data)).fit(train, train["_y"].to_numpy(), train["space"].tolist())
    assert next(s for s, w in zs.weights_.items() if w) == "meco"
    tau = kendall_tau(test["_y"].to_numpy(), zs.predict(test))
    assert "unlike the training spaces" in zs.explain_["transnas_micro"]["why"]
    assert tau > 0.4  # MeCo alone: -0.25 (docs/zero-shot.md)
    np.testing.assert_allclose(tau, 0.441, atol=0.01)
