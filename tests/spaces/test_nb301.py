"""DARTS / NAS-Bench-301 space: genotype strings, NASLib keys, NB301 configs, canonical cells, builders."""

from __future__ import annotations

import json
import pickle

import pytest

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space
from onnxnet.spaces.nb301 import Genotype

# DARTS_V2 from the DARTS paper's genotypes.py.
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


@pytest.fixture(scope="module")
def space():
    return get_space("nb301")


@pytest.fixture(scope="module")
def naslib_rows(shared_data):
    d = json.loads((shared_data / "nb301" / "naslib_zc_nasbench301.json").read_text())
    return list(d["nasbench301"]["cifar10"].items())


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


def test_genotype_string_round_trip(space):
    g = space.parse(DARTS_V2)
    assert g.normal[7] == ("dil_conv_3x3", 2)
    assert space.to_string(g) == DARTS_V2
    assert space.parse(DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")) == g


def test_naslib_key_forms(space, naslib_rows, shared_data):
    key = naslib_rows[0][0]  # "[[(0, 4), (1, 3), ...], [...]]": (input, op id)
    g = space.parse(key)
    assert g.normal[0] == ("sep_conv_5x5", 0) and g.normal[1] == ("sep_conv_3x3", 1)
    assert space.to_naslib(g) == tuple(tuple(tuple(p) for p in cell) for cell in eval(key))
    archs = json.loads((shared_data / "nb301" / "naslib_archs_nasbench301.json").read_text())
    tup = eval(archs["0"])  # the tuple-of-tuples form
    assert space.parse(archs["0"]) == space.parse(tup)


def test_nb301_configspace_dict(space):
    p = "NetworkSelectorDatasetInfo:darts:"
    # NB301's data_generation/configs/config_0.json (architecture keys only)
    config = {p + "edge_normal_0": "skip_connect", p + "edge_normal_1": "sep_conv_3x3",
              p + "edge_normal_3": "dil_conv_5x5", p + "edge_normal_4": "avg_pool_3x3",
              p + "edge_normal_7": "dil_conv_5x5", p + "edge_normal_8": "sep_conv_3x3",
              p + "edge_normal_9": "dil_conv_3x3", p + "edge_normal_10": "dil_conv_3x3",
              p + "inputs_node_normal_3": "1_2", p + "inputs_node_normal_4": "2_3", p + "inputs_node_normal_5": "0_1",
              p + "edge_reduce_0": "dil_conv_3x3", p + "edge_reduce_1": "skip_connect",
              p + "edge_reduce_2": "max_pool_3x3", p + "edge_reduce_3": "dil_conv_5x5",
              p + "edge_reduce_6": "dil_conv_3x3", p + "edge_reduce_7": "avg_pool_3x3",
              p + "edge_reduce_9": "sep_conv_3x3", p + "edge_reduce_11": "sep_conv_3x3",
              p + "inputs_node_reduce_3": "0_1", p + "inputs_node_reduce_4": "1_2", p + "inputs_node_reduce_5": "0_2",
              p + "init_channels": 32, p + "layers": 8}
    g = space.parse(config)
    assert g.normal[2:4] == (("dil_conv_5x5", 1), ("avg_pool_3x3", 2))
    assert g.reduce[6:] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 2))


def test_canonical_form_collapses_equivalent_cells(space):
    g = space.parse(DARTS_V2)
    swapped = Genotype(tuple([g.normal[1], g.normal[0], *g.normal[2:]]), g.reduce)
    assert space.arch_hash(swapped) == space.arch_hash(g)
    # nodes 2 and 3 both read only cell inputs: renumbering them is the same cell
    n = list(g.normal)
    renum = [n[2], n[3], n[0], n[1], *[(op, {2: 3, 3: 2}.get(s, s)) for op, s in n[4:]]]
    assert space.arch_hash(Genotype(tuple(renum), g.reduce)) == space.arch_hash(g)
    changed = Genotype(tuple([("sep_conv_5x5", 0), *g.normal[1:]]), g.reduce)
    assert space.arch_hash(changed) != space.arch_hash(g)


@pytest.mark.parametrize("bad, problem", [
    (DARTS_V2.replace("sep_conv_3x3", "sep_conv_7x7", 1), "unknown operation 'sep_conv_7x7'"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "cannot take input 5"),
    (DARTS_V2.replace("('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 0), ('sep_conv_3x3', 0)", 1),
     "takes input 0 twice"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "always concatenates"),
    ("[[(0, 1), (1, 9)], [(0, 1)]]", "op id 9"),
    ("Genotype(normal=[", "not valid Python"),
    ("darts", "not a genotype string"),
])
def test_bad_input_names_string_and_problem(space, bad, problem):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert problem in str(e.value)
    assert bad[:15] in str(e.value)


def test_param_counts_against_naslib(space, naslib_rows):
    # NASLib counted its DARTS graph, whose cell operations use non-affine batch norm; the NB301 network
    # (DARTS NetworkCIFAR, affine everywhere) has exactly those affine parameters more.
    import torch

    for key, row in naslib_rows[:3]:
        published = round(row["params"] * 1e6)
        assert n_params(space.build(key, op_affine=False)) == published
        net = space.build(key)
        op_bn = sum(2 * m.num_features for name, m in net.named_modules()
                    if isinstance(m, torch.nn.BatchNorm2d) and ".ops." in name)
        assert n_params(net) == published + op_bn


def test_build_forward_nb301_network(space):
    import torch

    net = space.build(DARTS_V2)
    assert not net.training and net.auxiliary_head is None
    assert len(net.cells) == 8 and net.stem[0].out_channels == 96
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    assert space.build(DARTS_V2, auxiliary=True).auxiliary_head is not None


def test_seeded_sampling(space):
    a = space.sample_many(10, seed=0)
    assert a == space.sample_many(10, seed=0) and a != space.sample_many(10, seed=1)
    for g in a:
        assert space.parse(space.to_string(g)) == g
        assert space.parse(space.to_naslib(g)) == g
        assert pickle.loads(pickle.dumps(g)) == g
    assert space.size > 10 ** 18
