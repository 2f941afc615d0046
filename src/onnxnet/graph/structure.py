"""Read an ONNX file's structure without materialising its large weights.

The encodings and graph facts need every node, attribute, shape and small constant, but of a large weight only
its type, its dims and whether it is all zero (an all-zero kernel is structure: see ``ir.zero_filled``). This
reader walks the protobuf wire format of the file itself: everything but the payload of large initializers is
copied into a ``ModelProto``; a large payload is skipped with a seek after an all-zero check that reads it in
fixed-size chunks as raw bytes (no float conversion). Memory stays near the size of the graph, not of the weights,
and a 500 MB transformer is read in about the time it takes to scan its bytes once.

A large all-zero weight keeps no values either: it is marked with the tensor metadata property ``ZERO_MARK``,
which ``ir.zero_filled`` reads, so it renders as ``=0.0`` like a small all-zero kernel does. A large 2-D float
weight keeps 16 of its values, read at fixed positions as is and transposed (``ir.SAMPLE_MARK``), so a tied weight
written twice (GPT-2's token embedding and its transposed output layer) is still counted once.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import onnx

from onnxnet.errors import ModelLoadError
from onnxnet.graph.ir import SAMPLE_MARK, SAMPLE_T_MARK, ZERO_MARK, ZERO_VALUES, sample_positions

#: Read payloads in chunks of this many bytes for the all-zero check.
CHUNK = 1 << 22
#: Payloads up to this many bytes are kept as they are (small constants carry structure: shapes, axes).
KEEP_BYTES = 4096

# Field numbers of onnx.proto (ModelProto.graph, GraphProto.initializer, TensorProto fields).
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_T_DIMS, _T_DATA_TYPE, _T_RAW, _T_EXTERNAL, _T_LOCATION = 1, 2, 9, 13, 14
_T_PACKED = {4: "float_data", 5: "int32_data", 7: "int64_data", 10: "double_data", 11: "uint64_data"}


class _Truncated(Exception):
    pass


class _Reader:
    """Sequential reads of protobuf fields from a seekable binary file."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def byte(self) -> int:
        b = self.f.read(1)
        if not b:
            raise _Truncated()
        return b[0]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError("varint longer than 10 bytes")

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise _Truncated()
        return data

    def tag(self) -> tuple[int, int, bytes]:
        """``(field, wire type, the tag's own bytes)``."""
        start = self.f.tell()
        key = self.varint()
        end = self.f.tell()
        self.f.seek(start)
        return key >> 3, key & 7, self.read(end - start)

    def skip_value(self, wire: int) -> bytes:
        """The bytes of one value of ``wire`` type (length prefix included for length-delimited ones)."""
        if wire == 0:
            start = self.f.tell()
            self.varint()
            end = self.f.tell()
            self.f.seek(start)
            return self.read(end - start)
        if wire == 1:
            return self.read(8)
        if wire == 5:
            return self.read(4)
        if wire == 2:
            start = self.f.tell()
            n = self.varint()
            head = self.f.tell() - start
            self.f.seek(start)
            return self.read(head + n)
        raise ValueError(f"unsupported protobuf wire type {wire}")


def _varint_bytes(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _all_zero(f: BinaryIO, n: int) -> bool:
    """Whether the next ``n`` bytes of ``f`` are all zero bytes, read as bytes in chunks (the first one small:
    real weights differ from zero at once); the position ends after them either way. A ``-0.0`` (its sign bit)
    counts as non-zero here: the all-zero kernels exporters write are made of +0.0."""
    import numpy as np

    end = f.tell() + n
    if end > _size(f):
        raise _Truncated()
    buf = bytearray(min(CHUNK, n))
    left, step = n, 64
    while left:
        view = memoryview(buf)[: min(step, left)]
        got = f.readinto(view)
        if not got:
            raise _Truncated()
        if np.frombuffer(view[:got], dtype=np.uint8).any():
            f.seek(end)
            return False
        left -= got
        step = len(buf)
    return True


def _size(f: BinaryIO) -> int:
    here = f.tell()
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(here)
    return size


def _tensor(r: _Reader, length: int) -> onnx.TensorProto:
    """One TensorProto of ``length`` bytes at the reader's position; large payloads skipped (see module doc)."""
    end = r.f.tell() + length
    kept = bytearray()
    big_zero: bool | None = None
    payload: tuple[int, int, int] | None = None  # (field, offset, bytes) of a skipped payload
    while r.f.tell() < end:
        field, wire, tag = r.tag()
        if (field == _T_RAW or field in _T_PACKED) and wire == 2:  # values (raw, or packed repeated numbers)
            n = r.varint()
            if n <= KEEP_BYTES:  # small ones kept, large ones skipped
                kept += tag + _varint_bytes(n) + r.read(n)
            else:
                payload = (field, r.f.tell(), n)
                big_zero = _all_zero(r.f, n)
        else:
            kept += tag + r.skip_value(wire)
    if r.f.tell() != end:
        raise ValueError("a tensor's fields overrun its length")
    t = onnx.TensorProto()
    t.ParseFromString(bytes(kept))
    if big_zero:
        t.metadata_props.add(key=ZERO_VALUES, value="1")
        if len(t.dims) >= 2:
            t.metadata_props.add(key=ZERO_MARK, value="1")
    elif payload is not None and len(t.dims) == 2:
        _mark_samples(r.f, t, *payload)
        r.f.seek(end)
    return t


#: Bytes per value of the float payloads a tie check samples: (field, data_type) -> size (``int32_data`` holds
#: float16 as varints, which cannot be sampled by position).
_FIXED_WIDTH = {(_T_RAW, onnx.TensorProto.FLOAT): 4, (_T_RAW, onnx.TensorProto.DOUBLE): 8,
                (_T_RAW, onnx.TensorProto.FLOAT16): 2, (_T_RAW, onnx.TensorProto.BFLOAT16): 2,
                (4, onnx.TensorProto.FLOAT): 4, (10, onnx.TensorProto.DOUBLE): 8}


def _mark_samples(f: BinaryIO, t: onnx.TensorProto, field: int, offset: int, n: int) -> None:
    """Mark the skipped 2-D float payload of ``t`` at ``offset`` with its values at the sampled positions, as is
    and transposed (``ir.SAMPLE_MARK``): tied weights are found by them. Nothing when all samples are equal."""
    size = _FIXED_WIDTH.get((field, t.data_type))
    rows, cols = int(t.dims[0]), int(t.dims[1])
    if size is None or rows * cols * size != n:
        return
    keys = []
    for transposed in (False, True):
        values = bytearray()
        for i in sample_positions(rows, cols, transposed):
            f.seek(offset + i * size)
            values += f.read(size)
        keys.append(bytes(values))
    if len({keys[0][i:i + size] for i in range(0, len(keys[0]), size)}) < 2:
        return  # a constant-looking weight: its samples tell nothing
    shape = (f"{rows}x{cols}", f"{cols}x{rows}")
    for key, dims, value in zip((SAMPLE_MARK, SAMPLE_T_MARK), shape, keys):
        t.metadata_props.add(key=key, value=f"{t.data_type}:{dims}:{value.hex()}")


def _graph(r: _Reader, length: int) -> onnx.GraphProto:
    end = r.f.tell() + length
    kept = bytearray()
    tensors: list[onnx.TensorProto] = []
    while r.f.tell() < end:
        field, wire, tag = r.tag()
        if field == _GRAPH_INITIALIZER and wire == 2:
            tensors.append(_tensor(r, r.varint()))
        else:
            kept += tag + r.skip_value(wire)
    if r.f.tell() != end:
        raise ValueError("the graph's fields overrun its length")
    g = onnx.GraphProto()
    g.ParseFromString(bytes(kept))
    g.initializer.extend(tensors)  # initializer order does not matter to ONNX; canonicalisation sorts anyway
    return g


def read_structure(f: BinaryIO, what: str) -> onnx.ModelProto:
    """A ``ModelProto`` of the ONNX model in the seekable binary file ``f`` with every large initializer reduced to
    its name, type and dims (plus ``ZERO_MARK`` when all zero). Raises ``ModelLoadError`` naming ``what`` when the
    bytes are not an ONNX model or end early."""
    r = _Reader(f)
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    kept = bytearray()
    graph: onnx.GraphProto | None = None
    try:
        while f.tell() < size:
            field, wire, tag = r.tag()
            if field == _MODEL_GRAPH and wire == 2:
                graph = _graph(r, r.varint())
            else:
                kept += tag + r.skip_value(wire)
        model = onnx.ModelProto()
        model.ParseFromString(bytes(kept))
    except _Truncated:
        raise ModelLoadError(f"{what}: the file ends in the middle of the model ({size} bytes); it is truncated; "
                             "copy or download it again") from None
    except Exception as e:  # a decode error of any kind: not protobuf, or not ONNX's protobuf
        raise ModelLoadError(f"{what}: not a valid ONNX file ({type(e).__name__}: {e}); the file is damaged or "
                             "is not ONNX; re-export it") from None
    if graph is None or (len(graph.node) == 0 and len(graph.output) == 0):
        raise ModelLoadError(f"{what}: not an ONNX model (no graph inside); the file is empty, truncated, or "
                             "another format")
    model.graph.CopyFrom(graph)
    return model


def is_light(model: onnx.ModelProto) -> bool:
    """Whether some initializer of ``model`` has dims but no values (read by ``read_structure`` or weight-free)."""
    from onnxnet.graph.weights import is_empty

    return any(is_empty(t) for t in model.graph.initializer)
