"""Run any ONNX graph as a freshly initialised torch module, so zero-cost proxies need no search-space builder.

Benchmark rows and user files are ONNX; proxies (``onnxnet.predictors.proxies``) need a differentiable network
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

from typing import Any, Callable

import numpy as np

from onnxnet.errors import OnnxNetError
from onnxnet.registry import Registry


class UnsupportedOpError(OnnxNetError):
    """The graph uses an op the torch executor cannot run."""


#: Builders ``(node, attrs, consts) -> nn.Module`` by ONNX op type (Conv, Gemm and BatchNormalization with
#: initializer weights are built by ``to_torch`` itself, as real torch layers); a module's ``forward(*inputs)``
#: returns a tensor or a tuple of tensors (one per node output). ``consts`` maps input names to their numpy value when
#: the input is a non-weight initializer (shapes, axes, pads...).
TORCH_OPS: Registry[Callable[..., Any]] = Registry("torch-executable ONNX op")


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _module(fn: Callable[..., Any]) -> Any:
    """An ``nn.Module`` whose forward is ``fn`` (for stateless ops)."""
    import torch.nn as nn

    class _Fn(nn.Module):
        def forward(self, *xs: Any) -> Any:
            return fn(*xs)

    return _Fn()


def _register_simple(names: str, make: Callable[[dict[str, Any], dict[str, Any]], Callable[..., Any]]) -> None:
    for name in names.split():
        TORCH_OPS.register(name)(lambda node, attrs, consts, _m=make: _module(_m(attrs, consts)))


def _pads(attrs: dict[str, Any], rank: int) -> tuple[list[int], list[int]]:
    """ONNX ``pads`` as (begin, end) per spatial axis."""
    pads = list(attrs.get("pads", [0] * (2 * rank)))
    return pads[:rank], pads[rank:]


def _torch_pad(begin: list[int], end: list[int]) -> list[int]:
    """The ``F.pad`` argument for ONNX (begin, end) pads: last axis first, (left, right) per axis."""
    return [p for i in reversed(range(len(begin))) for p in (begin[i], end[i])]


def _pool(kind: str) -> Callable[..., Any]:
    def build(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
        import torch.nn.functional as F

        k = list(attrs["kernel_shape"])
        rank = len(k)
        begin, end = _pads(attrs, rank)
        stride = list(attrs.get("strides", [1] * rank))
        ceil = bool(attrs.get("ceil_mode", 0))
        include_pad = bool(attrs.get("count_include_pad", 0))
        if rank != 2:
            raise UnsupportedOpError(f"{kind} node {node.name!r}: only 2-d pooling is supported")

        def run(x: Any) -> Any:
            pad = begin
            if begin != end:
                x = F.pad(x, _torch_pad(begin, end), value=float("-inf") if kind == "MaxPool" else 0.0)
                pad = [0, 0]
            if kind == "MaxPool":
                return F.max_pool2d(x, k, stride, pad, ceil_mode=ceil)
            return F.avg_pool2d(x, k, stride, pad, ceil_mode=ceil, count_include_pad=include_pad)

        return _module(run)

    return build


TORCH_OPS.register("MaxPool")(_pool("MaxPool"))
TORCH_OPS.register("AveragePool")(_pool("AveragePool"))


@TORCH_OPS.register("Relu")
def _relu(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.ReLU()


def _axes(attrs: dict[str, Any], consts: dict[str, Any], node: Any, position: int) -> list[int] | None:
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    if len(node.input) > position and node.input[position] in consts:
        return [int(a) for a in np.asarray(consts[node.input[position]]).reshape(-1)]
    return None


@TORCH_OPS.register("ReduceMean")
def _reduce_mean(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    axes = _axes(attrs, consts, node, 1)
    keep = bool(attrs.get("keepdims", 1))
    return _module(lambda x, *_: x.mean(dim=axes if axes is not None else list(range(x.dim())), keepdim=keep))


@TORCH_OPS.register("Slice")
def _slice(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    names = list(node.input[1:])
    missing = [n for n in names if n and n not in consts]
    if missing:
        raise UnsupportedOpError(f"Slice node {node.name!r}: computed starts/ends/axes {missing} are not supported "
                                 "(simplify the graph first so they are constants)")
    vals = [np.asarray(consts[n]).reshape(-1).tolist() if n else None for n in names]
    starts, ends = vals[0], vals[1]
    axes = vals[2] if len(vals) > 2 and vals[2] is not None else list(range(len(starts)))
    steps = vals[3] if len(vals) > 3 and vals[3] is not None else [1] * len(starts)

    def run(x: Any, *_: Any) -> Any:
        index = [slice(None)] * x.dim()
        for s, e, a, st in zip(starts, ends, axes, steps):
            size = x.shape[a]
            s = max(min(s + size if s < 0 else s, size), 0)
            e = max(min(e + size if e < 0 else e, size), 0)
            index[a] = slice(s, e, st)
        return x[tuple(index)]

    return _module(run)


@TORCH_OPS.register("Pad")
def _pad(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    import torch.nn.functional as F

    def const(i: int) -> list[float] | None:
        name = node.input[i] if len(node.input) > i else ""
        if not name:
            return None
        if name not in consts:
            raise UnsupportedOpError(f"Pad node {node.name!r}: a computed pads/value input {name!r} is not "
                                     "supported (simplify the graph first so it is a constant)")
        return np.asarray(consts[name]).reshape(-1).tolist()

    pads = const(1) if len(node.input) > 1 else list(attrs.get("pads", []))
    value = const(2) if len(node.input) > 2 else [attrs.get("value", 0.0)]
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}
    if mode not in modes or (len(node.input) > 3 and node.input[3]):
        raise UnsupportedOpError(f"Pad node {node.name!r}: mode {mode!r}{' with axes' if len(node.input) > 3 else ''}"
                                 " is not supported (constant, reflect and edge over all axes are)")
    rank = len(pads or []) // 2
    begin, end = [int(p) for p in pads[:rank]], [int(p) for p in pads[rank:]]
    fill = float(value[0]) if value else 0.0

    def run(x: Any, *_: Any) -> Any:
        # F.pad takes the trailing axes only: drop the leading all-zero ones (batch, channels).
        lead = next((i for i in range(rank) if begin[i] or end[i]), rank)
        widths = _torch_pad(begin[lead:], end[lead:])
        if not widths:
            return x
        return F.pad(x, widths, mode=modes[mode], value=fill) if mode == "constant" \
            else F.pad(x, widths, mode=modes[mode])

    return _module(run)


@TORCH_OPS.register("Reshape")
def _reshape(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    if node.input[1] not in consts:
        raise UnsupportedOpError(f"Reshape node {node.name!r}: a computed target shape is not supported "
                                 "(simplify the graph first)")
    shape = [int(s) for s in np.asarray(consts[node.input[1]]).reshape(-1)]

    def run(x: Any, *_: Any) -> Any:
        return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)])

    return _module(run)


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[[dict[str, Any], dict[str, Any]], Callable[..., Any]]:
    return lambda attrs, consts: fn


_register_simple("Add", _binary(lambda a, b: a + b))
_register_simple("Sub", _binary(lambda a, b: a - b))
_register_simple("Mul", _binary(lambda a, b: a * b))
_register_simple("Div", _binary(lambda a, b: a / b))
_register_simple("MatMul", _binary(lambda a, b: a @ b))
_register_simple("Sum", lambda attrs, consts: lambda *xs: sum(xs[1:], xs[0]))
_register_simple("Identity Dropout", lambda attrs, consts: lambda x, *_: x)
_register_simple("Concat", lambda attrs, consts: lambda *xs: __import__("torch").cat(xs, dim=int(attrs["axis"])))
_register_simple("Flatten", lambda attrs, consts: lambda x: x.reshape(
    int(np.prod(x.shape[:int(attrs.get("axis", 1))])), -1))
_register_simple("GlobalAveragePool", lambda attrs, consts: lambda x: x.mean(
    dim=tuple(range(2, x.dim())), keepdim=True))
_register_simple("GlobalMaxPool", lambda attrs, consts: lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True))
_register_simple("Sigmoid", lambda attrs, consts: lambda x: x.sigmoid())
_register_simple("Tanh", lambda attrs, consts: lambda x: x.tanh())
_register_simple("Softmax", lambda attrs, consts: lambda x: x.softmax(dim=int(attrs.get("axis", -1))))
_register_simple("Transpose", lambda attrs, consts: lambda x: x.permute(
    *(attrs.get("perm") or list(reversed(range(x.dim()))))))
_register_simple("Clip", lambda attrs, consts: lambda x, lo=None, hi=None: x.clamp(
    None if lo is None else float(lo), None if hi is None else float(hi)))
_register_simple("LeakyRelu", lambda attrs, consts: lambda x: __import__("torch").nn.functional.leaky_relu(
    x, float(attrs.get("alpha", 0.01))))
_register_simple("HardSwish", lambda attrs, consts: lambda x: __import__("torch").nn.functional.hardswish(x))
_register_simple("HardSigmoid", lambda attrs, consts: lambda x: (
    float(attrs.get("alpha", 0.2)) * x + float(attrs.get("beta", 0.5))).clamp(0, 1))
_register_simple("Erf", lambda attrs, consts: lambda x: __import__("torch").erf(x))
_register_simple("Sqrt", lambda attrs, consts: lambda x: x.sqrt())
_register_simple("Pow", _binary(lambda a, b: a ** b))
_register_simple("Gelu", lambda attrs, consts: lambda x: __import__("torch").nn.functional.gelu(
    x, approximate="tanh" if attrs.get("approximate", b"none") in (b"tanh", "tanh") else "none"))


@TORCH_OPS.register("LayerNormalization")
def _layer_norm(node: Any, attrs: dict[str, Any], consts: dict[str, Any]) -> Any:
    import torch.nn.functional as F

    axis, eps = int(attrs.get("axis", -1)), float(attrs.get("epsilon", 1e-5))

    def run(x: Any, scale: Any, b: Any = None) -> Any:
        dims = x.shape[axis:] if axis >= 0 else x.shape[x.dim() + axis:]
        return F.layer_norm(x, tuple(dims), scale, b, eps)

    return _module(run)


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
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise UnsupportedOpError(f"Conv node {node.name or node.output[0]!r}: auto_pad={attrs['auto_pad']!r} "
                                     "is not supported (export with explicit pads)")
        rank = weight.dim() - 2
        cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}.get(rank)
        if cls is None:
            raise UnsupportedOpError(f"Conv node {node.name or node.output[0]!r}: {rank}-d convolution is not "
                                     "supported")
        begin, end = _pads(attrs, rank)
        groups = int(attrs.get("group", 1))

        class Conv(cls):  # type: ignore[misc, valid-type]
            def forward(self, x: Any) -> Any:
                if begin != end:
                    x = F.pad(x, _torch_pad(begin, end))
                return super().forward(x)

        layer = Conv(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                     stride=tuple(attrs.get("strides", [1] * rank)), padding=tuple(begin) if begin == end else 0,
                     dilation=tuple(attrs.get("dilations", [1] * rank)), groups=groups, bias=bias is not None)
        w = weight
    layer.weight = nn.Parameter(w.detach().clone().contiguous(), requires_grad=trainable)
    if bias is not None:
        layer.bias = nn.Parameter(bias.detach().clone().float(), requires_grad=trainable)
    return layer


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

    from onnxnet.bench.weights import is_empty
    from onnxnet.graph.ir import zero_filled
    from onnxnet.graph.load import load_model

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
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.attribute[0].name == "value":
            t = node.attribute[0].t
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
        if node.op_type not in TORCH_OPS and node.op_type not in ("Conv", "Gemm", "BatchNormalization"):
            raise UnsupportedOpError(
                f"node {node.name or node.output[0]!r}: op {node.op_type!r} is not supported by onnxnet's torch "
                f"executor; simplify the graph, or register the op with onnxnet.graph.torch_exec.TORCH_OPS")

    gen = torch.Generator().manual_seed(int(seed))
    consts = {name: arr for name, (t, arr) in raw.items() if arr is not None}

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
        if node.op_type in ("Conv", "Gemm") and len(ins) > 1 and ins[1] in raw:
            dims = dims_of(ins[1])
            fan_in = int(np.prod(dims[1:])) if node.op_type == "Conv" else dims[1 if attrs.get("transB", 0) else 0]
            weight, trainable = _initial(raw[ins[1]][1], dims, fan_in, gen, weights)
            bias = None
            if len(ins) > 2 and ins[2] in raw:
                barr = raw[ins[2]][1]
                bias = (torch.from_numpy(np.array(barr, dtype=np.float32)) if weights == "file" and barr is not None
                        else torch.zeros(dims_of(ins[2])))
            layer = _weight_layer(node, attrs, weight, bias, trainable)
            ins = ins[:1]
            if node.op_type == "Conv" and normalize == "conv":
                layer = torch.nn.Sequential(layer, _batch_norm(dims[0], len(dims) - 2, affine=False))
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
            if node.op_type in ("Conv", "Gemm"):
                raise UnsupportedOpError(f"{node.op_type} node {label!r}: weights computed inside the graph (not "
                                         "initializers) are not supported")
            layer = TORCH_OPS.get(node.op_type)(node, attrs, consts)
            for name in ins:
                if name in raw and name not in tensors and raw[name][0].data_type in _FLOAT_TYPES:
                    arr = raw[name][1]
                    if arr is not None:
                        tensors[name] = (torch.from_numpy(np.array(arr, dtype=np.float32)), False)
                    else:
                        dims = dims_of(name)
                        tensors[name] = _initial(None, dims, int(np.prod(dims[:-1])) if len(dims) > 1 else 1, gen,
                                                 weights)
        layers.append(layer)
        wiring.append(ins)
    return _module_class()(graph, nodes, layers, wiring, tensors, set(raw))


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
                self._keys[name] = f"t{i}"
                self.tensors[f"t{i}"] = nn.Parameter(value, requires_grad=trainable)
            self._wiring = wiring
            self._outs = [list(n.output) for n in nodes]
            self.input_names = [i.name for i in graph.input if i.name not in inits]
            self.output_names = [o.name for o in graph.output]

        def forward(self, *inputs: Any) -> Any:
            env: dict[str, Any] = dict(zip(self.input_names, inputs))
            for layer, ins, outs in zip(self.nodes, self._wiring, self._outs):
                args = [env[n] if n in env else self.tensors[self._keys[n]] if n in self._keys else None
                        for n in ins]
                while args and args[-1] is None:
                    args.pop()
                y = layer(*args)
                for n, v in zip(outs, y if isinstance(y, (tuple, list)) else (y,)):
                    if n:
                        env[n] = v
            out = [env[n] for n in self.output_names]
            return out[0] if len(out) == 1 else tuple(out)

    _CLASS.append(OnnxModule)
    return OnnxModule
