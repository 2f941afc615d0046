"""`onnxnet predict` reads and fills the feature cache `evaluate` uses: scoring the same files again computes
nothing (no graph loaded, no proxy run), and every file gets one statement of the signals it was scored on."""

import json

import pytest
from typer.testing import CliRunner

from onnxnet.cli.main import app


@pytest.fixture
def fitted(onnx_nets, tmp_path):
    from onnxnet.predictors import get_predictor

    rows = onnx_nets[onnx_nets["space"] == "s0"].reset_index(drop=True)
    pred = get_predictor("rank-linear", proxies=("nwot", "synflow"), cache_dir=str(tmp_path / "fit-cache"))
    pred.fit(rows, rows["accuracy"].to_numpy(), rows["space"].tolist())
    pred.save(tmp_path / "pred")
    return tmp_path / "pred", onnx_nets[onnx_nets["space"] == "s1"]["path"].tolist()


def test_second_predict_reads_the_cache_only(fitted, tmp_path, monkeypatch, shared_data):
    from onnxnet.features.engine import clear_memory_cache

    folder, files = fitted
    cache = tmp_path / "cache"
    args = ["predict", *files, "--predictor", str(folder), "--cache", str(cache), "--json"]
    clear_memory_cache()
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert any(cache.glob("loaded-*/*/*.onnx")) and any(cache.rglob("*.parquet"))

    def fail(*a, **k):
        raise AssertionError("recomputed although cached")

    clear_memory_cache()
    monkeypatch.setattr("onnxnet.inputs.load_model", fail)
    monkeypatch.setattr("onnxnet.features.onnx_proxies.to_torch", fail)
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    scores = [{p["model"]: p["score"] for p in json.loads(r.stdout)["predictions"]} for r in (first, second)]
    assert scores[0] == pytest.approx(scores[1])
    notes = [line for line in second.stderr.splitlines() if "scored on" in line]
    assert notes == [f"note: {len(files)} files: scored on features {', '.join(_families(folder))}; proxies nwot, "
                     "synflow on 64 CIFAR-10 images at 32x32 px"]


def _families(folder):
    from onnxnet.predictors import load_predictor

    return load_predictor(folder).feature_families
