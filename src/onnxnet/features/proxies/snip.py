"""SNIP (Lee et al., ICLR 2019; as a NAS proxy: Abdelfattah et al., ICLR 2021): ``sum |w * dL/dw|``.

NASLib computes it as the gradient of a multiplicative all-ones weight mask, which equals ``w * dL/dw``; we
use the product directly. ``L`` is the cross-entropy of one batch, network in training mode.
"""

from __future__ import annotations

from typing import Any

from onnxnet.features.proxies import PROXIES
from onnxnet.features.proxies._layers import logits, weight_layers


@PROXIES.register("snip")
def snip(net: Any, inputs: Any, targets: Any) -> float:
    import torch
    import torch.nn.functional as F

    net.zero_grad()
    F.cross_entropy(logits(net(inputs)), targets).backward()
    total = 0.0
    for layer in weight_layers(net):
        if layer.weight.grad is not None:
            total += float(torch.sum(torch.abs(layer.weight.detach() * layer.weight.grad)))
    return total
