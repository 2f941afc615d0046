"""SWAP (Peng et al., ICLR 2024): the number of distinct sample-wise activation patterns.

Every ReLU output unit gives one binary pattern across the images of the batch (which images activate it);
the score is the number of *distinct* patterns over all units of all ReLU layers, a measure of how many ways
the untrained network can separate the batch. The paper's optional size regulariser is space-specific and is
left to the learned combiners.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.features.proxies._relu import ReluStatistic, relu_proxy


class Swap(ReluStatistic):
    def __init__(self, n: int) -> None:
        self.n = n
        self.patterns: list[np.ndarray] = []

    def observe(self, output: Any) -> None:
        signs = (output.reshape(self.n, -1) > 0).numpy().T  # units x images
        packed = np.packbits(signs, axis=1)  # one row of ceil(n / 8) bytes per unit
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
        self.patterns.append(np.unique(keys))

    def score(self) -> float:
        if not self.patterns:
            return float("nan")
        return float(len(np.unique(np.concatenate(self.patterns))))


swap = relu_proxy("swap", Swap)
