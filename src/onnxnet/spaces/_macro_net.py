"""Torch modules of the ``macro`` space: plain / basic / bottleneck / inverted-residual blocks with optional SE."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # types only: the space module imports this one when it builds
    from onnxnet.spaces.macro import MacroArch, Stage


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU
            ) -> nn.Sequential:
    """kxk conv (same padding, no bias), BN, optional activation."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SE(nn.Module):
    """Squeeze-and-excitation: channel gate from global pooling (reduction 4, at least 8 hidden channels)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        h = max(8, c // 4)
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, h, 1), nn.ReLU(), nn.Conv2d(h, c, 1),
                                  nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class Block(nn.Module):
    """One block: a branch (with optional SE) plus a shortcut; ``plain`` has no shortcut."""

    def __init__(self, kind: str, cin: int, cout: int, stride: int, k: int, e: int | None, se: bool) -> None:
        super().__init__()
        self.kind = kind
        if kind == "plain":
            branch = [conv_bn(cin, cout, k, stride)]
        elif kind == "basic":
            branch = [conv_bn(cin, cout, k, stride), conv_bn(cout, cout, k, act=None)]
        elif kind == "bottleneck":
            mid = max(8, cout // (e or 4))
            branch = [conv_bn(cin, mid, 1), conv_bn(mid, mid, k, stride), conv_bn(mid, cout, 1, act=None)]
        elif kind == "inverted":
            hid = cin * (e or 6)
            branch = [conv_bn(cin, hid, 1, act=nn.ReLU6), conv_bn(hid, hid, k, stride, groups=hid, act=nn.ReLU6),
                      conv_bn(hid, cout, 1, act=None)]
        else:
            raise ValueError(f"unknown block {kind!r}")
        if se:
            branch.append(SE(cout))
        self.branch = nn.Sequential(*branch)
        self.shortcut: nn.Module | None = None
        self.identity = False
        if kind in ("basic", "bottleneck"):
            if stride == 1 and cin == cout:
                self.identity = True
            else:
                self.shortcut = conv_bn(cin, cout, 1, stride, act=None)
        elif kind == "inverted":
            self.identity = stride == 1 and cin == cout  # MobileNetV2: no projection shortcut
        self.out_act = nn.ReLU() if kind in ("basic", "bottleneck") else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.branch(x)
        if self.identity:
            y = y + x
        elif self.shortcut is not None:
            y = y + self.shortcut(x)
        return self.out_act(y) if self.out_act is not None else y


class MacroNet(nn.Module):
    """Stem, three stages of stacked blocks, global average pooling, linear classifier."""

    def __init__(self, arch: "MacroArch", strides: tuple[int, ...], num_classes: int = 10) -> None:
        super().__init__()
        self.stem = conv_bn(3, arch.stem, 3)
        blocks: list[nn.Module] = []
        c = arch.stem
        for s, stride in zip(arch.stages, strides):
            blocks += stage_blocks(s, c, stride)
            c = s.width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


def stage_blocks(s: "Stage", cin: int, stride: int) -> list[nn.Module]:
    """``s.depth`` blocks; the first takes ``cin`` channels and the stage's stride."""
    return [Block(s.block, cin if j == 0 else s.width, s.width, stride if j == 0 else 1, s.kernel, s.expansion, s.se)
            for j in range(s.depth)]


def build_network(arch: "MacroArch", strides: tuple[int, ...], num_classes: int = 10) -> MacroNet:
    """The torch network of ``arch`` with one stride per stage (standard PyTorch initialisation; seed torch for
    reproducible weights)."""
    return MacroNet(arch, strides, num_classes)
