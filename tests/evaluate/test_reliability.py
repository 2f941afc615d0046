"""A number the harness prints is one a user can trust: missing features fail or are labelled, a failing predictor
keeps the others' results, and a killed run leaves no process behind and loses no computed feature row."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import onnxnet
from onnxnet.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    from onnxnet.features import engine as graph_features
    from onnxnet.features.proxies import _BATCHES

    monkeypatch.chdir(tmp_path)  # the CLI caches features under ./results/cache
    graph_features.clear_memory_cache()  # features computed by earlier tests would hide a missing pack
    _BATCHES.clear()
    yield
    graph_features.clear_memory_cache()


def _missing_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("ONNXNET_CIFAR10", str(tmp_path / "gone" / "cifar10_jpeg_pack.npz"))


def test_missing_pack_fails_the_proxy_predictor_keeps_the_others_and_exits_1(store_of, tmp_path, tiny_rows,
                                                                             monkeypatch, capsys):
    path = store_of(tmp_path, tiny_rows)
    _missing_pack(tmp_path, monkeypatch)
    out = tmp_path / "res"
    code = main(["evaluate", "in-space", "--store", str(path), "--space", "toy_a", "--sizes", "8",
                 "--predictor", "params,flops,onnx-meco", "--seeds", "1", "--out", str(out), "--no-plots", "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert "onnx-meco failed" in err and "features missing for" in err
    assert f"CIFAR-10 pack not found at {tmp_path / 'gone' / 'cifar10_jpeg_pack.npz'}" in err
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["predictor"]) == {"params", "flops"}  # the two good ones are saved
    failed = pd.read_csv(out / "failed_predictors.csv")
    assert list(failed["predictor"]) == ["onnx-meco"] and "CIFAR-10 pack not found" in failed["reason"][0]
    assert "**Failed predictors**" in (out / "summary.md").read_text()


def test_allow_partial_labels_the_row_with_the_share_missing(store_of, tmp_path, tiny_rows, monkeypatch,
                                                             capsys):
    path = store_of(tmp_path, tiny_rows)
    _missing_pack(tmp_path, monkeypatch)
    code = main(["evaluate", "in-space", "--store", str(path), "--space", "toy_a", "--sizes", "8",
                 "--predictor", "pairwise,onnx-meco", "--param", "pairwise.n_estimators=20", "--seeds", "1",
                 "--out", str(tmp_path / "p"), "--no-plots", "--allow-partial", "-q"])
    assert code == 1  # onnx-meco has no valid score at all
    table = capsys.readouterr().out
    n_test = int(pd.read_csv(tmp_path / "p" / "scores.csv")["n_test"].iloc[0])
    assert f"| pairwise [partial: proxies missing {n_test}/{n_test} test, 8/8 train] | n=8 | toy_a |" in table
    failed = pd.read_csv(tmp_path / "p" / "failed_predictors.csv")
    assert list(failed["predictor"]) == ["onnx-meco"] and failed["reason"][0].startswith("no valid score")


def test_cifar10_option_names_the_path_as_given(store_of, tmp_path, tiny_rows, capsys):
    path = store_of(tmp_path, tiny_rows)
    assert main(["evaluate", "zero-shot", "--store", str(path), "--train", "toy_a", "--test", "toy_b",
                 "--predictor", "onnx-meco", "--cifar10", "no/such/pack.npz"]) == 2
    assert "CIFAR-10 pack not found at no/such/pack.npz" in capsys.readouterr().err


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_stops_workers_flushes_features_and_the_rerun_resumes(store_of, tmp_path, monkeypatch):
    """A real ``onnxnet evaluate`` computing zero-cost proxies in two worker processes, killed mid-way."""
    import torch.nn as nn

    from onnxnet.features import engine as graph_features
    from onnxnet.graph import load_model

    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(16, 10))
    model = load_model(net.eval(), (1, 3, 32, 32)).SerializeToString()
    n = 40
    rows = pd.DataFrame({  # one real graph under n keys: n proxy computations of ~0.2 s each
        "id": [f"toy_b/{i}" for i in range(n)] + ["toy_a/0", "toy_a/1"],
        "space": ["toy_b"] * n + ["toy_a"] * 2, "arch": [f"a{i}" for i in range(n + 2)],
        "graph_hash": [f"kill{i:03d}" for i in range(n + 2)], "onnx": [model] * (n + 2),
        "n_params": 1, "flops": 1, "depth": 1, "n_nodes": 1, "split": "train",
        "accuracy": [float(i) for i in range(n + 2)], "accuracy_label": "toy"})
    path = store_of(tmp_path, rows)
    env = {**os.environ, "PYTHONPATH": str(Path(onnxnet.__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "err.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "onnxnet.cli.main", "evaluate", "zero-shot", "--store", str(path), "--train",
         "toy_a", "--test", "toy_b", "--predictor", "onnx-meco", "--param", "jobs=2", "--seeds", "1",
         "--no-plots"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log)
    done, workers, deadline = 0, set(), time.monotonic() + 240  # generous: a loaded machine
    while proc.poll() is None and time.monotonic() < deadline:
        workers |= set(_children(proc.pid))
        counts = re.findall(rf"(\d+)/{n}\b", (tmp_path / "err.log").read_text())
        done = int(counts[-1]) if counts else 0
        if done >= 4:
            break
        time.sleep(0.1)
    assert proc.poll() is None and done >= 4, "the run ended (or never progressed) before it could be killed"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    log.close()
    time.sleep(1.0)
    assert workers and not [w for w in workers if _alive(w)], "worker processes outlived the killed run"
    log_text = (tmp_path / "err.log").read_text()
    assert "interrupted" in log_text  # and the progress bar showed count, elapsed < ETA, rate:
    assert re.search(rf"\d+/{n} \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(net/s|s/net)\]", log_text)
    cache = tmp_path / "results" / "cache" / "graph_features_proxies-v1.parquet"
    kept = pd.read_parquet(cache)
    test_rows = rows[rows.space == "toy_b"]
    on_disk = test_rows["graph_hash"].isin(kept.index)
    assert kept.index.is_unique and done <= on_disk.sum() < n  # every row shown as done is on disk
    # the rerun computes only what is missing
    computed: list[str] = []
    real = graph_features._compute_chunk

    def spy(kind, chunk):
        computed.extend(k for k, _ in chunk)
        return real(kind, chunk)

    monkeypatch.setattr(graph_features, "_compute_chunk", spy)
    graph_features.clear_memory_cache()
    missing = test_rows[~on_disk]
    frame, failures = graph_features.features_frame(pd.concat([test_rows[on_disk], missing.iloc[:2]]),
                                                    kind="proxies", cache_dir=cache.parent)
    assert sorted(computed) == sorted(missing["graph_hash"].iloc[:2]) and not failures
    assert len(pd.read_parquet(cache)) == len(kept) + 2 and frame.notna().all().all()
