"""Load any ONNX source, check it, infer shapes, simplify it, and canonicalise it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal, Sequence

import onnx
from google.protobuf.message import DecodeError

from onnxnet.errors import ModelLoadError
from onnxnet.graph.canonical import CANONICAL_PRODUCER, canonicalize, topo_sort_nodes
from onnxnet.graph.export import DEFAULT_OPSET, export_torch, strip_metadata
from onnxnet.graph.ir import ZERO_VALUES, keep_values, numel
from onnxnet.graph.structure import is_light
from onnxnet.graph.weights import PROTO_LIMIT, is_empty, model_bytes, strip_weights

Simplifier = Literal["onnxsim", "onnxslim"]
SIMPLIFIERS = ("onnxsim", "onnxslim")
#: onnxsim passes that need weight *values*, skipped on every path so that a file read without its large weights
#: (``simplify_structure``) gets the same graph as with them: merging the Q/K/V projections that share an input
#: into one MatMul + Split, and MatMul + Add into Gemm (both concatenate or move constant weights, which a
#: value-less weight, a graph input there, blocks). The search-space networks contain neither pattern: their
#: canonical graphs are the same with and without these passes (``benchmarks/check_simplifier_passes.py``).
VALUE_DEPENDENT_PASSES = ("fuse_qkv", "fuse_matmul_add_bias_into_gemm", "fuse_matmul_add_bias_into_gemm_batched")
#: A value-less weight known to be all zero (``ZERO_VALUES``) up to this size enters the simplifier as zeros, so an
#: Add of a zero bias is dropped as it is when the values are there; bigger ones stay value-less.
ZERO_INPUT_BYTES = 16 * 2**20
#: Files bigger than this are read without their large weights' values (``onnxnet.graph.structure``).
STRUCTURE_BYTES = 64 * 2**20


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def read_model(source: str | os.PathLike[str] | bytes | onnx.ModelProto, *, name: str | None = None
               ) -> onnx.ModelProto:
    """Read a ``ModelProto`` from a path or bytes (a ``ModelProto`` is returned as is), with clear errors."""
    what = name or _describe(source)
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        try:
            model = onnx.load_from_string(bytes(source))
        except (DecodeError, RuntimeError, ValueError) as e:
            raise ModelLoadError(f"{what}: not a valid ONNX model (protobuf decode failed: {e}); "
                                 "pass the bytes of an .onnx file") from None
        return _check_nonempty(model, what)
    if not isinstance(source, (str, os.PathLike)):
        raise ModelLoadError(f"cannot load a model from a {type(source).__name__}; pass a path to an .onnx file, "
                             "its bytes, an onnx.ModelProto, or a torch.nn.Module with input_shape")
    path = Path(source)
    if not path.exists():
        raise ModelLoadError(f"{what}: file not found; check the path")
    if path.is_dir():
        raise ModelLoadError(f"{what}: is a folder, not an .onnx file")
    if path.stat().st_size > STRUCTURE_BYTES:  # large weights: read shapes and structure only
        from onnxnet.graph.structure import read_structure

        with open(path, "rb") as f:
            model = read_structure(f, what)
    else:
        try:
            model = onnx.load(str(path), load_external_data=False)
        except (DecodeError, RuntimeError, ValueError, OSError) as e:
            raise ModelLoadError(f"{what}: not a valid ONNX file (protobuf decode failed: {type(e).__name__}); the "
                                 "file is truncated or is not ONNX; re-export or re-download it") from None
    model = _check_nonempty(model, what)
    _load_external(model, path)
    return model


def _check_nonempty(model: onnx.ModelProto, what: str) -> onnx.ModelProto:
    if not model.HasField("graph") or (len(model.graph.node) == 0 and len(model.graph.output) == 0):
        raise ModelLoadError(f"{what}: not an ONNX model (no graph inside); the file is empty, truncated, or "
                             "another format")
    return model


def _load_external(model: onnx.ModelProto, path: Path) -> None:
    """Load external weights next to ``path``; missing files give a clear error."""
    from onnx.external_data_helper import _get_all_tensors, load_external_data_for_tensor, uses_external_data

    ext = [t for t in _get_all_tensors(model) if uses_external_data(t)]
    if not ext:
        return
    base = path.parent
    total = 0
    for t in ext:
        loc = next((e.value for e in t.external_data if e.key == "location"), "")
        f = base / loc
        if not loc or not f.is_file():
            raise ModelLoadError(f"{path}: tensor {t.name!r} keeps its weights in external file {loc!r}, which is "
                                 f"missing from {base}; copy the weight file next to the model")
        length = next((int(e.value) for e in t.external_data if e.key == "length"), None)
        total += length if length is not None else f.stat().st_size
    if total > PROTO_LIMIT:  # too big for one message: large weights stay on disk, shapes are enough for onnxnet
        ext = [t for t in ext if keep_values(t.data_type, numel(t))]
    for t in ext:
        try:
            load_external_data_for_tensor(t, str(base))
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"{path}: cannot read external weights of tensor {t.name!r}: {e}") from None
        t.data_location = onnx.TensorProto.DEFAULT
        del t.external_data[:]


def infer_shapes(model: onnx.ModelProto, what: str) -> onnx.ModelProto:
    """ONNX shape inference (with data propagation); failures are reported, not ignored."""
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as e:
        raise ModelLoadError(f"{what}: shape inference failed: {str(e).splitlines()[0]}; the graph is invalid "
                             "(wrong shapes or attributes); check it with onnx.checker") from None


def check_model(model: onnx.ModelProto, what: str) -> None:
    """``onnx.checker`` with a clear error."""
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "invalid model"
        raise ModelLoadError(f"{what}: not a valid ONNX model: {first}") from None
    except ValueError as e:  # e.g. over the protobuf size limit
        raise ModelLoadError(f"{what}: cannot check the model: {e}") from None


def simplify(model: onnx.ModelProto, simplifier: Simplifier | None, what: str) -> onnx.ModelProto:
    """Run ``onnxsim`` or ``onnxslim`` (``None``: return ``model`` unchanged).

    If the simplifier cannot handle the model (custom-domain ops it cannot run, ...), the unsimplified model
    is returned with a warning: onnxnet's own passes (no-ops, dead nodes, duplicates) still run afterwards.
    """
    if simplifier is None:
        return model
    if simplifier not in SIMPLIFIERS:
        raise ModelLoadError(f"unknown simplifier {simplifier!r}; choose one of: {', '.join(SIMPLIFIERS)}, or None")
    try:
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            if simplifier == "onnxsim":
                import onnxsim

                out, ok = onnxsim.simplify(model, check_n=0, skipped_optimizers=list(VALUE_DEPENDENT_PASSES))
                if not ok:
                    raise RuntimeError("onnxsim check failed")
            else:
                import onnxslim

                out = onnxslim.slim(model)
    except Exception as e:
        warnings.warn(f"{what}: {simplifier} could not simplify the model ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}); using it unsimplified", stacklevel=3)
        return model
    return out


def simplify_structure(model: onnx.ModelProto, simplifier: Simplifier | None, what: str) -> onnx.ModelProto:
    """``simplify`` for a model whose large weights have dims but no values (``strip_weights``, ``read_structure``).

    Those weights enter the simplifier as graph inputs of their type and shape, so it folds and fuses everything
    computed from real constants (masks, positions, shapes) without needing their values; then every node left
    computing from constants only (a weight gathered at constant positions, ...) is folded into a value-less
    constant of its inferred type and shape, which is what the simplifier makes of it when it has the values.
    """
    if simplifier is None:
        return model
    g = model.graph
    valueless = {t.name: t for t in g.initializer if is_empty(t)}
    zeros = {n for n, t in valueless.items() if _known_zero(t)}
    work = onnx.ModelProto()
    work.CopyFrom(model)
    keep = [t for t in work.graph.initializer if t.name not in valueless]
    del work.graph.initializer[:]
    work.graph.initializer.extend(keep + [_zeros_like(valueless[n]) for n in zeros])
    first = list(work.graph.input)
    del work.graph.input[:]
    work.graph.input.extend(first + [onnx.helper.make_tensor_value_info(n, t.data_type, list(t.dims))
                                     for n, t in valueless.items() if n not in zeros])
    out = simplify(work, simplifier, what)
    if out is work:  # the simplifier gave up (warned): go on with the model as it was
        return model
    g = out.graph
    inputs = [vi for vi in g.input if vi.name not in valueless]
    del g.input[:]
    g.input.extend(inputs)
    materialised = [t for t in g.initializer if t.name not in zeros]  # zeros it kept go back value-less
    del g.initializer[:]
    g.initializer.extend(materialised)
    used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
    g.initializer.extend(t for n, t in valueless.items() if n in used)
    return infer_shapes(_fold_constant_nodes(out), what)


def _known_zero(t: onnx.TensorProto) -> bool:
    """Whether value-less ``t`` is marked all zero (``ZERO_VALUES``) and small enough to hand over as zeros."""
    size = numel(t) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    return size <= ZERO_INPUT_BYTES and any(p.key == ZERO_VALUES for p in t.metadata_props)


def _zeros_like(t: onnx.TensorProto) -> onnx.TensorProto:
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(tuple(t.dims), onnx.helper.tensor_dtype_to_np_dtype(t.data_type)), t.name)


def mark_zero_values(model: onnx.ModelProto) -> onnx.ModelProto:
    """Mark (``ZERO_VALUES``) every initializer whose values are here and all zero, before ``strip_weights``
    drops them; ``simplify_structure`` hands these to the simplifier as zeros."""
    import numpy as np
    from onnx import numpy_helper

    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL or keep_values(t.data_type, numel(t)) or is_empty(t):
            continue
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.data_type)
            if t.raw_data and np.frombuffer(t.raw_data[: 16 * dtype.itemsize], dtype=np.uint8).any():
                continue  # real weights differ from zero within their first values
            zero = not np.asarray(numpy_helper.to_array(t)).any()
        except Exception:  # a type numpy cannot read: not marked
            continue
        if zero and not any(p.key == ZERO_VALUES for p in t.metadata_props):
            t.metadata_props.add(key=ZERO_VALUES, value="1")
    return model


def _unmark_zero_values(model: onnx.ModelProto) -> None:
    for t in model.graph.initializer:
        marks = [p for p in t.metadata_props if p.key != ZERO_VALUES]
        if len(marks) != len(t.metadata_props):
            del t.metadata_props[:]
            t.metadata_props.extend(marks)


def _fold_constant_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace each node whose inputs are all constants (initializers, some without values, or ``Constant``
    outputs) by value-less initializers of its outputs' inferred types and shapes; nodes whose output shapes are
    unknown stay."""
    model = infer_shapes(model, "the simplified structure")
    g = model.graph
    types = {vi.name: vi.type.tensor_type for vi in list(g.value_info) + list(g.output)}
    consts = {t.name for t in g.initializer}
    outputs = {o.name for o in g.output}
    kept, new = [], []
    for n in g.node:
        ins = [x for x in n.input if x]
        foldable = ins and all(x in consts for x in ins) and not n.op_type.startswith("Random") and all(
            o in types and o not in outputs and types[o].HasField("shape")
            and all(d.HasField("dim_value") for d in types[o].shape.dim) for o in n.output if o)
        if not foldable:
            kept.append(n)
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                consts.update(o for o in n.output if o)
            continue
        for o in n.output:
            if o:
                t = onnx.TensorProto()
                t.name, t.data_type = o, types[o].elem_type
                t.dims.extend(d.dim_value for d in types[o].shape.dim)
                new.append(t)
                consts.add(o)
    if len(kept) < len(g.node):
        del g.node[:]
        g.node.extend(kept)
        g.initializer.extend(new)
    return model


class _quiet:
    """Silence the C++ libraries' prints to stdout/stderr (onnxsim, onnxruntime) during simplification."""

    def __enter__(self) -> None:
        import sys

        self._saved = []
        for fd in (1, 2):
            try:
                sys.stdout.flush() if fd == 1 else sys.stderr.flush()
                self._saved.append((fd, os.dup(fd)))
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, fd)
                os.close(null)
            except OSError:
                pass

    def __exit__(self, *exc: object) -> None:
        for fd, saved in self._saved:
            os.dup2(saved, fd)
            os.close(saved)


def load_model(source: Any, input_shape: Sequence[int] | None = None, *,
               simplifier: Simplifier | None = "onnxsim", opset: int = DEFAULT_OPSET,
               name: str | None = None, unshare_weights: bool = True) -> onnx.ModelProto:
    """Load ``source`` (a path, bytes, an ``onnx.ModelProto``, or a ``torch.nn.Module`` with ``input_shape``),
    check it, infer shapes, simplify it, and canonicalise it. Raises ``ModelLoadError`` naming the problem.

    A model over protobuf's 2 GiB limit (weights in external files), a file over ``STRUCTURE_BYTES`` (read by
    ``onnxnet.graph.structure.read_structure``) or a weight-free one is loaded without its large weight values:
    shapes, small constants and all-zero kernels are kept, which is all the encodings and facts need; the
    simplifier is skipped for it.

    A graph onnxnet wrote itself (``producer_name`` ``CANONICAL_PRODUCER``: ``onnxnet bench export`` files) was
    simplified when it was made: it is only checked and canonicalised again, without the simplifier.

    ``name`` labels the source in error messages (defaults to the path). ``unshare_weights``: see
    ``onnxnet.graph.canonical.canonicalize`` (exporters share equal-valued weights; by default uses are split).
    """
    what = name or _describe(source)
    if _is_torch_module(source):
        if input_shape is None:
            raise ModelLoadError(f"{what}: a torch module needs input_shape, e.g. load_model(net, (1, 3, 32, 32))")
        model = export_torch(source, input_shape, opset=opset)
    else:
        model = read_model(source, name=name)
        if isinstance(source, onnx.ModelProto):
            copy = onnx.ModelProto()
            copy.CopyFrom(source)
            model = copy
        strip_metadata(model)
        if model.producer_name == CANONICAL_PRODUCER:  # written by onnxnet from a canonical, simplified graph
            simplifier = None
    big = model_bytes(model) > PROTO_LIMIT or _has_external(model) or is_light(model)
    if big:  # weights too big for protobuf serialisation, or read without values: keep their shapes only
        model = strip_weights(mark_zero_values(model))
    _sort_if_needed(model, what)
    if not big:  # the checker rejects weights without values; a stripped model is checked by shape inference
        check_model(model, what)
    model = infer_shapes(model, what)
    if big:
        model = simplify_structure(model, simplifier, what)
        _unmark_zero_values(model)
    else:
        model = simplify(model, simplifier, what)  # onnxsim folds an If on a constant condition away
    model = infer_shapes(model, what)
    return canonicalize(model, source=what, unshare_weights=unshare_weights)


def _has_external(model: onnx.ModelProto) -> bool:
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def _sort_if_needed(model: onnx.ModelProto, what: str) -> None:
    """ONNX requires topological node order; accept files that break it by sorting them first."""
    g = model.graph
    available = {t.name for t in g.initializer} | {vi.name for vi in g.input}
    seen = set(available)
    ok = True
    for n in g.node:
        if any(x and x not in seen for x in n.input):
            ok = False
            break
        seen.update(n.output)
    if not ok:
        nodes = topo_sort_nodes(list(g.node), available, source=what)
        sorted_nodes = [onnx.NodeProto() for _ in nodes]
        for dst, src in zip(sorted_nodes, nodes):
            dst.CopyFrom(src)
        del g.node[:]
        g.node.extend(sorted_nodes)


def _is_torch_module(obj: Any) -> bool:
    if not hasattr(obj, "forward"):  # cheap check first: torch is only imported for module-like objects
        return False
    try:
        import torch
    except ImportError:
        return False
    return isinstance(obj, torch.nn.Module)
