"""The small lexical pieces of the text format, shared by the renderers and the parser.

- shape: ``<1x3x32x32>``; element type prefix when not float32: ``<i64:2>``; scalar ``<>``; unknown rank
  ``<*>``; unknown dim ``?``; symbolic dims keep their canonical names (``d0``, ``d1``, ...); ``$3`` is a
  variable of a ``repeat`` block (compact encoding).
- constant: a shape with its values when they are kept: ``<i64:2=1,-1>``, ``<=1e-05>``.
- attribute values: int ``3``; float ``0.5`` (always has ``.``/``e``/``inf``/``nan``); ints ``3x3`` (one
  element ``[3]``, none ``[]``); floats ``[0.5,1.0]`` (none ``f[]``); string ``nearest`` or JSON-quoted when it
  is not a plain identifier; strings: JSON list (none ``s[]``); tensor ``T<f32:2=0.5,1.0>``.
- attribute names: ``kernel_shape``, ``strides``, ``pads``, ``dilations`` and ``group`` are written ``k``, ``s``,
  ``p``, ``d`` and ``g``; every other name is written in full.
"""

from __future__ import annotations

import json
import re

import numpy as np
import onnx

from onnxnet.errors import EncodingError
from onnxnet.graph.ir import DTYPE_CODES, DTYPE_NAMES, FLOAT_DTYPES, TensorType, TensorValue, Value

ATTR_SHORT = {"kernel_shape": "k", "strides": "s", "pads": "p", "dilations": "d", "group": "g"}
ATTR_LONG = {v: k for k, v in ATTR_SHORT.items()}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_INT = re.compile(r"^-?\d+$")
_INTS = re.compile(r"^-?\d+(?:x-?\d+)+$")
_SYMBOL = re.compile(r"^[A-Za-wyz_][A-Za-wyz0-9_]*$")  # symbolic dim names cannot contain 'x'
_VAR = re.compile(r"^\$\d+$")  # a repeat variable of the compact encoding
F32 = onnx.TensorProto.FLOAT


def fmt_float(v: float, dtype: int = F32) -> str:
    """Shortest text that reads back to the same value (float32 unless ``dtype`` is wider)."""
    if dtype == onnx.TensorProto.DOUBLE:
        s = repr(float(v))
    else:
        s = str(np.float32(v))
    if s in ("inf", "-inf", "nan"):
        return s
    if not any(c in s for c in ".en"):
        s += ".0"
    return s


def parse_float(s: str, dtype: int = F32) -> float:
    return float(s) if dtype == onnx.TensorProto.DOUBLE else float(np.float32(s))


def fmt_dim(d: object) -> str:
    if d is None:
        return "?"
    if isinstance(d, int):
        return str(d)
    if not (_SYMBOL.match(str(d)) or _VAR.match(str(d))):
        raise EncodingError(f"symbolic dimension {d!r} cannot be written (use load_model, which renames them d0, d1, ...)")
    return str(d)


def fmt_type(t: TensorType, values: tuple | None = None) -> str:
    """``<[dtype:]dims[=values]>``."""
    prefix = "" if t.dtype == F32 else f"{DTYPE_NAMES.get(t.dtype, str(t.dtype))}:"
    dims = "*" if t.shape is None else "x".join(fmt_dim(d) for d in t.shape)
    body = prefix + dims
    if values is not None:
        body += "=" + fmt_values(values, t.dtype)
    return f"<{body}>"


def fmt_values(values: tuple, dtype: int) -> str:
    if dtype == onnx.TensorProto.STRING:
        return json.dumps(list(values), separators=(",", ":"))
    if dtype in FLOAT_DTYPES:
        return ",".join(fmt_float(v, dtype) for v in values)
    return ",".join(str(int(v)) for v in values)


def parse_type(s: str, where: str) -> tuple[TensorType, tuple | None]:
    """Inverse of ``fmt_type`` (``s`` includes the angle brackets)."""
    if not (s.startswith("<") and s.endswith(">")):
        raise EncodingError(f"{where}: expected a type like <1x3x32x32>, got {s!r}")
    body = s[1:-1]
    values_text = None
    if "=" in body:
        body, values_text = body.split("=", 1)
    dtype = F32
    if ":" in body:
        name, body = body.split(":", 1)
        if name not in DTYPE_CODES:
            if name.isdigit():
                dtype = int(name)
            else:
                raise EncodingError(f"{where}: unknown element type {name!r} in {s!r}")
        else:
            dtype = DTYPE_CODES[name]
    shape: tuple | None
    if body == "*":
        shape = None
    elif body == "":
        shape = ()
    else:
        dims: list = []
        for d in body.split("x"):
            if d == "?":
                dims.append(None)
            elif _INT.match(d):
                dims.append(int(d))
            elif _SYMBOL.match(d) or _VAR.match(d):
                dims.append(d)
            else:
                raise EncodingError(f"{where}: bad dimension {d!r} in {s!r}")
        shape = tuple(dims)
    values = None
    if values_text is not None:
        if dtype == onnx.TensorProto.STRING:
            values = tuple(json.loads(values_text))
        elif values_text == "":
            values = ()
        elif dtype in FLOAT_DTYPES:
            values = tuple(parse_float(v, dtype) for v in values_text.split(","))
        else:
            values = tuple(int(v) for v in values_text.split(","))
    return TensorType(dtype, shape), values


def fmt_attr_value(v: Value) -> str:
    if isinstance(v, TensorValue):
        return "T" + fmt_type(v.type, v.values)
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, str):
        if _IDENT.match(v) and v not in ("inf", "nan") and not v.startswith("T<"):
            return v
        return json.dumps(v)
    if isinstance(v, tuple) and v:
        kind, vals = v[0], v[1:]
        if kind == "ints":
            if len(vals) >= 2:
                return "x".join(str(x) for x in vals)
            return "[" + ",".join(str(x) for x in vals) + "]"
        if kind == "floats":
            return "[" + ",".join(fmt_float(x) for x in vals) + "]" if vals else "f[]"
        if kind == "strings":
            return json.dumps(list(vals), separators=(",", ":")) if vals else "s[]"
    raise EncodingError(f"cannot write attribute value {v!r}")


def parse_attr_value(s: str, where: str) -> Value:
    """Inverse of ``fmt_attr_value``."""
    if s.startswith("T<"):
        t, values = parse_type(s[1:], where)
        return TensorValue(t, values)
    if _INT.match(s):
        return int(s)
    if _INTS.match(s):
        return ("ints",) + tuple(int(x) for x in s.split("x"))
    if s == "[]":
        return ("ints",)
    if s == "f[]":
        return ("floats",)
    if s == "s[]":
        return ("strings",)
    if s.startswith('["'):
        return ("strings",) + tuple(json.loads(s))
    if s.startswith("["):
        items = s[1:-1].split(",")
        if all(_INT.match(x) for x in items):
            return ("ints",) + tuple(int(x) for x in items)
        return ("floats",) + tuple(parse_float(x) for x in items)
    if s.startswith('"'):
        return json.loads(s)
    if s in ("inf", "-inf", "nan") or re.match(r"^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$", s):
        return parse_float(s)
    if _IDENT.match(s):
        return s
    raise EncodingError(f"{where}: cannot read attribute value {s!r}")


def fmt_attrs(attrs: dict[str, Value]) -> str:
    """``[k=3x3 s=1x1 ...]`` in sorted order of the full attribute names ('' when there are none)."""
    if not attrs:
        return ""
    return "[" + " ".join(f"{ATTR_SHORT.get(k, k)}={fmt_attr_value(v)}" for k, v in sorted(attrs.items())) + "]"
