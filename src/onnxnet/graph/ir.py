"""A small, weight-free graph IR: what the text encodings show and what ``parse`` gives back.

It keeps everything structural (op types, domains, every attribute, edges, graph inputs/outputs, tensor
types and shapes, weight shapes, and the values of small constants such as Reshape targets) and drops only
the values of large weights. ``Graph.from_onnx(model)`` and ``onnxnet.encode.parse(text)`` both produce it,
so round-trip tests compare two ``Graph`` objects with ``==``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

import numpy as np
import onnx
from onnx import helper, numpy_helper

# --- dtypes ----------------------------------------------------------------------------------------------

#: Short dtype names used in the text (float32, the common case, is written without a prefix).
DTYPE_NAMES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "f32",
    onnx.TensorProto.DOUBLE: "f64",
    onnx.TensorProto.FLOAT16: "f16",
    onnx.TensorProto.BFLOAT16: "bf16",
    onnx.TensorProto.INT64: "i64",
    onnx.TensorProto.INT32: "i32",
    onnx.TensorProto.INT16: "i16",
    onnx.TensorProto.INT8: "i8",
    onnx.TensorProto.UINT8: "u8",
    onnx.TensorProto.UINT16: "u16",
    onnx.TensorProto.UINT32: "u32",
    onnx.TensorProto.UINT64: "u64",
    onnx.TensorProto.BOOL: "bool",
    onnx.TensorProto.STRING: "str",
    onnx.TensorProto.COMPLEX64: "c64",
    onnx.TensorProto.COMPLEX128: "c128",
    onnx.TensorProto.FLOAT8E4M3FN: "f8e4m3fn",
    onnx.TensorProto.FLOAT8E5M2: "f8e5m2",
    onnx.TensorProto.UNDEFINED: "undef",
}
DTYPE_CODES: dict[str, int] = {v: k for k, v in DTYPE_NAMES.items()}
FLOAT_DTYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                onnx.TensorProto.BFLOAT16, onnx.TensorProto.FLOAT8E4M3FN, onnx.TensorProto.FLOAT8E5M2}
INT_DTYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32,
              onnx.TensorProto.UINT64, onnx.TensorProto.BOOL}

#: Integer/bool constants with at most this many elements have their values kept (Reshape targets, axes, ...).
MAX_INT_VALUES = 64
#: Float constants with at most this many elements have their values kept (epsilons, scale factors, ...).
MAX_FLOAT_VALUES = 1
#: (op type, input slot) pairs whose float constants are configuration, not weights: values always kept.
CONFIG_SLOTS: frozenset[tuple[str, int]] = frozenset(
    {("Resize", 1), ("Resize", 2), ("Upsample", 1), ("Pad", 2), ("Clip", 1), ("Clip", 2)}
)

Dim = Union[int, str, None]  # a size, a symbolic name, or unknown
Value = Union[int, float, str, tuple, "TensorValue"]


@dataclass(frozen=True)
class TensorType:
    """Element type and shape of a tensor; ``shape is None`` means the rank is unknown."""

    dtype: int = onnx.TensorProto.FLOAT
    shape: tuple[Dim, ...] | None = None

    @property
    def numel(self) -> int | None:
        """Number of elements, or ``None`` if any dimension is not a known integer."""
        if self.shape is None or any(not isinstance(d, int) for d in self.shape):
            return None
        return int(math.prod(self.shape))  # type: ignore[arg-type]


@dataclass(frozen=True)
class TensorValue:
    """A constant tensor (initializer or tensor attribute): type, and values only when they are kept."""

    type: TensorType
    values: tuple | None = None  # flattened values (ints, floats, bools, strings), or None if not kept


@dataclass
class Node:
    """One operator: type, domain, attributes (name -> python value), input and output tensor names."""

    op: str
    domain: str = ""
    attrs: dict[str, Value] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # "" = an omitted optional input
    outputs: list[str] = field(default_factory=list)  # "" = an omitted optional output


@dataclass
class Graph:
    """A weight-free graph: inputs, outputs, constants (initializers), nodes in order, and tensor types."""

    inputs: list[tuple[str, TensorType]] = field(default_factory=list)
    outputs: list[tuple[str, TensorType]] = field(default_factory=list)
    consts: dict[str, TensorValue] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    types: dict[str, TensorType] = field(default_factory=dict)  # node outputs with known type
    opsets: dict[str, int] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (self.inputs == other.inputs and self.outputs == other.outputs and self.consts == other.consts
                and self.nodes == other.nodes and self.types == other.types)

    # -- conversion ------------------------------------------------------------------------------------
    @classmethod
    def from_onnx(cls, model: onnx.ModelProto) -> "Graph":
        """The IR of an ONNX model (normally a canonical one from ``onnxnet.graph.load_model``)."""
        g = model.graph
        init_names = {t.name for t in g.initializer}
        types = {vi.name: tensor_type(vi.type) for vi in list(g.value_info) + list(g.output)}
        config_consts: set[str] = set()
        for n in g.node:
            for j, name in enumerate(n.input):
                if (n.op_type, j) in CONFIG_SLOTS:
                    config_consts.add(name)
        consts = {t.name: tensor_value(t, keep=t.name in config_consts) for t in g.initializer}
        nodes = [Node(n.op_type, n.domain if n.domain != "ai.onnx" else "",
                      {a.name: attr_value(a) for a in n.attribute}, list(n.input), list(n.output))
                 for n in g.node]
        produced = {o for n in nodes for o in n.outputs if o}
        return cls(
            inputs=[(vi.name, tensor_type(vi.type)) for vi in g.input if vi.name not in init_names],
            outputs=[(vi.name, tensor_type(vi.type)) for vi in g.output],
            consts=consts,
            nodes=nodes,
            types={k: v for k, v in types.items() if k in produced and v.shape is not None},
            opsets={o.domain if o.domain != "ai.onnx" else "": o.version for o in model.opset_import},
        )

    def to_onnx(self, *, opset: int | None = None) -> onnx.ModelProto:
        """An ONNX model with this structure. Constants with kept values become initializers; weights
        whose values are unknown become extra graph inputs of the right type (so shape inference works)."""
        inputs = [make_value_info(n, t) for n, t in self.inputs]
        inits = []
        for name, tv in self.consts.items():
            if tv.values is not None and tv.type.shape is not None:
                inits.append(make_tensor(name, tv))
            else:
                inputs.append(make_value_info(name, tv.type))
        nodes = []
        for n in self.nodes:
            proto = helper.make_node(n.op, n.inputs, n.outputs, domain=n.domain or None)
            for k, v in sorted(n.attrs.items()):
                proto.attribute.append(make_attr(k, v))
            nodes.append(proto)
        out_names = {n for n, _ in self.outputs}
        vinfo = [make_value_info(k, v) for k, v in self.types.items() if k not in out_names]
        graph = helper.make_graph(nodes, "g", inputs, [make_value_info(n, t) for n, t in self.outputs],
                                  initializer=inits, value_info=vinfo)
        opsets = dict(self.opsets) or {"": opset or 17}
        if opset is not None:
            opsets[""] = opset
        for n in self.nodes:
            opsets.setdefault(n.domain, 1)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())])
        return model


# --- proto <-> python helpers ----------------------------------------------------------------------------

def tensor_type(tp: onnx.TypeProto) -> TensorType:
    """The ``TensorType`` of a ``TypeProto`` (non-tensor types give dtype UNDEFINED, unknown shape)."""
    if not tp.HasField("tensor_type"):
        return TensorType(onnx.TensorProto.UNDEFINED, None)
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return TensorType(tt.elem_type, None)
    dims: list[Dim] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return TensorType(tt.elem_type, tuple(dims))


def numel(t: onnx.TensorProto) -> int:
    """Number of elements of an initializer, from its dims (1 for a scalar)."""
    n = 1
    for d in t.dims:
        n *= int(d)
    return n


def keep_values(dtype: int, numel: int | None) -> bool:
    """Whether a constant's values are part of the structure (small integer or scalar constants)."""
    if numel is None:
        return False
    if dtype in INT_DTYPES or dtype == onnx.TensorProto.STRING:
        return numel <= MAX_INT_VALUES
    return numel <= MAX_FLOAT_VALUES


def _py(v: object) -> object:
    if isinstance(v, (bool, np.bool_)):
        return int(bool(v))
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


#: Tensor metadata key marking a large weight whose values were all zero when its payload was skipped
#: (``onnxnet.graph.structure.read_structure``); ``zero_filled`` reads it.
ZERO_MARK = "onnxnet.all_zero"
#: Tensor metadata key, used only while a model is loaded without its weight values (``graph.load``), marking a
#: tensor of any rank whose values were all zero before they were dropped: the simplifier gets it as zeros.
ZERO_VALUES = "onnxnet.zero_values"


def zero_filled(t: onnx.TensorProto) -> bool:
    """Whether ``t`` is a weight of rank >= 2 whose values are all zero.

    Such a tensor is structure, not a weight value: simplifiers fold a multiply by zero (NB201's ``none`` edge)
    into the preceding Conv as an all-zero kernel, and the network then computes something else than the same
    graph with real weights. Biases (rank 1) are excluded: they are zero in any freshly initialised network.
    """
    if len(t.dims) < 2 or t.data_location == onnx.TensorProto.EXTERNAL:
        return False
    if any(p.key == ZERO_MARK for p in t.metadata_props):  # read without its values (``graph.structure``)
        return True
    if not t.raw_data and not any((t.float_data, t.int32_data, t.int64_data, t.double_data, t.uint64_data)):
        return False  # weight-free: values unknown
    try:
        if t.raw_data:  # fast path: real weights are non-zero within the first few values (-0.0 counts as 0)
            np_dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
            head = t.raw_data[: 16 * np.dtype(np_dtype).itemsize]
            if np.frombuffer(head, dtype=np_dtype).any():
                return False
        arr = numpy_helper.to_array(t)
    except Exception:
        return False
    return arr.size > 1 and not arr.any()


#: Tensor metadata keys of a large 2-D weight read without its values (``onnxnet.graph.structure``): its values at
#: the ``SAMPLE_PAIRS`` positions, as is and as its transpose would have them (``sample_positions``). Two weights
#: with equal keys are one tied weight (``onnxnet.graph.facts.shared_initializers``) without reading either.
SAMPLE_MARK, SAMPLE_T_MARK = "onnxnet.sample", "onnxnet.sample_t"
#: Fixed (row, column) seeds of the sampled positions (taken modulo the dims).
SAMPLE_PAIRS: tuple[tuple[int, int], ...] = tuple(((7919 * k + 104729) * (k + 1), (6007 * k + 15485863) * (k + 3))
                                                  for k in range(16))


def sample_positions(rows: int, cols: int, transposed: bool = False) -> list[int]:
    """Flat (row-major) indices into a (rows, cols) tensor ``A`` of the values a tie check reads: ``A[p % rows,
    q % cols]`` for each ``(p, q)`` of ``SAMPLE_PAIRS``, or with ``transposed`` the values ``A.T`` has there
    (``A.T[p % cols, q % rows] = A[q % rows, p % cols]``), so a weight and its transposed copy get equal keys."""
    if transposed:
        return [(q % rows) * cols + p % cols for p, q in SAMPLE_PAIRS]
    return [(p % rows) * cols + q % cols for p, q in SAMPLE_PAIRS]


def tensor_value(t: onnx.TensorProto, keep: bool = False) -> TensorValue:
    """Summary of a ``TensorProto``: its type, and its values when small (or when ``keep``); an all-zero
    weight (see ``zero_filled``) keeps one value, ``0``, written ``<16x16x3x3=0.0>``."""
    ttype = TensorType(t.data_type, tuple(int(d) for d in t.dims))
    values = None
    if not keep and not keep_values(t.data_type, ttype.numel) and zero_filled(t):
        return TensorValue(ttype, (0 if t.data_type in INT_DTYPES else 0.0,))
    if keep or keep_values(t.data_type, ttype.numel):
        if t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data:
            values = None
        else:
            try:
                arr = numpy_helper.to_array(t)
                values = tuple(_py(x) for x in arr.reshape(-1).tolist())
            except Exception:  # an exotic dtype numpy cannot hold: keep the type only
                values = None
    return TensorValue(ttype, values)


def attr_value(a: onnx.AttributeProto) -> Value:
    """The python value of an attribute: int, float, str, tuples of those, or a ``TensorValue``."""
    A = onnx.AttributeProto
    if a.type == A.INT:
        return int(a.i)
    if a.type == A.FLOAT:
        return a.f  # protobuf floats are float32 values already
    if a.type == A.STRING:
        return a.s.decode("utf-8", "replace")
    if a.type == A.INTS:
        return ("ints", *a.ints)
    if a.type == A.FLOATS:
        return ("floats", *a.floats)
    if a.type == A.STRINGS:
        return ("strings",) + tuple(x.decode("utf-8", "replace") for x in a.strings)
    if a.type == A.TENSOR:
        return tensor_value(a.t)
    if a.type in (A.GRAPH, A.GRAPHS):
        raise ValueError(f"attribute {a.name!r} holds a subgraph")
    raise ValueError(f"attribute {a.name!r} has unsupported type {A.AttributeType.Name(a.type)}")


def make_attr(name: str, v: Value) -> onnx.AttributeProto:
    """Inverse of ``attr_value``."""
    if isinstance(v, TensorValue):
        return helper.make_attribute(name, make_tensor("", v))
    if isinstance(v, tuple) and v and v[0] in ("ints", "floats", "strings"):
        kind, vals = v[0], list(v[1:])
        attr_type = {"ints": onnx.AttributeProto.INTS, "floats": onnx.AttributeProto.FLOATS,
                     "strings": onnx.AttributeProto.STRINGS}[kind]
        return helper.make_attribute(name, vals, attr_type=attr_type)
    if isinstance(v, bool):
        v = int(v)
    return helper.make_attribute(name, v)


def make_tensor(name: str, tv: TensorValue) -> onnx.TensorProto:
    """A ``TensorProto`` with ``tv``'s type; values if kept, else zeros."""
    shape = [d if isinstance(d, int) else 1 for d in (tv.type.shape or ())]
    if tv.values is not None:
        if tv.type.dtype == onnx.TensorProto.STRING:
            return helper.make_tensor(name, tv.type.dtype, shape, [str(x).encode() for x in tv.values])
        np_dtype = onnx.helper.tensor_dtype_to_np_dtype(tv.type.dtype)
        if len(tv.values) == 1:  # a scalar, or a tensor filled with one value (``zero_filled``)
            arr = np.full(shape, tv.values[0], dtype=np_dtype)
        else:
            arr = np.array(tv.values, dtype=np_dtype).reshape(shape)
    else:
        np_dtype = onnx.helper.tensor_dtype_to_np_dtype(tv.type.dtype)
        arr = np.zeros(shape, dtype=np_dtype)
    t = numpy_helper.from_array(arr, name)
    t.data_type = tv.type.dtype
    return t


def make_value_info(name: str, t: TensorType) -> onnx.ValueInfoProto:
    """A ``ValueInfoProto`` for a tensor of type ``t``."""
    if t.shape is None:
        return helper.make_tensor_value_info(name, t.dtype, None)
    return helper.make_tensor_value_info(name, t.dtype, list(t.shape))
