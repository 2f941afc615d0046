"""hNAS-Bench-201: grammar fidelity, parse/print, seeded sampling, hashing and valid torch networks."""

import math

import pandas as pd
import pytest
import torch

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space
from onnxnet.spaces.hnb201 import cell_has_path

CONV = "(OPS Linear1 (CONVBLOCK Linear3 (ACT relu) (CONV conv3x3o) (NORM batch)))"
IDCELL = "(CELL Cell (OPS zero) (OPS zero) (OPS zero) (OPS id) (OPS zero) (OPS zero))"  # output = input


@pytest.fixture(scope="module")
def space():
    return get_space("hnb201")


def _net(c_pair: str) -> str:
    """A full derivation whose first C is ``c_pair`` and whose other cells are a fixed conv cell."""
    cell = f"(CELL Cell {CONV} (OPS id) {CONV} (OPS avg_pool) (OPS zero) {CONV})"
    pair = f"(C Linear2 {cell} {cell})"
    d1 = f"(D1 Linear3 {{}} {pair} (DOWN Residual2 {cell} resBlock resBlock))"
    return f"(D2 Linear3 {d1.format(c_pair)} {d1.format(pair)} (D0 Residual3 {pair} {pair} {cell} {cell}))"


def test_space_size_matches_the_paper(space):
    # the paper's 10^446 counts every grammar alternative (the conv block twice) and ignores the constraint
    assert round(math.log10(space.count(distinct=False)), 1) == 446.1
    assert 375 < math.log10(space.count()) < 376


def test_sampling_is_seeded_valid_and_round_trips(space):
    archs = space.sample_many(8, seed=11)
    assert archs == space.sample_many(8, seed=11) and archs != space.sample_many(8, seed=12)
    for a in archs:
        s = space.to_string(a)
        assert space.parse(s) == a and s.startswith("(D2 ")
        assert all(cell_has_path(c.children) for c in a.cells()) and space.is_valid(a)
    assert len({space.arch_hash(a) for a in archs}) == len(archs)


@pytest.mark.parametrize("bad, needle", [
    ("(D2 Linear3 (D1 Linear3", "missing ')'"),
    ("(D1 Linear3 (C Linear2 x y))", "must start with 'D2'"),
    ("(D2 Linear5 a b)", "matches no rule of D2"),
    (_net("(C Diamond2 (CELL Cell (OPS id)))"), "matches no rule of C"),
    (_net(f"(C Linear2 {IDCELL} {IDCELL})") + " trailing", "after the derivation"),
    ("", "empty"),
])
def test_bad_derivations_say_what_is_wrong(space, bad, needle):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert needle in str(e.value) and "hNAS-Bench-201" in str(e.value)


def test_canonical_form_collapses_equivalent_derivations(space):
    cell = f"(CELL Cell {CONV} (OPS zero) (OPS zero) (OPS zero) (OPS id) (OPS zero))"
    a = space.parse(_net(f"(C Linear2 {IDCELL} {cell})"))
    b = space.parse(_net(f"(C Linear2 {cell} {IDCELL})"))  # identity cell moved within the chain
    c = space.parse(_net(f"(C Linear2 {cell} {cell})"))
    assert a != b and space.arch_hash(a) == space.arch_hash(b) != space.arch_hash(c)
    # NB201 isomorphic cells stay isomorphic here; different conv types do not collapse
    n1, n2 = space.from_nb201((2, 2, 0, 0, 0, 0)), space.from_nb201((2, 0, 2, 0, 0, 0))
    assert space.arch_hash(n1) != space.arch_hash(n2)
    dead = space.from_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    alive = space.from_nb201("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    assert space.arch_hash(dead) == space.arch_hash(alive)  # node 2 feeds nothing


def test_nb201_networks_are_contained_with_their_published_params(space, shared_data):
    zc = pd.read_csv(shared_data / "nb201" / "nb201_zc_proxies.csv").head(4)
    for net, params in zip(zc.net, zc.params):
        n = sum(p.numel() for p in space.build(space.from_nb201(net)).parameters())
        assert n == round(params * 1e6), net
    dead = space.from_nb201(("none",) * 6)  # grammatical, but breaks the cell constraint
    assert not space.is_valid(dead) and space.is_valid(space.from_nb201(zc.net[0]))
    with pytest.raises(ArchitectureError, match="no input-to-output path"):
        space.parse(space.to_string(dead), strict=True)


ALL_KINDS = ("(CELL Cell (OPS Linear1 (CONVBLOCK Linear3 (ACT mish) (CONV dconv3x3o) (NORM layer))) (OPS id) "
             f"{CONV} (OPS avg_pool) (OPS zero) "
             "(OPS Linear1 (CONVBLOCK Linear3 (ACT hardswish) (CONV conv1x1o) (NORM instance))))")


def test_build_valid_networks(space):
    archs = [space.parse(_net(f"(C Residual2 {ALL_KINDS} {ALL_KINDS} {ALL_KINDS})"))] + space.sample_many(1, seed=2)
    x = torch.randn(1, 3, 32, 32)
    for a in archs:
        net = space.build(a)
        with torch.no_grad():
            y = net(x)
        assert y.shape == (1, 10) and torch.isfinite(y).all()
        assert net.head[-1].in_features == 64


def test_every_primitive_exports_to_onnx(space):
    from onnxnet.graph import export_torch

    arch = space.parse(_net(f"(C Linear2 {ALL_KINDS} {ALL_KINDS})"))
    ops = {n.op_type for n in export_torch(space.build(arch), space.input_shape).graph.node}
    assert {"LayerNormalization", "InstanceNormalization", "HardSwish", "AveragePool", "Conv", "Add"} <= ops
