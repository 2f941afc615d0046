"""A fitted predictor knows its training networks' reach: `fit` records it, the folder keeps it, and `predict`
scores files unlike every training network as a new space instead of as networks of the fitted one, saying so."""

import json

import numpy as np
import pytest
import torch
from predictor_nets import residual_5x5
from typer.testing import CliRunner

from onnxnet.cli.main import app
from onnxnet.predictors import get_predictor, load_predictor
from onnxnet.predictors.novelty import unseen_space


@pytest.fixture(scope="module")
def foreign_files(tmp_path_factory):
    import onnx

    from onnxnet.graph import load_model

    d = tmp_path_factory.mktemp("foreign")
    paths = []
    for i, (w, n) in enumerate((w, n) for w in (24, 32) for n in (2, 3, 4)):
        torch.manual_seed(i)
        paths.append(str(d / f"far{i}.onnx"))
        onnx.save(load_model(residual_5x5(w, n), (1, 3, 16, 16)), paths[-1])
    return paths


@pytest.fixture
def fitted(onnx_nets, tmp_path):
    rows = onnx_nets[onnx_nets["space"] == "s0"].reset_index(drop=True)
    pred = get_predictor("rank-linear", proxies=("synflow",), cache_dir=str(tmp_path / "cache"))
    pred.fit(rows, rows["accuracy"].to_numpy(), rows["space"].tolist())
    pred.record_reach(rows)
    return pred, pred.save(tmp_path / "pred")


def test_reach_is_saved_and_tells_foreign_networks(fitted, onnx_nets, foreign_files):
    from onnxnet.inputs import as_rows

    pred, folder = fitted
    again = load_predictor(folder)
    near = onnx_nets[onnx_nets["space"] == "s0"]  # the training networks, read again
    far = as_rows(foreign_files, space="s0")
    for p in (pred, again):
        assert p.within_reach(near).all()
        assert not p.within_reach(far).any()
    np.testing.assert_allclose(again.reach_.novelty(again.reach_.references_["s0"][:0]), [])
    assert load_predictor(folder).reach_.radii_ == pred.reach_.radii_


def test_unseen_space_rule():
    assert unseen_space(None, "nb201") == ("nb201", None)
    assert unseen_space(np.array([True, True]), "nb201") == ("nb201", None)
    space, note = unseen_space(np.array([False, False, True]), "nb201")
    assert space == "user" and "2 of 3 networks lie outside the reach of the nb201" in note
    space, note = unseen_space(np.array([False, True, True]), "nb201")
    assert space == "nb201" and "extrapolation" in note
    space, note = unseen_space(np.array([False]), "nb201")  # one file: nothing to rank it among
    assert space == "nb201" and "score it together with other networks" in note


def test_predict_scores_foreign_files_as_a_new_space(fitted, onnx_nets, foreign_files, tmp_path):
    _, folder = fitted
    cache = str(tmp_path / "predict-cache")
    far = CliRunner().invoke(app, ["predict", *foreign_files, "--predictor", str(folder), "--cache", cache,
                                   "--json", "--quiet"])
    assert far.exit_code == 0, far.output
    assert "6 of 6 networks lie outside the reach of the s0 training networks" in far.stderr
    assert "scored as a new space" in far.stderr
    assert "has no zero-shot member" in far.stderr  # rank-linear: its learned scores rank them, and it says so
    assert len(json.loads(far.stdout)["predictions"]) == 6

    forced = CliRunner().invoke(app, ["predict", *foreign_files, "--predictor", str(folder), "--cache", cache,
                                      "--space", "s0", "--json", "--quiet"])
    assert forced.exit_code == 0 and "outside the reach" not in forced.stderr

    near_files = onnx_nets[onnx_nets["space"] == "s0"]["path"].tolist()
    near = CliRunner().invoke(app, ["predict", *near_files, "--predictor", str(folder), "--cache", cache,
                                    "--json", "--quiet"])
    assert near.exit_code == 0 and "outside the reach" not in near.stderr


def test_a_zero_shot_folder_scores_foreign_files_by_its_signals(onnx_nets, foreign_files, tmp_path):
    rows = onnx_nets[onnx_nets["space"] == "s0"].reset_index(drop=True)
    zs = get_predictor("zero-shot", signals=("n_params", "depth", "nwot"), cache_dir=str(tmp_path / "cache"))
    zs.fit(rows, rows["accuracy"].to_numpy(), rows["space"].tolist())
    zs.record_reach(rows)
    folder = zs.save(tmp_path / "zs")
    far = CliRunner().invoke(app, ["predict", *foreign_files, "--predictor", str(folder), "--cache",
                                   str(tmp_path / "predict-cache"), "--json", "--quiet"])
    assert far.exit_code == 0, far.output
    assert "scored as a new space" in far.stderr and "has no zero-shot member" not in far.stderr
