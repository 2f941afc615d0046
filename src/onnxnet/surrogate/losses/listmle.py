"""ListMLE: the negative Plackett-Luce likelihood of the true order, one list per search space."""

from __future__ import annotations

import torch

from onnxnet.surrogate.losses.base import LOSSES, Loss


@LOSSES.register("listmle")
class ListMLELoss(Loss):
    """``-log P(true order | scores)`` under Plackett-Luce, averaged over spaces (lists of >= 2 rows)."""

    name = "listmle"

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        s, t = scores.float(), targets.float()
        losses = []
        for g in torch.unique(groups):
            m = groups == g
            n = int(m.sum())
            if n < 2:
                continue
            order = torch.argsort(t[m], descending=True)
            so = s[m][order]
            # log-sum-exp of each suffix: the denominator of each Plackett-Luce step
            suffix = torch.logcumsumexp(so.flip(0), dim=0).flip(0)
            losses.append((suffix - so).sum() / n)
        if not losses:
            return scores.sum() * 0.0
        return torch.stack(losses).mean()
