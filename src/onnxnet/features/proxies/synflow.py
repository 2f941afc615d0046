"""SynFlow (Tanaka et al., NeurIPS 2020; as a NAS proxy: Abdelfattah et al., ICLR 2021).

The network is linearised (every parameter replaced by its absolute value, BatchNorm bypassed, float64), fed
one all-ones input (token models: all-ones token ids), and the score is ``sum |w * dR/dw|`` over conv / linear weights, ``R = sum(output)``.
Data-independent. Returned as ``log(score)``, as NASLib's ``ZeroCost`` predictor reports it.
"""

from __future__ import annotations

import math
from typing import Any

from onnxnet.features.proxies import PROXIES
from onnxnet.features.proxies._layers import logits, weight_layers


@PROXIES.register("synflow")
def synflow(net: Any, inputs: Any, targets: Any) -> float:
    import torch
    import torch.nn as nn

    net = net.double()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.forward = lambda x: x  # bn=False in NASLib: the layer becomes the identity
    with torch.no_grad():
        # every weight and buffer becomes |value|; frozen parameters are constants of the graph (the torch
        # executor's mask fills, scales, all-zero kernels), whose sign is part of the computation
        for p in net.parameters():
            if p.requires_grad and p.is_floating_point():
                p.abs_()
        for b in net.buffers():
            if b.is_floating_point():
                b.abs_()
    net.zero_grad()
    # token ids stay integers (all ones: one token repeated), images become float64 ones
    x = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64 if inputs.is_floating_point() else inputs.dtype)
    torch.sum(logits(net(x))).backward()
    total = 0.0
    for layer in weight_layers(net):
        if layer.weight.grad is not None:
            total += float(torch.sum(torch.abs(layer.weight.detach() * layer.weight.grad)))
    if total == 0.0:
        return 0.0
    return math.log(total) if total > 0 else -math.log(-total)
