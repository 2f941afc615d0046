import numpy as np
import pytest

from onnxnet.bench.cifar10 import Cifar10Pack, load_batch
from onnxnet.errors import DataError


def test_decodes_real_images_with_their_labels():
    pack = Cifar10Pack()
    imgs, labels = pack.decode([0, 1, 49_999], "train")
    assert imgs.shape == (3, 32, 32, 3) and imgs.dtype == np.uint8
    assert 20 < imgs.mean() < 235 and imgs.std() > 10  # real pictures, not blank
    paths = pack._a["train_paths"]
    for i, lab in zip([0, 1, 49_999], labels):  # the folder name in the source path is the class
        assert pack.classes[lab] in str(paths[i])


def test_batch_is_seeded_shuffled_and_normalised():
    x, y = load_batch(32, seed=3)
    x2, y2 = load_batch(32, seed=3)
    assert x.shape == (32, 3, 32, 32) and x.dtype.is_floating_point
    assert (x == x2).all() and (y == y2).all()
    assert len(set(y.tolist())) >= 5  # classes are mixed although the pack is sorted by class
    assert abs(float(x.mean())) < 0.5 and 0.6 < float(x.std()) < 1.4
    with pytest.raises(DataError, match="has 10000"):
        load_batch(20_000, split="test")
    with pytest.raises(DataError, match="not found"):
        Cifar10Pack("/nonexistent/cifar.npz")
