"""Small ONNX graphs built with onnx.helper for the graph front-end tests."""

from __future__ import annotations

import io

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from onnxnet.graph import load_model


def conv_branch_model(names: dict[str, str] | None = None, order: list[int] | None = None) -> onnx.ModelProto:
    """x -> Conv -> Relu -> {Conv a (3x3), Conv b (1x1, grouped), MaxPool} -> Concat(axis=1) -> Add(skip) -> out.

    ``names`` renames tensors/initializers/nodes; ``order`` permutes the node list (any order, even not
    topological), so tests can check that the canonical text does not depend on either.
    """
    rng = np.random.default_rng(0)
    n = names or {}

    def N(s: str) -> str:
        return n.get(s, s)

    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), N("w0")),
        numpy_helper.from_array(rng.standard_normal((8,)).astype(np.float32), N("b0")),
        numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), N("wa")),
        numpy_helper.from_array(rng.standard_normal((8, 2, 1, 1)).astype(np.float32), N("wb")),
        numpy_helper.from_array(rng.standard_normal((16, 24, 1, 1)).astype(np.float32), N("wc")),
    ]
    nodes = [
        helper.make_node("Conv", [N("x"), N("w0"), N("b0")], [N("c0")], name=N("conv0"), kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", [N("c0")], [N("r0")], name=N("relu0")),
        helper.make_node("Conv", [N("r0"), N("wa")], [N("a")], name=N("conva"), kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", [N("r0"), N("wb")], [N("b")], name=N("convb"), kernel_shape=[1, 1], group=4),
        helper.make_node("MaxPool", [N("r0")], [N("p")], name=N("pool"), kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1]),
        helper.make_node("Concat", [N("a"), N("b"), N("p")], [N("cat")], name=N("cat"), axis=1),
        helper.make_node("Conv", [N("cat"), N("wc")], [N("c1")], name=N("convc"), kernel_shape=[1, 1]),
        helper.make_node("Slice", [N("c1"), N("st"), N("en"), N("ax")], [N("s1")], name=N("slice")),
        helper.make_node("Add", [N("s1"), N("r0")], [N("out")], name=N("add")),
    ]
    inits += [numpy_helper.from_array(np.array([0], np.int64), N("st")),
              numpy_helper.from_array(np.array([8], np.int64), N("en")),
              numpy_helper.from_array(np.array([1], np.int64), N("ax"))]
    if order is not None:
        nodes = [nodes[i] for i in order]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(N("x"), TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(N("out"), TensorProto.FLOAT, [1, 8, 8, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


class TokenNet(torch.nn.Module):
    """An embedding, a GELU MLP and an output layer tied to the embedding (as GPT-2's)."""

    def __init__(self, vocab: int = 50, dim: int = 16) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        self.mlp = torch.nn.Linear(dim, dim)
        self.out = torch.nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(torch.nn.functional.gelu(self.mlp(self.emb(ids))))


def token_model() -> tuple[TokenNet, onnx.ModelProto]:
    """``TokenNet`` and its export (TorchScript exporter, token ids (1, 12)) through ``load_model``."""
    torch.manual_seed(0)
    net = TokenNet().eval()
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.zeros((1, 12), dtype=torch.long),), buf, dynamo=False, opset_version=17)
    return net, load_model(buf.getvalue())
