"""PyTorch NAS-Bench-101 network (imported lazily: only ``NB101Space.build`` needs torch).

A layer-for-layer port of ``nasbench/lib/model_builder.py`` (TensorFlow): conv-BN-ReLU without conv bias, BN
momentum 0.997 / epsilon 1e-5 (TF convention; PyTorch momentum = 1 - 0.997), 1x1 projections of the cell input,
channel splitting among the vertices that feed the output, truncation of the extra channel, summed vertex inputs,
concatenated cell output (+ projected input when input->output is an edge), 2x2 max-pool between stacks with
doubling channels, global average pooling and a dense classifier.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

BN_MOMENTUM = 0.997
BN_EPSILON = 1e-5


class ConvBnRelu(nn.Module):
    """``base_ops.conv_bn_relu``: 'same'-padded conv (no bias), batch norm, ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPSILON, momentum=1.0 - BN_MOMENTUM)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def vertex_op(op: str, channels: int) -> nn.Module:
    """The module of one interior vertex (its input already has ``channels`` channels)."""
    if op == "conv3x3-bn-relu":
        return ConvBnRelu(channels, channels, 3)
    if op == "conv1x1-bn-relu":
        return ConvBnRelu(channels, channels, 1)
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 op {op!r}")


def compute_vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels per vertex: the output's channels split among its direct predecessors (the first
    ``c_out % k`` get one extra), other vertices take the max over their successors (``model_builder``)."""
    n = matrix.shape[0]
    channels = [0] * n
    channels[0], channels[n - 1] = c_in, c_out
    if n == 2:
        return channels
    in_degree = matrix[1:].sum(axis=0)
    interior, correction = divmod(c_out, int(in_degree[n - 1]))
    for v in range(1, n - 1):
        if matrix[v, n - 1]:
            channels[v] = interior + (1 if correction else 0)
            correction -= 1 if correction else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


class Cell(nn.Module):
    """One NAS-Bench-101 module (``build_module``)."""

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], c_in: int, c_out: int) -> None:
        super().__init__()
        self.matrix = matrix.astype(bool)
        self.n = matrix.shape[0]
        self.channels = compute_vertex_channels(c_in, c_out, matrix)
        self.ops = nn.ModuleList([nn.Identity()] + [vertex_op(ops[t], self.channels[t]) for t in range(1, self.n - 1)])
        # 1x1 projection of the cell input for every vertex (including the output) that the input feeds.
        self.proj = nn.ModuleDict({str(t): ConvBnRelu(c_in, self.channels[t], 1)
                                   for t in range(1, self.n) if self.matrix[0, t]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = self.n, self.matrix
        tensors: list[torch.Tensor] = [x]
        concat: list[torch.Tensor] = []
        for t in range(1, n - 1):
            c = self.channels[t]
            fan_in = [tensors[s] if tensors[s].shape[1] == c else tensors[s][:, :c]
                      for s in range(1, t) if m[s, t]]
            if m[0, t]:
                fan_in.append(self.proj[str(t)](x))
            total = fan_in[0]
            for extra in fan_in[1:]:
                total = total + extra
            out = self.ops[t](total)
            tensors.append(out)
            if m[t, n - 1]:
                concat.append(out)
        if not concat:
            return self.proj[str(n - 1)](x)
        y = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if m[0, n - 1]:
            y = y + self.proj[str(n - 1)](x)
        return y


class NB101Network(nn.Module):
    """Stem conv3x3 (128) -> 3 stacks x 3 cells (max-pool + channel doubling between stacks) -> GAP -> dense."""

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], stem_channels: int = 128, num_stacks: int = 3,
                 cells_per_stack: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBnRelu(3, stem_channels, 3)]
        c_in = c_out = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(cells_per_stack):
                layers.append(Cell(matrix, ops, c_in, c_out))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean(dim=(2, 3)))
