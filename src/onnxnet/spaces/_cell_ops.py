"""PyTorch building blocks of NAS-Bench-201-style networks (imported lazily: only ``build()`` needs torch).

The modules reproduce the NAS-Bench-201 / NATS-Bench topology reference implementation (``xautodl``
``cell_operations.py``, ``cell_infers/cells.py`` and ``tiny_network.py``) layer for layer, so that parameter
counts and ONNX graphs equal those of the trained benchmark networks. TransNAS-Bench-101 micro cells reuse them.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias when BN is affine) -> BatchNorm, as in NAS-Bench-201."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` operation: an all-zero tensor of the output shape (kept so the graph keeps the edge)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            return x.mul(0.0) if self.stride == 1 else x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        shape[2] = (shape[2] + self.stride - 1) // self.stride
        shape[3] = (shape[3] + self.stride - 1) // self.stride
        return x.new_zeros(shape)


class Pooling(nn.Module):
    """3x3 average pooling (``count_include_pad=False``), with a 1x1 ReLUConvBN first if channels change."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.preprocess = (None if c_in == c_out
                           else ReLUConvBN(c_in, c_out, 1, 1, 0, 1, affine, track_running_stats))
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.preprocess(x) if self.preprocess is not None else x)


class FactorizedReduce(nn.Module):
    """Skip connection across a stride-2 or channel change: two offset 1x1 convs, concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            c_outs = [c_out // 2, c_out - c_out // 2]
            self.convs = nn.ModuleList(nn.Conv2d(c_in, c, 1, stride=stride, padding=0, bias=not affine)
                                       for c in c_outs)
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        elif stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=not affine)
        else:
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, not {stride}")
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = self.relu(x)
            y = self.pad(x)
            out = torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


class ResNetBasicblock(nn.Module):
    """The fixed residual reduction block between NAS-Bench-201 stages (stride 2, channels doubled)."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.downsample = None
        self.out_dim = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_b(self.conv_a(x))
        residual = self.downsample(x) if self.downsample is not None else x
        return residual + y


#: Factory signature: (op name, c_in, c_out, stride) -> module.
OpFactory = Callable[[str, int, int, int], nn.Module]


def nb201_op(name: str, c_in: int, c_out: int, stride: int, affine: bool = True,
             track_running_stats: bool = True) -> nn.Module:
    """One NAS-Bench-201 candidate operation (``OPS`` of the reference code)."""
    if name == "none":
        return Zero(c_in, c_out, stride)
    if name == "skip_connect":
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        return FactorizedReduce(c_in, c_out, stride, affine, track_running_stats)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0, 1, affine, track_running_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1, 1, affine, track_running_stats)
    if name == "avg_pool_3x3":
        return Pooling(c_in, c_out, stride, affine, track_running_stats)
    raise ValueError(f"unknown NAS-Bench-201 operation {name!r}")


class DAGCell(nn.Module):
    """A cell whose node j is the sum of ``op(node i)`` over its incoming edges; the output is the last node.

    ``edges`` lists ``(source, target, op name)`` with nodes numbered from 0 (the cell input); edges leaving
    node 0 get ``stride`` and ``c_in`` input channels, all others ``c_out`` and stride 1 (as in NB201's InferCell).
    """

    def __init__(self, edges: Sequence[tuple[int, int, str]], c_in: int, c_out: int, stride: int,
                 make_op: OpFactory) -> None:
        super().__init__()
        self.edges = [(int(s), int(t)) for s, t, _ in edges]
        self.n_nodes = 1 + max(t for _, t in self.edges)
        self.layers = nn.ModuleList(
            make_op(op, c_in, c_out, stride) if s == 0 else make_op(op, c_out, c_out, 1) for s, _, op in edges
        )
        self.in_dim, self.out_dim = c_in, c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor] = [x]
        for j in range(1, self.n_nodes):
            terms = [layer(nodes[s]) for layer, (s, t) in zip(self.layers, self.edges) if t == j]
            out = terms[0]
            for term in terms[1:]:
                out = out + term
            nodes.append(out)
        return nodes[-1]


class TinyNetwork(nn.Module):
    """NAS-Bench-201's TinyNetwork: stem, 3 stages of ``N`` cells (C, 2C, 4C) with residual reductions, head.

    ``forward`` returns the logits only (the reference also returns the pooled features).
    """

    def __init__(self, edges: Sequence[tuple[int, int, str]], C: int = 16, N: int = 5, num_classes: int = 10,
                 make_op: OpFactory = nb201_op) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        channels = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
        reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
        self.cells = nn.ModuleList()
        c_prev = C
        for c_curr, reduction in zip(channels, reductions):
            cell: nn.Module
            if reduction:
                cell = ResNetBasicblock(c_prev, c_curr, 2)
            else:
                cell = DAGCell(edges, c_prev, c_curr, 1, make_op)
            self.cells.append(cell)
            c_prev = c_curr
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))


class TransNASMicroNet(nn.Module):
    """TransNAS-Bench-101's ``MacroNet`` with micro cells plus its classification decoder (``FFDecoder``).

    Stem: 3x3 stride-2 conv (base/2 channels) + BN, then ReLUConvBN 3x3 stride 2 to ``base`` channels. Each digit
    of ``macro`` is one module of 2 cells: even digits double the channels, digits > 2 halve the resolution
    (both in the module's first cell). Head: global average pooling and a linear layer.
    """

    def __init__(self, edges: Sequence[tuple[int, int, str]], base: int = 64, macro: str = "41414",
                 num_classes: int = 75, cells_per_module: int = 2, make_op: OpFactory = nb201_op) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, base // 2, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(base // 2),
            ReLUConvBN(base // 2, base, 3, 2, 1, 1),
        )
        layers: list[nn.Module] = []
        c_prev = base
        for digit in macro:
            kind = int(digit)
            c_out = 2 * c_prev if kind % 2 == 0 else c_prev
            stride = 2 if kind > 2 else 1
            cells = [DAGCell(edges, c_prev, c_out, stride, make_op)]
            cells += [DAGCell(edges, c_out, c_out, 1, make_op) for _ in range(cells_per_module - 1)]
            layers.append(nn.Sequential(*cells))
            c_prev = c_out
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c_prev, num_classes)
        for m in self.modules():  # the reference's Kaiming initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.head(self.avgpool(x).flatten(1))
