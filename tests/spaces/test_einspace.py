"""einspace: derivation strings, shape checking, seeded sampling, canonical form, torch build."""

from __future__ import annotations

import pickle

import pytest

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space
from onnxnet.spaces.einspace import Branching, Computation, EinSpace, Routing, Sequential

# A convolution written in einspace's primitives (im2col -> linear -> col2im), then BN and LeakyReLU,
# then a residual-style 2-way branch.
CONV = "sequential(routing(im2col3k1s1p, linear16, col2im), sequential(norm, leakyrelu))"
RES = f"sequential({CONV}, branching(clone_tensor2, routing(im2col3k1s1p, linear16, col2im), identity, add_tensors))"


@pytest.fixture(scope="module")
def space():
    return get_space("einspace")


def test_parse_print_round_trip(space):
    a = space.parse(RES)
    assert isinstance(a, Sequential) and isinstance(a.second, Branching)
    assert space.to_string(a) == RES
    assert space.parse("sequential_module(computation(linear16), computation_module(norm))") == \
        Sequential(Computation("linear16"), Computation("norm"))
    # a 4-way branch takes one module, repeated; writing it out 4 times means the same
    four = "branching(clone_tensor4, linear16, cat_tensors3d4t)"
    assert space.parse(four) == space.parse(
        "branching(clone_tensor4, linear16, linear16, linear16, linear16, cat_tensors3d4t)")
    for arch in space.sample_many(15, seed=7):
        assert space.parse(space.to_string(arch)) == arch
        assert pickle.loads(pickle.dumps(arch)) == arch  # archs travel to build worker processes


def test_shapes_and_params_of_a_known_network(space):
    info = space.info(RES)
    # conv 3->16 on 3x3 patches (27*16+16), BN(16) (32), conv 16->16 (144*16+16), head 16->10 (170)
    assert info.output_shape == (16, 32, 32) and info.output_mode == "im"
    assert info.n_params == (27 * 16 + 16) + 32 + (144 * 16 + 16) + 170


@pytest.mark.parametrize("bad, problem", [
    ("sequential(linear16, conv3x3)", "'conv3x3' is not a module"),
    ("sequential(linear16, norm", "unexpected end"),
    ("sequential(linear16, norm))", "after the end"),
    ("routing(im2col1k1s0p, routing(identity, linear16, col2im), identity)", "no im2col before it"),
    ("branching(clone_tensor2, linear16, linear32, add_tensors)", "add_tensors needs equal shapes"),
    ("branching(group_dim2s1d, linear16, linear16, add_tensors)", "cannot split axis 1 of size 3"),
    ("linear16", "bare computation"),
    ("routing(im2col3k1s1p, linear16 col2im)", "expected ','"),
])
def test_bad_input_names_string_and_problem(space, bad, problem):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert problem in str(e.value)
    assert bad in str(e.value)


def test_seeded_sampling_is_deterministic_and_within_limits():
    space = EinSpace(max_depth=5, max_params=1_000_000)
    a = space.sample_many(25, seed=11)
    assert a == space.sample_many(25, seed=11)
    assert a != space.sample_many(25, seed=12)
    for arch in a:
        assert not isinstance(arch, Computation)
        info = space.info(arch)
        assert info.n_params <= 1_000_000 and info.max_activation <= space.max_activation


def test_canonical_form_merges_equivalent_derivations(space):
    a = "sequential(sequential(linear16, norm), leakyrelu)"
    b = "sequential(linear16, sequential(norm, leakyrelu))"
    c = "sequential(linear16, sequential(identity, sequential(norm, routing(identity, leakyrelu, identity))))"
    assert space.arch_hash(a) == space.arch_hash(b) == space.arch_hash(c)
    add1 = "branching(clone_tensor2, leakyrelu, norm, add_tensors)"
    add2 = "branching(clone_tensor2, norm, leakyrelu, add_tensors)"
    assert space.arch_hash(add1) == space.arch_hash(add2)
    cat1 = "branching(clone_tensor2, linear16, linear32, cat_tensors3d2t)"
    cat2 = "branching(clone_tensor2, linear32, linear16, cat_tensors3d2t)"
    assert space.arch_hash(cat1) != space.arch_hash(cat2)  # concatenation order matters
    assert space.arch_hash(a) != space.arch_hash("sequential(norm, sequential(linear16, leakyrelu))")


def test_build_forward_matches_inferred_params(space):
    import torch

    archs = [space.parse(RES), *space.sample_many(4, seed=5)]
    for arch in archs:
        net = space.build(arch)
        assert not net.training
        assert sum(p.numel() for p in net.parameters()) == space.info(arch).n_params
        with torch.no_grad():
            assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_repeated_branches_have_separate_weights(space):
    net = space.build("branching(clone_tensor4, linear16, cat_tensors3d4t)")
    linears = [m for m in net.modules() if m.__class__.__name__ == "Linear"]
    assert len(linears) == 5  # 4 branches + head
    assert len({id(m.weight) for m in linears}) == 5


def test_exports_to_onnx(space):
    import io

    import onnx
    import torch

    net = space.build("routing(im2col4k4s0p, sequential(linear32, norm), col2im)")
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.randn(1, 3, 32, 32),), buf, opset_version=17, dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model)
    assert any(n.op_type == "LayerNormalization" for n in model.graph.node)


def test_routing_node_holds_its_parts(space):
    r = space.parse("routing(im2col1k1s0p, linear16, col2im)")
    assert r == Routing("im2col1k1s0p", Computation("linear16"), "col2im")
