"""Byte-identical text for real exported networks whose node order and names were scrambled."""

from __future__ import annotations

import random

import onnx
import pytest
import torch

from onnxnet.encode import encode
from onnxnet.graph import export_torch, load_model
from onnxnet.graph.zoo import NB201Net, TokenClassifier


def scrambled(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """Same graph, nodes in a random (not even topological) order, every name replaced at random."""
    rnd = random.Random(seed)
    names: dict[str, str] = {}

    def rn(x: str) -> str:
        return names.setdefault(x, f"q{rnd.randrange(10**9)}") if x else x

    out = onnx.ModelProto()
    out.CopyFrom(model)
    nodes = list(out.graph.node)
    rnd.shuffle(nodes)
    new = []
    for n in nodes:
        k = onnx.NodeProto()
        k.CopyFrom(n)
        k.name = rn(n.name + "#node")
        del k.input[:], k.output[:]
        k.input.extend(rn(x) for x in n.input)
        k.output.extend(rn(x) for x in n.output)
        new.append(k)
    del out.graph.node[:]
    out.graph.node.extend(new)
    for t in out.graph.initializer:
        t.name = rn(t.name)
    for v in list(out.graph.input) + list(out.graph.output) + list(out.graph.value_info):
        v.name = rn(v.name)
    return out


@pytest.mark.parametrize("net,shape", [
    (lambda: NB201Net(n_cells=2), (1, 3, 32, 32)),
    (lambda: TokenClassifier(32, 4, 2, 64, 8), (1, 8, 32)),
])
def test_scrambled_export_gives_identical_text(net, shape):
    torch.manual_seed(0)
    raw = export_torch(net(), shape)
    for enc in ("chain", "compact"):
        assert encode(load_model(scrambled(raw, 7)), enc) == encode(load_model(raw), enc)
