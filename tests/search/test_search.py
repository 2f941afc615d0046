"""The search package on tiny budgets: strategies on two spaces, the predictor-guided loop, two objectives,
resuming after a kill, and clear refusals."""

import json

import numpy as np
import pandas as pd
import pytest

from onnxnet.errors import DataError, OnnxNetError, UnknownNameError
from onnxnet.search import (FunctionOracle, SearchConfig, SearchError, TableOracle, hypervolume, pareto_mask,
                            parse_objective, run_search)
from onnxnet.search.journal import Journal
from onnxnet.search.objectives import nondominated_ranks
from onnxnet.spaces import get_space


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory):
    """Built graphs shared by the tests of this module (a network is built once)."""
    return tmp_path_factory.mktemp("graph-cache")


@pytest.fixture
def small_nb201(monkeypatch):
    """NB201 cells in a 4-channel, 1-cell-per-stage network: the same search, graphs ~10x cheaper to build."""
    from onnxnet.spaces.nb201 import NB201Space

    monkeypatch.setattr(NB201Space, "C", 4)
    monkeypatch.setattr(NB201Space, "N", 1)


@pytest.mark.parametrize("space", ["nb201", "transnas_micro"])
@pytest.mark.parametrize("strategy", ["random", "evolution", "tpe", "nsga2"])
def test_every_strategy_searches_on_true_labels(tmp_path, shared_data, space, strategy):
    params = {"population": 4, "sample_size": 2} if strategy == "evolution" else {}
    if strategy == "nsga2":
        params = {"population_size": 4}
    cfg = SearchConfig(space=space, strategy=strategy, strategy_params=params, evals=10, top=0, seed=3)
    res = run_search(cfg, tmp_path / "run", progress=False)
    ev = res.evaluations
    sp = get_space(space)
    assert len(ev) == 10 and ev["arch_hash"].is_unique
    truth = TableOracle(sp).evaluate([sp.parse(a) for a in ev["arch"]])
    assert np.allclose(ev["accuracy"], truth)
    assert res.best_accuracy == pytest.approx(max(truth))
    assert list(res.ranked["accuracy"]) == sorted(truth, reverse=True)
    assert ev["best_so_far"].is_monotonic_increasing


def test_guided_search_with_training_free_predictor_writes_ranked_onnx(tmp_path, shared_data, graph_cache,
                                                                      small_nb201):
    cfg = SearchConfig(space="nb201", predictor="params", strategy="tpe", queries=4, evals=3, batch=2, top=1, seed=0)
    res = run_search(cfg, tmp_path / "run", progress=False, cache_dir=graph_cache)
    out = tmp_path / "run"
    assert res.queries_used == 4 and len(res.evaluations) == 3
    ranked = pd.read_csv(out / "ranked.csv")
    assert ranked.loc[0, "onnx"] == "onnx/rank-01.onnx"
    import onnx

    model = onnx.load(out / "onnx" / "rank-01.onnx")
    assert model.graph.node and model.graph.initializer
    # the predictor (#params) picked the largest candidates of each round: scores are their parameter counts
    rounds = res.evaluations[res.evaluations["round"] > 0]
    assert rounds["score"].notna().all() and (rounds["score"] > 0).all()
    assert json.loads((out / "summary.json").read_text())["evaluations"] == 3


def test_guided_search_refits_a_learning_predictor_in_space(tmp_path, shared_data, graph_cache, small_nb201):
    cfg = SearchConfig(space="nb201", predictor="gbm", predictor_params={"n_estimators": 20}, strategy="evolution",
                       strategy_params={"population": 4, "sample_size": 2}, queries=4, evals=5, init=3, batch=1,
                       top=0, seed=1)
    res = run_search(cfg, tmp_path / "run", progress=False, cache_dir=graph_cache)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["predictor_fits"] == 2  # before each of the two rounds after the 3 random evaluations
    assert list(res.evaluations["round"]) == [0, 0, 0, 1, 2]
    assert "final_score" in res.ranked.columns


def test_two_objectives_give_a_pareto_front_and_plot(tmp_path, shared_data):
    cfg = SearchConfig(space="nb201", strategy="nsga2", strategy_params={"population_size": 4},
                       objective="accuracy,latency", evals=12, top=0, seed=0)
    res = run_search(cfg, tmp_path / "run", progress=False)
    ev = res.evaluations
    assert ev["cost"].notna().all()
    front = pd.read_csv(tmp_path / "run" / "pareto.csv")
    assert len(front) == int(pareto_mask(ev["accuracy"], ev["cost"]).sum()) >= 1
    assert (tmp_path / "run" / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert res.hypervolume > 0


def test_pareto_and_hypervolume_by_hand():
    acc = [90.0, 80.0, 85.0, 70.0, np.nan]
    cost = [10.0, 2.0, 10.0, 5.0, 1.0]
    assert list(pareto_mask(acc, cost)) == [True, True, False, False, False]
    assert list(nondominated_ranks(acc, cost)[:4]) == [0, 0, 1, 1]
    # ref (0, 20): [2, 10) x 80 + [10, 20) x 90 = 640 + 900
    assert hypervolume(acc, cost, (0.0, 20.0)) == pytest.approx(1540.0)
    assert hypervolume(acc, cost, (95.0, 20.0)) == 0.0


class _Killed(Exception):
    pass


def test_a_killed_search_resumes_without_losing_or_repeating(tmp_path, shared_data):
    sp = get_space("nb201")
    table = TableOracle(sp)
    cfg = SearchConfig(space="nb201", strategy="evolution", strategy_params={"population": 4, "sample_size": 2},
                       evals=12, top=0, seed=5)
    whole = run_search(cfg, tmp_path / "whole", progress=False)

    calls = []

    def dies_after_5(arch):
        if len(calls) == 5:
            raise _Killed()
        calls.append(sp.to_string(arch))
        return table.evaluate([arch])[0]

    with pytest.raises(_Killed):
        run_search(cfg, tmp_path / "resumed", oracle=FunctionOracle(dies_after_5), progress=False)
    journal = tmp_path / "resumed" / "journal.jsonl"
    assert len(journal.read_text().splitlines()) == 5
    with open(journal, "ab") as fh:  # a write cut short by the kill
        fh.write(b'{"i": 5, "arch": "|none~0|+|no')
    again = []
    resumed = run_search(cfg, tmp_path / "resumed", progress=False,
                         oracle=FunctionOracle(lambda a: again.append(a) or table.evaluate([a])[0]))
    assert len(again) == 7  # only the missing evaluations were asked for
    assert list(resumed.evaluations["arch"]) == list(whole.evaluations["arch"])
    assert [json.loads(x)["i"] for x in journal.read_text().splitlines()] == list(range(12))


def test_journal_drops_only_a_torn_last_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.append({"arch": "a"})
    j.append({"arch": "b"})
    path.write_bytes(path.read_bytes() + b'{"i": 2, "ar')
    assert [r["arch"] for r in Journal(path).records] == ["a", "b"]
    assert path.read_bytes().endswith(b"\n")
    path.write_bytes(b'{"i": 0, "arch": "a"}\nnot json\n')
    with pytest.raises(DataError, match="line 2"):
        Journal(path)


@pytest.mark.parametrize("change, message", [
    ({"evals": 0}, "at least 1 true evaluation"),
    ({"evals": 5, "top": -1}, "cannot be negative"),
    ({"predictor": "params", "queries": 0}, "needs predictor queries"),
    ({"batch": 0}, "at least 1 true evaluation per round"),
    ({"init": 9, "evals": 5}, "--init 9"),
])
def test_refuses_a_bad_budget(tmp_path, change, message):
    with pytest.raises(SearchError, match=message):
        run_search(SearchConfig(space="nb201", **change), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_refuses_unknown_space_strategy_objective_and_missing_predictor(tmp_path, shared_data):
    with pytest.raises(UnknownNameError, match="unknown search space 'nb999'"):
        run_search(SearchConfig(space="nb999"), tmp_path / "a", progress=False)
    with pytest.raises(UnknownNameError, match="unknown search strategy"):
        run_search(SearchConfig(space="nb201", strategy="annealing"), tmp_path / "b", progress=False)
    with pytest.raises(SearchError, match="predictor folder not found"):
        run_search(SearchConfig(space="nb201", predictor=str(tmp_path / "no-such-dir")), tmp_path / "c",
                   progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SearchError, match="holds no saved predictor"):
        run_search(SearchConfig(space="nb201", predictor=str(tmp_path / "empty")), tmp_path / "d", progress=False)
    with pytest.raises(OnnxNetError, match="unknown search cost"):
        parse_objective("accuracy,energy")
    with pytest.raises(SearchError, match="latency"):
        run_search(SearchConfig(space="transnas_micro", objective="accuracy,latency", evals=2), tmp_path / "e",
                   progress=False)


def test_refuses_to_resume_with_other_settings(tmp_path, shared_data):
    run_search(SearchConfig(space="nb201", strategy="random", evals=3, top=0), tmp_path / "run", progress=False)
    with pytest.raises(SearchError, match="evals"):
        run_search(SearchConfig(space="nb201", strategy="random", evals=4, top=0), tmp_path / "run", progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(SearchError, match="not a search run folder"):
        run_search(SearchConfig(space="nb201", evals=2), tmp_path / "other", progress=False)


def test_cli_search_and_its_errors(tmp_path, shared_data, capsys):
    from onnxnet.cli.main import main

    assert main(["search", "--space", "transnas_micro", "--strategy", "random", "--evals", "4", "--top", "0",
                 "--out", str(tmp_path / "run")]) == 0
    assert "4 true evaluations" in capsys.readouterr().out
    assert main(["search", "--space", "nb201", "--evals", "-3", "--out", str(tmp_path / "bad")]) == 2
    assert "--evals -3" in capsys.readouterr().err
    assert main(["search", "--space", "nb201", "--predictor", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "bad")]) == 2
    assert "predictor folder not found" in capsys.readouterr().err


_SLOW_SEARCH = """
import sys, time
from onnxnet.search import FunctionOracle, SearchConfig, TableOracle, run_search
from onnxnet.spaces import get_space
sp = get_space("nb201")
table = TableOracle(sp)
def slow(arch):
    time.sleep(0.3)
    return table.evaluate([arch])[0]
cfg = SearchConfig(space="nb201", strategy="evolution", strategy_params={"population": 4, "sample_size": 2},
                   evals=40, top=0, seed=2)
run_search(cfg, sys.argv[1], oracle=FunctionOracle(slow), progress=False)
"""


def test_a_search_killed_with_sigkill_resumes(tmp_path, shared_data):
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    env = {**os.environ, "ONNXNET_DATA": str(shared_data)}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_SEARCH, str(run)], env=env)
    journal = run / "journal.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.is_file() or len(journal.read_text().splitlines()) < 3):
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(journal.read_text().splitlines())
    assert 3 <= n_before < 40
    cfg = SearchConfig(space="nb201", strategy="evolution", strategy_params={"population": 4, "sample_size": 2},
                       evals=40, top=0, seed=2)
    table = TableOracle(get_space("nb201"))
    asked = []
    resumed = run_search(cfg, run, progress=False,
                         oracle=FunctionOracle(lambda a: asked.append(a) or table.evaluate([a])[0]))
    whole = run_search(cfg, tmp_path / "whole", progress=False)
    assert len(asked) == 40 - n_before
    assert list(resumed.evaluations["arch"]) == list(whole.evaluations["arch"])
    assert np.allclose(resumed.evaluations["accuracy"], whole.evaluations["accuracy"])


def test_the_training_oracle_labels_networks_with_the_pipeline(tmp_path, small_nb201):
    """oracle=train: each evaluated network is trained (here 1 epoch on a tiny decoded CIFAR folder); the fitness is
    its validation accuracy."""
    rng = np.random.default_rng(0)
    cifar = tmp_path / "cifar"
    cifar.mkdir()
    for split, n in (("train", 200), ("test", 40)):
        y = rng.integers(0, 10, size=n)
        x = rng.integers(0, 120, size=(n, 32, 32, 3))
        x[..., 0] += (y * 13)[:, None, None]
        np.save(cifar / f"{split}_x.npy", x.astype(np.uint8))
        np.save(cifar / f"{split}_y.npy", y.astype(np.int64))
    cfg = SearchConfig(space="nb201", strategy="random", evals=1, top=0, oracle="train",
                       oracle_params={"epochs": 1, "batch_size": 32, "device": "cpu", "cifar10": str(cifar),
                                      "cache_dir": str(tmp_path / "cache")})
    res = run_search(cfg, tmp_path / "run", progress=False)
    acc = res.evaluations["accuracy"]
    assert len(acc) == 1 and acc.notna().all() and ((acc >= 0) & (acc <= 100)).all()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["oracle_label"] == "onnxnet_cifar10_1ep_val"
    with pytest.raises(SearchError, match="recipe takes"):
        run_search(SearchConfig(space="nb201", evals=1, oracle="train", oracle_params={"epochz": 1}),
                   tmp_path / "bad", progress=False)
