"""The ``stack`` rank ensemble: out-of-fold weights, per-space ranks, and saving / reloading fitted predictors."""

import json

import numpy as np
import pandas as pd
import pytest

from onnxnet.errors import SurrogateError
from onnxnet.predictors import get_predictor, load_predictor
from predictor_nets import predict_in_fresh_process, write_store


def _column_rows(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two spaces of very different accuracy scales; one column tracks accuracy, one is noise, one is reversed."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([rng.uniform(0, 1, n // 2), 90 + rng.uniform(0, 5, n // 2)])
    rows = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "space": ["a"] * (n // 2) + ["b"] * (n // 2),
                         "good": y + rng.normal(0, 0.05, n), "noise": rng.normal(size=n), "anti": -y})
    return rows, y


MEMBERS = (("column", {"column": "good"}), ("column", {"column": "noise"}), ("column", {"column": "anti"}))


def test_weights_come_from_out_of_fold_ranks_and_ignore_scale():
    rows, y = _column_rows()
    stack = get_predictor("stack", members=MEMBERS, folds=4).fit(rows, y)
    w = dict(zip(["good", "noise", "anti"], stack.weights_))
    assert w["good"] > 0.8 and w["anti"] == 0.0 and stack.weights_.sum() == pytest.approx(1.0)
    assert stack.oof_kendall_[0] > 0.6 > stack.oof_kendall_[1] and stack.oof_kendall_[2] < 0
    scores = stack.predict(rows)
    for s in ("a", "b"):  # ranked within each space, so space b's larger accuracies do not dominate
        m = (rows["space"] == s).to_numpy()
        assert scores[m].max() <= 1.0 and np.corrcoef(scores[m], y[m])[0, 1] > 0.9
    assert stack.score(rows, y, rows["space"]) > 0.8


def test_a_member_that_cannot_score_a_row_puts_it_mid_rank():
    rows, y = _column_rows(20)
    stack = get_predictor("stack", members=(("column", {"column": "good"}),)).fit(rows, y)
    rows.loc[0, "good"] = np.nan
    scores = stack.predict(rows)
    assert scores[0] == pytest.approx(0.5) and np.isfinite(scores).all()


def test_bad_members_get_clear_errors():
    rows, y = _column_rows(20)
    with pytest.raises(ValueError, match="member is a predictor name"):
        get_predictor("stack", members=(("column",),)).fit(rows, y)
    with pytest.raises(ValueError, match="at least one member"):
        get_predictor("stack", members=()).fit(rows, y)


ONNX_MEMBERS = (("onnxnet-hybrid", {"lm": None, "proxies": ("nwot",), "n_trees": 2, "trees": "rf",
                                    "max_rounds": 20, "val_fraction": 0.0}),
                ("rank-linear", {"proxies": ("nwot",)}), "params")


def test_stack_of_onnx_predictors_saves_and_reloads_in_a_fresh_process(onnx_nets, tmp_path):
    cache = str(tmp_path / "cache")
    stack = get_predictor("stack", members=ONNX_MEMBERS, folds=3, cache_dir=cache)
    stack.fit(onnx_nets, onnx_nets["accuracy"].to_numpy())
    before = stack.predict(onnx_nets)
    assert np.isfinite(before).all() and stack.score(onnx_nets, onnx_nets["accuracy"], onnx_nets["space"]) > 0.5
    # A network of a space seen in training gets the same score alone as in a batch (placed among the training
    # networks); networks of an unseen space are ranked among each other.
    for i in (0, 5, 11):
        assert stack.predict(onnx_nets.iloc[[i]])[0] == pytest.approx(before[i])
    unseen = onnx_nets.assign(space="new")
    assert stack.predict(unseen.iloc[[0]])[0] == pytest.approx(0.5)
    assert stack.score(unseen, unseen["accuracy"]) > 0.5
    folder = stack.save(tmp_path / "stack")
    saved = json.loads((folder / "predictor.json").read_text())
    assert saved["name"] == "stack" and "cache_dir" not in saved["params"]
    np.testing.assert_allclose(load_predictor(folder).predict(onnx_nets), before, rtol=1e-9)

    np.testing.assert_allclose(predict_in_fresh_process(folder, onnx_nets, tmp_path), before, rtol=1e-9)


def test_damaged_or_unsavable_predictor_folders_are_clear_errors(onnx_nets, tmp_path):
    rl = get_predictor("rank-linear", proxies=("nwot",), cache_dir=str(tmp_path))
    folder = rl.fit(onnx_nets, onnx_nets["accuracy"].to_numpy()).save(tmp_path / "rl")
    state = json.loads((folder / "predictor.json").read_text())
    state["state"]["weights"] = state["state"]["weights"][:-1]
    (folder / "predictor.json").write_text(json.dumps(state))
    with pytest.raises(SurrogateError, match="not a readable saved predictor.*weights"):
        load_predictor(folder)
    with pytest.raises(SurrogateError, match="not a readable"):
        load_predictor(tmp_path / "nowhere")
    assert not get_predictor("gbm").can_save() and get_predictor("params").can_save()
    with pytest.raises(ValueError, match="fit before save"):
        get_predictor("stack").save(tmp_path / "unfitted")


def test_cli_fit_stack_then_predict_files(onnx_nets, tmp_path, capsys):
    from onnxnet.cli.main import main

    store = write_store(onnx_nets, tmp_path / "store")
    members = repr(ONNX_MEMBERS[1:])
    rc = main(["fit", "--store", str(store.path), "--spaces", "s0,s1", "--out", str(tmp_path / "st"),
               "--predictor", "stack", "--param", f"members={members}", "--param", "folds=3",
               "--param", f"cache_dir='{tmp_path}'"])
    assert rc == 0 and "saved stack" in capsys.readouterr().out
    files = onnx_nets["path"].iloc[[0, 11]].tolist()
    assert main(["predict", *files, "--predictor", str(tmp_path / "st"), "--json"]) == 0
    captured = capsys.readouterr()
    preds = json.loads(captured.out)["predictions"]
    assert preds[0]["model"] == files[1]  # the widest, deepest net ranks first
    assert "not fitted on (s0, s1)" in captured.err and "among each other" in captured.err
    # One file: with --space it is placed among that space's training networks, the same score as in a batch.
    assert main(["predict", files[1], "--predictor", str(tmp_path / "st"), "--json"]) == 0
    assert "nothing to be ranked against; pass --space (one of s0, s1)" in capsys.readouterr().err
    both = []
    for batch in ([files[1]], files):
        assert main(["predict", *batch, "--predictor", str(tmp_path / "st"), "--space", "s1", "--json"]) == 0
        both.append({p["model"]: p["score"] for p in json.loads(capsys.readouterr().out)["predictions"]})
    assert both[0][files[1]] == pytest.approx(both[1][files[1]]) and both[0][files[1]] > 0.5


def test_space_quantiles_place_values_among_the_fitted_ones():
    from onnxnet.ranking import SpaceQuantiles

    q = SpaceQuantiles(points=5).fit([1.0, 2.0, 3.0, 4.0, 100.0, 7.0, np.nan], ["a"] * 5 + ["b", "b"])
    assert q.reference["b"] == [7.0] and len(q.reference["a"]) == 5
    out = q.transform([0.0, 2.0, 2.0 + 1e-12, 1000.0, 7.0, 5.0, 9.0, 1.0], ["a"] * 4 + ["b", "new", "new", "lone"])
    assert out[0] == 0.0 and out[3] == 1.0
    assert out[1] == pytest.approx(0.3) and out[2] == out[1]  # a tie survives last-bit noise
    assert out[4] == 0.5 and list(out[5:7]) == [0.25, 0.75] and out[7] == 0.5  # unseen: ranked among each other
    big = SpaceQuantiles(points=9).fit(np.arange(1000.0), ["a"] * 1000)
    assert len(big.reference["a"]) == 9 and big.transform([500.0], ["a"])[0] == pytest.approx(0.5, abs=0.07)
