"""NAS-Bench-101 space: both published encodings, pruning, NB101's graph hash, exact parameter counts."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space
from onnxnet.spaces.nb101 import CONV1X1, CONV3X3, MAXPOOL3X3, NB101Cell, nb101_hash


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


@pytest.fixture(scope="module")
def naslib_rows(shared_data):
    d = json.loads((shared_data / "nb101" / "naslib_zc_nasbench101.json").read_text())
    return list(d["nasbench101"]["cifar10"].items())


@pytest.fixture(scope="module")
def ecnas(shared_data):
    return pd.read_csv(shared_data / "nb101" / "ecnas_nb101_4ep.csv")


def n_params(net) -> int:
    return sum(p.numel() for p in net.parameters())


def test_naslib_key_string_and_tuple_parse_to_same_cell(space, naslib_rows):
    key, _ = naslib_rows[0]
    a = space.parse(key)
    assert a == space.parse(tuple(int(v) for v in key.strip("()").split(",")))
    assert a.ops[0] == "input" and a.ops[-1] == "output"
    assert space.parse(space.to_string(a)) == a
    assert json.loads(space.to_string(a))["ops"] == list(a.ops)
    assert space.parse(np.array(eval(key))) == a
    assert space.parse((list(a.matrix), list(a.ops))) == a
    assert pickle.loads(pickle.dumps(a)) == a


def test_naslib_op_ids_follow_naslib_all_ops(space):
    # 0 input, 1 output, 2 maxpool3x3, 3 conv1x1, 4 conv3x3: a chain input -> 2 -> 3 -> 4 -> output.
    m = np.zeros((5, 5), dtype=int)
    for i in range(4):
        m[i, i + 1] = 1
    a = space.parse((*m.flatten().tolist(), 0, 2, 3, 4, 1))
    assert a.ops == ("input", MAXPOOL3X3, CONV1X1, CONV3X3, "output")


def test_param_counts_equal_naslib_published_values(space, naslib_rows):
    for key, row in naslib_rows[:4]:
        assert n_params(space.build(key)) == round(row["params"] * 1e6), key


def test_ecnas_rows_param_counts_and_official_hash(space, ecnas):
    rows = pd.concat([ecnas[ecnas.space == "4V9E"].head(3), ecnas[ecnas.space == "5V9E"].head(3)])
    for _, r in rows.iterrows():
        a = space.parse({"matrix": r.matrix, "ops": r.ops})
        assert n_params(space.build(a)) == r.trainable_params
        assert nb101_hash(a) == space.canonical_form(a) == r.hash


def test_pruning_removes_dangling_vertices(space):
    # vertex 2 has no path to the output; vertex 3 is unreachable from the input
    matrix = [[0, 1, 1, 0, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0]]
    a = space.parse({"matrix": matrix, "ops": ["input", "conv3x3", "conv1x1", "maxpool3x3", "output"]})
    assert a == NB101Cell(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", CONV3X3, "output"))


def test_hash_is_isomorphism_invariant(space):
    ops = ["input", CONV3X3, CONV1X1, MAXPOOL3X3, "output"]
    m = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    # swap interior vertices 1 and 2 (both fed by the input) -> an isomorphic cell
    perm = [0, 2, 1, 3, 4]
    pm = [[m[perm[i]][perm[j]] for j in range(5)] for i in range(5)]
    pops = [ops[perm[i]] for i in range(5)]
    a, b = space.parse({"matrix": m, "ops": ops}), space.parse({"matrix": pm, "ops": pops})
    assert a != b
    assert space.arch_hash(a) == space.arch_hash(b)
    c = space.parse({"matrix": m, "ops": ["input", CONV1X1, CONV1X1, MAXPOOL3X3, "output"]})
    assert space.arch_hash(c) != space.arch_hash(a)


@pytest.mark.parametrize("bad, problem", [
    ('{"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3", "input"]}', "end with output"),
    ('{"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv5x5", "output"]}', "unknown operation"),
    ('{"matrix": [[0, 1], [1, 0]], "ops": ["input", "output"]}', "upper-triangular"),
    ('{"matrix": [[0, 0, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3", "output"]}', "not reachable"),
    ("(0, 1, 2)", "not n*n + n"),
    ("matrix please", "not JSON"),
])
def test_bad_input_names_string_and_problem(space, bad, problem):
    with pytest.raises(ArchitectureError) as e:
        space.parse(bad)
    assert problem in str(e.value)
    assert bad[:20] in str(e.value)


def test_edge_limit_applies_after_pruning(space):
    full = np.triu(np.ones((7, 7), dtype=int), k=1)  # 21 edges, nothing to prune
    with pytest.raises(ArchitectureError, match="21 edges after pruning"):
        space.parse({"matrix": full.tolist(), "ops": ["input"] + ["conv3x3"] * 5 + ["output"]})


def test_seeded_sampling_is_deterministic_and_valid(space):
    a, b = space.sample_many(20, seed=3), space.sample_many(20, seed=3)
    assert a == b
    assert a != space.sample_many(20, seed=4)
    for cell in a:
        assert cell.num_vertices <= 7 and cell.num_edges <= 9
        assert space.parse(space.to_string(cell)) == cell
    assert space.size == 423_624
    with pytest.raises(ArchitectureError):
        next(iter(space.enumerate()))


def test_build_forward_and_bn_settings(space, naslib_rows):
    import torch

    net = space.build(naslib_rows[1][0])
    assert not net.training
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(abs(m.momentum - 0.003) < 1e-9 and m.eps == 1e-5 for m in bns)
