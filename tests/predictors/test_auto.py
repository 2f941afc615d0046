"""The ``auto`` predictor: each space gets the model that suits its number of labels; saved as one folder."""

import numpy as np
import pandas as pd
import pytest

from onnxnet.errors import ProtocolError
from onnxnet.predictors import get_predictor, load_predictor
from predictor_nets import predict_in_fresh_process

FEW = ("pairwise", {"proxies": ("nwot",), "n_estimators": 40, "min_child_samples": 2, "num_leaves": 4})
MANY = ("rank-linear", {"proxies": ("nwot",)})
UNSEEN = ("zero-shot", {"signals": ("n_params", "depth", "nwot")})


def test_spaces_are_routed_by_label_count_and_reload_in_a_fresh_process(onnx_nets, tmp_path):
    # s0 twice (12 rows) reaches the threshold of 7; s1 (6 rows) does not.
    s0 = onnx_nets[onnx_nets["space"] == "s0"]
    rows = pd.concat([s0, s0.assign(id=s0["id"] + "-again"), onnx_nets[onnx_nets["space"] == "s1"]],
                     ignore_index=True)
    y = rows["accuracy"].to_numpy()
    cache = str(tmp_path / "cache")
    auto = get_predictor("auto", threshold=7, few=FEW, many=MANY, unseen=UNSEEN, cache_dir=cache).fit(rows, y)
    assert auto.routes_ == {"s0": "many", "s1": "few"}
    assert any(line.startswith("s0: rank-linear") for line in auto.fit_summary())
    scores = auto.predict(rows)
    is0 = (rows["space"] == "s0").to_numpy()
    alone = get_predictor(MANY[0], **MANY[1], cache_dir=cache).fit(rows[is0], y[is0]).predict(rows[is0])
    np.testing.assert_allclose(scores[is0], alone)
    few = get_predictor(FEW[0], **FEW[1], cache_dir=cache).fit(rows[~is0], y[~is0]).predict(rows[~is0])
    np.testing.assert_allclose(scores[~is0], few)
    assert auto.score(rows, y, rows["space"]) > 0.5
    assert auto.explain_lines() == []  # every space scored was seen in training
    # An unseen space goes to the zero-shot model, fitted on every training row, which says what it used and why.
    unseen = onnx_nets.assign(space="new")
    zs = get_predictor(UNSEEN[0], **UNSEEN[1], cache_dir=cache).fit(rows, y)
    np.testing.assert_allclose(auto.predict(unseen), zs.predict(unseen))
    assert len(auto.explain_lines()) == 1 and auto.explain_lines()[0].startswith("new: vote")
    assert auto.inside_fraction(unseen) == 1.0  # the same networks: all within reach
    old = get_predictor("auto", threshold=7, few=FEW, many=MANY, unseen=None, cache_dir=cache).fit(rows, y)
    np.testing.assert_allclose(old.predict(unseen), old.models_["few"].predict(unseen))
    assert old.inside_fraction(unseen) is None

    folder = auto.save(tmp_path / "auto")
    assert (folder / "few").is_dir() and (folder / "many").is_dir() and (folder / "unseen").is_dir()
    np.testing.assert_allclose(predict_in_fresh_process(folder, rows, tmp_path), scores, rtol=1e-9)


def test_one_role_only_and_bad_threshold(onnx_nets, tmp_path):
    y = onnx_nets["accuracy"].to_numpy()
    auto = get_predictor("auto", threshold=1000, few=FEW, many=MANY, unseen=None,
                         cache_dir=str(tmp_path)).fit(onnx_nets, y)
    assert set(auto.models_) == {"few"} and set(auto.routes_.values()) == {"few"}
    reloaded = load_predictor(auto.save(tmp_path / "a"))
    np.testing.assert_allclose(reloaded.predict(onnx_nets), auto.predict(onnx_nets))
    with pytest.raises(ProtocolError, match="threshold must be a positive"):
        get_predictor("auto", threshold=0, few=FEW, many=MANY).fit(onnx_nets, y)
