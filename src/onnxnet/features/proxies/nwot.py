"""NASWOT / nwot (Mellor et al., ICML 2021, v2 of "Neural Architecture Search without Training").

Every ReLU unit is binarised (active or not) per image; ``K[i, j]`` counts the units on which images ``i`` and
``j`` agree (``x x^T + (1 - x)(1 - x)^T``), summed over all ReLU layers; the score is ``log|det K|``. Networks
that separate the images into more distinct linear regions score higher. (``ReLU(x) > 0`` iff ``x > 0``, so the
output pattern equals the input pattern the paper binarises.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.features.proxies._relu import ReluStatistic, relu_proxy


class Nwot(ReluStatistic):
    def __init__(self, n: int) -> None:
        self.n = n
        self.K = np.zeros((n, n), dtype=np.float64)

    def observe(self, output: Any) -> None:
        x = (output.reshape(self.n, -1) > 0).float()
        ones = x.sum(dim=1, keepdim=True)
        agree = 2.0 * (x @ x.t()) - ones - ones.t() + x.shape[1]  # x x^T + (1 - x)(1 - x)^T, one matmul
        self.K += agree.double().numpy()

    def score(self) -> float:
        return float(np.linalg.slogdet(self.K)[1])


nwot = relu_proxy("nwot", Nwot)
