"""Small, fast fixtures for the surrogate tests: synthetic texts (mechanics only, no quality claims)."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate_tiny import TINY  # noqa: E402


def make_texts(n: int = 40, seed: int = 0) -> tuple[list[str], list[float], list[str]]:
    """Toy encodings over two spaces whose label grows with the number of conv lines (mechanics only)."""
    rng = np.random.default_rng(seed)
    texts, y, spaces = [], [], []
    for i in range(n):
        k = int(rng.integers(1, 9))
        lines = [f"%{j} = Conv[k=3,s=1,c={16 * (1 + j % 3)}](%{j - 1})" for j in range(k)]
        lines += [f"%{k + j} = Relu(%{k + j - 1})" for j in range(9 - k)]
        texts.append("\n".join(lines))
        y.append(float(70 + 2 * k + rng.normal(0, 0.3)))
        spaces.append("nb201" if i % 2 else "nb101")
    return texts, y, spaces


@pytest.fixture(scope="session")
def toy():
    return make_texts()


@pytest.fixture()
def tiny_config():
    from onnxnet.surrogate.trainer import TrainConfig

    return TrainConfig(backbone="modernbert-tiny", backbone_overrides=dict(TINY), epochs=2, batch_size=8,
                       vocab_size=300, max_length=128, val_fraction=0.2, mixed_precision="no", seed=0)
