"""Static facts of a graph: parameters, FLOPs/MACs, depth, width, op histogram (predictor features).

Conventions (per inference, for the batch size in the graph's input shape):

- ``n_params``: elements of floating-point constants (initializers), each counted once even if shared,
  except scalars and configuration constants (Resize scales, Pad values, Clip bounds). Tied weights count once:
  an initializer whose values repeat another's (the same tensor, or a 2-D one transposed, as a language model's
  output layer repeats its token embedding) is not counted again (``shared_initializers``; needs the weight
  values, or for a file read without them the values sampled at fixed positions, so a weight-free store row
  counts each copy). Constant-valued tensors (zero biases) are never merged. For a network exported
  in eval mode BatchNorm is folded into the Conv, so a Conv+BN block counts ``weight + bias`` only.
- ``macs``: multiply-accumulates of Conv, ConvTranspose, Gemm, MatMul (and Einsum-free attention built from them).
- ``flops``: ``2 * macs`` for those ops plus one FLOP per bias element added; elementwise ops count one FLOP per
  output element; pooling counts one per window element per output (global pooling: one per input element);
  BatchNormalization 2, LayerNormalization / InstanceNormalization / GroupNormalization 5, Softmax 3 per element.
  Shape-only ops (Reshape, Transpose, Concat, Slice, ...) count 0, and so do ops not listed here (Einsum,
  LSTM/GRU, custom-domain ops, ...): their cost is not modelled. Tensors with unknown shapes count 0.
- ``depth``: number of nodes on the longest input-to-output path.
- ``width``: the largest number of nodes at one ASAP level (level = longest path from a graph input), a cheap
  stand-in for the maximum antichain that is exact for series-parallel cells.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field

import onnx

from onnxnet.graph.ir import CONFIG_SLOTS, FLOAT_DTYPES, SAMPLE_MARK, SAMPLE_T_MARK, Graph, Node, TensorType
from onnxnet.graph.weights import is_empty

ELEMENTWISE_OPS = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "Tanh",
    "Exp", "Log", "Abs", "Neg", "Clip", "Max", "Min", "Sum", "Mean", "Erf", "Elu", "Selu", "Celu", "Gelu",
    "HardSwish", "Softplus", "Softsign", "Mish", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Where",
    "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "ThresholdedRelu",
    "Sin", "Cos", "Cast", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
})
NORM_FLOPS = {"BatchNormalization": 2, "LayerNormalization": 5, "InstanceNormalization": 5,
              "GroupNormalization": 5, "LpNormalization": 3, "Softmax": 3, "LogSoftmax": 3}
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})
GLOBAL_POOL_OPS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})


@dataclass
class GraphFacts:
    """Static facts of one graph (see the module docstring for the exact conventions)."""

    n_params: int
    flops: int
    macs: int
    depth: int
    width: int
    n_nodes: int
    op_histogram: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """A plain dict (``op_histogram`` stays a dict)."""
        return asdict(self)


def _numel(t: TensorType | None) -> int:
    n = t.numel if t is not None else None
    return n if n is not None else 0


def _ints(v: object, default: list[int]) -> list[int]:
    if isinstance(v, tuple) and v and v[0] == "ints":
        return [int(x) for x in v[1:]]
    return default


def node_cost(node: Node, types: dict[str, TensorType]) -> tuple[int, int]:
    """(flops, macs) of one node, given the types of all tensors (unknown shapes count 0)."""
    def t(i: int) -> TensorType | None:
        return types.get(node.inputs[i]) if i < len(node.inputs) and node.inputs[i] else None

    out = types.get(node.outputs[0]) if node.outputs and node.outputs[0] else None
    op = node.op
    if op in ("Conv", "ConvTranspose"):
        w, x = t(1), t(0)
        if w is None or w.shape is None or x is None or out is None or out.numel is None or w.numel is None:
            return 0, 0
        # the weight holds (Cin / group) * prod(kernel) values per output channel, whatever the group count
        if op == "Conv":
            # each output element: (Cin/group) * prod(kernel) MACs = w.numel / Cout
            macs = out.numel * (w.numel // max(int(w.shape[0]), 1))  # type: ignore[arg-type]
        else:
            if x.numel is None:
                return 0, 0
            # each input element is scattered to (Cout/group) * prod(kernel) outputs = w.numel / Cin
            macs = x.numel * (w.numel // max(int(w.shape[0]), 1))  # type: ignore[arg-type]
        bias = out.numel if len(node.inputs) > 2 and node.inputs[2] else 0
        return 2 * macs + bias, macs
    if op == "Gemm":
        a, b = t(0), t(1)
        if a is None or a.shape is None or len(a.shape) != 2 or out is None or out.numel is None:
            return 0, 0
        k = a.shape[0] if node.attrs.get("transA", 0) else a.shape[1]
        if not isinstance(k, int):
            return 0, 0
        macs = out.numel * k
        bias = out.numel if len(node.inputs) > 2 and node.inputs[2] else 0
        return 2 * macs + bias, macs
    if op == "MatMul":
        a = t(0)
        if a is None or a.shape is None or not a.shape or out is None or out.numel is None:
            return 0, 0
        k = a.shape[-1]
        if not isinstance(k, int):
            return 0, 0
        macs = out.numel * k
        return 2 * macs, macs
    if op in POOL_OPS:
        kernel = _ints(node.attrs.get("kernel_shape"), [1])
        return _numel(out) * int(math.prod(kernel)), 0
    if op in GLOBAL_POOL_OPS:
        return _numel(t(0)), 0
    if op in NORM_FLOPS:
        return NORM_FLOPS[op] * _numel(out), 0
    if op in ELEMENTWISE_OPS:
        if op.startswith("Reduce"):
            return _numel(t(0)), 0
        return _numel(out), 0
    return 0, 0


def shared_initializers(model: onnx.ModelProto) -> set[str]:
    """Names of floating-point initializers whose values repeat an earlier one's, as is or (2-D) transposed: tied
    weights, which exporters and canonicalisation write once per use. A large weight read without its values
    (``onnxnet.graph.structure``) is compared by the values it keeps at fixed positions (``ir.SAMPLE_MARK``).
    Other tensors without values, with fewer than two elements, or holding one value throughout (zero biases) are
    never reported."""
    import hashlib

    import numpy as np
    from onnx import numpy_helper

    def digest(a: np.ndarray) -> str:
        return hashlib.sha1(repr(a.shape).encode() + np.ascontiguousarray(a).tobytes()).hexdigest()

    seen: set[str] = set()
    shared = set()
    for t in model.graph.initializer:
        if t.data_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                               onnx.TensorProto.BFLOAT16) or math.prod(t.dims) < 2:
            continue
        props = {p.key: p.value for p in t.metadata_props}
        if SAMPLE_MARK in props:  # read without its values: the sampled values stand for them
            keys = [props[SAMPLE_MARK], props.get(SAMPLE_T_MARK, "")]
        elif t.data_location == onnx.TensorProto.EXTERNAL or is_empty(t):
            continue  # weight-free (stripped) tensor: no values to compare
        else:
            a = numpy_helper.to_array(t)
            if a.min() == a.max():
                continue
            keys = [digest(a)] + ([digest(a.T)] if a.ndim == 2 else [])
        if any(k in seen for k in keys):
            shared.add(t.name)
        else:
            seen.add(keys[0])
    return shared


def graph_facts(model: onnx.ModelProto | Graph) -> GraphFacts:
    """Static facts of a (canonical) model; see the module docstring for the conventions."""
    tied = shared_initializers(model) if isinstance(model, onnx.ModelProto) else set()
    g = model if isinstance(model, Graph) else Graph.from_onnx(model)
    types: dict[str, TensorType] = dict(g.types)
    types.update({n: t for n, t in g.inputs})
    types.update({n: t for n, t in g.outputs})
    types.update({n: c.type for n, c in g.consts.items()})

    config = {x for n in g.nodes for j, x in enumerate(n.inputs) if (n.op, j) in CONFIG_SLOTS}
    n_params = sum(_numel(c.type) for name, c in g.consts.items()
                   if c.type.dtype in FLOAT_DTYPES and name not in config and name not in tied
                   and _numel(c.type) > 1)
    flops = macs = 0
    for n in g.nodes:
        f, m = node_cost(n, types)
        flops += f
        macs += m

    producer = {o: i for i, n in enumerate(g.nodes) for o in n.outputs if o}
    level = [0] * len(g.nodes)
    for i, n in enumerate(g.nodes):  # nodes are topologically ordered
        level[i] = 1 + max((level[producer[x]] for x in n.inputs if x in producer), default=0)
    depth = max(level, default=0)
    width = max(Counter(level).values(), default=0)
    hist = dict(sorted(Counter(n.op if not n.domain else f"{n.domain}.{n.op}" for n in g.nodes).items()))
    return GraphFacts(n_params=int(n_params), flops=int(flops), macs=int(macs), depth=depth, width=width,
                      n_nodes=len(g.nodes), op_histogram=hist)
