"""Hand-made ONNX files for the bench tests (a module with a unique name: every test folder has a conftest)."""

from __future__ import annotations

from pathlib import Path


def make_onnx(path: Path, *, channels: int = 4, kernel: int = 3, props: dict[str, str] | None = None,
              relu: bool = True) -> Path:
    """A tiny valid Conv(+Relu)+GlobalAveragePool network saved at ``path`` with ``metadata_props``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(channels * 10 + kernel)
    w = numpy_helper.from_array(rng.standard_normal((channels, 3, kernel, kernel)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[kernel, kernel],
                              pads=[kernel // 2] * 4)]
    last = "c"
    if relu:
        nodes.append(helper.make_node("Relu", ["c"], ["r"]))
        last = "r"
    nodes.append(helper.make_node("GlobalAveragePool", [last], ["y"]))
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 1, 1])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    for k, v in (props or {}).items():
        m.metadata_props.add(key=k, value=v)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(path))
    return path
