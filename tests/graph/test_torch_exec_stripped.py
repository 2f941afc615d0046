"""A weight-free graph (as stored in ONNX-Bench stores) runs through the torch executor with fresh weights."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnxnet.graph.torch_exec import to_torch
from onnxnet.graph.weights import strip_weights


def test_stripped_weights_run_with_zero_kernels_kept():
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    z = numpy_helper.from_array(np.zeros((4, 4, 1, 1), np.float32), "z")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("Conv", ["r", "z"], ["y"])],
        "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 8, 8])], [w, z])
    model = strip_weights(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    import torch

    out = to_torch(model)(torch.ones(2, 3, 8, 8))
    out = out[0] if isinstance(out, (tuple, list)) else out
    assert tuple(out.shape) == (2, 4, 8, 8)
    assert torch.count_nonzero(out) == 0  # the all-zero kernel stays zero, the rest is initialised
