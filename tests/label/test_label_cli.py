"""``onnxnet bench label``: ONNX files and store mode through the CLI; bad inputs become one-line errors."""

from __future__ import annotations

import dataclasses
import json

from label_models import tiny_onnx
from onnxnet.cli.main import main
from onnxnet.label.recipe import HELP, Recipe

FAST = ["--epochs", "1", "--batch-size", "32", "--train-images", "128", "--val-images", "40", "--test-images",
        "64", "--device", "cpu", "--executor", "inline", "-q"]


def test_every_recipe_field_is_an_option():
    assert set(HELP) == {f.name for f in dataclasses.fields(Recipe)}


def test_label_onnx_files(tmp_path, tiny_cifar, capsys):
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    good.write_bytes(tiny_onnx())
    bad.write_bytes(tiny_onnx(classes=7))
    out = tmp_path / "res.json"
    assert main(["bench", "label", str(good), "--cifar10", str(tiny_cifar), "--out", str(out), *FAST]) == 0
    res = json.loads(out.read_text())
    assert res["recipe"]["epochs"] == 1 and res["results"][0]["status"] == "ok"
    assert "good.onnx: ok  val" in capsys.readouterr().out
    assert main(["bench", "label", str(bad), "--cifar10", str(tiny_cifar), *FAST]) == 0
    assert "bad.onnx: failed" in capsys.readouterr().out  # recorded with its reason, the run goes on


def test_label_errors_are_one_line(tmp_path, tiny_cifar, capsys):
    assert main(["bench", "label", "--cifar10", str(tiny_cifar), *FAST]) == 2
    assert "error: name MODEL.onnx files" in capsys.readouterr().err
    assert main(["bench", "label", "--store", str(tmp_path / "nostore"), "--space", "nb201", *FAST]) == 2
    assert "is not an onnxnet benchmark store" in capsys.readouterr().err
    assert main(["bench", "label", "--store", str(tmp_path), "--epochs", "0", "--device", "cpu"]) == 2
    assert "bad training recipe: epochs=0" in capsys.readouterr().err
