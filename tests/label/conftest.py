"""Fixtures for the labelling pipeline: a tiny decoded CIFAR-10 folder and tiny ONNX networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_cifar(tmp_path_factory) -> Path:
    """A decoded-CIFAR folder (the cache format): 400 train / 100 test images whose class sets a colour bias,
    so a tiny network can learn something in one epoch."""
    d = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    for split, n in (("train", 400), ("test", 100)):
        y = rng.integers(0, 10, size=n)
        x = rng.integers(0, 120, size=(n, 32, 32, 3))
        x[..., 0] += (y * 13)[:, None, None]
        np.save(d / f"{split}_x.npy", x.astype(np.uint8))
        np.save(d / f"{split}_y.npy", y.astype(np.int64))
    return d
