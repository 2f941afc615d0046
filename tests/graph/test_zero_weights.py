"""A none edge that the simplifier folds into an all-zero Conv kernel must stay visible in the text.

Real case from NB201: these two cells got one text and one graph hash before the fix (accuracies 89.2% and
76.2%): onnxsim fuses ``Mul(conv(x), 0)`` into the Conv as a zero kernel, and weight values are not encoded.
"""

import onnx
import torch
from onnx import helper, numpy_helper

from onnxnet.encode import encode, parse
from onnxnet.graph import graph_hash, load_model
from onnxnet.graph.load import strip_weights
from onnxnet.spaces import get_space

SKIP = "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|"
NONE = "|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"


def _load(cell: str) -> onnx.ModelProto:
    space = get_space("nb201")
    torch.manual_seed(0)
    return load_model(space.build(space.parse(cell)), input_shape=space.input_shape)


def test_nb201_none_edge_folded_into_zero_conv_is_not_confused_with_skip():
    a, b = _load(SKIP), _load(NONE)
    ta, tb = encode(a), encode(b)
    assert ta != tb and graph_hash(a) != graph_hash(b)
    assert "=0.0>" in tb.replace("<=0.0>", "")
    # weight-free storage keeps the zero kernel, so the stored graph still reads the same
    assert encode(strip_weights(b)) == tb
    # and the parser reads the zero fill back
    assert parse(tb) == parse(encode(b, encoding="chain"))


def test_zero_bias_and_ordinary_weights_are_not_marked():
    w = numpy_helper.from_array(torch.randn(4, 3, 3, 3).numpy(), "w")
    z = numpy_helper.from_array(torch.zeros(4).numpy(), "b")
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", 1, [1, 4, 6, 6])], initializer=[w, z])
    text = encode(load_model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), simplifier=None))
    assert "=0" not in text
