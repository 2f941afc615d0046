"""The torch executor on the ops and attributes real exported models use, each checked against onnxruntime."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from onnxnet.graph.torch_exec import FixedShapeError, to_torch

RNG = np.random.default_rng(0)


def _model(nodes, inputs, inits=(), opset=17, outputs=("y",)):
    """A graph of ``nodes``; ``inputs`` maps names to (shape, dtype) with None for symbolic dims."""
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64 if np.dtype(dt) == np.int64 else TensorProto.FLOAT,
                                         [d if d is not None else f"d{i}" for i, d in enumerate(shape)])
           for n, (shape, dt) in inputs.items()]
    outs = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outputs]
    g = helper.make_graph(nodes, "g", ins, outs, [numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def _check(model, feeds, atol=1e-5):
    """The executor (file weights, no normalisation) gives onnxruntime's outputs on ``feeds``."""
    ref = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    net = to_torch(model, normalize="none", weights="file").eval()
    with torch.no_grad():
        out = net(*[torch.from_numpy(v) for v in feeds.values()])
    out = out if isinstance(out, tuple) else (out,)
    assert len(out) == len(ref)
    for o, r in zip(out, ref):
        np.testing.assert_allclose(o.numpy(), r, rtol=1e-4, atol=atol)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("opset,how", [(11, "attr"), (13, "input"), (18, "num_outputs"), (18, "uneven"),
                                       (17, "equal")])
def test_split_every_form(opset, how):
    outs = ["a", "b", "c"]
    inits = []
    if how == "attr":
        node = helper.make_node("Split", ["x"], outs, axis=-1, split=[2, 3, 4])
    elif how == "input":
        node = helper.make_node("Split", ["x", "s"], outs, axis=-1)
        inits = [("s", np.array([4, 4, 1], dtype=np.int64))]
    elif how == "equal":
        node = helper.make_node("Split", ["x"], outs, axis=-1)
    else:
        node = helper.make_node("Split", ["x"], outs, axis=-1, num_outputs=3)
    width = 10 if how == "uneven" else 9
    model = _model([node], {"x": ((2, 5, width), np.float32)}, inits, opset, outputs=outs)
    _check(model, {"x": _x(2, 5, width)})


@pytest.mark.parametrize("auto_pad,stride,size", [("VALID", 1, 9), ("SAME_UPPER", 2, 9), ("SAME_LOWER", 2, 8),
                                                  ("SAME_UPPER", 1, 7), ("NOTSET", 2, 9)])
def test_conv_auto_pad(auto_pad, stride, size):
    kw = {"auto_pad": auto_pad} if auto_pad != "NOTSET" else {"pads": [0, 1, 2, 1]}
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[stride, stride], **kw)
    model = _model([node], {"x": ((1, 3, size, size), np.float32)}, [("w", _x(4, 3, 3, 3)), ("b", _x(4))])
    _check(model, {"x": _x(1, 3, size, size)})


def test_depthwise_conv_same_upper_strided():
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", group=4, strides=[2, 2])
    model = _model([node], {"x": ((2, 4, 10, 9), np.float32)}, [("w", _x(4, 1, 3, 3))])
    _check(model, {"x": _x(2, 4, 10, 9)})


@pytest.mark.parametrize("kw", [{"pads": [1, 0, 0, 1], "strides": [2, 2]},
                                {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
                                {"strides": [2, 2], "output_padding": [1, 1]},
                                {"strides": [2, 2], "output_shape": [11, 12]}])
def test_conv_transpose(kw):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **kw)
    model = _model([node], {"x": ((1, 3, 5, 6), np.float32)}, [("w", _x(3, 2, 3, 3)), ("b", _x(2))])
    _check(model, {"x": _x(1, 3, 5, 6)})


@pytest.mark.parametrize("op,kw", [("MaxPool", {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
                                   ("MaxPool", {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
                                   ("AveragePool", {"auto_pad": "VALID", "strides": [2, 2]}),
                                   ("AveragePool", {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
                                   ("AveragePool", {"pads": [0, 1, 1, 0], "count_include_pad": 0}),
                                   ("AveragePool", {"pads": [1, 1, 1, 1], "count_include_pad": 1}),
                                   ("MaxPool", {"pads": [0, 0, 1, 1], "strides": [2, 2], "ceil_mode": 1})])
def test_pool_padding(op, kw):
    node = helper.make_node(op, ["x"], ["y"], kernel_shape=[3, 3], **kw)
    model = _model([node], {"x": ((1, 2, 9, 8), np.float32)})
    _check(model, {"x": _x(1, 2, 9, 8)})


def test_reshape_and_expand_with_shapes_computed_from_the_input():
    """Shape -> Gather -> Concat -> Reshape / Expand: run at a size other than the declared one."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Concat", ["n", "m1", "c"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["r"]),
             helper.make_node("Concat", ["n", "one", "c"], ["e"], axis=0),
             helper.make_node("Expand", ["cls", "e"], ["k"]),
             helper.make_node("Concat", ["k", "r"], ["y"], axis=1)]
    inits = [("i0", np.array([0], dtype=np.int64)), ("m1", np.array([-1], dtype=np.int64)),
             ("c", np.array([4], dtype=np.int64)), ("one", np.array([1], dtype=np.int64)), ("cls", _x(1, 1, 4))]
    model = _model(nodes, {"x": ((None, 4, None, None), np.float32)}, inits)
    _check(model, {"x": _x(3, 4, 5, 6)})


def _batch_one(nodes, shape, inits=()):
    """A graph exported at batch 1 with every shape constant fixed, run at batch 4: each sample must give what
    onnxruntime gives on it alone."""
    model = _model(nodes, {"x": (shape, np.float32)}, inits)
    x = _x(4, *shape[1:])
    sess = ort.InferenceSession(model.SerializeToString())
    ref = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(4)])
    out = to_torch(model, normalize="none", weights="file").eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_fixed_reshape_follows_the_batch_size():
    # ViT / ConvNeXt style: [1, C, H, W] -> [1, C, HW] -> transpose -> [1, HW, 2, C/2] -> [HW, C]
    nodes = [helper.make_node("Reshape", ["x", "s1"], ["a"]),
             helper.make_node("Transpose", ["a"], ["b"], perm=[0, 2, 1]),
             helper.make_node("Reshape", ["b", "s2"], ["c"]),
             helper.make_node("Reshape", ["c", "s3"], ["y"])]
    inits = [("s1", np.array([1, 6, 20], dtype=np.int64)), ("s2", np.array([1, 20, 2, 3], dtype=np.int64)),
             ("s3", np.array([20, 6], dtype=np.int64))]
    _batch_one(nodes, (1, 6, 4, 5), inits)


def test_class_token_constant_is_broadcast_over_the_batch():
    nodes = [helper.make_node("Concat", ["cls", "x"], ["y"], axis=1)]
    _batch_one(nodes, (1, 3, 8), [("cls", _x(1, 1, 8))])


def test_whole_window_pool_stays_global():
    """An average pool whose kernel is the declared feature map (EfficientNet's head) pools globally at any size."""
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[7, 7])
    model = _model([node], {"x": ((1, 2, 7, 7), np.float32)})
    net = to_torch(model, normalize="none")
    x = torch.randn(2, 2, 3, 3)
    torch.testing.assert_close(net(x), x.mean(dim=(2, 3), keepdim=True))


def test_reshape_that_cannot_follow_a_resize_is_a_fixed_shape_error():
    node = helper.make_node("Reshape", ["x", "s"], ["y"])
    model = _model([node], {"x": ((1, 24), np.float32)}, [("s", np.array([1, 4, 6], dtype=np.int64))])
    net = to_torch(model, normalize="none")
    assert net(torch.randn(3, 24)).shape == (3, 4, 6)  # another batch size: follows
    with pytest.raises(FixedShapeError, match="declared input size"):
        net(torch.randn(1, 12))  # a smaller feature map: which of 4 x 6 shrinks is unknown


def test_transformer_block_ops():
    """LayerNormalization, Erf-GELU, Softmax, broadcasting MatMul, Where/Equal, Gelu (opset 20)."""
    nodes = [helper.make_node("LayerNormalization", ["x", "g", "beta"], ["ln"], axis=-1, epsilon=1e-6),
             helper.make_node("MatMul", ["ln", "w"], ["h"]),
             helper.make_node("Div", ["h", "sqrt2"], ["hd"]),
             helper.make_node("Erf", ["hd"], ["he"]),
             helper.make_node("Add", ["he", "one"], ["h1"]),
             helper.make_node("Mul", ["h", "h1"], ["h2"]),
             helper.make_node("Gelu", ["h2"], ["h3"], approximate="tanh"),
             helper.make_node("Transpose", ["h3"], ["ht"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["h3", "ht"], ["att"]),
             helper.make_node("Equal", ["mask", "zero"], ["m"]),
             helper.make_node("Where", ["m", "neg", "att"], ["am"]),
             helper.make_node("Softmax", ["am"], ["y"], axis=-1)]
    inits = [("g", _x(8)), ("beta", _x(8)), ("w", _x(8, 6)), ("sqrt2", np.array(1.4142135, dtype=np.float32)),
             ("one", np.array(1.0, dtype=np.float32)), ("mask", np.tril(np.ones((5, 5), dtype=np.int64))),
             ("zero", np.array(0, dtype=np.int64)), ("neg", np.array(-1e4, dtype=np.float32))]
    _check(_model(nodes, {"x": ((2, 5, 8), np.float32)}, inits, opset=20), {"x": _x(2, 5, 8)})


def test_legacy_softmax_flattens_from_axis():
    node = helper.make_node("Softmax", ["x"], ["y"])  # opset 11: axis 1, over the flattened trailing dims
    _check(_model([node], {"x": ((2, 3, 4), np.float32)}, opset=11), {"x": _x(2, 3, 4)})


def test_einsum_and_batched_matmul():
    nodes = [helper.make_node("Einsum", ["x", "w"], ["e"], equation="bij,jk->bik"),
             helper.make_node("MatMul", ["e", "v"], ["y"])]
    inits = [("w", _x(4, 5)), ("v", _x(2, 1, 5, 3))]
    _check(_model(nodes, {"x": ((2, 3, 4), np.float32)}, inits), {"x": _x(2, 3, 4)})


@pytest.mark.parametrize("kw,use", [({"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                                      "nearest_mode": "floor"}, "scales"),
                                     ({"mode": "linear"}, "sizes"),
                                     ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, "scales"),
                                     ({"mode": "cubic", "cubic_coeff_a": -0.75}, "scales")])
def test_resize(kw, use):
    scales = np.array([1, 1, 2, 2], dtype=np.float32) if use == "scales" else np.zeros(0, dtype=np.float32)
    inputs = ["x", "", "scales"] if use == "scales" else ["x", "", "", "sizes"]
    inits = [("scales", scales)] if use == "scales" else [("sizes", np.array([1, 2, 7, 9], dtype=np.int64))]
    node = helper.make_node("Resize", inputs, ["y"], **kw)
    _check(_model([node], {"x": ((1, 2, 4, 5), np.float32)}, inits), {"x": _x(1, 2, 4, 5)}, atol=1e-4)


def test_embedding_gather_slice_and_shape_ops():
    """Token ids through an embedding, then Slice (negative step), Unsqueeze/Squeeze, Tile, Cast, CumSum, Pad."""
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["e"]),
             helper.make_node("Slice", ["e", "st", "en", "ax", "sp"], ["s"]),
             helper.make_node("Unsqueeze", ["s", "a0"], ["u"]),
             helper.make_node("Squeeze", ["u", "a0"], ["q"]),
             helper.make_node("Tile", ["q", "rep"], ["t"]),
             helper.make_node("Cast", ["ids"], ["idf"], to=TensorProto.FLOAT),
             helper.make_node("CumSum", ["idf", "a1"], ["cs"]),
             helper.make_node("Unsqueeze", ["cs", "am1"], ["cu"]),
             helper.make_node("Mul", ["t", "cu"], ["m"]),
             helper.make_node("Pad", ["m", "pads"], ["y"], mode="reflect")]
    inits = [("emb", _x(11, 6)), ("st", np.array([-1], dtype=np.int64)), ("en", np.array([-100], dtype=np.int64)),
             ("ax", np.array([2], dtype=np.int64)), ("sp", np.array([-2], dtype=np.int64)),
             ("a0", np.array([0], dtype=np.int64)), ("rep", np.array([1, 1, 2], dtype=np.int64)),
             ("a1", np.array(1, dtype=np.int64)), ("am1", np.array([-1], dtype=np.int64)),
             ("pads", np.array([0, 1, 1, 0, 1, 1], dtype=np.int64))]
    ids = RNG.integers(0, 11, (2, 5)).astype(np.int64)
    _check(_model(nodes, {"ids": ((2, 5), np.int64)}, inits), {"ids": ids})


def test_range_constant_of_shape_and_trilu():
    nodes = [helper.make_node("Shape", ["x"], ["s"], start=-1),
             helper.make_node("Squeeze", ["s", "a0"], ["n"]),
             helper.make_node("Range", ["zero", "n", "one"], ["r"]),
             helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
             helper.make_node("Concat", ["s", "s"], ["ss"], axis=0),
             helper.make_node("ConstantOfShape", ["ss"], ["c"],
                              value=numpy_helper.from_array(np.array([2.0], dtype=np.float32))),
             helper.make_node("Trilu", ["c"], ["tr"], upper=0),
             helper.make_node("Add", ["tr", "rf"], ["a"]),
             helper.make_node("MatMul", ["x", "a"], ["y"])]
    inits = [("a0", np.array([0], dtype=np.int64)), ("zero", np.array(0, dtype=np.int64)),
             ("one", np.array(1, dtype=np.int64))]
    _check(_model(nodes, {"x": ((3, None), np.float32)}, inits), {"x": _x(3, 4)})


def test_docs_list_every_covered_op():
    from pathlib import Path

    from onnxnet.graph.torch_exec import ops_markdown

    text = (Path(__file__).parents[2] / "docs" / "executor.md").read_text()
    block = text.split("<!-- ops:start -->\n", 1)[1].split("\n<!-- ops:end -->", 1)[0]
    assert block == ops_markdown(), "regenerate the op list in docs/executor.md with ops_markdown()"


@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-1.0, 1.0), (0.0, None)])
def test_clip_and_relu6(bounds):
    lo, hi = bounds
    inputs = ["x", "lo"] + (["hi"] if hi is not None else [])
    inits = [("lo", np.array(lo, dtype=np.float32))] + ([("hi", np.array(hi, dtype=np.float32))] if hi else [])
    model = _model([helper.make_node("Clip", inputs, ["y"])], {"x": ((2, 3), np.float32)}, inits)
    _check(model, {"x": 4 * _x(2, 3)})
    relu_like = any("ReLU" in type(m).__name__ for m in to_torch(model).modules())
    assert relu_like == (lo == 0.0)  # a clip at zero is seen by the ReLU-statistic proxies
