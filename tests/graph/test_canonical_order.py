"""The canonical text depends on the network only: not on node order, names, or no-op / dead / duplicate nodes."""

from __future__ import annotations

import random

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from graph_models import conv_branch_model
from onnxnet.encode import encode
from onnxnet.graph import canonicalize, export_torch, graph_hash, load_model

TENSORS = ["x", "w0", "b0", "wa", "wb", "wc", "c0", "r0", "a", "b", "p", "cat", "c1", "s1", "out", "st", "en", "ax",
           "conv0", "relu0", "conva", "convb", "pool", "convc", "slice", "add"]


@pytest.mark.parametrize("simplifier", [None, "onnxsim"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_and_renamed_graph_gives_identical_text(simplifier, seed):
    base = load_model(conv_branch_model(), simplifier=simplifier)
    rnd = random.Random(seed)
    order = list(range(9))
    rnd.shuffle(order)
    names = {t: f"zz_{rnd.randrange(10**6)}_{t[::-1]}" for t in TENSORS}
    other = load_model(conv_branch_model(names, order), simplifier=simplifier)
    for enc in ("chain", "compact"):
        assert encode(other, enc) == encode(base, enc)
    assert graph_hash(other) == graph_hash(base)
    assert other.SerializeToString() == base.SerializeToString()  # weights follow their nodes too


class TwoBranch(torch.nn.Module):
    def __init__(self, swap: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 4, 1)
        self.swap = swap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.swap:  # same network, other node order and other tensor names in the file
            v = self.b(x)
            u = torch.relu(self.a(x))
        else:
            u = torch.relu(self.a(x))
            v = self.b(x)
        return torch.cat([u, v], 1)


def test_same_torch_network_exported_in_two_orders_gives_identical_text():
    m1, m2 = export_torch(TwoBranch(False), (1, 4, 8, 8)), export_torch(TwoBranch(True), (1, 4, 8, 8))
    assert [n.op_type for n in m1.graph.node] != [n.op_type for n in m2.graph.node]
    assert encode(load_model(m1), "chain") == encode(load_model(m2), "chain")


def test_canonicalize_is_idempotent(branch_model):
    c = load_model(branch_model)
    again = canonicalize(c)
    assert again.SerializeToString() == c.SerializeToString()


def test_canonical_names_and_stripped_metadata(branch_model):
    branch_model.doc_string = "/home/someone/secret/path.py"
    branch_model.graph.node[0].doc_string = "/home/someone/trace.py:12"
    c = load_model(branch_model)
    assert [vi.name for vi in c.graph.input] == ["x0"]
    outs = [o for n in c.graph.node for o in n.output]
    assert outs == [f"t{i}" for i in range(len(outs))]
    assert all(t.name.startswith("w") for t in c.graph.initializer)
    assert b"/home/someone" not in c.SerializeToString()


def _noisy_model() -> onnx.ModelProto:
    """x -> Identity -> Relu -> Dropout -> {Sigmoid, Sigmoid (duplicate)} -> Add; plus a dead Tanh branch."""
    nodes = [
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("Relu", ["i"], ["r"]),
        helper.make_node("Dropout", ["r"], ["d"]),
        helper.make_node("Sigmoid", ["d"], ["s1"]),
        helper.make_node("Sigmoid", ["d"], ["s2"]),
        helper.make_node("Add", ["s1", "s2"], ["y"]),
        helper.make_node("Tanh", ["d"], ["dead"]),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_noops_dead_branches_and_duplicates_are_removed_without_simplifier():
    c = load_model(_noisy_model(), simplifier=None)
    assert [n.op_type for n in c.graph.node] == ["Relu", "Sigmoid", "Add"]
    add = c.graph.node[2]
    assert list(add.input) == ["t1", "t1"]  # the duplicate Sigmoid was merged: Add reads one tensor twice


def test_equal_valued_weights_are_not_shared_in_the_canonical_graph():
    """torch merges equal-valued initializers (e.g. zero biases); the text must not depend on weight values."""
    zero = numpy_helper.from_array(np.zeros(4, np.float32), "z")
    w1 = numpy_helper.from_array(np.ones((4, 4), np.float32), "w1")
    w2 = numpy_helper.from_array(np.full((4, 4), 2, np.float32), "w2")
    nodes = [helper.make_node("Gemm", ["x", "w1", "z"], ["h"]), helper.make_node("Gemm", ["h", "w2", "z"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [zero, w1, w2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    text = encode(load_model(m, simplifier=None), "chain")
    assert "const" not in text and text.count("<4>") == 2
    shared = encode(load_model(m, simplifier=None, unshare_weights=False), "chain")
    assert "const w0_2 <4>" in shared


def _bn_matmul_model() -> onnx.ModelProto:
    r = np.random.default_rng(0)

    def f(*s: int) -> np.ndarray:
        return r.standard_normal(s).astype(np.float32)

    inits = [numpy_helper.from_array(a, n) for a, n in [
        (f(4, 3, 3, 3), "w"), (f(4), "g"), (f(4), "b"), (f(4), "m"), (np.abs(f(4)) + 1, "v"), (f(256, 10), "mw"),
        (f(10), "mb")]]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"]),
             helper.make_node("Relu", ["bn"], ["r"]), helper.make_node("Flatten", ["r"], ["fl"]),
             helper.make_node("MatMul", ["fl", "mw"], ["mm"]), helper.make_node("Add", ["mm", "mb"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("simplifier", ["onnxsim", "onnxslim"])
def test_simplifiers_fold_batchnorm_and_fuse_matmul_add(simplifier):
    # onnxsim is run without its MatMul + Add -> Gemm fusion (graph.load.VALUE_DEPENDENT_PASSES: it needs the
    # weight values, which a file read without them lacks); onnxslim fuses
    fused = "Gemm" if simplifier == "onnxslim" else "MatMul --> Add"
    assert encode(load_model(_bn_matmul_model(), simplifier=simplifier), "chain", "ops") == \
        f"Conv --> Relu --> Flatten --> {fused}\n"
    assert encode(load_model(_bn_matmul_model(), simplifier=None), "chain", "ops") == \
        "Conv --> BatchNormalization --> Relu --> Flatten --> MatMul --> Add\n"


def test_canonical_model_computes_the_same_function():
    import onnxruntime as ort

    raw = conv_branch_model()
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)

    def run(m: onnx.ModelProto, name: str) -> np.ndarray:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {name: x})[0]

    ref = run(raw, "x")
    for simplifier in (None, "onnxsim"):
        np.testing.assert_allclose(run(load_model(raw, simplifier=simplifier), "x0"), ref, rtol=1e-5, atol=1e-5)
