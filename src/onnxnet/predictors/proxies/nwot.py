"""NASWOT / nwot (Mellor et al., ICML 2021, v2 of "Neural Architecture Search without Training").

Every ReLU's input is binarised (``> 0``) per image; ``K[i, j]`` counts the units on which images ``i`` and ``j``
agree (``x x^T + (1 - x)(1 - x)^T``), summed over all ReLU layers; the score is ``log|det K|``. Networks that
separate the images into more distinct linear regions score higher. The ReLU input is read with a forward
*pre*-hook, so in-place ReLUs are seen before they overwrite it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.predictors.proxies import PROXIES


@PROXIES.register("nwot")
def nwot(net: Any, inputs: Any, targets: Any) -> float:
    import torch

    n = inputs.shape[0]
    K = np.zeros((n, n), dtype=np.float64)

    def hook(module: Any, args: tuple[Any, ...]) -> None:
        x = (args[0].detach().reshape(n, -1) > 0).double()
        K[:] += (x @ x.t() + (1.0 - x) @ (1.0 - x).t()).numpy()

    handles = [m.register_forward_pre_hook(hook) for m in net.modules() if "ReLU" in type(m).__name__]
    try:
        with torch.no_grad():
            net(inputs)
    finally:
        for h in handles:
            h.remove()
    if not handles:
        return float("nan")
    _, logdet = np.linalg.slogdet(K)
    return float(logdet)
