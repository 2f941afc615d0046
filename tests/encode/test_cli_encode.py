"""`onnxnet encode` and `onnxnet inspect`: text on stdout, clear errors and exit code 2 on bad input."""

from __future__ import annotations

import json

import onnx
import pytest

from encode_nets import canonical
from onnxnet.cli.main import main
from onnxnet.encode import encode


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "net.onnx"
    onnx.save(canonical("nb201_small"), p)
    return str(p)


def test_encode_prints_the_text(model_file, capsys):
    assert main(["encode", model_file, "--encoding", "chain"]) == 0
    assert capsys.readouterr().out == encode(canonical("nb201_small"), "chain")


def test_encode_parts_and_tokenizer(model_file, capsys, minilm_path):
    assert main(["encode", model_file, "--parts", "ops", "--tokenizer", minilm_path]) == 0
    cap = capsys.readouterr()
    assert cap.out == encode(canonical("nb201_small"), "compact", "ops")
    assert cap.err.startswith("tokens: ")


def test_encode_max_tokens_reports_on_stderr(model_file, capsys, minilm_path):
    assert main(["encode", model_file, "--tokenizer", minilm_path, "--max-tokens", "50"]) == 0
    cap = capsys.readouterr()
    assert "lines omitted" in cap.out and cap.err.startswith("length: ") and "cut" in cap.err


def test_encode_no_simplify_and_onnxslim(model_file, capsys):
    assert main(["encode", model_file, "--no-simplify"]) == 0
    a = capsys.readouterr().out
    assert main(["encode", model_file, "--simplifier", "onnxslim"]) == 0
    assert capsys.readouterr().out == a


def test_inspect_prints_facts_and_lengths(model_file, capsys, minilm_path):
    assert main(["inspect", model_file, "--tokenizer", minilm_path, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_nodes"] == len(canonical("nb201_small").graph.node)
    assert info["lengths"]["compact"]["tokens"] < info["lengths"]["chain"]["tokens"]
    assert main(["inspect", model_file]) == 0
    assert "n_params" in capsys.readouterr().out


@pytest.mark.parametrize("args,match", [
    (["encode", "missing.onnx"], "missing.onnx: file not found"),
    (["encode", "{bad}"], "not a valid ONNX file"),
    (["inspect", "{bad}"], "not a valid ONNX file"),
    (["encode", "{good}", "--encoding", "yaml"], "--encoding 'yaml'"),
    (["encode", "{good}", "--max-tokens", "10"], "--max-tokens needs --tokenizer"),
])
def test_bad_input_exits_2_with_a_message(args, match, tmp_path, model_file, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not really onnx")
    args = [a.replace("{bad}", str(bad)).replace("{good}", model_file) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and "Traceback" not in err
