"""Helpers of the predictor tests."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper


def predict_in_fresh_process(folder, rows: pd.DataFrame, tmp_path) -> list[float]:
    """Predictions of the predictor saved in ``folder`` for ``rows``, from a new Python process."""
    rows[["id", "space", "graph_hash", "onnx", "n_params", "flops"]].to_parquet(tmp_path / "rows.parquet")
    code = ("import sys, json, pandas as pd; from onnxnet.predictors import load_predictor; "
            "p = load_predictor(sys.argv[1]); print(json.dumps(p.predict(pd.read_parquet(sys.argv[2])).tolist()))")
    out = subprocess.run([sys.executable, "-c", code, str(folder), str(tmp_path / "rows.parquet")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _conv(name, x, out, k, c=2):
    w = numpy_helper.from_array(np.ones((c, c, k, k), np.float32), f"{name}_w")
    return helper.make_node("Conv", [x, w.name], [out], kernel_shape=[k, k], pads=[k // 2] * 4, name=name), w


def block_model(skip: bool, zero_branch: bool = False) -> onnx.ModelProto:
    """x -> conv3x3 -> relu -> conv1x1 -> (+ x if skip) -> y; optionally + 0 * x (a 'none' edge)."""
    n1, w1 = _conv("c1", "x", "a", 3)
    n2, w2 = _conv("c2", "b", "c", 1)
    nodes, inits = [n1, helper.make_node("Relu", ["a"], ["b"]), n2], [w1, w2]
    last = "c"
    if skip:
        nodes.append(helper.make_node("Add", ["c", "x"], ["d"]))
        last = "d"
    if zero_branch:
        inits.append(numpy_helper.from_array(np.zeros((), np.float32), "zero"))
        nodes += [helper.make_node("Mul", ["x", "zero"], ["z"]), helper.make_node("Add", [last, "z"], ["e"])]
        last = "e"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 4, 4])  # noqa: E731
    return helper.make_model(helper.make_graph(nodes, "g", [vi("x")], [vi("y")], inits))


def write_store(rows: pd.DataFrame, path):
    """A benchmark store at ``path`` holding ``rows`` (one part per space)."""
    from onnxnet.bench.store import BenchStore

    store = BenchStore.create(path)
    for space, part in rows.drop(columns=["path"]).groupby("space"):
        store.write_part(f"{space}-0", part)
    return store


def residual_5x5(w: int, n: int):
    """A torch module unlike the fixture's plain CNNs: wide 5x5 convs with tanh residual adds."""
    import torch
    import torch.nn as nn

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, w, 5, padding=2)
            self.convs = nn.ModuleList(nn.Conv2d(w, w, 5, padding=2) for _ in range(n))
            self.head = nn.Linear(w, 10)

        def forward(self, x):
            x = self.stem(x)
            for c in self.convs:
                x = x + torch.tanh(c(x))
            return self.head(x.mean(dim=(2, 3)))

    return Res().eval()
