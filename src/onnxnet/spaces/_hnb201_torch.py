"""Turn an hNAS-Bench-201 derivation into a torch network (imported lazily: only ``build()`` needs torch).

Follows the reference (automl/hierarchical_nas_construction, ``hierarchical_nb201``): every topology is a DAG whose
nodes sum their incoming edges; an edge keeps the channels of its source node except ``resBlock`` (stride 2,
channels doubled); the stem is a 3x3 conv + BN to 16 channels and the head BN, ReLU, global pooling, linear.
Layer norm normalises over (C, H, W) as in the reference, whose ``LayerNorm`` is created at the first forward
pass; here it is created up front from the known resolution, so it is counted and exported like any layer.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

from onnxnet.errors import ArchitectureError
from onnxnet.spaces._cell_ops import ResNetBasicblock, Zero
from onnxnet.spaces._hnb201_grammar import TOPOLOGIES, Derivation

Child = Union[Derivation, str]


class TopologyDAG(nn.Module):
    """Nodes 1..n; node j is the sum of its incoming edge ops applied to their source nodes; returns node n."""

    def __init__(self, edges: list[tuple[int, int]], ops: list[nn.Module]) -> None:
        super().__init__()
        self.edges = list(edges)
        self.ops = nn.ModuleList(ops)
        self.out_node = max(t for _, t in self.edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: dict[int, torch.Tensor] = {1: x}
        for j in sorted({t for _, t in self.edges}):
            terms = [op(nodes[s]) for op, (s, t) in zip(self.ops, self.edges) if t == j]
            out = terms[0]
            for term in terms[1:]:
                out = out + term
            nodes[j] = out
        return nodes[self.out_node]


def _primitive(name: str, c: int, h: int) -> tuple[nn.Module, int, int]:
    if name == "resBlock":
        return ResNetBasicblock(c, 2 * c, 2), 2 * c, (h + 1) // 2
    if name == "id":
        return nn.Identity(), c, h
    if name == "zero":
        return Zero(c, c, 1), c, h
    if name == "avg_pool":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), c, h
    if name == "conv3x3o":
        return nn.Conv2d(c, c, 3, stride=1, padding=1, bias=False), c, h
    if name == "conv1x1o":
        return nn.Conv2d(c, c, 1, stride=1, padding=0, bias=False), c, h
    if name == "dconv3x3o":
        return nn.Conv2d(c, c, 3, stride=1, padding=1, groups=c, bias=False), c, h
    if name == "batch":
        return nn.BatchNorm2d(c, affine=True), c, h
    if name == "instance":
        return nn.InstanceNorm2d(c, affine=True), c, h
    if name == "layer":
        return nn.LayerNorm([c, h, h], elementwise_affine=True), c, h
    if name == "relu":
        return nn.ReLU(inplace=False), c, h
    if name == "hardswish":
        return nn.Hardswish(inplace=False), c, h
    if name == "mish":
        return nn.Mish(inplace=False), c, h
    raise ArchitectureError(f"hNAS-Bench-201 primitive {name!r} has no torch implementation")


def _build(node: Child, c: int, h: int) -> tuple[nn.Module, int, int]:
    if isinstance(node, str):
        return _primitive(node, c, h)
    if node.head not in TOPOLOGIES:
        return _primitive(node.head, c, h)
    edges = TOPOLOGIES[node.head]
    shapes: dict[int, tuple[int, int]] = {1: (c, h)}
    ops: list[nn.Module] = []
    for (s, t), child in zip(edges, node.children):
        op, c_out, h_out = _build(child, *shapes[s])
        if shapes.setdefault(t, (c_out, h_out)) != (c_out, h_out):
            raise ArchitectureError(
                f"hNAS-Bench-201 subtree {str(node)[:80]!r}: node {t} receives tensors of different shapes "
                f"{shapes[t]} and {(c_out, h_out)} (channels, size)"
            )
        ops.append(op)
    c_last, h_last = shapes[max(shapes)]
    if all(e == (i + 1, i + 2) for i, e in enumerate(edges)):
        return nn.Sequential(*ops), c_last, h_last
    return TopologyDAG(list(edges), ops), c_last, h_last


class HNB201Network(nn.Module):
    """Stem -> derived body -> BN, ReLU, global average pooling, linear classifier."""

    def __init__(self, tree: Derivation, C: int = 16, resolution: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.body, c_out, _ = _build(tree, C, resolution)
        self.head = nn.Sequential(nn.BatchNorm2d(c_out), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(c_out, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def build_network(tree: Derivation, C: int = 16, resolution: int = 32, num_classes: int = 10) -> HNB201Network:
    return HNB201Network(tree, C=C, resolution=resolution, num_classes=num_classes)
