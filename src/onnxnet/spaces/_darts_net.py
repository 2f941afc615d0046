"""PyTorch DARTS evaluation network (``NetworkCIFAR``), as NAS-Bench-301 trained it (imported lazily).

Layer-for-layer equivalent of ``operations.py`` / ``model.py`` of the DARTS reference code (Liu et al., 2019),
which NAS-Bench-301 used with 32 initial channels, 8 cells (reductions at cells 2 and 5), auxiliary head and
drop path 0.2 during training. The auxiliary head is built only on request (``auxiliary=True``): it is unused at
inference and is not part of the exported network. Drop path acts only in training mode.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                                nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked separable convolutions (the first carries the stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
                                DilConv(c_in, c_out, kernel, 1, padding, 1, affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Stride-2 1x1 convs on two offset grids, concatenated: halves the resolution without losing pixels."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name: str, c: int, stride: int, affine: bool = True) -> nn.Module:
    """One DARTS candidate operation on ``c`` channels (DARTS' evaluation network uses ``affine=True``)."""
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1, affine)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2, affine)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, affine)
    if name == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2, affine)
    raise ValueError(f"unknown DARTS op {name!r}")


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    """A DARTS cell: two preprocessed inputs, 4 nodes each summing two ops, output = concat of ``concat`` nodes."""

    def __init__(self, pairs: Sequence[tuple[str, int]], concat: Sequence[int], c_pp: int, c_p: int, c: int,
                 reduction: bool, reduction_prev: bool, op_affine: bool = True) -> None:
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.indices = [i for _, i in pairs]
        self.concat = list(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList(make_op(name, c, 2 if reduction and i < 2 else 1, op_affine) for name, i in pairs)
        self.drop_prob = 0.0

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.ops) // 2):
            hs = []
            for k in (2 * node, 2 * node + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and self.drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, self.drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS ``AuxiliaryHeadCIFAR`` (input 8x8): used only for the training loss."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class NetworkCIFAR(nn.Module):
    """DARTS CIFAR evaluation network: stem conv3x3 (3C) + BN, ``layers`` cells, GAP, linear classifier.

    ``op_affine=False`` gives the cell operations non-affine batch norms, as NASLib's DARTS graph does; the
    ``params`` column of NASLib's NB301 zero-cost file was counted on that variant (see docs/benchmarks.md).
    """

    def __init__(self, normal: Sequence[tuple[str, int]], normal_concat: Sequence[int],
                 reduce: Sequence[tuple[str, int]], reduce_concat: Sequence[int], c: int = 32, layers: int = 8,
                 num_classes: int = 10, auxiliary: bool = False, stem_multiplier: int = 3,
                 op_affine: bool = True) -> None:
        super().__init__()
        self.layers_n = layers
        c_curr = stem_multiplier * c
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = c_p
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            pairs, concat = (reduce, reduce_concat) if reduction else (normal, normal_concat)
            cell = Cell(pairs, concat, c_pp, c_p, c_curr, reduction, reduction_prev, op_affine)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def set_drop_path_prob(self, p: float) -> None:
        for cell in self.cells:
            cell.drop_prob = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits and (in training, with the auxiliary head built) the auxiliary logits."""
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == 2 * self.layers_n // 3 and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), aux
