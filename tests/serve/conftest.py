"""Fixtures of the service tests: small real CNNs exported to ONNX, a pairwise predictor fitted on them and saved,
and a real server (uvicorn in a subprocess on a free loopback port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]


def cnn(width: int, depth: int, kernel: int = 3) -> nn.Module:
    torch.manual_seed(width * 10 + depth)
    layers: list[nn.Module] = [nn.Conv2d(3, width, kernel, padding=kernel // 2), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(width, width, kernel, padding=kernel // 2), nn.BatchNorm2d(width), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)).eval()


@pytest.fixture(scope="session")
def nets(tmp_path_factory) -> pd.DataFrame:
    """12 small CNNs of one space ``toy`` as raw torch ONNX files and canonical store rows; accuracy grows with
    width and depth. Files 12-13 are held out (not in the rows)."""
    import onnx

    from onnxnet.graph import export_torch, graph_hash, load_model

    d = tmp_path_factory.mktemp("serve-nets")
    rows = []
    for i, (w, depth) in enumerate([(w, dep) for w in (2, 4, 8) for dep in (1, 2, 3, 4)] + [(6, 2), (6, 3)]):
        net = cnn(w, depth)
        path = d / f"net{i}.onnx"
        onnx.save(export_torch(net, (1, 3, 32, 32)), str(path))  # as a user would export it: not simplified
        model = load_model(net, (1, 3, 32, 32))
        n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        rows.append({"id": f"toy/{i}", "space": "toy", "arch": f"w{w}d{depth}", "split": "train",
                     "graph_hash": graph_hash(model), "onnx": model.SerializeToString(), "path": str(path),
                     "n_params": n_params, "flops": n_params * 1024, "accuracy": 60.0 + 3 * depth + w})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def predictor_dir(nets, tmp_path_factory) -> Path:
    """A pairwise comparator fitted on the first 12 networks, with their scores recorded, saved to a folder."""
    from onnxnet.predictors import get_predictor

    train = nets.iloc[:12]
    pw = get_predictor("pairwise", proxies=("nwot",), n_estimators=40, min_child_samples=2, num_leaves=4,
                       cache_dir=str(tmp_path_factory.mktemp("feature-cache")))
    pw.fit(train, train["accuracy"].to_numpy())
    pw.record_reference_scores(train)
    pw.card_ = {"n_train": 12, "test": {"toy": {"n": 2, "kendall": 1.0, "spearman": 1.0}}}
    return pw.save(tmp_path_factory.mktemp("predictor") / "pw")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``onnxnet serve`` in a subprocess; ``url`` once it answers /health."""

    def __init__(self, predictor: Path, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        self.log = open(tmp / f"server-{self.port}.log", "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "onnxnet.cli.main", "serve", "--predictor", str(predictor),
                                      "--port", str(self.port), "--cache-dir", str(tmp / f"cache-{self.port}"), *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait(self, timeout: float = 300.0) -> "Server":  # a ceiling for a loaded machine; ~5 s when quiet
        import httpx

        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {timeout} s: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def server(predictor_dir, tmp_path_factory):
    """A server with 2 workers and a 2 MB upload limit, shared by the tests of this folder."""
    s = Server(predictor_dir, tmp_path_factory.mktemp("server"), "--workers", "2", "--max-upload-mb", "2",
               "--timeout-s", "60")
    try:
        yield s.wait()
    finally:
        s.stop()
