"""Static graph facts against hand-computed values."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from graph_models import conv_branch_model
from onnxnet.graph import graph_facts, load_model


def test_facts_of_branch_model_match_hand_computation():
    f = graph_facts(load_model(conv_branch_model(), simplifier=None))
    hw = 8 * 8
    conv0 = hw * 8 * (3 * 3 * 3)  # out elements x (Cin/g * k * k)
    conva = hw * 8 * (8 * 3 * 3)
    convb = hw * 8 * (2 * 1 * 1)  # group=4: 8 in-channels / 4 per group
    convc = hw * 16 * (24 * 1 * 1)
    assert f.macs == conv0 + conva + convb + convc
    # 2 FLOPs per MAC; conv0 bias adds one per output; Relu, MaxPool (9 per output), Add one per output
    assert f.flops == 2 * f.macs + hw * 8 + hw * 8 + hw * 8 * 9 + hw * 8
    assert f.n_params == 8 * 3 * 9 + 8 + 8 * 8 * 9 + 8 * 2 + 16 * 24  # int64 Slice constants are not params
    assert f.n_nodes == 9
    assert f.depth == 7  # Conv, Relu, Conv a, Concat, Conv c, Slice, Add
    assert f.width == 3  # the three parallel branches
    assert f.op_histogram == {"Add": 1, "Concat": 1, "Conv": 4, "MaxPool": 1, "Relu": 1, "Slice": 1}
    assert set(f.as_dict()) == {"n_params", "flops", "macs", "depth", "width", "n_nodes", "op_histogram"}


def test_matmul_gemm_and_norm_costs():
    w = numpy_helper.from_array(np.ones((16, 32), np.float32), "w")
    b = numpy_helper.from_array(np.ones((32,), np.float32), "b")
    g_w = numpy_helper.from_array(np.ones((10, 32), np.float32), "gw")
    ln_s = numpy_helper.from_array(np.ones((32,), np.float32), "s")
    eps = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),               # [2,5,16] x [16,32]
        helper.make_node("Add", ["m", "b"], ["a"]),
        helper.make_node("LayerNormalization", ["a", "s"], ["l"], axis=-1),
        helper.make_node("Mul", ["l", "two"], ["l2"]),
        helper.make_node("ReduceMean", ["l2"], ["r"], axes=[1], keepdims=0),  # -> [2, 32]
        helper.make_node("Gemm", ["r", "gw"], ["y"], transB=1),      # [2,32] x [32,10]
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 10])], [w, b, g_w, ln_s, eps])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    f = graph_facts(load_model(m, simplifier=None))
    matmul = 2 * 5 * 32 * 16
    gemm = 2 * 10 * 32
    assert f.macs == matmul + gemm
    n = 2 * 5 * 32
    assert f.flops == 2 * matmul + n + 5 * n + n + n + 2 * gemm
    assert f.n_params == 16 * 32 + 32 + 10 * 32 + 32  # the scalar 2.0 is not a parameter


def test_resnet18_params_and_macs_match_published_counts():
    """torchvision ResNet-18: 11,689,512 params (BN folded here: 4,800 BN channels lose gamma+beta but gain
    a conv bias, so -4,800) and 1.814 GMACs at 224x224."""
    from onnxnet.graph.zoo import zoo_model

    m, shape = zoo_model("resnet18")
    f = graph_facts(load_model(m, shape))
    assert f.n_params == 11_689_512 - 4_800
    assert f.macs == 1_814_073_344


def test_tied_embedding_is_counted_once():
    """GPT-2 style: the output layer is the embedding; the export writes it twice (as is and transposed)."""
    from graph_models import token_model

    from onnxnet.graph.facts import shared_initializers

    net, model = token_model()
    assert len(shared_initializers(model)) == 1
    assert graph_facts(model).n_params == sum(p.numel() for p in net.parameters())  # 50*16 + 16*16 + 16


def test_equal_zero_biases_are_not_merged():
    import torch
    import torch.nn as nn

    from onnxnet.graph import export_torch, load_model

    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.bias.zero_()
    model = load_model(export_torch(net.eval(), (1, 4)))
    assert graph_facts(model).n_params == sum(p.numel() for p in net.parameters())
