"""Jacobian covariance (Mellor et al., "Neural Architecture Search without Training", v1; NASLib's variant).

For one batch, the input gradients of ``sum(logits)`` per image form rows ``J``; with ``C = corrcoef(J)`` and its
eigenvalues ``v``, the score is ``-sum(log(v + k) + 1 / (v + k))``, ``k = 1e-5``: higher when the images' local
linear maps are less correlated. ``C`` is symmetric, so we use the symmetric eigen-solver (real eigenvalues;
NASLib's general ``eig`` returns the same values up to round-off).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.features.proxies import PROXIES
from onnxnet.features.proxies._layers import logits


@PROXIES.register("jacov")
def jacov(net: Any, inputs: Any, targets: Any) -> float:
    net.zero_grad()
    x = inputs.clone().requires_grad_(True)
    y = logits(net(x))
    y.backward(y.new_ones(y.shape))
    jac = x.grad.detach().reshape(x.shape[0], -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return float("nan")  # a constant Jacobian row (e.g. an all-'none' cell): NaN, scored last
    v = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
