"""Small reference networks written in plain torch (torchvision does not import with this torch).

They exercise the encoder on the shapes NAS researchers meet: a NAS-Bench-201-style cell network, ResNet-18/50,
MobileNetV2, and transformer encoders. ``zoo_model(name)`` returns ``(module, input_shape)``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class ReLUConvBN(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1) -> None:
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _nb201_op(name: str, c: int) -> nn.Module:
    return {"nor_conv_3x3": lambda: ReLUConvBN(c, c, 3), "nor_conv_1x1": lambda: ReLUConvBN(c, c, 1),
            "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
            "skip_connect": nn.Identity, "none": Zero}[name]()


class NB201Cell(nn.Module):
    """A NAS-Bench-201 cell: 4 nodes, edge i->j carries ``ops[j][i]``; node j sums its in-edges."""

    def __init__(self, c: int, ops: tuple[tuple[str, ...], ...]) -> None:
        super().__init__()
        self.ops = ops
        self.edges = nn.ModuleDict({f"{j}_{i}": _nb201_op(op, c) for j, row in enumerate(ops, 1)
                                    for i, op in enumerate(row)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j, row in enumerate(self.ops, 1):
            nodes.append(sum(self.edges[f"{j}_{i}"](nodes[i]) for i in range(len(row))))
        return nodes[-1]


class ResBlock(nn.Module):
    """NB201's reduction block (basic residual block, stride 2, avg-pool + 1x1 shortcut)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a = ReLUConvBN(c_in, c_out, 3, 2)
        self.b = ReLUConvBN(c_out, c_out, 3, 1)
        self.short = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.short(x)


NB201_DEFAULT = (("nor_conv_3x3",), ("nor_conv_3x3", "avg_pool_3x3"), ("skip_connect", "nor_conv_1x1", "nor_conv_3x3"))


class NB201Net(nn.Module):
    """NAS-Bench-201 macro skeleton: stem, 3 stages of ``n_cells`` cells (C, 2C, 4C), 2 reduction blocks, head."""

    def __init__(self, ops: tuple[tuple[str, ...], ...] = NB201_DEFAULT, c: int = 16, n_cells: int = 5,
                 num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)]
        for stage in range(3):
            ch = c * 2**stage
            if stage:
                layers.append(ResBlock(ch // 2, ch))
            layers += [NB201Cell(ch, ops) for _ in range(n_cells)]
        layers += [nn.BatchNorm2d(4 * c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * c, num_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, c: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.down = (nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                     if stride != 1 or c_in != c else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.down(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, c: int, stride: int) -> None:
        super().__init__()
        out = c * 4
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, out, 1, bias=False), nn.BatchNorm2d(out))
        self.down = (nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))
                     if stride != 1 or c_in != out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.down(x))


class ResNet(nn.Module):
    """ImageNet-layout ResNet (7x7 stem, max-pool, 4 stages)."""

    def __init__(self, block: type, layers: tuple[int, ...], num_classes: int = 1000) -> None:
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                 nn.MaxPool2d(3, 2, 1)]
        c_in = 64
        for i, n in enumerate(layers):
            c = 64 * 2**i
            for k in range(n):
                mods.append(block(c_in, c, 2 if (k == 0 and i > 0) else 1))
                c_in = c * block.expansion
        mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, t: int) -> None:
        super().__init__()
        hid = c_in * t
        layers: list[nn.Module] = []
        if t != 1:
            layers += [nn.Conv2d(c_in, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6()]
        layers += [nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(),
                   nn.Conv2d(hid, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.res else self.body(x)


class MobileNetV2(nn.Module):
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
        c_in = 32
        for t, c, n, s in self.SETTINGS:
            for k in range(n):
                mods.append(InvertedResidual(c_in, c, s if k == 0 else 1, t))
                c_in = c
        mods += [nn.Conv2d(c_in, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(),
                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, num_classes)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TokenClassifier(nn.Module):
    """Embedding + ``nn.TransformerEncoder`` + mean-pool + linear head, on float token features."""

    def __init__(self, d: int, heads: int, layers: int, ff: int, seq: int, num_classes: int = 10) -> None:
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.pos = nn.Parameter(torch.zeros(1, seq, d))
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.1, batch_first=True, activation="gelu")
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.proj(x) + self.pos).mean(1))


ZOO: dict[str, Callable[[], tuple[nn.Module, tuple[int, ...]]]] = {
    "nb201": lambda: (NB201Net(), (1, 3, 32, 32)),
    "resnet18": lambda: (ResNet(BasicBlock, (2, 2, 2, 2)), (1, 3, 224, 224)),
    "resnet50": lambda: (ResNet(Bottleneck, (3, 4, 6, 3)), (1, 3, 224, 224)),
    "mobilenetv2": lambda: (MobileNetV2(), (1, 3, 224, 224)),
    "transformer": lambda: (TokenClassifier(64, 4, 3, 128, 16), (1, 16, 64)),
    "bert_large": lambda: (TokenClassifier(1024, 16, 24, 4096, 128), (1, 128, 1024)),
}


def zoo_model(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    """``(module, input_shape)`` of a reference network: nb201, resnet18, resnet50, mobilenetv2, transformer,
    bert_large (24 layers, d=1024, 16 heads, ff 4096: BERT-large shape)."""
    torch.manual_seed(0)
    if name not in ZOO:
        raise KeyError(f"unknown zoo model {name!r}; choose one of {sorted(ZOO)}")
    module, shape = ZOO[name]()
    return module.eval(), shape
