"""Shared fixtures of the predictor tests: small real CNNs exported to ONNX, as store rows."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn


def _cnn(width: int, depth: int) -> nn.Module:
    torch.manual_seed(width * 10 + depth)
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)).eval()


@pytest.fixture(scope="session")
def onnx_nets(tmp_path_factory):
    """12 small CNNs as ONNX files and store rows in two spaces; accuracy grows with width and depth."""
    import onnx

    from onnxnet.graph import graph_hash, load_model

    d = tmp_path_factory.mktemp("onnx-nets")
    rows = []
    for i, (w, depth) in enumerate((w, dep) for w in (2, 4, 8) for dep in (1, 2, 3, 4)):
        model = load_model(_cnn(w, depth), (1, 3, 32, 32))
        path = d / f"net{i}.onnx"
        onnx.save(model, str(path))
        n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        rows.append({"id": f"s{i % 2}/{i}", "space": f"s{i % 2}", "arch": f"w{w}d{depth}", "split": "train",
                     "graph_hash": graph_hash(model), "onnx": model.SerializeToString(), "path": str(path),
                     "n_params": n_params, "flops": n_params * 1024, "accuracy": 60.0 + 3 * depth + w})
    return pd.DataFrame(rows)

