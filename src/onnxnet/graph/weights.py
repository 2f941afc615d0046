"""Weight-free ONNX in the store, and turning it back into a runnable model.

Benchmark networks are untrained, so their random-init weight values carry no information, yet they make an
NB201 ONNX file ~1.8 MB (28 GB for the 15,625 nets). The store therefore keeps each network *weight-free*: the
graph, attributes, shapes and every structural constant (small and integer tensors) are exact; a large float
initializer keeps its name, dtype and dims but no values (``onnxnet.graph``'s weight-free form, ~16 KB per NB201
net). Constant-valued tensors (e.g. all-zero weights) keep their values. ``graph_facts`` and ``graph_hash`` give
the same results on both forms, and the encoders read it directly.

A weight-free model is not runnable and ``onnx.checker`` rejects it (empty tensors); ``materialize`` fills every
empty initializer with a per-tensor constant so it becomes a valid, runnable ONNX model again (used when
exporting to the ONNX-Bench layout). For the benchmark's real initial weights rebuild the net with
``get_space(space).build(arch)``, or build the store with ``keep_weights=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from onnxnet.graph.ir import keep_values, numel, zero_filled

#: Largest serialised protobuf message (2 GiB - 1): bigger models are copied without large weight values.
PROTO_LIMIT = 2**31 - 1
#: ``metadata_props`` key marking a model whose weights were replaced by placeholders.
PLACEHOLDER_KEY = "onnxnet.weights"


def model_bytes(model: onnx.ModelProto) -> int:
    """Approximate serialized size, without serialising (which fails above 2 GiB)."""
    total = 0
    for t in model.graph.initializer:
        total += len(t.raw_data) or t.ByteSize()
    return total + sum(n.ByteSize() for n in model.graph.node)


def strip_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Copy of ``model`` whose large initializers keep dims but no values (for models over 2 GiB)."""
    out = onnx.ModelProto()
    if model.ByteSize() < PROTO_LIMIT:
        out.CopyFrom(model)
    else:
        _copy_light(model, out)
    for t in out.graph.initializer:
        if not keep_values(t.data_type, numel(t)) and not zero_filled(t):
            t.ClearField("raw_data")
            for f in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
                t.ClearField(f)
            del t.external_data[:]
            t.data_location = onnx.TensorProto.DEFAULT
    return out


def _copy_light(model: onnx.ModelProto, out: onnx.ModelProto) -> None:
    """Copy ``model`` into ``out`` with only small initializers' values (a full copy would not fit protobuf)."""
    for f in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(out, f, getattr(model, f))
    out.opset_import.extend(model.opset_import)
    g = model.graph
    out.graph.name = g.name
    out.graph.node.extend(g.node)
    out.graph.input.extend(g.input)
    out.graph.output.extend(g.output)
    out.graph.value_info.extend(g.value_info)
    for t in g.initializer:
        nt = out.graph.initializer.add()
        nt.name, nt.data_type = t.name, t.data_type
        nt.dims.extend(t.dims)
        if keep_values(t.data_type, numel(t)):
            nt.CopyFrom(t)


def is_empty(t: Any) -> bool:
    """Whether an initializer has dims but no values (the weight-free form)."""
    if t.data_location == onnx.TensorProto.EXTERNAL:
        return False
    return numel(t) > 0 and not any((t.raw_data, t.float_data, t.int32_data, t.int64_data, t.double_data,
                                      t.uint64_data, t.string_data))


def strip(model: Any) -> Any:
    """Weight-free copy of ``model`` (large float weights lose their values; structure is untouched).

    Tensors whose elements are all equal keep their values: they can carry structure that a simplifier folded
    into weights (onnxsim fuses NB201's ``none`` edge, a ``Mul`` by 0, into the preceding Conv as all-zero
    weights), and they cost almost nothing once compressed.
    """
    from onnx import numpy_helper

    constant = {}
    for t in model.graph.initializer:
        if t.data_location == 1 or numel(t) <= 1:  # EXTERNAL, or already kept as structure
            continue
        try:
            arr = numpy_helper.to_array(t).reshape(-1)
        except Exception:  # an exotic dtype: treat as an ordinary weight
            continue
        if arr.size and (arr == arr[0]).all():
            constant[t.name] = t
    out = strip_weights(model)
    for t in out.graph.initializer:
        if t.name in constant and is_empty(t):
            t.CopyFrom(constant[t.name])
    return out


def is_weight_free(model: Any) -> bool:
    return any(is_empty(t) for t in model.graph.initializer)


def materialize(model: Any) -> Any:
    """Copy of ``model`` whose empty initializers hold constants ``(1 + k/1000) / fan_in`` (valid, runnable).

    Each tensor gets its own value so no two weights look like duplicates, and the scale keeps activations
    finite. The values are placeholders, not trained or benchmark-initialised weights.
    """
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    changed = False
    for k, t in enumerate(out.graph.initializer):
        if not is_empty(t):
            continue
        dims = tuple(int(d) for d in t.dims)
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        fan_in = int(np.prod(dims[1:])) if len(dims) >= 2 else int(np.prod(dims))
        value = (1.0 + (k % 1000) / 1000.0) / max(fan_in, 1)
        t.CopyFrom(numpy_helper.from_array(np.full(dims, value, dtype=dtype), name=t.name))
        changed = True
    if changed:
        props = {p.key: p for p in out.metadata_props}
        if PLACEHOLDER_KEY not in props:
            out.metadata_props.add(key=PLACEHOLDER_KEY, value="placeholder constants (untrained architecture)")
    return out
