"""Fixtures of the service tests: small real CNNs exported to ONNX, a pairwise predictor fitted on them and saved,
and a real server (``onnxnet serve``: uvicorn in a subprocess on a free loopback port)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn


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


@pytest.fixture(scope="session")
def server(predictor_dir, tmp_path_factory):
    """A server with 2 workers and a 2 MB upload limit, shared by the tests of this folder."""
    from onnxnet.serve.launch import ServerProcess

    tmp = tmp_path_factory.mktemp("server")
    with ServerProcess(predictor_dir, tmp, "--workers", "2", "--max-upload-mb", "2", "--timeout-s", "180",
                       "--cache-dir", str(tmp / "cache")) as s:
        yield s
