"""The loss contract and its registry."""

from __future__ import annotations

from typing import Any

import torch

from onnxnet.registry import Registry

#: All surrogate losses by name, e.g. ``LOSSES.get("hinge")``.
LOSSES: Registry[type["Loss"]] = Registry("loss")


class Loss(torch.nn.Module):
    """``forward(scores, targets, groups) -> scalar``; ranking losses never compare rows of different groups."""

    name: str = ""

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def same_group_pairs(targets: torch.Tensor, groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index pairs (i, j) with ``groups[i] == groups[j]`` and ``targets[i] > targets[j]`` (i is the better net)."""
    better = targets[:, None] > targets[None, :]
    same = groups[:, None] == groups[None, :]
    i, j = torch.nonzero(better & same, as_tuple=True)
    return i, j


def get_loss(name: str, **params: Any) -> Loss:
    """An instance of the registered loss ``name``."""
    import onnxnet.surrogate.losses  # noqa: F401  (registers the built-ins)

    return LOSSES.get(name)(**params)
