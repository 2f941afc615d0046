"""mutate(arch, rng) and the categorical choices of the spaces that search strategies use."""

import numpy as np
import pytest

from onnxnet.errors import ArchitectureError
from onnxnet.spaces import get_space


@pytest.mark.parametrize("name", ["nb201", "nb101", "nb301", "transnas_micro"])
def test_mutate_gives_a_different_valid_neighbour(name):
    sp = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = sp.sample(rng)
        child = sp.mutate(a, rng)
        assert sp.canonical_form(child) != sp.canonical_form(a) or sp.to_string(child) != sp.to_string(a)
        assert sp.parse(sp.to_string(child)) == child


def test_nb201_mutation_changes_exactly_one_edge():
    sp = get_space("nb201")
    rng = np.random.default_rng(1)
    a = sp.sample(rng)
    for _ in range(20):
        child = sp.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, child)) == 1


@pytest.mark.parametrize("name", ["nb201", "nb101", "nb301", "transnas_micro"])
def test_choices_round_trip(name):
    sp = get_space(name)
    rng = np.random.default_rng(2)
    choices = sp.choices()
    for _ in range(30):
        a = sp.sample(rng)
        params = sp.to_choices(a)
        assert set(params) == set(choices) and all(params[k] in choices[k] for k in params)
        assert sp.from_choices(params) == a


def test_nb101_invalid_choices_are_refused():
    sp = get_space("nb101")
    params = {k: 0 for k in sp.choices()}  # no edges: the output is unreachable
    params.update({f"op{v}": "conv3x3-bn-relu" for v in range(1, 6)})
    with pytest.raises(ArchitectureError, match="not reachable"):
        sp.from_choices(params)
