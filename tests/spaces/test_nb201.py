"""NAS-Bench-201 space: parsing, official index order, UniqueString isomorphism, exact TinyNetwork builds."""

import numpy as np
import pandas as pd
import pytest
import torch

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


@pytest.fixture(scope="module")
def table(shared_data):
    return pd.read_csv(shared_data / "nb201" / "nb201_cifar10_200ep_test.csv")


def test_cell_string_and_naslib_forms_agree(space):
    a = space.parse(ARCH0)
    assert space.to_string(a) == ARCH0
    assert space.parse((4, 3, 3, 0, 0, 0)) == a
    assert space.parse("(4, 3, 3, 0, 0, 0)") == a
    assert space.parse([4, 3, 3, 0, 0, 0]) == a
    assert space.to_naslib(a) == (4, 3, 3, 0, 0, 0)
    for b in space.sample_many(50, seed=3):
        assert space.parse(space.to_string(b)) == b
        assert space.parse(space.to_naslib(b)) == b


@pytest.mark.parametrize("bad, needle", [
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|", "expected 3"),
    ("|conv_5x5~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|none~2|", "conv_5x5"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "should come from node 0"),
    ((4, 3, 3, 0, 0), "exactly 6"),
    ("(4, 3, 3, 0, 0, 9)", "out of range"),
    ("resnet", "unrecognised"),
])
def test_bad_architectures_name_the_input_and_problem(space, bad, needle):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert needle in str(e.value) and str(bad)[:12] in str(e.value)


def test_sampling_is_seeded(space):
    assert space.sample_many(20, seed=7) == space.sample_many(20, seed=7)
    assert space.sample_many(20, seed=7) != space.sample_many(20, seed=8)
    assert space.sample(np.random.default_rng(0)) == space.sample(np.random.default_rng(0))


def test_enumeration_is_the_official_index_order(space, table):
    archs = list(space.enumerate())
    assert len(archs) == space.size == 15625 == len(set(archs))
    assert [space.to_string(a) for a in archs] == table.ArchitectureString.tolist()
    assert space.index_of(space.parse(ARCH0)) == 0 and space.from_index(1) == archs[1]
    with pytest.raises(ArchitectureError, match="out of range"):
        space.from_index(15625)


def test_canonical_form_is_nb201_unique_string(space, table):
    archs = list(space.enumerate())
    forms = [space.canonical_form(a) for a in archs]
    assert forms == table.UniqueString.tolist()
    assert len(set(forms)) == 6466
    assert len({space.arch_hash(a) for a in archs}) == 6466


def test_param_counts_match_published(space, shared_data):
    zc = pd.read_csv(shared_data / "nb201" / "nb201_zc_proxies.csv").head(8)
    for net, net_str, params in zip(zc.net, zc.net_str, zc.params):
        arch = space.parse(net)
        assert space.to_string(arch) == net_str
        n = sum(p.numel() for p in space.build(arch).parameters())
        assert n == round(params * 1e6), net


def test_build_runs_forward(space):
    x = torch.randn(1, 3, 32, 32)
    for arch in [space.parse(ARCH0), ("none",) * 6, ("nor_conv_3x3",) * 6]:
        with torch.no_grad():
            y = space.build(arch)(x)
        assert y.shape == (1, 10) and torch.isfinite(y).all()
