"""Tiny ONNX networks for the labelling tests, built with onnx.helper."""

from __future__ import annotations

import numpy as np


def tiny_onnx(in_shape=(1, 3, 32, 32), classes=10, extra_output=False, op=None) -> bytes:
    """Conv(3->4) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(4->classes), built with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    c = in_shape[1]
    inits = [numpy_helper.from_array(rng.normal(size=(4, c, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=(classes, 4)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node(op or "Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)]
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, classes])]
    if extra_output:
        outs.append(helper.make_tensor_value_info("g", TensorProto.FLOAT, [None, 4, 1, 1]))
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                          [None, *in_shape[1:]])], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()
