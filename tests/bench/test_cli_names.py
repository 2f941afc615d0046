"""One name per thing on the command line: --store, --predictor, --spaces; the old names still work (hidden)."""

from __future__ import annotations

import pytest

from onnxnet.cli.main import main


def test_export_takes_store_and_spaces_and_the_old_form_still_works(tiny_store, tmp_path, capsys):
    assert main(["bench", "export", "--store", str(tiny_store), str(tmp_path / "new"), "--spaces", "nb201"]) == 0
    new = sorted(p.name for p in (tmp_path / "new" / "nb201").glob("*.onnx"))
    assert len(new) == 3 and "note:" not in capsys.readouterr().err
    assert main(["bench", "export", str(tiny_store), str(tmp_path / "old"), "--space", "nb201"]) == 0
    err = capsys.readouterr().err
    assert "--spaces" in err and "--store" in err  # each old form is named with its new name
    assert sorted(p.name for p in (tmp_path / "old" / "nb201").glob("*.onnx")) == new
    assert main(["bench", "export", "--store", str(tiny_store), str(tmp_path / "none"), "--spaces", "nb101"]) == 0
    assert not list((tmp_path / "none").rglob("*.onnx"))


def test_info_takes_store_and_the_positional_form_still_works(tiny_store, capsys):
    assert main(["bench", "info", "--store", str(tiny_store), "--no-lengths"]) == 0
    new = capsys.readouterr().out
    assert main(["bench", "info", str(tiny_store), "--no-lengths"]) == 0
    captured = capsys.readouterr()
    assert captured.out == new and "is now --store" in captured.err


@pytest.mark.parametrize("argv, old", [
    (["bench", "build", "--space", "nope", "--out", "{tmp}/x"], "--out"),
    (["fit", "--bench", "{tmp}/missing", "--spaces", "nb201", "--out", "{tmp}/o"], "--bench"),
    (["train", "--bench", "{tmp}/missing", "--spaces", "nb201", "--out", "{tmp}/o"], "--bench"),
    (["predict", "{tmp}/a.onnx", "--surrogate", "{tmp}/missing"], "--surrogate"),
])
def test_old_flags_are_hidden_aliases(argv, old, tmp_path, capsys):
    rc = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and f"note: {old} is now" in err and "error:" in err  # reached the command, failed on the input
    assert main([*argv[:2 if argv[0] == "bench" else 1], "--help"]) == 0
    assert old not in capsys.readouterr().out  # not advertised any more


def _text(err: str) -> str:
    return " ".join(err.replace("│", " ").split())  # the usage-error box wraps lines


def test_both_names_at_once_is_a_usage_error(tmp_path, capsys):
    assert main(["predict", "x.onnx", "--predictor", str(tmp_path), "--surrogate", str(tmp_path)]) == 2
    assert "use --predictor only" in _text(capsys.readouterr().err)
    assert main(["predict", "x.onnx"]) == 2
    assert "missing option --predictor" in _text(capsys.readouterr().err)
