"""Ablation parts, the lexical format of values, and parser errors."""

from __future__ import annotations

import numpy as np
import pytest

from encode_nets import canonical
from onnxnet.encode import Parts, encode, parse
from onnxnet.encode.text import fmt_attr_value, fmt_type, parse_attr_value, parse_type
from onnxnet.errors import EncodingError
from onnxnet.graph import Graph, TensorType, TensorValue


def test_ablation_levels_add_information_in_order():
    m = canonical("nb201_small")
    texts = [encode(m, "chain", p) for p in Parts.ablation_levels()]
    ops, inputs, attrs, full = texts
    assert not any(c in ops for c in "([<=") and "Conv --> " in ops.replace("Relu\n", "")
    assert "(x0," in inputs and "<16x3x3x3>" in inputs and "[" not in inputs and " = t" in inputs
    assert "k=3x3" in attrs and "= t1 <" not in attrs
    assert "= t1 <1x16x32x32>" in full
    assert [len(t) for t in texts] == sorted(len(t) for t in texts)


def test_parts_parse_from_strings():
    assert Parts.parse(None) == Parts.ALL
    assert Parts.parse("all") == Parts.ALL
    assert Parts.parse("inputs,attrs") == Parts.OPS | Parts.INPUTS | Parts.ATTRS
    assert Parts.parse(["shapes"]).label() == "ops+shapes"
    with pytest.raises(EncodingError, match="unknown encoding part 'colour'"):
        Parts.parse("ops,colour")


def test_text_without_connectivity_cannot_be_parsed():
    text = encode(canonical("nb201_small"), "chain", "ops,attrs")
    with pytest.raises(EncodingError, match="inputs"):
        parse(text)


def test_text_without_attributes_or_shapes_still_parses_the_edges():
    m = canonical("nb201_small")
    g = parse(encode(m, "compact", "ops,inputs"))
    ref = Graph.from_onnx(m)
    assert [(n.op, n.inputs, n.outputs) for n in g.nodes] == [(n.op, n.inputs, n.outputs) for n in ref.nodes]


@pytest.mark.parametrize("value", [
    3, -1, 0.5, float(np.float32(1e-05)), float("inf"), ("ints", 3, 3), ("ints", 2), ("ints",), ("ints", -1, 0, 1),
    ("floats", 1.0, 2.5), ("floats",), "nearest", "3x3", "inf", "has space", ("strings", "a", "b c"),
    ("strings",), TensorValue(TensorType(7, (2,)), (1, -1)), TensorValue(TensorType(1, ()), (0.0,)),
])
def test_attribute_values_round_trip(value):
    text = fmt_attr_value(value)
    assert " " not in text or text.startswith(('"', "["))
    assert parse_attr_value(text, "test") == value


@pytest.mark.parametrize("t,values", [
    (TensorType(1, (1, 3, 32, 32)), None), (TensorType(7, (2,)), (1, -1)), (TensorType(1, ()), (0.5,)),
    (TensorType(1, ("d0", 4)), None), (TensorType(1, None), None), (TensorType(9, (None, 2)), None),
])
def test_types_round_trip(t, values):
    assert parse_type(fmt_type(t, values), "test") == (t, values)


@pytest.mark.parametrize("text,match", [
    ("in x0 <1x4>\nRelu(x9) = t0 <1x4>\nout t0\n", "line 2: input 'x9' is used before it is defined"),
    ("in x0 <1x4>\nRelu(x0) = t5 <1x4>\nout t0\n", "line 2: output is named 't5' but it is tensor 't0'"),
    ("in x0 <1x4>\nrepeat 2 {\nRelu(x0) = t0 <1x4>\nout t0\n", "line 2: 'repeat' block is not closed"),
    ("in x0 <1x4>\nRelu[k=3x](x0) = t0 <1x4>\n", "line 2: cannot read attribute value '3x'"),
    ("in x0 <1x4>\n... [3 lines omitted] ...\n", "cut by the length policy"),
])
def test_parser_errors_name_the_line(text, match):
    with pytest.raises(EncodingError, match=match):
        parse(text)


def _gated_mlp(widths: list[int]):
    """x -> 4 x [Gemm (width changes), Relu, Mul by a gate computed once] -> out: repeats with variables
    (the widths) and a fixed reference (the gate)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Sigmoid", ["s"], ["gate"])]
    inits = []
    h = "x"
    for k in range(len(widths) - 1):
        w = numpy_helper.from_array(rng.standard_normal((widths[k + 1], widths[k])).astype(np.float32), f"w{k}")
        inits.append(w)
        nodes += [helper.make_node("Gemm", [h, f"w{k}"], [f"g{k}"], transB=1),
                  helper.make_node("Relu", [f"g{k}"], [f"r{k}"]),
                  helper.make_node("Mul", [f"r{k}", "gate"], [f"h{k}"])]
        h = f"h{k}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, widths[0]]),
                                       helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 1])],
                          [helper.make_tensor_value_info(h, TensorProto.FLOAT, [2, widths[-1]])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_compact_round_trip_with_fixed_references_and_variables():
    from onnxnet.graph import load_model

    m = load_model(_gated_mlp([8, 16, 32, 64, 128]), simplifier=None)
    text = encode(m, "compact")
    # the first Gemm reads the graph input, so the block is [Relu, Mul, Gemm] x3 after it
    assert "repeat 3 $0=16,32,64 $1=32,64,128 {\nRelu(t1) --> Mul(@t0) --> Gemm[transB=1](<$1x$0>) = t4 <2x$1>\n}" in text
    assert "Mul(@t0)" in text  # the gate is the same tensor in every copy
    assert parse(text) == Graph.from_onnx(m)
    assert parse(encode(m, "chain")) == Graph.from_onnx(m)
