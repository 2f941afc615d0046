"""Run any ONNX graph as a freshly initialised torch module, so zero-cost proxies need no search-space builder.

Benchmark rows and user files are ONNX; proxies (``onnxnet.features.proxies``) need a differentiable network
at initialisation. ``to_torch(model)`` turns the graph into an ``OnnxModule``: one small ``nn.Module`` per node
(``Relu`` nodes become ``nn.ReLU``, ``Conv`` nodes ``nn.Conv2d``, ...), so the proxies' hooks and layer walks see
the same module types as in a hand-written network. Weights are re-initialised (the values in the file, if any,
are ignored: proxies score an *untrained* architecture):

- conv / linear weights: Kaiming-normal (fan-in, ReLU gain), biases zero; a weight whose values are all zero
  in the file stays zero and frozen (onnxsim folds NB201's ``none`` edge into an all-zero kernel: structure);
- ``BatchNormalization``: affine 1 / 0, batch statistics (a network at initialisation in training mode).

Exporting in eval mode fuses every Conv+BN pair into one Conv, so the file no longer says where a BN was. With
``normalize="conv"`` (the default) every Conv output is standardised per channel with batch statistics, which
restores the fused BNs of conv-BN networks (NB101, NB201, NB301, ResNets) at initialisation; ``"none"`` runs the
graph as written. Ops a network rarely uses at initialisation time (control flow, quantised ops, custom domains)
raise ``UnsupportedOpError`` naming the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from onnxnet.errors import OnnxNetError
from onnxnet.graph.ir import zero_filled
from onnxnet.graph.load import load_model
from onnxnet.graph.weights import is_empty
from onnxnet.registry import Registry


class UnsupportedOpError(OnnxNetError):
    """The graph uses an op the torch executor cannot run."""


class FixedShapeError(UnsupportedOpError):
    """A shape constant of the graph was fixed for its declared input size and does not fit the input it got."""


@dataclass
class OpContext:
    """What a builder may read besides the node: constant values, declared tensor shapes and the graph's opset.

    ``consts`` maps tensor names to numpy values (initializers and Constant nodes); ``shapes`` maps tensor names to
    the shapes declared in the file (``None`` for an unknown dimension), used to re-fit shape constants the
    exporter fixed for the declared input size to the input a run actually gets (another batch size).
    """

    consts: dict[str, Any] = field(default_factory=dict)
    shapes: dict[str, list[int | None]] = field(default_factory=dict)
    opset: int = 17

    def const(self, node: Any, i: int) -> list[Any] | None:
        """Input ``i`` of ``node`` as a flat list if it is a constant; ``None`` if absent or computed."""
        name = node.input[i] if len(node.input) > i else ""
        if not name or name not in self.consts:
            return None
        return np.asarray(self.consts[name]).reshape(-1).tolist()

    def shape(self, name: str) -> list[int] | None:
        """The declared shape of tensor ``name`` if every dimension is known."""
        dims = self.shapes.get(name)
        return None if dims is None or any(d is None for d in dims) else [int(d) for d in dims]


#: Builders ``(node, attrs, ctx: OpContext) -> nn.Module`` by ONNX op type (Conv, ConvTranspose, Gemm and
#: BatchNormalization with initializer weights are built by ``to_torch`` itself, as real torch layers); a module's
#: ``forward(*inputs)`` gets the node's inputs (constants included, as tensors; a missing optional input is
#: ``None``) and returns a tensor or a tuple of tensors (one per node output).
TORCH_OPS: Registry[Callable[..., Any]] = Registry("torch-executable ONNX op")


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(v: Any, default: str) -> str:
    v = default if v is None else v
    return v.decode() if isinstance(v, bytes) else str(v)


def _module(fn: Callable[..., Any]) -> Any:
    """An ``nn.Module`` whose forward is ``fn`` (for stateless ops)."""
    import torch.nn as nn

    class _Fn(nn.Module):
        def forward(self, *xs: Any) -> Any:
            return fn(*xs)

    return _Fn()


def _register_simple(names: str, make: Callable[[dict[str, Any], OpContext], Callable[..., Any]]) -> None:
    for name in names.split():
        TORCH_OPS.register(name)(lambda node, attrs, ctx, _m=make: _module(_m(attrs, ctx)))


def _ints_of(value: Any, fallback: list[Any] | None) -> list[int]:
    """A constant list, else the runtime tensor's values (shapes, axes, pads computed inside the graph)."""
    if fallback is not None:
        return [int(v) for v in fallback]
    return [int(v) for v in value.reshape(-1).tolist()]


def _pads(attrs: dict[str, Any], rank: int) -> tuple[list[int], list[int]]:
    """ONNX ``pads`` as (begin, end) per spatial axis."""
    pads = list(attrs.get("pads", [0] * (2 * rank)))
    return pads[:rank], pads[rank:]


def _torch_pad(begin: list[int], end: list[int]) -> list[int]:
    """The ``F.pad`` argument for ONNX (begin, end) pads: last axis first, (left, right) per axis."""
    return [p for i in reversed(range(len(begin))) for p in (begin[i], end[i])]


def _same_pads(size: list[int], kernel: list[int], stride: list[int], dilation: list[int],
               upper: bool) -> tuple[list[int], list[int]]:
    """``auto_pad`` SAME_UPPER / SAME_LOWER pads for spatial ``size``: output = ceil(size / stride)."""
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        begin.append(small if upper else big)
        end.append(big if upper else small)
    return begin, end


class _Padding:
    """The spatial padding of a Conv / pool node: explicit ``pads``, or ``auto_pad`` resolved per input size."""

    def __init__(self, node: Any, attrs: dict[str, Any], kernel: list[int], stride: list[int],
                 dilation: list[int]) -> None:
        self.auto = _text(attrs.get("auto_pad"), "NOTSET")
        if self.auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
            raise UnsupportedOpError(f"{node.op_type} node {node.name or node.output[0]!r}: auto_pad={self.auto!r} "
                                     "is not an ONNX value (NOTSET, VALID, SAME_UPPER, SAME_LOWER)")
        self.rank = len(kernel)
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.begin, self.end = _pads(attrs, self.rank) if self.auto == "NOTSET" else ([0] * self.rank,) * 2

    def __call__(self, x: Any) -> tuple[list[int], list[int]]:
        if self.auto.startswith("SAME"):
            return _same_pads(list(x.shape[2:]), self.kernel, self.stride, self.dilation, self.auto == "SAME_UPPER")
        return self.begin, self.end


def _pool(kind: str) -> Callable[..., Any]:
    def build(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
        import torch.nn.functional as F

        k = [int(v) for v in attrs["kernel_shape"]]
        rank = len(k)
        if rank not in (1, 2, 3):
            raise UnsupportedOpError(f"{kind} node {node.name!r}: {rank}-d pooling is not supported")
        stride = [int(v) for v in attrs.get("strides", [1] * rank)]
        dilation = [int(v) for v in attrs.get("dilations", [1] * rank)]
        if kind == "AveragePool" and any(d != 1 for d in dilation):
            raise UnsupportedOpError(f"AveragePool node {node.name!r}: dilations are not supported")
        padding = _Padding(node, attrs, k, stride, dilation)
        ceil = bool(attrs.get("ceil_mode", 0))
        include_pad = bool(attrs.get("count_include_pad", 0))
        fn = {("MaxPool", 1): F.max_pool1d, ("MaxPool", 2): F.max_pool2d, ("MaxPool", 3): F.max_pool3d,
              ("AveragePool", 1): F.avg_pool1d, ("AveragePool", 2): F.avg_pool2d,
              ("AveragePool", 3): F.avg_pool3d}[kind, rank]
        # A window that covers the whole declared feature map (an exporter's global pooling) stays global when
        # the input is smaller or larger than declared.
        declared = ctx.shape(node.input[0])
        whole = (declared is not None and list(declared[2:]) == k and padding.auto in ("NOTSET", "VALID")
                 and not any(padding.begin + padding.end))
        max_pool = kind == "MaxPool"

        def run(x: Any) -> Any:
            if whole and list(x.shape[2:]) != k:
                dims = tuple(range(2, x.dim()))
                return x.amax(dim=dims, keepdim=True) if max_pool else x.mean(dim=dims, keepdim=True)
            begin, end = padding(x)
            if begin == end:  # torch pads symmetrically itself (and leaves padding out of averages if asked)
                if max_pool:
                    return fn(x, k, stride, begin, dilation=dilation, ceil_mode=ceil)
                return fn(x, k, stride, begin, ceil_mode=ceil, count_include_pad=include_pad)
            widths = _torch_pad(begin, end)
            if max_pool:
                return fn(F.pad(x, widths, value=float("-inf")), k, stride, 0, dilation=dilation, ceil_mode=ceil)
            total = fn(F.pad(x, widths), k, stride, 0, ceil_mode=ceil, count_include_pad=True)
            if include_pad:
                return total
            # average over the real elements only: divide by the share of each window inside the input
            inside = fn(F.pad(x.new_ones((1, 1, *x.shape[2:])), widths), k, stride, 0, ceil_mode=ceil,
                        count_include_pad=True)
            return total / inside

        return _module(run)

    return build


TORCH_OPS.register("MaxPool")(_pool("MaxPool"))
TORCH_OPS.register("AveragePool")(_pool("AveragePool"))


@TORCH_OPS.register("Relu")
def _relu(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn as nn

    return nn.ReLU()


def _axes(attrs: dict[str, Any], ctx: OpContext, node: Any, position: int) -> list[int] | None:
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    return ctx.const(node, position)


def _reduce(method: str) -> Callable[..., Any]:
    def build(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
        axes = _axes(attrs, ctx, node, 1)
        keep = bool(attrs.get("keepdims", 1))
        noop = bool(attrs.get("noop_with_empty_axes", 0))

        def run(x: Any, a: Any = None) -> Any:
            dims = axes if axes is not None else (None if a is None else _ints_of(a, None))
            if not dims:
                if noop:
                    return x
                dims = list(range(x.dim()))
            if method == "mean":
                return x.mean(dim=dims, keepdim=keep)
            if method == "sum":
                return x.sum(dim=dims, keepdim=keep)
            if method == "max":
                return x.amax(dim=dims, keepdim=keep)
            if method == "min":
                return x.amin(dim=dims, keepdim=keep)
            if method == "prod":
                for d in sorted((d % x.dim() for d in dims), reverse=True):
                    x = x.prod(dim=d, keepdim=keep)
                return x
            if method == "l2":
                return x.square().sum(dim=dims, keepdim=keep).sqrt()
            return x.abs().sum(dim=dims, keepdim=keep)  # l1

        return _module(run)

    return build


for _op, _method in (("ReduceMean", "mean"), ("ReduceSum", "sum"), ("ReduceMax", "max"), ("ReduceMin", "min"),
                     ("ReduceProd", "prod"), ("ReduceL2", "l2"), ("ReduceL1", "l1")):
    TORCH_OPS.register(_op)(_reduce(_method))


@TORCH_OPS.register("Slice")
def _slice(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    if ctx.opset < 10:  # starts / ends / axes as attributes
        fixed: list[list[Any] | None] = [attrs.get("starts"), attrs.get("ends"), attrs.get("axes"), None]
    else:
        fixed = [ctx.const(node, i) for i in range(1, 5)]
    present = [len(node.input) > i and bool(node.input[i]) for i in range(1, 5)] if ctx.opset >= 10 else \
        [True, True, "axes" in attrs, False]

    def run(x: Any, *given: Any) -> Any:
        vals = []
        for i in range(4):
            if not present[i]:
                vals.append(None)
            elif fixed[i] is not None:
                vals.append([int(v) for v in fixed[i]])  # type: ignore[union-attr]
            else:
                vals.append(_ints_of(given[i], None))
        starts, ends = vals[0], vals[1]
        axes = vals[2] if vals[2] is not None else list(range(len(starts)))
        steps = vals[3] if vals[3] is not None else [1] * len(starts)
        index: list[Any] = [slice(None)] * x.dim()
        flips = []
        for s, e, a, st in zip(starts, ends, axes, steps):
            a = a % x.dim()
            size = x.shape[a]
            if st > 0:
                s = max(min(s + size if s < 0 else s, size), 0)
                e = max(min(e + size if e < 0 else e, size), 0)
                index[a] = slice(s, e, st)
            else:  # torch has no negative steps: take the forward range, then flip
                s = max(min(s + size if s < 0 else s, size - 1), -1)
                e = max(min(e + size if e < 0 else e, size - 1), -1)
                n = max(0, -(-(s - e) // -st))
                lo = s - (n - 1) * (-st) if n else 0
                index[a] = slice(lo, lo + (n - 1) * (-st) + 1 if n else 0, -st)
                flips.append(a)
        out = x[tuple(index)]
        return out.flip(flips) if flips else out

    return _module(run)


@TORCH_OPS.register("Pad")
def _pad(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn.functional as F

    mode = _text(attrs.get("mode"), "constant")
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}
    if mode not in modes:
        raise UnsupportedOpError(f"Pad node {node.name!r}: mode {mode!r} is not supported (constant, reflect, edge)")
    old = ctx.opset < 11
    fixed_pads = list(attrs.get("pads", [])) if old else ctx.const(node, 1)
    fixed_value = [attrs.get("value", 0.0)] if old else ctx.const(node, 2)
    fixed_axes = None if old else ctx.const(node, 3)

    def run(x: Any, pads: Any = None, value: Any = None, axes: Any = None) -> Any:
        p = _ints_of(pads, fixed_pads)
        ax = fixed_axes if fixed_axes is not None else (None if axes is None else _ints_of(axes, None))
        ax = [int(a) % x.dim() for a in ax] if ax is not None else list(range(x.dim()))
        n = len(ax)
        begin, end = [0] * x.dim(), [0] * x.dim()
        for i, a in enumerate(ax):
            begin[a], end[a] = p[i], p[i + n]
        fill = float(fixed_value[0]) if fixed_value else (0.0 if value is None else float(value.reshape(-1)[0]))
        # F.pad takes the trailing axes only: drop the leading all-zero ones (batch, channels).
        lead = next((i for i in range(x.dim()) if begin[i] or end[i]), x.dim())
        widths = _torch_pad(begin[lead:], end[lead:])
        if not widths:
            return x
        if mode == "constant":
            return F.pad(x, widths, mode="constant", value=fill)
        return F.pad(x, widths, mode=modes[mode])

    return _module(run)


def _fit_shape(target: list[int], declared: list[int], actual: list[int]) -> list[int]:
    """Re-fit a Reshape ``target`` fixed for input shape ``declared`` to input shape ``actual``.

    The dimensions are matched in groups of equal products (a group merges input dimensions, splits one, or keeps
    one); a group whose input changed takes the new size: merged and kept dimensions exactly, a split one on its
    leading dimension when only the group's leading input dimension changed (a different batch size). Anything
    else raises ``FixedShapeError``.
    """
    groups: list[tuple[list[int], list[int]]] = []
    i = j = 0
    while i < len(declared) or j < len(target):
        gi, gj = ([i] if i < len(declared) else []), ([j] if j < len(target) else [])
        pi = declared[i] if i < len(declared) else 1
        pj = target[j] if j < len(target) else 1
        i, j = i + 1, j + 1
        while pi != pj:
            if pi < pj and i < len(declared):
                gi.append(i)
                pi *= declared[i]
                i += 1
            elif pj < pi and j < len(target):
                gj.append(j)
                pj *= target[j]
                j += 1
            else:
                raise FixedShapeError(f"shape {target} does not match the declared input {declared}")
        groups.append((gi, gj))
    out: list[int] = []
    for gi, gj in groups:
        dims = [target[j] for j in gj]
        if all(actual[i] == declared[i] for i in gi) or not gj:
            out += dims
        elif len(gj) == 1:
            out.append(int(np.prod([actual[i] for i in gi])))
        elif all(actual[i] == declared[i] for i in gi[1:]) and actual[gi[0]] % declared[gi[0]] == 0:
            out += [dims[0] * actual[gi[0]] // declared[gi[0]]] + dims[1:]
        else:
            raise FixedShapeError(f"shape {target} was fixed for input {declared}; input {actual} splits "
                                  "differently")
    return out


@TORCH_OPS.register("Reshape")
def _reshape(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    fixed = ctx.const(node, 1)
    declared = ctx.shape(node.input[0])
    allowzero = bool(attrs.get("allowzero", 0))
    label = node.name or node.output[0]

    def resolve(shape: list[int], src: list[int]) -> list[int]:
        shape = [src[i] if s == 0 and not allowzero else s for i, s in enumerate(shape)]
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape[shape.index(-1)] = int(np.prod(src)) // max(known, 1)
        return shape

    def run(x: Any, shape: Any = None) -> Any:
        if fixed is None:  # computed from the actual input inside the graph
            return x.reshape(resolve(_ints_of(shape, None), list(x.shape)))
        actual = list(x.shape)
        if declared is None or declared == actual:
            return x.reshape(resolve([int(s) for s in fixed], actual))
        try:
            target = _fit_shape(resolve([int(s) for s in fixed], declared), declared, actual)
        except FixedShapeError as e:
            raise FixedShapeError(f"Reshape node {label!r}: {e}; run the graph at its declared input size") from None
        return x.reshape(target)

    return _module(run)


def _broadcast_to(x: Any, shape: list[int]) -> Any:
    import torch

    return x.expand(torch.broadcast_shapes(tuple(x.shape), tuple(shape)))


@TORCH_OPS.register("Expand")
def _expand(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    fixed = ctx.const(node, 1)
    label = node.name or node.output[0]

    def run(x: Any, shape: Any = None) -> Any:
        target = _ints_of(shape, fixed)
        try:
            return _broadcast_to(x, target)
        except RuntimeError:
            raise FixedShapeError(f"Expand node {label!r}: shape {target} does not broadcast with input "
                                  f"{list(x.shape)}; run the graph at its declared input size") from None

    return _module(run)


@TORCH_OPS.register("Tile")
def _tile(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    fixed = ctx.const(node, 1)
    return _module(lambda x, r=None: x.repeat(*_ints_of(r, fixed)))


@TORCH_OPS.register("Concat")
def _concat(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch

    axis = int(attrs["axis"])

    def run(*xs: Any) -> Any:
        xs = tuple(x for x in xs if x is not None)
        a = axis % xs[0].dim()
        shapes = [list(x.shape) for x in xs]
        if any(s[:a] + s[a + 1:] != shapes[0][:a] + shapes[0][a + 1:] for s in shapes):
            # a constant fixed at the declared batch size (e.g. a class token of batch 1): broadcast its size-1 dims
            full = [max(s[d] for s in shapes) for d in range(xs[0].dim())]
            xs = tuple(x.expand([full[d] if d != a and x.shape[d] == 1 else -1 for d in range(x.dim())]) for x in xs)
        return torch.cat(xs, dim=a)

    return _module(run)


@TORCH_OPS.register("Split")
def _split(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    axis = int(attrs.get("axis", 0))
    n_out = len(node.output)
    fixed = [int(v) for v in attrs["split"]] if "split" in attrs else ctx.const(node, 1)
    has_input = len(node.input) > 1 and bool(node.input[1])
    num_outputs = int(attrs.get("num_outputs", 0))

    def run(x: Any, split: Any = None) -> Any:
        size = x.shape[axis]
        if fixed is not None or (has_input and split is not None):
            sizes = _ints_of(split, fixed)
            if sum(sizes) != size and len(set(sizes)) == 1 and size % len(sizes) == 0:
                sizes = [size // len(sizes)] * len(sizes)  # equal parts fixed for another input size
        elif num_outputs:  # opset 18: equal parts, the last one smaller
            part = -(-size // num_outputs)
            sizes = [part] * (num_outputs - 1) + [size - part * (num_outputs - 1)]
        else:
            sizes = [size // n_out] * n_out
        return tuple(x.split(sizes, dim=axis))

    return _module(run)


@TORCH_OPS.register("Gather")
def _gather(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    axis = int(attrs.get("axis", 0))

    def run(x: Any, idx: Any) -> Any:
        a = axis % x.dim()
        idx = idx.long()
        idx = idx.where(idx >= 0, idx + x.shape[a])
        out = x.index_select(a, idx.reshape(-1))
        return out.reshape(tuple(x.shape[:a]) + tuple(idx.shape) + tuple(x.shape[a + 1:]))

    return _module(run)


@TORCH_OPS.register("Unsqueeze")
def _unsqueeze(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    fixed = _axes(attrs, ctx, node, 1)

    def run(x: Any, axes: Any = None) -> Any:
        ax = _ints_of(axes, fixed)
        rank = x.dim() + len(ax)
        for a in sorted(a % rank for a in ax):
            x = x.unsqueeze(a)
        return x

    return _module(run)


@TORCH_OPS.register("Squeeze")
def _squeeze(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    fixed = _axes(attrs, ctx, node, 1)
    present = "axes" in attrs or (len(node.input) > 1 and bool(node.input[1]))

    def run(x: Any, axes: Any = None) -> Any:
        if not present:
            return x.squeeze()
        ax = [a % x.dim() for a in _ints_of(axes, fixed)]
        return x.squeeze(tuple(ax)) if ax else x

    return _module(run)


@TORCH_OPS.register("Shape")
def _shape(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch

    start, end = attrs.get("start"), attrs.get("end")
    return _module(lambda x: torch.tensor(list(x.shape)[start:end], dtype=torch.int64))


@TORCH_OPS.register("ConstantOfShape")
def _constant_of_shape(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch
    from onnx import numpy_helper

    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, dtype=np.float32)
    fill = torch.from_numpy(np.array(value).reshape(-1)[:1].copy())
    return _module(lambda shape: fill.expand(_ints_of(shape, None)).clone())


@TORCH_OPS.register("Range")
def _range(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch

    def run(start: Any, limit: Any, delta: Any) -> Any:
        return torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype)

    return _module(run)


@TORCH_OPS.register("Cast")
def _cast(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch
    from onnx import helper

    dtype = torch.from_numpy(np.zeros(0, dtype=helper.tensor_dtype_to_np_dtype(int(attrs["to"])))).dtype
    return _module(lambda x: x.to(dtype))


@TORCH_OPS.register("Where")
def _where(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch

    return _module(lambda c, a, b: torch.where(c.bool(), a, b))


@TORCH_OPS.register("Einsum")
def _einsum(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch

    equation = _text(attrs["equation"], "").replace(" ", "")
    return _module(lambda *xs: torch.einsum(equation, *xs))


def _softmax(kind: str) -> Callable[..., Any]:
    def build(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
        legacy = ctx.opset < 13  # before opset 13: the input is flattened to 2-D at ``axis`` (default 1)
        axis = int(attrs.get("axis", 1 if legacy else -1))

        def run(x: Any) -> Any:
            if legacy:
                a = axis % x.dim()
                flat = x.reshape(int(np.prod(x.shape[:a])), -1)
                return (flat.softmax(-1) if kind == "Softmax" else flat.log_softmax(-1)).reshape(x.shape)
            return x.softmax(axis) if kind == "Softmax" else x.log_softmax(axis)

        return _module(run)

    return build


TORCH_OPS.register("Softmax")(_softmax("Softmax"))
TORCH_OPS.register("LogSoftmax")(_softmax("LogSoftmax"))


@TORCH_OPS.register("Resize")
def _resize(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn.functional as F

    label = node.name or node.output[0]
    mode = _text(attrs.get("mode"), "nearest")
    ctm = _text(attrs.get("coordinate_transformation_mode"), "half_pixel")
    nearest = _text(attrs.get("nearest_mode"), "round_prefer_floor")
    if ctx.opset < 11 or "axes" in attrs or int(attrs.get("antialias", 0)):
        raise UnsupportedOpError(f"Resize node {label!r}: opset < 11, axes and antialias are not supported")
    if mode == "nearest":
        if ctm == "asymmetric" and nearest == "floor":
            method, corners = "nearest", None
        elif ctm in ("half_pixel", "pytorch_half_pixel") and nearest in ("round_prefer_ceil", "round_prefer_floor"):
            method, corners = "nearest-exact", None
        else:
            raise UnsupportedOpError(f"Resize node {label!r}: nearest with coordinate_transformation_mode {ctm!r} "
                                     f"and nearest_mode {nearest!r} is not supported (asymmetric + floor or "
                                     "half_pixel + round are)")
    elif mode in ("linear", "cubic"):
        if ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            raise UnsupportedOpError(f"Resize node {label!r}: {mode} with coordinate_transformation_mode {ctm!r} "
                                     "is not supported (half_pixel, pytorch_half_pixel, align_corners are)")
        method, corners = mode, ctm == "align_corners"
    else:
        raise UnsupportedOpError(f"Resize node {label!r}: mode {mode!r} is not supported")
    scales_fixed = ctx.const(node, 2)
    sizes_fixed = ctx.const(node, 3)
    declared = ctx.shape(node.input[0])

    def run(x: Any, roi: Any = None, scales: Any = None, sizes: Any = None) -> Any:
        spatial = x.dim() - 2
        s = scales_fixed if scales_fixed else (scales.reshape(-1).tolist() if scales is not None and
                                               scales.numel() else None)
        if s:
            if any(abs(float(v) - 1.0) > 1e-9 for v in s[:2]):
                raise UnsupportedOpError(f"Resize node {label!r}: scaling the batch or channel axis is not "
                                         "supported")
            size = [int(np.floor(n * float(f))) for n, f in zip(x.shape[2:], s[2:])]
        else:
            z = _ints_of(sizes, sizes_fixed)
            size = z[2:]
            if declared is not None and declared[2:] != list(x.shape[2:]):  # sizes fixed for the declared input
                size = [int(np.floor(n * t / d)) for n, t, d in zip(x.shape[2:], z[2:], declared[2:])]
        name = {"linear": {1: "linear", 2: "bilinear", 3: "trilinear"}, "cubic": {2: "bicubic"}}.get(
            method, {spatial: method})[spatial]
        return F.interpolate(x, size=size, mode=name, align_corners=corners)

    return _module(run)


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[[dict[str, Any], OpContext], Callable[..., Any]]:
    return lambda attrs, ctx: fn


def _torch(name: str) -> Callable[..., Any]:
    import torch

    return getattr(torch, name)


_register_simple("Add", _binary(lambda a, b: a + b))
_register_simple("Sub", _binary(lambda a, b: a - b))
_register_simple("Mul", _binary(lambda a, b: a * b))
_register_simple("Div", _binary(lambda a, b: a / b if a.is_floating_point() else
                                _torch("div")(a, b, rounding_mode="trunc")))
_register_simple("MatMul", _binary(lambda a, b: a @ b))
_register_simple("Pow", _binary(lambda a, b: a ** b))
_register_simple("Equal", _binary(lambda a, b: a == b))
_register_simple("Less", _binary(lambda a, b: a < b))
_register_simple("LessOrEqual", _binary(lambda a, b: a <= b))
_register_simple("Greater", _binary(lambda a, b: a > b))
_register_simple("GreaterOrEqual", _binary(lambda a, b: a >= b))
_register_simple("And", _binary(lambda a, b: a & b))
_register_simple("Or", _binary(lambda a, b: a | b))
_register_simple("Xor", _binary(lambda a, b: a ^ b))
_register_simple("Not", lambda attrs, ctx: lambda x: ~x)
_register_simple("IsNaN", lambda attrs, ctx: lambda x: x.isnan())
_register_simple("IsInf", lambda attrs, ctx: lambda x: x.isinf() & (
    (x > 0 if attrs.get("detect_positive", 1) else False) | (x < 0 if attrs.get("detect_negative", 1) else False)))
_register_simple("Sum", lambda attrs, ctx: lambda *xs: sum(xs[1:], xs[0]))
_register_simple("Max", lambda attrs, ctx: lambda *xs: _reduce_pairs(_torch("maximum"), xs))
_register_simple("Min", lambda attrs, ctx: lambda *xs: _reduce_pairs(_torch("minimum"), xs))
_register_simple("Mean", lambda attrs, ctx: lambda *xs: sum(xs[1:], xs[0]) / len(xs))
_register_simple("Identity Dropout", lambda attrs, ctx: lambda x, *_: x)
_register_simple("Flatten", lambda attrs, ctx: lambda x: x.reshape(
    int(np.prod(x.shape[:_axis(int(attrs.get("axis", 1)), x.dim())])), -1))
_register_simple("GlobalAveragePool", lambda attrs, ctx: lambda x: x.mean(
    dim=tuple(range(2, x.dim())), keepdim=True))
_register_simple("GlobalMaxPool", lambda attrs, ctx: lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True))
_register_simple("Sigmoid", lambda attrs, ctx: lambda x: x.sigmoid())
_register_simple("Tanh", lambda attrs, ctx: lambda x: x.tanh())
_register_simple("Transpose", lambda attrs, ctx: lambda x: x.permute(
    *(attrs.get("perm") or list(reversed(range(x.dim()))))))
_register_simple("LeakyRelu", lambda attrs, ctx: lambda x: _torch("nn").functional.leaky_relu(
    x, float(attrs.get("alpha", 0.01))))
_register_simple("Elu", lambda attrs, ctx: lambda x: _torch("nn").functional.elu(x, float(attrs.get("alpha", 1.0))))
_register_simple("Selu", lambda attrs, ctx: lambda x: float(attrs.get("gamma", 1.0507009873554805)) * _torch("where")(
    x > 0, x, float(attrs.get("alpha", 1.6732632423543772)) * (x.exp() - 1)))
_register_simple("PRelu", _binary(lambda x, slope: _torch("where")(x >= 0, x, x * slope)))
_register_simple("HardSwish", lambda attrs, ctx: lambda x: _torch("nn").functional.hardswish(x))
_register_simple("HardSigmoid", lambda attrs, ctx: lambda x: (
    float(attrs.get("alpha", 0.2)) * x + float(attrs.get("beta", 0.5))).clamp(0, 1))
_register_simple("Softplus", lambda attrs, ctx: lambda x: _torch("nn").functional.softplus(x))
_register_simple("Mish", lambda attrs, ctx: lambda x: _torch("nn").functional.mish(x))
_register_simple("Erf", lambda attrs, ctx: lambda x: _torch("erf")(x))
_register_simple("Sqrt", lambda attrs, ctx: lambda x: x.sqrt())
_register_simple("Exp", lambda attrs, ctx: lambda x: x.exp())
_register_simple("Log", lambda attrs, ctx: lambda x: x.log())
_register_simple("Abs", lambda attrs, ctx: lambda x: x.abs())
_register_simple("Neg", lambda attrs, ctx: lambda x: -x)
_register_simple("Reciprocal", lambda attrs, ctx: lambda x: x.reciprocal())
_register_simple("Floor", lambda attrs, ctx: lambda x: x.floor())
_register_simple("Ceil", lambda attrs, ctx: lambda x: x.ceil())
_register_simple("Sin", lambda attrs, ctx: lambda x: x.sin())
_register_simple("Cos", lambda attrs, ctx: lambda x: x.cos())
_register_simple("Gelu", lambda attrs, ctx: lambda x: _torch("nn").functional.gelu(
    x, approximate="tanh" if _text(attrs.get("approximate"), "none") == "tanh" else "none"))
_register_simple("Trilu", lambda attrs, ctx: lambda x, k=None: (x.triu if int(attrs.get("upper", 1)) else x.tril)(
    0 if k is None else int(k.reshape(-1)[0])))
_register_simple("CumSum", lambda attrs, ctx: lambda x, axis: _cumsum(x, int(axis.reshape(-1)[0]), attrs))


def _axis(axis: int, rank: int) -> int:
    """A Flatten-style axis (0 .. rank; negative counts from the end)."""
    return axis + rank if axis < 0 else axis


def _reduce_pairs(fn: Callable[[Any, Any], Any], xs: tuple[Any, ...]) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = fn(out, x)
    return out


def _cumsum(x: Any, axis: int, attrs: dict[str, Any]) -> Any:
    if int(attrs.get("reverse", 0)):
        x = x.flip(axis)
    y = x.cumsum(axis)
    if int(attrs.get("exclusive", 0)):
        y = y - x
    return y.flip(axis) if int(attrs.get("reverse", 0)) else y


@TORCH_OPS.register("Clip")
def _clip(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    """``Clip``; with a constant lower bound 0 it is a ReLU (ReLU6 when the upper bound is 6) and becomes a
    ``ClipReLU`` module, so ReLU-statistic proxies see MobileNet-style activations."""
    import torch.nn as nn

    lo = attrs.get("min") if ctx.opset < 11 else (ctx.const(node, 1) or [None])[0]
    hi = attrs.get("max") if ctx.opset < 11 else (ctx.const(node, 2) or [None])[0]

    def run(x: Any, lo_t: Any = None, hi_t: Any = None) -> Any:
        low = lo if lo is not None else (None if lo_t is None else float(lo_t))
        high = hi if hi is not None else (None if hi_t is None else float(hi_t))
        return x.clamp(low, high)

    if lo is None or float(lo) != 0.0 or (len(node.input) > 1 and node.input[1] and ctx.const(node, 1) is None):
        return _module(run)

    class ClipReLU(nn.Module):
        def forward(self, *xs: Any) -> Any:
            return run(*xs)

    return ClipReLU()


@TORCH_OPS.register("LayerNormalization")
def _layer_norm(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn.functional as F

    axis, eps = int(attrs.get("axis", -1)), float(attrs.get("epsilon", 1e-5))

    def run(x: Any, scale: Any, b: Any = None) -> Any:
        dims = x.shape[axis:] if axis >= 0 else x.shape[x.dim() + axis:]
        return F.layer_norm(x, tuple(dims), scale.expand(dims) if scale is not None else None,
                            b.expand(dims) if b is not None else None, eps)

    return _module(run)


@TORCH_OPS.register("InstanceNormalization")
def _instance_norm(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn.functional as F

    eps = float(attrs.get("epsilon", 1e-5))
    return _module(lambda x, scale, b: F.instance_norm(x, weight=scale, bias=b, eps=eps))


@TORCH_OPS.register("GroupNormalization")
def _group_norm(node: Any, attrs: dict[str, Any], ctx: OpContext) -> Any:
    import torch.nn.functional as F

    eps, groups = float(attrs.get("epsilon", 1e-5)), int(attrs["num_groups"])
    if ctx.opset < 21:
        raise UnsupportedOpError(f"GroupNormalization node {node.name!r}: the opset-18 form (per-group scale) is "
                                 "not supported; export at opset 21+")
    return _module(lambda x, scale, b: F.group_norm(x, groups, scale, b, eps))


_FLOAT_TYPES = (1, 10, 11, 16)  # float, float16, double, bfloat16


def _weight_layer(node: Any, attrs: dict[str, Any], weight: Any, bias: Any, trainable: bool) -> Any:
    """A real ``nn.ConvNd`` / ``nn.Linear`` for a Conv / Gemm whose weights are initializers.

    Real layer types matter: proxies such as synflow and snip sum over ``nn.Conv2d`` / ``nn.Linear`` weights.
    """
    import torch.nn as nn
    import torch.nn.functional as F

    if node.op_type == "Gemm":
        if float(attrs.get("alpha", 1.0)) != 1.0 or float(attrs.get("beta", 1.0)) != 1.0 or attrs.get("transA", 0):
            raise UnsupportedOpError(f"Gemm node {node.name or node.output[0]!r}: alpha/beta other than 1 or "
                                     "transA=1 is not supported (a linear layer is expected)")
        w = weight if attrs.get("transB", 0) else weight.t()
        layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None)
    else:
        rank = weight.dim() - 2
        transpose = node.op_type == "ConvTranspose"
        cls = ({1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d} if transpose else
               {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}).get(rank)
        if cls is None:
            raise UnsupportedOpError(f"{node.op_type} node {node.name or node.output[0]!r}: {rank}-d convolution is "
                                     "not supported")
        kernel = [int(k) for k in weight.shape[2:]]
        stride = [int(v) for v in attrs.get("strides", [1] * rank)]
        dilation = [int(v) for v in attrs.get("dilations", [1] * rank)]
        groups = int(attrs.get("group", 1))
        if transpose:
            layer = _conv_transpose(node, attrs, cls, weight, bias, kernel, stride, dilation, groups)
        else:
            padding = _Padding(node, attrs, kernel, stride, dilation)
            fixed = padding.auto in ("NOTSET", "VALID") and padding.begin == padding.end

            class Conv(cls):  # type: ignore[misc, valid-type]
                def forward(self, x: Any) -> Any:
                    if not fixed:
                        begin, end = padding(x)
                        x = F.pad(x, _torch_pad(begin, end))
                    return super().forward(x)

            layer = Conv(weight.shape[1] * groups, weight.shape[0], tuple(kernel), stride=tuple(stride),
                         padding=tuple(padding.begin) if fixed else 0, dilation=tuple(dilation), groups=groups,
                         bias=bias is not None)
        w = weight
    layer.weight = nn.Parameter(w.detach().clone().contiguous(), requires_grad=trainable)
    if bias is not None:
        layer.bias = nn.Parameter(bias.detach().clone().float().reshape(-1), requires_grad=trainable)
    return layer


def _conv_transpose(node: Any, attrs: dict[str, Any], cls: type, weight: Any, bias: Any, kernel: list[int],
                    stride: list[int], dilation: list[int], groups: int) -> Any:
    """``nn.ConvTransposeNd`` computing the full transposed convolution, then cropping ONNX's pads (explicit,
    ``auto_pad`` or from ``output_shape``) and adding ``output_padding`` (which only the bias reaches)."""
    import torch.nn.functional as F

    rank = len(kernel)
    auto = _text(attrs.get("auto_pad"), "NOTSET")
    out_pad = [int(v) for v in attrs.get("output_padding", [0] * rank)]
    output_shape = [int(v) for v in attrs.get("output_shape", [])]
    begin0, end0 = _pads(attrs, rank)
    conv = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]

    class ConvTranspose(cls):  # type: ignore[misc, valid-type]
        def forward(self, x: Any) -> Any:
            y = conv(x, self.weight, None, stride, 0, 0, groups, dilation)
            full = [(n - 1) * s + (k - 1) * d + 1 for n, s, k, d in zip(x.shape[2:], stride, kernel, dilation)]
            if output_shape or auto.startswith("SAME"):
                want = output_shape[-rank:] if output_shape else [n * s for n, s in zip(x.shape[2:], stride)]
                total = [f + p - w for f, p, w in zip(full, out_pad, want)]
                # ONNX: SAME_UPPER puts the larger half of the padding at the end, otherwise at the start
                begin = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
                end = [t - b for t, b in zip(total, begin)]
            elif auto == "VALID":
                begin, end = [0] * rank, [0] * rank
            else:
                begin, end = begin0, end0
            y = F.pad(y, _torch_pad([0] * rank, out_pad)) if any(out_pad) else y
            index = [slice(None), slice(None)] + [slice(b, y.shape[2 + i] - e) for i, (b, e) in
                                                  enumerate(zip(begin, end))]
            y = y[tuple(index)]
            if self.bias is not None:
                y = y + self.bias.reshape(1, -1, *([1] * rank))
            return y

    return ConvTranspose(weight.shape[0], weight.shape[1] * groups, tuple(kernel), stride=tuple(stride),
                         dilation=tuple(dilation), groups=groups, bias=bias is not None)


def _batch_norm(channels: int, rank: int, affine: bool, stats: tuple[Any, Any] | None = None,
                eps: float = 1e-5) -> Any:
    """``nn.BatchNormNd``: batch statistics (``stats=None``) or the file's running statistics."""
    import torch
    import torch.nn as nn

    cls = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}.get(rank, nn.BatchNorm2d)
    bn = cls(channels, eps=eps, affine=affine, track_running_stats=stats is not None)
    if stats is not None:
        bn.running_mean.copy_(torch.from_numpy(np.array(stats[0], dtype=np.float32)))
        bn.running_var.copy_(torch.from_numpy(np.array(stats[1], dtype=np.float32)))
        bn.eval()
    return bn


def _initial(arr: np.ndarray | None, dims: tuple[int, ...], fan_in: int, gen: Any, weights: str) -> tuple[Any, bool]:
    """Initial value of a weight: the file's (``weights="file"``), else Kaiming-normal; all-zero stays frozen zero."""
    import torch

    if arr is not None and arr.size > 1 and not np.any(arr):
        return torch.zeros(dims), False
    if weights == "file" and arr is not None:
        return torch.from_numpy(np.array(arr, dtype=np.float32)), True
    return torch.randn(dims, generator=gen) * float(np.sqrt(2.0 / max(fan_in, 1))), True


def to_torch(model: Any, *, normalize: str = "conv", weights: str = "init", seed: int = 0) -> Any:
    """``model`` (ModelProto, path or bytes) as a torch ``nn.Module`` (see the module docstring).

    ``weights="init"`` (default) draws fresh initial weights from ``seed``; ``"file"`` keeps the file's values and
    runs BatchNormalization with its running statistics (an exact re-execution, used to check the executor).
    """
    import torch
    from onnx import numpy_helper

    if normalize not in ("conv", "none"):
        raise ValueError(f"normalize must be 'conv' or 'none', not {normalize!r}")
    if weights not in ("init", "file"):
        raise ValueError(f"weights must be 'init' or 'file', not {weights!r}")
    model = model if hasattr(model, "graph") else load_model(model)
    graph = model.graph
    raw = {t.name: (t, (np.zeros(tuple(t.dims), np.float32) if zero_filled(t) else None) if is_empty(t)
                    else numpy_helper.to_array(t)) for t in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            t = _constant_tensor(node)
            raw[node.output[0]] = (t, numpy_helper.to_array(t))
            continue
        if node.op_type == "Identity" and node.input[0] in raw:  # an alias of a weight (raw torch exports)
            raw[node.output[0]] = raw[node.input[0]]
            continue
        nodes.append(node)
    for node in nodes:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(f"node {node.name or node.op_type!r} is in custom domain {node.domain!r}; "
                                     "the torch executor runs standard ONNX ops only")
        if node.op_type not in TORCH_OPS and node.op_type not in _LAYER_OPS:
            raise UnsupportedOpError(
                f"node {node.name or node.output[0]!r}: op {node.op_type!r} is not supported by onnxnet's torch "
                f"executor; simplify the graph, or register the op with onnxnet.graph.torch_exec.TORCH_OPS")

    gen = torch.Generator().manual_seed(int(seed))
    consts = {name: arr for name, (t, arr) in raw.items() if arr is not None}
    opset = next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    ctx = OpContext(consts=consts, shapes=_declared_shapes(graph), opset=opset)

    def dims_of(name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in raw[name][0].dims)

    layers: list[Any] = []
    wiring: list[list[str]] = []
    tensors: dict[str, tuple[Any, bool]] = {}
    for node in nodes:
        attrs = _attrs(node)
        ins = list(node.input)
        label = node.name or node.output[0]
        layer = None
        if node.op_type in ("Conv", "ConvTranspose", "Gemm") and len(ins) > 1 and ins[1] in raw:
            dims = dims_of(ins[1])
            fan_in = int(np.prod(dims[1:])) if node.op_type != "Gemm" else dims[1 if attrs.get("transB", 0) else 0]
            weight, trainable = _initial(raw[ins[1]][1], dims, fan_in, gen, weights)
            bias = None
            if len(ins) > 2 and ins[2] in raw:
                barr = raw[ins[2]][1]
                bias = (torch.from_numpy(np.array(barr, dtype=np.float32)) if weights == "file" and barr is not None
                        else torch.zeros(dims_of(ins[2])))
            layer = _weight_layer(node, attrs, weight, bias, trainable)
            ins = ins[:1]
            if node.op_type != "Gemm" and normalize == "conv":
                out_channels = dims[0] if node.op_type == "Conv" else dims[1] * int(attrs.get("group", 1))
                layer = torch.nn.Sequential(layer, _batch_norm(out_channels, len(dims) - 2, affine=False))
        elif node.op_type == "BatchNormalization":
            if not all(n in raw for n in ins[1:5]):
                raise UnsupportedOpError(f"BatchNormalization node {label!r}: computed scale/bias/statistics are "
                                         "not supported")
            channels = dims_of(ins[1])[0]
            stats = (raw[ins[3]][1], raw[ins[4]][1]) if weights == "file" else None
            layer = _batch_norm(channels, 2, affine=True, stats=stats, eps=float(attrs.get("epsilon", 1e-5)))
            if weights == "file":
                layer.weight.data.copy_(torch.from_numpy(np.array(raw[ins[1]][1], dtype=np.float32)))
                layer.bias.data.copy_(torch.from_numpy(np.array(raw[ins[2]][1], dtype=np.float32)))
            layer = _AnyRankBN(layer)
            ins = ins[:1]
        if layer is None:
            if node.op_type in _LAYER_OPS:
                raise UnsupportedOpError(f"{node.op_type} node {label!r}: weights computed inside the graph (not "
                                         "initializers) are not supported")
            layer = TORCH_OPS.get(node.op_type)(node, attrs, ctx)
            for name in ins:
                if name in raw and name not in tensors and raw[name][0].data_type not in _FLOAT_TYPES:
                    if raw[name][1] is not None:  # shapes, axes, indices: a constant tensor input
                        tensors[name] = (torch.from_numpy(np.array(raw[name][1])), False)
                elif name in raw and name not in tensors:
                    arr, dims = raw[name][1], dims_of(name)
                    if node.op_type == "MatMul" and len(dims) >= 2:  # a weight matrix, as Gemm's
                        tensors[name] = _initial(arr, dims, dims[-2], gen, weights)
                    elif arr is not None:
                        tensors[name] = (torch.from_numpy(np.array(arr, dtype=np.float32)), False)
                    else:
                        tensors[name] = _initial(None, dims, int(np.prod(dims[:-1])) if len(dims) > 1 else 1, gen,
                                                 weights)
        layers.append(layer)
        wiring.append(ins)
    return _module_class()(graph, nodes, layers, wiring, tensors, set(raw))


#: Ops ``to_torch`` builds as real torch layers when their weights are initializers.
_LAYER_OPS = ("Conv", "ConvTranspose", "Gemm", "BatchNormalization")


def covered_ops() -> list[str]:
    """Every ONNX op the executor runs (ONNX spelling): ``TORCH_OPS`` plus the layers ``to_torch`` builds itself
    and Constant."""
    from onnx import defs

    spelling = {schema.name.lower(): schema.name for schema in defs.get_all_schemas()}
    return sorted({spelling.get(n.lower(), n) for n in TORCH_OPS.names()} | set(_LAYER_OPS) | {"Constant"})


def ops_markdown(width: int = 116) -> str:
    """``covered_ops()`` as the Markdown block of ``docs/executor.md`` (backquoted names, wrapped)."""
    lines, line = [], ""
    for name in covered_ops():
        item = f"`{name}`"
        if line and len(line) + 2 + len(item) > width:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {item}" if line else item
    return "\n".join(lines + [line])


def _constant_tensor(node: Any) -> Any:
    """The value of a Constant node as a TensorProto, whichever attribute holds it."""
    from onnx import helper, numpy_helper

    a = node.attribute[0]
    if a.name == "value":
        return a.t
    if a.name in ("sparse_value", "value_string", "value_strings"):
        raise UnsupportedOpError(f"Constant node {node.name or node.output[0]!r}: {a.name} is not supported")
    value = helper.get_attribute_value(a)
    dtype = np.float32 if a.name.startswith("value_float") else np.int64
    return numpy_helper.from_array(np.array(value, dtype=dtype), node.output[0])


def _declared_shapes(graph: Any) -> dict[str, list[int | None]]:
    """Declared shapes of the graph's inputs, outputs and value_info tensors (``None`` for unknown dims)."""
    out = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return out


def _AnyRankBN(bn: Any) -> Any:  # noqa: N802  (a factory that reads like the class it returns)
    """Wrap a ``BatchNorm2d`` so it also accepts 2-D / 3-D / 5-D inputs (ONNX BN is rank-agnostic)."""
    import torch.nn as nn

    class AnyRankBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = bn

        def forward(self, x: Any) -> Any:
            if x.dim() == 4:
                return self.bn(x)
            shape = x.shape
            return self.bn(x.reshape(shape[0], shape[1], -1, 1)).reshape(shape)

    return AnyRankBN()


_CLASS: list[type] = []


def _module_class() -> type:
    """``OnnxModule``, defined on first use so that importing onnxnet does not import torch."""
    if _CLASS:
        return _CLASS[0]
    import torch.nn as nn

    class OnnxModule(nn.Module):
        """An ONNX graph executed node by node with torch modules (see ``onnxnet.graph.torch_exec``).

        ``nodes[i]`` runs graph node ``i`` (Constant nodes and weight aliases are folded into the tensors).
        """

        def __init__(self, graph: Any, nodes: list[Any], layers: list[Any], wiring: list[list[str]],
                     tensors: dict[str, tuple[Any, bool]], inits: set[str]) -> None:
            super().__init__()
            self.nodes = nn.ModuleList(layers)
            self.tensors = nn.ParameterDict()
            self._keys: dict[str, str] = {}
            for i, (name, (value, trainable)) in enumerate(tensors.items()):
                if value.is_floating_point():
                    self._keys[name] = f"t{i}"
                    self.tensors[f"t{i}"] = nn.Parameter(value, requires_grad=trainable)
                else:  # integer / bool constants (shapes, axes, indices) are buffers
                    self._keys[name] = f"c{i}"
                    self.register_buffer(f"c{i}", value, persistent=False)
            self._wiring = wiring
            self._outs = [list(n.output) for n in nodes]
            self.input_names = [i.name for i in graph.input if i.name not in inits]
            self.output_names = [o.name for o in graph.output]
            # tensors dropped after their last use, so a forward pass holds only the live activations
            last = {n: i for i, ins in enumerate(wiring) for n in ins}
            self._free: list[list[str]] = [[] for _ in wiring]
            for n, i in last.items():
                if n not in self.output_names:
                    self._free[i].append(n)

        def _constant(self, name: str) -> Any:
            key = self._keys.get(name)
            if key is None:
                return None
            return self.tensors[key] if key.startswith("t") else getattr(self, key)

        def forward(self, *inputs: Any) -> Any:
            env: dict[str, Any] = dict(zip(self.input_names, inputs))
            for layer, ins, outs, free in zip(self.nodes, self._wiring, self._outs, self._free):
                args = [env[n] if n in env else self._constant(n) for n in ins]
                while args and args[-1] is None:
                    args.pop()
                y = layer(*args)
                del args
                for n in free:
                    env.pop(n, None)
                for n, v in zip(outs, y if isinstance(y, (tuple, list)) else (y,)):
                    if n:
                        env[n] = v
            out = [env[n] for n in self.output_names]
            return out[0] if len(out) == 1 else tuple(out)

    _CLASS.append(OnnxModule)
    return OnnxModule
