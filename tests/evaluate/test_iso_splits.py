"""Isomorphism-class splits on real NB201 labels: functional twins never straddle train and test.

The rows are a seeded sample of the published NB201 table with the store's ``arch_hash`` (the space's canonical
form) and one graph hash per cell string, as in a real store, where isomorphic cell strings export to different
ONNX graphs. Classes are checked against the table's own ``UniqueString`` column, not against our canonical form.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from onnxnet.evaluate import protocols as P
from onnxnet.evaluate.splits import iso_classes, labelled, sample_graphs, straddling, without_graphs
from onnxnet.predictors.base import Predictor


class Recorder(Predictor):
    """Remembers the ids it was trained on; scores by a noisy copy of the label (rows carry it as ``hint``)."""

    seen: list[set[str]] = []

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, rows, y, spaces):
        Recorder.seen.append(set(rows["id"]))

    def predict(self, rows):
        return rows["hint"].to_numpy(dtype=float) + np.random.default_rng(self.seed).normal(0, 1, len(rows))


def _gh(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def nb201(shared_data) -> pd.DataFrame:
    from onnxnet.spaces import get_space

    table = pd.read_csv(shared_data / "nb201" / "nb201_cifar10_200ep_test.csv")
    part = table.iloc[np.sort(np.random.default_rng(0).permutation(len(table))[:3000])]
    space = get_space("nb201")
    acc = part["CIFAR10TestAccuracy200Epochs"].to_numpy(dtype=float)
    return pd.DataFrame({
        "id": [f"nb201/{i}" for i in part.index], "space": "nb201", "arch": part["ArchitectureString"].to_numpy(),
        "arch_hash": [space.arch_hash(space.parse(a)) for a in part["ArchitectureString"]],
        "graph_hash": [_gh(a) for a in part["ArchitectureString"]], "accuracy": acc, "hint": acc,
        "unique": part["UniqueString"].to_numpy(), "split": np.where(np.arange(len(part)) % 5 == 0, "test", "train"),
    })


@pytest.fixture(scope="module")
def nb101(shared_data) -> pd.DataFrame:
    from onnxnet.bench.labels import load_labels
    from onnxnet.spaces import get_space

    frame = load_labels("nb101", shared_data).frame
    frame = frame[np.isfinite(frame["cifar10_val_108ep"])]
    space = get_space("nb101")
    acc = frame["cifar10_val_108ep"].to_numpy(dtype=float)
    return pd.DataFrame({
        "id": [f"nb101/{k}" for k in range(len(frame))], "space": "nb101", "arch": list(frame.index),
        "arch_hash": [space.arch_hash(space.parse(a)) for a in frame.index], "graph_hash": [_gh(a) for a in frame.index],
        "accuracy": acc, "hint": acc, "unique": [f"nb101:{space.canonical_form(space.parse(a))}" for a in frame.index],
        "split": "train",
    })


def _uniques(rows: pd.DataFrame, ids: set[str]) -> set[str]:
    return set(rows.loc[rows["id"].isin(ids), "unique"])


def test_classes_match_the_published_unique_strings(nb201):
    cls = iso_classes(nb201)
    # one class per UniqueString, and one UniqueString per class
    assert pd.Series(cls).groupby(nb201["unique"].to_numpy()).nunique().max() == 1
    assert pd.Series(nb201["unique"].to_numpy()).groupby(cls).nunique().max() == 1
    assert len(set(cls)) == nb201["unique"].nunique() < len(nb201)  # the sample does hold twins


def test_sample_graphs_keeps_every_class_on_one_side(nb201):
    data = labelled(nb201)
    for seed in range(3):
        train, test = sample_graphs(data, 128, seed)
        assert len(train) == 128 and train["unique"].is_unique
        assert not set(train["unique"]) & set(test["unique"])
        assert straddling(train, test) == 0
        # the old rule (by graph only) would have straddled on this sample
        old_test = data[~data["graph_hash"].isin(train["graph_hash"])]
        assert set(train["unique"]) & set(old_test["unique"])


def test_in_space_few_shot_and_zero_shot_never_put_twins_on_both_sides(nb201, nb101):
    Recorder.seen.clear()
    res = P.in_space(nb201, Recorder(), "nb201", train_sizes=(32, 128), seeds=2, test_sample=800)
    few = P.few_shot(pd.concat([nb101, nb201]), Recorder(), "nb101", "nb201", shots=(16, 100), seeds=1)
    zero = P.zero_shot(pd.concat([nb101, nb201]), Recorder(), "nb101", "nb201", seeds=1, test_sample=500)
    runs = [(seed, setting) for r in (res, few, zero) for seed, setting in
            r.predictions.groupby(["seed", "setting"], sort=False).size().index]
    assert len(runs) == len(Recorder.seen) == 4 + 2 + 1
    preds = pd.concat([res.predictions, few.predictions, zero.predictions])
    both = pd.concat([nb101, nb201])
    for trained, (seed, setting) in zip(Recorder.seen, runs):
        tested = set(preds[(preds["seed"] == seed) & (preds["setting"] == setting)]["id"])
        assert tested and not _uniques(both, trained) & _uniques(both, tested), setting
    assert (res.summary()["kendall_mean"] > 0.5).all()


def test_store_split_and_without_graphs_drop_twins_of_test_rows(nb201):
    from onnxnet.evaluate.splits import store_split

    data = labelled(nb201)
    train, test = store_split(data, seed=0)
    assert straddling(train, test) == 0 and not set(train["unique"]) & set(test["unique"])
    assert len(train) + len(test) < len(data)  # the twins of test rows were dropped from training
    # a twin linked only through a third row (same graph as one, same class as the other) is excluded too
    a, b = data.iloc[[0]], data.iloc[[1]].assign(graph_hash=data["graph_hash"].iloc[0], arch_hash="x")
    c = data.iloc[[2]].assign(arch_hash="x")
    assert len(without_graphs(pd.concat([c]), pd.concat([a, b]))) == 0
