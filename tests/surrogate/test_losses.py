"""Losses: ranking pairs stay inside one search space; per-space normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from onnxnet.errors import TrainingError, UnknownNameError
from onnxnet.surrogate.losses import LOSSES, get_loss
from onnxnet.surrogate.losses.base import same_group_pairs
from onnxnet.surrogate.targets import normalize_per_space


def test_registry_has_the_three_families():
    assert {"mse", "hinge", "listnet", "listmle"} <= set(LOSSES.names())
    with pytest.raises(UnknownNameError, match="choose one of"):
        get_loss("nope")


def test_hinge_never_pairs_across_spaces():
    # Space 0 is ranked perfectly with a wide margin; space 1's nets all score far *below* space 0's although
    # their targets are higher: a cross-space pair would be violated, a same-space one is not.
    scores = torch.tensor([10.0, 9.0, -5.0, -6.0])
    targets = torch.tensor([0.2, 0.1, 0.9, 0.8])
    groups = torch.tensor([0, 0, 1, 1])
    assert float(get_loss("hinge")(scores, targets, groups)) == 0.0
    i, j = same_group_pairs(targets, groups)
    assert all(int(groups[a]) == int(groups[b]) for a, b in zip(i, j))
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (2, 3)]


def test_hinge_value_and_margin():
    loss = get_loss("hinge", margin=0.1)
    # one same-space pair, wrongly ordered by 0.5: loss = 0.1 + 0.5
    v = loss(torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.0]), torch.tensor([3, 3]))
    assert float(v) == pytest.approx(0.6)
    # a batch without any comparable pair gives zero but still backpropagates
    s = torch.tensor([1.0, 2.0], requires_grad=True)
    v = loss(s, torch.tensor([1.0, 0.0]), torch.tensor([0, 1]))
    v.backward()
    assert float(v.detach()) == 0.0 and s.grad is not None


@pytest.mark.parametrize("name", ["listnet", "listmle"])
def test_listwise_losses_are_per_space(name):
    loss = get_loss(name)
    targets = torch.tensor([0.0, 0.5, 1.0, 0.0, 1.0])
    groups = torch.tensor([0, 0, 0, 1, 1])
    good = torch.tensor([0.0, 1.0, 2.0, 0.0, 1.0])
    bad = torch.tensor([2.0, 1.0, 0.0, 1.0, 0.0])
    assert float(loss(good, targets, groups)) < float(loss(bad, targets, groups))
    # shifting one space's scores by a constant (its scale relative to other spaces) changes nothing
    shifted = good.clone()
    shifted[3:] += 100.0
    assert float(loss(shifted, targets, groups)) == pytest.approx(float(loss(good, targets, groups)), rel=1e-5)


def test_mse():
    v = get_loss("mse")(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]), torch.tensor([0, 1]))
    assert float(v) == pytest.approx(2.5)


def test_normalisation_is_per_space():
    y = [90.0, 91.0, 92.0, 10.0, 30.0, 20.0]
    sp = ["a", "a", "a", "b", "b", "b"]
    r, stats = normalize_per_space(y, sp, "rank")
    np.testing.assert_allclose(r, [0.0, 0.5, 1.0, 0.0, 1.0, 0.5])
    z, stats = normalize_per_space(y, sp, "zscore")
    for s in "ab":
        m = np.array(sp) == s
        assert abs(z[m].mean()) < 1e-9 and z[m].std() == pytest.approx(1.0)
    assert stats.mean["a"] == pytest.approx(91.0) and stats.count["b"] == 3


def test_normalisation_rejects_nan_and_unknown_method():
    with pytest.raises(TrainingError, match="NaN"):
        normalize_per_space([1.0, float("nan")], ["a", "a"])
    with pytest.raises(TrainingError, match="choose one of"):
        normalize_per_space([1.0, 2.0], ["a", "a"], "minmax")


def test_over_length_texts_keep_head_and_tail():
    from onnxnet.surrogate.surrogate import tokenize
    from onnxnet.surrogate.tokenizer import train_bpe_tokenizer

    lines = ["in x0 <1x3x32x32>"] + [f"Conv[k=3](t{i}) = t{i + 1} <1x16x32x32>" for i in range(60)] + ["Gemm(t60) = y"]
    text = "\n".join(lines)
    tok = train_bpe_tokenizer([text], vocab_size=300)
    ids, n_over = tokenize(tok, [text, "in x0"], 64)
    assert n_over == 1 and len(ids[0]) <= 64 and len(ids[1]) < 64
    kept = tok.decode(ids[0], skip_special_tokens=True)
    assert kept.startswith("in x0") and kept.rstrip().endswith("Gemm(t60) = y") and "omitted" in kept
