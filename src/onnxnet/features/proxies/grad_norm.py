"""Grad-norm (Abdelfattah et al., ICLR 2021): the sum over conv / linear layers of ``||dL/dW||_2``.

``L`` is the cross-entropy of one batch of real images, network in training mode (batch-statistics BN).
"""

from __future__ import annotations

from typing import Any

from onnxnet.features.proxies import PROXIES
from onnxnet.features.proxies._layers import logits, weight_layers


@PROXIES.register("grad_norm")
def grad_norm(net: Any, inputs: Any, targets: Any) -> float:
    import torch
    import torch.nn.functional as F

    net.zero_grad()
    F.cross_entropy(logits(net(inputs)), targets).backward()
    return float(sum(float(l.weight.grad.norm()) for l in weight_layers(net) if l.weight.grad is not None))
