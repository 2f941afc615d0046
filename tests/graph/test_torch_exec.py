"""The torch executor runs ONNX graphs exactly (file weights) and re-initialises them reproducibly."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

from onnxnet.graph import export_torch, load_model
from onnxnet.graph.torch_exec import UnsupportedOpError, to_torch


class Block(nn.Module):
    """Conv-BN-ReLU branches, a max-pool branch, a concat, a channel slice and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.head = nn.Linear(12, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.a(x), self.b(x) + self.pool(x).mean(1, keepdim=True)], dim=1)[:, :12]
        return self.head(nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


@pytest.fixture(scope="module")
def block_model() -> onnx.ModelProto:
    torch.manual_seed(0)
    net = Block().eval()
    for m in net.modules():  # non-trivial BN statistics, so folding them matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return load_model(export_torch(net, (1, 3, 8, 8)))


def test_file_weights_reproduce_onnxruntime(block_model):
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    name = block_model.graph.input[0].name
    ref = ort.InferenceSession(block_model.SerializeToString()).run(None, {name: x})[0]
    net = to_torch(block_model, normalize="none", weights="file").eval()
    out = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_fresh_init_is_seeded_and_uses_real_layer_types(block_model):
    a, b, c = (to_torch(block_model, seed=s) for s in (0, 0, 1))
    x = torch.randn(8, 3, 8, 8)
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))
    assert any(isinstance(m, nn.Conv2d) for m in a.modules())
    assert any(isinstance(m, nn.ReLU) for m in a.modules())
    assert any(isinstance(m, nn.Linear) for m in a.modules())


def _conv_graph(weight: np.ndarray, op: str = "Conv", domain: str = "") -> onnx.ModelProto:
    node = helper.make_node(op, ["x", "w"], ["y"], name="the_conv", domain=domain)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(weight, "w")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_all_zero_kernel_stays_zero_and_frozen():
    net = to_torch(_conv_graph(np.zeros((3, 2, 1, 1), np.float32)))
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert not conv.weight.requires_grad and not conv.weight.any()
    assert not net(torch.randn(2, 2, 4, 4)).any()


def test_unsupported_op_names_the_node():
    with pytest.raises(UnsupportedOpError, match="the_conv.*NonMaxSuppression"):
        to_torch(_conv_graph(np.ones((3, 2, 1, 1), np.float32), op="NonMaxSuppression"))
    with pytest.raises(UnsupportedOpError, match="custom domain 'com.acme'"):
        to_torch(_conv_graph(np.ones((3, 2, 1, 1), np.float32), domain="com.acme"))


def _pad_graph(pads: list[int], mode: str, value: float | None) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.asarray(pads, np.int64), "pads")]
    inputs = ["x", "pads"]
    if value is not None:
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), "value"))
        inputs.append("value")
    node = helper.make_node("Pad", inputs, ["y"], name="the_pad", mode=mode)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("pads,mode,value", [([0, 0, 1, 0, 0, 0, 0, 1], "constant", 0.0),
                                             ([0, 0, 0, 2, 0, 0, 1, 0], "constant", -3.5),
                                             ([0, 0, 1, 1, 0, 0, 1, 1], "reflect", None),
                                             ([0, 0, 2, 0, 0, 0, 0, 2], "edge", None)])
def test_pad_matches_onnxruntime(pads, mode, value):
    model = _pad_graph(pads, mode, value)
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    out = to_torch(model, normalize="none", weights="file")(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, ref)


def test_pad_with_pads_computed_from_the_input_shape():
    """pads = Shape(x) * mask: computed inside the graph, read at run time."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Concat", ["s", "s"], ["ss"], axis=0),
             helper.make_node("Mul", ["ss", "mask"], ["p"]), helper.make_node("Pad", ["x", "p"], ["y"])]
    mask = numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 0, 0, 1], dtype=np.int64), "mask")
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [mask])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    out = to_torch(model, normalize="none", weights="file")(torch.from_numpy(x)).detach().numpy()
    assert out.shape == (1, 2, 6, 8)
    np.testing.assert_allclose(out, ref)
