"""Mean squared error on per-space normalised targets: a regression loss that can also return accuracies."""

from __future__ import annotations

import torch

from onnxnet.surrogate.losses.base import LOSSES, Loss


@LOSSES.register("mse")
class MSELoss(Loss):
    """``mean((score - target)^2)``; targets must already be normalised per space."""

    name = "mse"

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        return torch.mean((scores.float() - targets.float()) ** 2)
