"""`onnxnet evaluate ...` on a tiny real store: results folder, printed table, clear errors."""

import pandas as pd
import pytest

from onnxnet.cli.main import main


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the CLI caches graph features under ./results/cache


def test_evaluate_in_space_and_zero_shot_write_results(store_of, tmp_path, tiny_rows, capsys):
    path = store_of(tmp_path, tiny_rows)
    out = tmp_path / "res"
    assert main(["evaluate", "in-space", "--store", str(path), "--space", "toy_a", "--sizes", "8,16",
                 "--predictor", "params,gbm", "--param", "gbm.n_estimators=40", "--seeds", "2",
                 "--out", str(out), "--no-plots"]) == 0
    table = capsys.readouterr().out
    assert "| gbm | n=16 | toy_a |" in table and "| params | n=8 | toy_a |" in table
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["predictor"]) == {"params", "gbm"} and (summary["seeds"] == 2).all()
    assert main(["evaluate", "zero-shot", "--store", str(path), "--train", "toy_a", "--test", "toy_b",
                 "--predictor", "flops", "--seeds", "1", "--out", str(tmp_path / "zs"), "--tag", "v2"]) == 0
    assert (tmp_path / "zs" / "plots").is_dir() and "| flops (v2) |" in capsys.readouterr().out
    # NAME=TEXT labels one predictor; a tag whose prefix is not a chosen predictor labels all ("k=v" stays text)
    assert main(["evaluate", "zero-shot", "--store", str(path), "--train", "toy_a", "--test", "toy_b",
                 "--predictor", "params,flops", "--seeds", "1", "--out", str(tmp_path / "zs2"), "--no-plots",
                 "--tag", "flops=FLOPs only", "--tag", "k=v"]) == 0
    table = capsys.readouterr().out
    assert "| params (k=v) |" in table and "| flops (FLOPs only, k=v) |" in table


def test_evaluate_errors_are_one_line(store_of, tmp_path, tiny_rows, capsys):
    path = store_of(tmp_path, tiny_rows)
    assert main(["evaluate", "in-space", "--store", str(path), "--space", "toy_a", "--sizes", "9999",
                 "--predictor", "params", "--out", str(tmp_path / "x")]) == 2
    assert "leave nothing to test" in capsys.readouterr().err
    assert main(["evaluate", "zero-shot", "--store", str(path), "--train", "toy_a", "--test", "toy_b",
                 "--predictor", "params", "--param", "nope=1"]) == 2
    assert "no chosen predictor takes 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "zero-shot", "--store", str(tmp_path / "missing"), "--train", "a", "--test", "b"]) == 2
    assert main(["evaluate", "in-space", "--store", str(path), "--space", "toy_a", "--predictor", "nosuch"]) == 2
    assert "unknown predictor 'nosuch'" in capsys.readouterr().err


def test_evaluate_combines_several_stores(store_of, tmp_path, tiny_rows, capsys):
    a = store_of(tmp_path / "a", tiny_rows[tiny_rows.space == "toy_a"])
    b = store_of(tmp_path / "b", tiny_rows[tiny_rows.space == "toy_b"])
    assert main(["evaluate", "zero-shot", "--store", str(a), "--store", str(b), "--train", "toy_a", "--test",
                 "toy_b", "--predictor", "params", "--seeds", "1", "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    n_b = tiny_rows[tiny_rows.space == "toy_b"]["graph_hash"].nunique()
    assert f"| {n_b} / {n_b} |" in capsys.readouterr().out


def test_every_protocol_command_runs(store_of, tmp_path, tiny_rows, capsys):
    rows = tiny_rows.assign(**{"label:cifar10_test_4ep": tiny_rows.accuracy / 2})
    path = store_of(tmp_path, rows)
    common = ["--store", str(path), "--predictor", "params", "--seeds", "1", "--no-plots"]
    for args in (["leave-one-space-out"], ["all-spaces"], ["few-shot", "--train", "toy_a", "--test", "toy_b",
                                                           "--shots", "0,4"],
                 ["cross-task", "--space", "toy_a", "--tasks", "accuracy,label:cifar10_test_4ep", "--n", "8"]):
        assert main(["evaluate", *args, *common, "--out", str(tmp_path / args[0])]) == 0, args
        assert (tmp_path / args[0] / "summary.csv").is_file()
    out = capsys.readouterr().out
    assert "| params | without toy_b | toy_b |" in out and "| params | k=4 | toy_b |" in out
