"""macro: parse/print, seeded sampling, one-choice mutation, torch build, ONNX export, parameter range."""

import numpy as np
import pytest
import torch

from onnxnet.errors import ArchitectureError
from onnxnet.graph import graph_facts, load_model
from onnxnet.spaces import get_space
from onnxnet.spaces.macro import MacroArch, Stage

ALL = "stem24|basic-d2-w32-k3-se|inverted-d2-w64-k5-e6|bottleneck-d1-w128-k3-e4-se"


@pytest.fixture(scope="module")
def space():
    return get_space("macro")


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _diff(a: MacroArch, b: MacroArch) -> int:
    n = int(a.stem != b.stem)
    for s, t in zip(a.stages, b.stages):
        n += (s.block != t.block) + (s.depth != t.depth) + (s.width != t.width) + (s.kernel != t.kernel)
        n += (s.se != t.se) + (s.block == t.block and s.expansion != t.expansion)
    return n


def test_parse_print_round_trip_and_size(space):
    a = space.parse(ALL)
    assert space.to_string(a) == ALL and space.parse(space.to_string(a)) == a
    assert a.stages[1] == Stage("inverted", 2, 64, 5, 6, False)
    assert space.size == 3 * 512 ** 3
    with pytest.raises(ArchitectureError, match="too many to enumerate"):
        space.enumerate()


def test_sampling_is_seeded_and_round_trips(space):
    archs = space.sample_many(50, seed=3)
    assert archs == space.sample_many(50, seed=3) and archs != space.sample_many(50, seed=4)
    assert {s.block for a in archs for s in a.stages} == {"plain", "basic", "bottleneck", "inverted"}
    for a in archs:
        assert space.parse(space.to_string(a)) == a
    assert len({space.arch_hash(a) for a in archs}) == len(set(archs))


def test_mutate_changes_exactly_one_choice(space):
    rng = np.random.default_rng(0)
    for a in space.sample_many(40, seed=5):
        b = space.mutate(a, rng)
        assert b != a and _diff(a, b) == 1
        assert space.parse(space.to_string(b)) == b  # still a valid member of the space


@pytest.mark.parametrize("bad, needle", [
    ("stem24|basic-d2-w32-k3", "4"),
    ("stem20|basic-d2-w32-k3|basic-d2-w64-k3|basic-d2-w128-k3", "stem width 20"),
    ("stem16|basic-d5-w32-k3|basic-d2-w64-k3|basic-d2-w128-k3", "depth 5"),
    ("stem16|basic-d2-w64-k3|basic-d2-w64-k3|basic-d2-w128-k3", "stage 1's widths"),
    ("stem16|basic-d2-w32-k3-e4|basic-d2-w64-k3|basic-d2-w128-k3", "no expansion"),
    ("stem16|inverted-d2-w32-k3|basic-d2-w64-k3|basic-d2-w128-k3", "needs an expansion"),
    ("stem16|dense-d2-w32-k3|basic-d2-w64-k3|basic-d2-w128-k3", "unknown block"),
    ("stem16|basic-d2-w32-k7|basic-d2-w64-k3|basic-d2-w128-k3", "kernel 7"),
    ("stem16|basic d2|basic-d2-w64-k3|basic-d2-w128-k3", "is not 'block-dD"),
    (42, "unsupported type"),
])
def test_bad_strings_say_what_is_wrong(space, bad, needle):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert needle in str(e.value) and "macro architecture" in str(e.value)


def test_build_forward_and_exact_param_count(space):
    torch.manual_seed(0)
    a = space.parse("stem16|basic-d1-w16-k3|inverted-d1-w32-k3-e2|bottleneck-d1-w64-k3-e4-se")
    net = space.build(a)
    # stem 3->16 conv3x3 + BN; basic: 2x(16*16*9 + BN 32); inverted 16->32->32(dw)->32, no shortcut (stride 2)
    stem = 3 * 16 * 9 + 32
    basic = 2 * (16 * 16 * 9 + 32)
    inv = (16 * 32 + 64) + (32 * 9 + 64) + (32 * 32 + 64)
    mid = 64 // 4
    se = (64 * 16 + 16) + (16 * 64 + 64)
    bott = (32 * mid + 2 * mid) + (mid * mid * 9 + 2 * mid) + (mid * 64 + 128) + se + (32 * 64 + 128)
    head = 64 * 10 + 10
    assert _params(net) == stem + basic + inv + bott + head
    with torch.no_grad():
        y = net(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 10) and torch.isfinite(y).all()


def test_onnx_export_has_every_block_kind(space):
    model = load_model(space.build(space.parse(ALL)), space.input_shape)
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Add", "Mul", "Sigmoid", "Relu", "Clip", "GlobalAveragePool", "Gemm"} <= ops
    dw = [n for n in model.graph.node
          if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)]
    assert dw, "the inverted residual's depthwise conv must export as a grouped Conv"
    # eval-mode BN folds into the convs (BN's 2 params per channel become a conv bias of 1): a little fewer
    ratio = graph_facts(model).n_params / _params(space.build(space.parse(ALL)))
    assert 0.95 < ratio < 1.0


def test_parameter_range_spans_small_to_large(space):
    sizes = np.array([_params(space.build(a)) for a in space.sample_many(120, seed=0)]) / 1e6
    assert sizes.min() < 0.1 and 1.5 < sizes.max() < 10 and 0.1 < np.median(sizes) < 1.5
    small = space.parse("stem16|plain-d1-w16-k3|plain-d1-w32-k3|plain-d1-w64-k3")
    big = space.parse("stem32|basic-d4-w48-k5-se|basic-d4-w96-k5-se|basic-d4-w192-k5-se")
    assert _params(space.build(small)) < 0.05e6 and 4e6 < _params(space.build(big)) < 10e6
