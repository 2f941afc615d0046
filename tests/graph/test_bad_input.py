"""Bad input: a correct encoding or a ModelLoadError/EncodingError naming the file and the problem."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from graph_models import conv_branch_model
from onnxnet.encode import encode, parse
from onnxnet.errors import ModelLoadError
from onnxnet.graph import Graph, load_model
from onnxnet.graph import load as load_mod


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match=r"nope\.onnx: file not found"):
        load_model(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_text("this is not a protobuf, just text\n" * 10)
    with pytest.raises(ModelLoadError, match=r"notes\.onnx: not a valid ONNX"):
        load_model(p)


def test_truncated_file(tmp_path, branch_model):
    data = branch_model.SerializeToString()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=r"cut\.onnx: .*(truncated|not a valid)"):
        load_model(p)


def test_bytes_that_are_not_onnx():
    with pytest.raises(ModelLoadError, match="not a valid ONNX model"):
        load_model(b"\x00\x01garbage")


def test_missing_external_weights(tmp_path, branch_model):
    p = tmp_path / "m.onnx"
    onnx.save_model(branch_model, p, save_as_external_data=True, all_tensors_to_one_file=True, location="m.data",
                    size_threshold=0)
    assert load_model(p) is not None  # with its weight file it loads
    (tmp_path / "m.data").unlink()
    with pytest.raises(ModelLoadError, match=r"m\.onnx: tensor .* external file 'm\.data', which is missing"):
        load_model(p)


def test_model_over_the_protobuf_limit_is_encoded_from_shapes(tmp_path, branch_model, monkeypatch):
    """A model over 2 GiB cannot go through protobuf; it is encoded from its shapes (weights stay on disk).
    The limit is lowered here so the test stays small."""
    reference = encode(load_model(branch_model, simplifier=None))
    p = tmp_path / "big.onnx"
    onnx.save_model(branch_model, p, save_as_external_data=True, location="big.data", size_threshold=0)
    monkeypatch.setattr(load_mod, "PROTO_LIMIT", 100)
    big = load_model(p)
    assert encode(big) == reference


def test_model_without_shape_information_gets_shapes_inferred(branch_model):
    del branch_model.graph.value_info[:]
    text = encode(load_model(branch_model, simplifier=None), "chain")
    assert "= t1 <1x8x8x8>" in text


def _custom_op_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("inp", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 4])
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
    nodes = [helper.make_node("MatMul", ["inp", "W"], ["a"]),
             helper.make_node("FancyNorm", ["a"], ["b"], domain="com.acme", alpha=2.0, mode="fast"),
             helper.make_node("Relu", ["b"], ["out"])]
    g = helper.make_graph(nodes, "g", [x], [y], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.acme", 1)])


@pytest.mark.parametrize("simplifier", ["onnxsim", None])
def test_custom_domain_ops_are_encoded_generically_and_dynamic_batch_kept(simplifier):
    m = load_model(_custom_op_model(), simplifier=simplifier)
    text = encode(m, "chain")
    assert "com.acme::FancyNorm[alpha=2.0 mode=fast](t0)" in text
    assert "in x0 <d0x4>" in text  # the dynamic batch dimension, canonically named
    assert parse(text) == Graph.from_onnx(m)


def _if_model(constant: bool) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("inp", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4])
    then_g = helper.make_graph([helper.make_node("Relu", ["inp"], ["r"])], "then", [],
                               [helper.make_tensor_value_info("r", TensorProto.FLOAT, [2, 4])])
    else_g = helper.make_graph([helper.make_node("Neg", ["inp"], ["r2"])], "else", [],
                               [helper.make_tensor_value_info("r2", TensorProto.FLOAT, [2, 4])])
    node = helper.make_node("If", ["cond"], ["out"], then_branch=then_g, else_branch=else_g)
    if constant:
        g = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(np.array(True), "cond")])
    else:
        g = helper.make_graph([node], "g", [x, helper.make_tensor_value_info("cond", TensorProto.BOOL, [])], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_if_on_a_constant_condition_is_folded():
    assert encode(load_model(_if_model(True)), "chain").splitlines()[1] == "Relu(x0) = t0 <2x4>"


def test_data_dependent_control_flow_gives_a_clear_error():
    with pytest.raises(ModelLoadError, match=r"mymodel: node .* \(If\) holds a subgraph; data-dependent control flow"):
        load_model(_if_model(False), name="mymodel")


def test_invalid_graph_names_the_problem():
    m = conv_branch_model()
    m.graph.node[1].input[0] = "missing_tensor"
    with pytest.raises(ModelLoadError, match="missing_tensor"):
        load_model(m)


def test_torch_module_without_input_shape():
    import torch

    with pytest.raises(ModelLoadError, match="needs input_shape"):
        load_model(torch.nn.ReLU())


def test_unknown_simplifier(branch_model):
    with pytest.raises(ModelLoadError, match="unknown simplifier 'bogus'"):
        load_model(branch_model, simplifier="bogus")  # type: ignore[arg-type]


def test_onnxslim_gives_the_same_text_as_onnxsim(branch_model):
    assert encode(load_model(branch_model, simplifier="onnxslim")) == encode(load_model(branch_model))
