"""TransNAS-Bench-101 micro space: arch strings, the NASLib table convention, canonical forms, builds."""

import json
import zipfile

import pytest
import torch

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space


@pytest.fixture(scope="module")
def space():
    return get_space("transnas_micro")


def test_string_forms_round_trip(space):
    a = space.parse("64-41414-3_12_033")
    assert a == (3, 1, 2, 0, 3, 3)
    assert space.to_string(a) == "64-41414-3_12_033"
    assert space.parse("3_12_033") == a == space.parse("(3, 1, 2, 0, 3, 3)") == space.parse([3, 1, 2, 0, 3, 3])
    assert space.to_cell_string(a).startswith("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+")
    for b in space.sample_many(30, seed=1):
        assert space.parse(space.to_string(b)) == b


@pytest.mark.parametrize("bad, needle", [
    ("64-41414-3_12_04", "unrecognised"),
    ("64-41414-3_12_034", "unrecognised"),
    ("32-41414-3_12_033", "skeleton '32-41414'"),
    ("(3, 1, 2, 0, 3)", "exactly 6"),
    ((3, 1, 2, 0, 3, 7), "out of range"),
])
def test_bad_architectures_are_rejected_clearly(space, bad, needle):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert needle in str(e.value) and "TransNAS" in str(e.value)


def test_size_enumeration_and_sampling(space):
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == space.size == 4096
    assert space.sample_many(10, seed=5) == space.sample_many(10, seed=5)


def test_canonical_form_collapses_only_equal_computations(space):
    # the dead conv on edge 1->2 feeds nothing: same computation as a 'none' there
    assert space.canonical_form(space.parse("3_33_300")) == space.canonical_form(space.parse("3_30_300"))
    # skip from the cell input is a learned factorized reduce in reduction cells: not the same as conv-then-skip
    a, b = space.parse("1_03_001"), space.parse("0_30_001")
    assert space.canonical_form(a).split("|")[0] == space.canonical_form(b).split("|")[0]
    assert space.canonical_form(a) != space.canonical_form(b)
    assert space.canonical_form(space.parse("3_00_123")) != space.canonical_form(space.parse("3_00_132"))
    assert space.is_zero(space.parse("3_30_000")) and not space.is_zero(space.parse("3_30_001"))


def test_naslib_table_uses_transnas_digits(space, shared_data):
    """Cells with an identically zero output all reach the same chance-level accuracy in the published table."""
    with zipfile.ZipFile(shared_data / "transnas_micro" / "naslib_transnas_micro_zen.zip") as z:
        rows = json.loads(z.read("zen/benchmark--transbench101_micro--class_object--0.json"))
    zero = {round(r["val_accuracy"], 4) for r in rows if space.is_zero(space.parse(r["arch"]))}
    live = {round(r["val_accuracy"], 4) for r in rows if not space.is_zero(space.parse(r["arch"]))}
    assert len(zero) == 1 and len(live) > 100


def test_build_classification_network(space):
    net = space.build(space.parse("64-41414-3_12_033"))
    assert net.head.out_features == space.num_classes == 75
    with torch.no_grad():
        y = net(torch.randn(1, 3, 32, 32))
        y256 = get_space("transnas_micro").build(space.parse("1_11_111"))(torch.randn(1, *space.input_shape[1:]))
    assert y.shape == (1, 75) and y256.shape == (1, 75) and torch.isfinite(y).all()
    # 5 modules of 2 cells; channels 64 -> 128 -> 128 -> 256 -> 256 -> 512
    assert len(net.layers) == 5 and net.head.in_features == 512
