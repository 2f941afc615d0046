"""Helpers shared by the proxies: which layers count, and how to read logits from a module's output."""

from __future__ import annotations

from typing import Any, Iterator


def weight_layers(net: Any) -> Iterator[Any]:
    """Convolution and linear layers: the layers NASLib's ``get_layer_metric_array`` sums a proxy over."""
    import torch.nn as nn

    for m in net.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            yield m


def logits(output: Any) -> Any:
    """The logits tensor of a forward pass; tuple outputs (features, logits) give their last tensor."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        tensors = [o for o in output if isinstance(o, torch.Tensor)]
        if tensors:
            return tensors[-1]
    raise TypeError(f"network output of type {type(output).__name__} holds no tensor")
