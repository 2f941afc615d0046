"""Fixtures for the bench tests: one tiny NB201 store built once, and hand-made ONNX files."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Three NB201 archs (official indices) that export quickly; 0 and 1 are rows 0 and 1 of the label tables.
ARCH_INDICES = (0, 1, 7)


@pytest.fixture(scope="session")
def nb201_archs_file(tmp_path_factory) -> Path:
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    p = tmp_path_factory.mktemp("archs") / "archs.txt"
    p.write_text("# three NB201 cells\n" + "\n".join(sp.to_string(sp.from_index(i)) for i in ARCH_INDICES) + "\n")
    return p


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, nb201_archs_file) -> Path:
    """A 3-network NB201 store built in-process (chunks of 2: two part files)."""
    from onnxnet.bench.build import BuildOptions, build_store

    out = tmp_path_factory.mktemp("stores") / "tiny"
    build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=2, jobs=1,
                             reuse_isomorphic="off", progress=False))
    return out


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
