"""PyTorch modules for einspace derivations (imported lazily: only ``EinSpace.build`` needs torch).

Each grammar symbol maps to the module of ``linusericsson/einspace`` ``layers.py`` with the same semantics; a
network is the backbone followed by einspace's classification head (mean over the trailing axes, then linear).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from onnxnet.spaces._einspace_grammar import (
    PERMUTES, Branching, Computation, Node, Routing, Sequential, Shape, aggregate_shape, branch_shape,
    im2col_params, terminal_shape,
)


class SequentialModule(nn.Module):
    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first_fn, self.second_fn = first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second_fn(self.first_fn(x))


class CloneTensor(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x] * self.n


class GroupDim(nn.Module):
    """Split one axis (1-based over the non-batch axes) into ``n`` equal groups."""

    def __init__(self, n: int, dim: int, size: int) -> None:
        super().__init__()
        self.n, self.dim, self.size = n, dim, size

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(x, self.size // self.n, dim=self.dim))


class BranchingModule(nn.Module):
    def __init__(self, branch: nn.Module, inner: list[nn.Module], aggregate: nn.Module) -> None:
        super().__init__()
        self.branching_fn = branch
        self.inner_fn = nn.ModuleList(inner)
        self.aggregation_fn = aggregate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.branching_fn(x)
        return self.aggregation_fn([f(p) for f, p in zip(self.inner_fn, parts)])


class DotProduct(nn.Module):
    def __init__(self, scaled: bool) -> None:
        super().__init__()
        self.scaled = scaled

    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        a, b = tensors
        out = a @ b
        return out * (1.0 / math.sqrt(a.shape[-1])) if self.scaled else out


class AddTensors(nn.Module):
    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out


class CatTensors(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(tensors, dim=self.dim)


class Im2Col(nn.Module):
    """Unfold image patches into a (batch, patches, C*k*k) matrix."""

    def __init__(self, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.unfold = nn.Unfold(kernel_size=kernel, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unfold(x).permute(0, 2, 1)


class Col2Im(nn.Module):
    """Fold a (batch, S, D) matrix back to an image of the size recorded by the matching ``im2col``."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        self.shape = (channels, height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 1).reshape(x.shape[0], *self.shape)


class Permute(nn.Module):
    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = (0, *dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


class LearnablePositionalEncoding(nn.Module):
    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.pe = nn.Parameter(torch.randn(1, *shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe


class Head(nn.Module):
    """einspace's classification head: mean over every axis after the first non-batch one, then linear."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=tuple(range(2, x.dim()))))


class EinNetwork(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def _terminal(fn: str, shape: Shape, mode: str, last_im: tuple[int, int] | None) -> nn.Module:
    out, _, _ = terminal_shape(fn, shape, mode, last_im)
    if fn == "identity":
        return nn.Identity()
    if fn == "leakyrelu":
        return nn.LeakyReLU()
    if fn == "softmax":
        return nn.Softmax(dim=-1)
    if fn == "norm":
        return nn.BatchNorm2d(shape[0]) if mode == "im" else nn.LayerNorm(shape[-1])
    if fn == "learnable_positional_encoding":
        return LearnablePositionalEncoding(shape)
    if fn.startswith("linear"):
        return nn.Linear(shape[-1], out[-1])
    if fn in PERMUTES:
        return Permute(PERMUTES[fn])
    if fn.startswith("im2col"):
        return Im2Col(*im2col_params(fn))
    if fn == "col2im":
        return Col2Im(*out)
    raise ValueError(f"unknown einspace function {fn!r}")


def _aggregate(fn: str) -> nn.Module:
    if fn in ("dot_product", "scaled_dot_product"):
        return DotProduct(scaled=fn == "scaled_dot_product")
    if fn == "add_tensors":
        return AddTensors()
    return CatTensors(int(fn[len("cat_tensors")]))


def build_module(node: Node, shape: Shape, mode: str, last_im: tuple[int, int] | None
                 ) -> tuple[nn.Module, Shape, str]:
    """The torch module of ``node`` on an input of ``shape`` and its output shape and mode."""
    if isinstance(node, Computation):
        out, m, _ = terminal_shape(node.fn, shape, mode, last_im)
        return _terminal(node.fn, shape, mode, last_im), out, m
    if isinstance(node, Sequential):
        first, s1, m1 = build_module(node.first, shape, mode, last_im)
        second, s2, m2 = build_module(node.second, s1, m1, last_im)
        return SequentialModule(first, second), s2, m2
    if isinstance(node, Routing):
        pre = _terminal(node.pre, shape, mode, last_im)
        s1, m1, _ = terminal_shape(node.pre, shape, mode, last_im)
        post_last = last_im
        if node.pre.startswith("im2col"):
            k, st, p = im2col_params(node.pre)
            post_last = ((shape[1] + 2 * p - k) // st + 1, (shape[2] + 2 * p - k) // st + 1)
        inner, s2, m2 = build_module(node.inner, s1, m1, last_im)
        post = _terminal(node.post, s2, m2, post_last)
        s3, m3, _ = terminal_shape(node.post, s2, m2, post_last)
        return nn.Sequential(pre, inner, post), s3, m3
    assert isinstance(node, Branching)
    b_shape, k = branch_shape(node.branch, shape, mode)
    specs = list(node.inner) if k == 2 else [node.inner[0]] * k
    built = [build_module(spec, b_shape, mode, last_im) for spec in specs]
    if node.branch.startswith("clone_tensor"):
        branch: nn.Module = CloneTensor(k)
    else:
        dim = int(node.branch[-2])
        branch = GroupDim(k, dim, shape[dim - 1])
    out_mode = built[0][2]
    out = aggregate_shape(node.aggregate, [s for _, s, _ in built], out_mode)
    return BranchingModule(branch, [m for m, _, _ in built], _aggregate(node.aggregate)), out, out_mode


def build_network(node: Node, input_shape: Shape, num_classes: int) -> nn.Module:
    """Backbone for ``node`` on ``input_shape`` (C, H, W) plus einspace's head."""
    backbone, out, _ = build_module(node, tuple(input_shape), "im", None)
    return EinNetwork(backbone, Head(out[0], num_classes))

