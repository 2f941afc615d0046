"""One-network training: tiny ONNX networks on a tiny decoded CIFAR folder; bad inputs give clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from label_models import tiny_onnx
from onnxnet.errors import DataError, TrainingError
from onnxnet.label.data import augment, load_cifar10, resolve_source
from onnxnet.label.recipe import Recipe
from onnxnet.label.train import DeviceData, Network, NetworkError, build_module, train_network

RECIPE = Recipe(epochs=2, batch_size=32, device="cpu")


def _data(tiny_cifar, recipe=RECIPE):
    return DeviceData.make(load_cifar10(tiny_cifar), recipe, "cpu")


def test_split_is_fixed_and_disjoint(tiny_cifar):
    a = load_cifar10(tiny_cifar)
    assert (len(a.train_y), len(a.val_y), len(a.test_y)) == (360, 40, 100)
    b = load_cifar10(tiny_cifar)
    assert np.array_equal(a.val_x, b.val_x) and a.split == b.split and a.split.startswith("cifar10-360/40/100-")
    tr = {x.tobytes() for x in a.train_x}
    assert not any(x.tobytes() in tr for x in a.val_x)
    c, d = load_cifar10(tiny_cifar, n_train=100, n_val=10, n_test=20), a.subset(100, 10, 20)
    assert np.array_equal(c.train_x, d.train_x) and np.array_equal(c.test_y, d.test_y) and c.split == d.split
    assert d.subset(100, 10, 20) is d and len(c.val_y) == 10
    with pytest.raises(DataError, match="asked for 500 CIFAR-10 val images"):
        load_cifar10(tiny_cifar, n_val=500)


def test_augment_crops_and_flips_within_padding():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).reshape(2, 3, 32, 32).to(torch.uint8)
    g = torch.Generator().manual_seed(0)
    y = augment(x, g)
    assert y.shape == x.shape and y.dtype == torch.uint8
    # every output pixel is an input pixel of the same image/channel, or the zero padding
    assert set(y[0, 0].unique().tolist()) <= set(x[0, 0].unique().tolist()) | {0}
    assert not torch.equal(augment(x, torch.Generator().manual_seed(1)), augment(x, torch.Generator().manual_seed(2)))


def test_trains_and_is_deterministic(tiny_cifar):
    net = Network(id="tiny/0", onnx=tiny_onnx())
    data = _data(tiny_cifar)
    torch.set_num_threads(1)
    r1 = train_network(net, data, RECIPE)
    r2 = train_network(net, data, RECIPE)
    assert r1.status == "ok", r1.error
    assert 0 <= r1.val_acc <= 100 and 0 <= r1.test_acc <= 100
    assert [p["epoch"] for p in r1.curve] == [1, 2] and r1.curve[1]["train_loss"] < r1.curve[0]["train_loss"]
    strip = lambda c: [{k: v for k, v in p.items() if k != "seconds"} for p in c]  # noqa: E731
    assert (r1.val_acc, r1.test_acc, strip(r1.curve)) == (r2.val_acc, r2.test_acc, strip(r2.curve))
    assert r1.recipe_hash == RECIPE.hash and r1.train_images == 2 * (360 // 32) * 32
    r3 = train_network(net, data, RECIPE.replace(seed=1))
    assert r3.recipe_hash != r1.recipe_hash


def test_diverged_is_a_status_not_accuracy_zero(tiny_cifar):
    bad = RECIPE.replace(lr=1e38, weight_decay=0.0)  # logits overflow to inf -> NaN loss
    r = train_network(Network(id="tiny/0", onnx=tiny_onnx()), _data(tiny_cifar, bad), bad)
    assert r.status == "diverged" and r.val_acc is None and r.test_acc is None
    assert "epoch 1" in r.error


def test_native_space_network_builds():
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    net = Network.from_arch(sp, sp.from_index(7))
    assert net.id == "nb201/7"
    m = build_module(net)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("kwargs, words", [
    ({"in_shape": (1, 1, 28, 28)}, ["(?, 1, 28, 28)", "(N, 3, 32, 32)"]),
    ({"classes": 100}, ["(?, 100)", "10"]),
    ({"extra_output": True}, ["2 outputs", "exactly one"]),
    ({"op": "Round"}, ["'Round'", "not supported"]),
])
def test_bad_networks_name_the_problem(kwargs, words):
    with pytest.raises(NetworkError) as e:
        build_module(Network(id="bad", onnx=tiny_onnx(**kwargs), source="bad.onnx"))
    msg = str(e.value)
    assert "bad.onnx" in msg and all(w in msg for w in words), msg


def test_unreadable_onnx_and_missing_paths(tmp_path):
    with pytest.raises(NetworkError, match="not a readable ONNX"):
        build_module(Network(id="x", onnx=b"not onnx", source="x.onnx"))
    with pytest.raises(NetworkError, match="not found"):
        Network.from_onnx_file(tmp_path / "missing.onnx")
    with pytest.raises(DataError, match="CIFAR-10 not found at .*missing"):
        resolve_source(tmp_path / "missing")
    (tmp_path / "half").mkdir()
    np.save(tmp_path / "half" / "train_x.npy", np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="missing or corrupted"):
        load_cifar10(tmp_path / "half")


def test_bad_recipe():
    with pytest.raises(TrainingError, match="epochs=0"):
        Recipe(epochs=0)
    with pytest.raises(TrainingError, match="unknown recipe field"):
        Recipe.from_dict({"epochs": 3, "optimiser": "adam"})
    assert Recipe(epochs=12).label_name() == "onnxnet_cifar10_12ep"
    assert Recipe(epochs=3, train_images=5000).label_name() == "onnxnet_cifar10_3ep_5000img"
    assert Recipe(device="cuda").hash == Recipe(device="cpu").hash != Recipe(lr=0.05).hash
