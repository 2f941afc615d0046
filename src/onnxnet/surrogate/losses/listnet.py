"""ListNet: cross-entropy between the softmax of targets and of scores, one list per search space."""

from __future__ import annotations

import torch

from onnxnet.surrogate.losses.base import LOSSES, Loss


@LOSSES.register("listnet")
class ListNetLoss(Loss):
    """Top-one ListNet per space; ``temperature`` sharpens the target distribution (targets are normalised)."""

    name = "listnet"

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        s, t = scores.float(), targets.float()
        losses = []
        for g in torch.unique(groups):
            m = groups == g
            if int(m.sum()) < 2:
                continue
            p = torch.softmax(t[m] / self.temperature, dim=0)
            losses.append(-(p * torch.log_softmax(s[m], dim=0)).sum())
        if not losses:
            return scores.sum() * 0.0
        return torch.stack(losses).mean()
