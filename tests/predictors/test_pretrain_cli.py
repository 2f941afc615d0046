"""``onnxnet pretrain`` on a real store of ONNX networks: a backbone folder, and clear errors for bad requests."""

import json

from onnxnet.cli.main import main
from predictor_nets import write_store


def test_cli_pretrains_a_backbone_from_a_store(onnx_nets, tmp_path, capsys):
    store = write_store(onnx_nets, tmp_path / "store")
    out = tmp_path / "backbone"
    rc = main(["pretrain", "--store", str(store.path), "--spaces", "s0,s1", "--out", str(out), "--epochs", "1",
               "--batch-size", "4", "--vocab-size", "300", "--mixed-precision", "no"])
    text = capsys.readouterr().out
    assert rc == 0 and "pretraining on 12 distinct encodings of s0, s1" in text and "saved pretrained backbone" in text
    info = json.loads((out / "pretrain.json").read_text())
    assert info["n_texts"] == 12 and len(info["history"]) == 1
    assert main(["pretrain", "--store", str(store.path), "--spaces", "nb999", "--out", str(tmp_path / "x")]) != 0
    assert "has no networks of nb999" in capsys.readouterr().err
