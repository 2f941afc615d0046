"""Pairwise hinge ranking loss (ONNX-Net's), with pairs drawn only within one search space."""

from __future__ import annotations

import torch

from onnxnet.surrogate.losses.base import LOSSES, Loss, same_group_pairs


@LOSSES.register("hinge")
class PairwiseHingeLoss(Loss):
    """``mean(max(0, margin - (s_i - s_j)))`` over same-space pairs where net i is better than net j."""

    name = "hinge"

    def __init__(self, margin: float = 0.1) -> None:
        super().__init__()
        self.margin = float(margin)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        i, j = same_group_pairs(targets, groups)
        if i.numel() == 0:  # a batch with no comparable pair contributes nothing (but keeps the graph)
            return scores.sum() * 0.0
        s = scores.float()
        return torch.clamp(self.margin - (s[i] - s[j]), min=0.0).mean()
