"""parse(encode(g)) gives back the canonical graph exactly, for both encodings, on real torch networks."""

from __future__ import annotations

import re

import pytest

from encode_nets import canonical
from onnxnet.encode import ENCODINGS, encode, parse
from onnxnet.graph import Graph

NETS = ["nb201", "resnet18", "mobilenetv2", "transformer"]


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("encoding", ["chain", "compact"])
def test_parse_of_encode_is_the_canonical_graph(net, encoding):
    m = canonical(net)
    g = parse(encode(m, encoding))
    reference = Graph.from_onnx(m)
    assert g.nodes == reference.nodes
    assert g.consts == reference.consts
    assert g.types == reference.types
    assert g == reference


def test_parsed_graph_converts_back_to_a_valid_onnx_model():
    import onnx

    model = parse(encode(canonical("nb201_small"), "compact")).to_onnx()
    onnx.checker.check_model(model)


@pytest.mark.parametrize("net", ["nb201", "resnet18", "transformer"])
def test_compact_is_shorter_and_folds_repeats(net):
    m = canonical(net)
    chain, compact = encode(m, "chain"), encode(m, "compact")
    assert "repeat " in compact and "repeat " not in chain
    assert len(compact) < len(chain)


def test_nb201_cells_fold_five_times_inside_stage_repeat():
    text = encode(canonical("nb201"), "compact")
    assert text.count("repeat 5 {") == 2  # stages 1-2 as one block with dimension variables, plus stage 3
    assert re.search(r"repeat 2 \$0=16,32 ", text)


def test_grouped_convs_concat_axis_and_strides_are_visible():
    mobilenet = encode(canonical("mobilenetv2"), "chain")
    assert "g=32 " in mobilenet  # the first depthwise conv (32 channels)
    assert "s=2x2" in mobilenet
    resnet = encode(canonical("resnet18"), "chain")
    assert "s=2x2" in resnet and "transB=1" in resnet


def test_every_node_is_in_the_chain_text():
    m = canonical("mobilenetv2")
    text = encode(m, "chain")
    ops = re.findall(r"(?:^|--> )([A-Z][A-Za-z]+)", text, flags=re.M)
    assert len(ops) == len(m.graph.node)


def test_encodings_are_registered_with_name_and_version():
    for name in ("chain", "compact"):
        cls = ENCODINGS.get(name)
        assert cls.name == name and isinstance(cls.version, int) and cls.version >= 1


@pytest.mark.parametrize("net", ["nb201_small", "transformer"])
def test_reloading_a_canonical_model_changes_nothing(net):
    """Stores keep canonical ONNX bytes; loading them again must give the same model and text."""
    from onnxnet.graph import load_model

    m = canonical(net)
    again = load_model(m.SerializeToString())
    assert again.SerializeToString() == m.SerializeToString()


@pytest.mark.parametrize("cell", [
    (("none",), ("skip_connect", "none"), ("none", "none", "skip_connect")),
    (("nor_conv_3x3",), ("nor_conv_1x1", "avg_pool_3x3"), ("skip_connect", "avg_pool_3x3", "nor_conv_3x3")),
    (("avg_pool_3x3",), ("nor_conv_3x3", "nor_conv_3x3"), ("nor_conv_1x1", "none", "nor_conv_3x3")),
])
def test_nb201_cells_of_every_kind_round_trip_and_fold_every_cell(cell):
    """Every copy of a cell must be ordered alike (including the first, next to the stem) to fold."""
    import torch

    from onnxnet.graph import load_model
    from onnxnet.graph.zoo import NB201Net

    torch.manual_seed(0)
    m = load_model(NB201Net(cell, n_cells=3).eval(), (1, 3, 32, 32))
    compact = encode(m, "compact")
    assert parse(compact) == Graph.from_onnx(m) == parse(encode(m, "chain"))
    repeats = [line for line in compact.splitlines() if line.startswith("repeat")]
    # stages 1-2 are one block with width/resolution variables, holding the 3 cells; stage 3 folds too
    assert repeats == ["repeat 2 $0=16,32 $1=32,16 $2=16,8 $3=32,64 {", "repeat 3 {", "repeat 3 {"]
