"""Read the ``chain`` and ``compact`` texts back into a ``Graph`` (lossless when all parts are shown).

The compact format is the chain format plus ``repeat N {`` ... ``}`` blocks, so one parser reads both.
Tensor names inside chains, constant names and the shapes of unnamed tensors are recovered exactly as
``load_model`` would produce them (names count node outputs in order; shapes come from ONNX shape inference).
"""

from __future__ import annotations

import re
from typing import Iterator
from dataclasses import dataclass, field

import onnx

from onnxnet.encode.text import ATTR_LONG, parse_attr_value, parse_type
from onnxnet.errors import EncodingError
from onnxnet.graph.ir import Graph, Node, TensorType, TensorValue, tensor_type

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OP = re.compile(r"^(?:([A-Za-z0-9_.]+)::)?([A-Za-z_][A-Za-z0-9_]*)")
_REPEAT = re.compile(r"^repeat\s+(\d+)((?:\s+\$\d+=-?\d+(?:,-?\d+)*)*)\s*\{$")
_TREF = re.compile(r"^t(\d+)$")
#: ``opset 13``, ``in x0 <1x3x32x32>``, ``const w3_1 <16>``, ``out t57``
_DECL = re.compile(r"^(opset|in|const|out) ([A-Za-z0-9_]+)(?: (<.*>))?$")


@dataclass
class _Slot:
    kind: str  # "prev" | "none" | "const" | "ref"
    name: str = ""
    fixed: bool = False
    type: TensorType | None = None
    values: tuple | None = None


@dataclass
class _NodeAst:
    op: str
    domain: str
    attrs: dict
    slots: list[_Slot] | None  # None: a follower with only the chained input


@dataclass
class _ChainAst:
    line: int
    nodes: list[_NodeAst]
    ends: list[tuple[str, TensorType | None]]  # (name or "" for omitted, type)

    def n_tensors(self) -> int:
        return len(self.nodes) - 1 + sum(1 for name, _ in self.ends if name)


@dataclass
class _RepeatAst:
    line: int
    count: int
    body: list = field(default_factory=list)
    variables: dict[str, list[int]] = field(default_factory=dict)

    def n_tensors(self) -> int:
        return self.count * sum(item.n_tensors() for item in self.body)


def _structure(s: str, start: int = 0) -> Iterator[tuple[int, int, int]]:
    """``(index, depth before, depth after)`` of every character of ``s`` from ``start`` that lies outside JSON
    strings (bracket depth relative to ``start``). The ``>`` of a ``-->`` arrow is not a bracket."""
    depth, quote, i = 0, False, start
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            quote = c != '"'
        elif s.startswith("-->", i):
            for k in range(3):
                yield i + k, depth, depth
            i += 3
            continue
        elif c == '"':
            quote = True
        else:
            before, depth = depth, depth + (c in "[(<{") - (c in "])>}")
            yield i, before, depth
        i += 1


def split_top(s: str, sep: str) -> list[str]:
    """Split ``s`` on ``sep`` outside brackets and JSON strings."""
    out, start = [], 0
    for i, depth, _ in _structure(s):
        if i >= start and depth == 0 and s.startswith(sep, i):
            out.append(s[start:i])
            start = i + len(sep)
    out.append(s[start:])
    return out


def _closing(s: str, i: int, where: str) -> int:
    """Index just past the bracket group that opens at ``s[i]``."""
    for j, _, depth in _structure(s, i):
        if depth == 0:
            return j + 1
    raise EncodingError(f"{where}: unbalanced bracket in {s!r}")


def _parse_node(text: str, where: str, head: bool) -> _NodeAst:
    text = text.strip()
    m = _OP.match(text)
    if not m:
        raise EncodingError(f"{where}: expected an op type, got {text!r}")
    domain, op = m.group(1) or "", m.group(2)
    i = m.end()
    attrs: dict = {}
    if i < len(text) and text[i] == "[":
        j = _closing(text, i, where)
        for item in split_top(text[i + 1:j - 1], " "):
            if not item:
                continue
            if "=" not in item:
                raise EncodingError(f"{where}: attribute {item!r} of {op} has no '='")
            k, v = item.split("=", 1)
            attrs[ATTR_LONG.get(k, k)] = parse_attr_value(v, where)
        i = j
    slots = None
    if i < len(text) and text[i] == "(":
        j = _closing(text, i, where)
        inner = text[i + 1:j - 1]
        slots = [_parse_slot(s.strip(), where) for s in split_top(inner, ",")] if inner else []
        i = j
    if i != len(text):
        raise EncodingError(f"{where}: unexpected text {text[i:]!r} after {op}")
    if head and slots is None:
        slots = []
    return _NodeAst(op, domain, attrs, slots)


def _parse_slot(s: str, where: str) -> _Slot:
    if s == "_":
        return _Slot("prev")
    if s == "~":
        return _Slot("none")
    if s.startswith("<"):
        t, values = parse_type(s, where)
        return _Slot("const", type=t, values=values)
    fixed = s.startswith("@")
    name = s[1:] if fixed else s
    if not _NAME.match(name):
        raise EncodingError(f"{where}: bad input {s!r}")
    return _Slot("ref", name=name, fixed=fixed)


def _parse_chain(line: str, where: str) -> _ChainAst:
    parts = split_top(line, " = ")
    if len(parts) != 2:
        raise EncodingError(f"{where}: a chain line must end with ' = NAME <type>' (the text must show the "
                            f"'inputs' part to be parsed): {line!r}")
    body, end = parts
    nodes = [_parse_node(p, where, k == 0) for k, p in enumerate(split_top(body, " --> "))]
    ends: list[tuple[str, TensorType | None]] = []
    for tok in split_top(end.strip(), " "):
        if not tok:
            continue
        if tok.startswith("<"):
            if not ends:
                raise EncodingError(f"{where}: type {tok!r} before any output name")
            ends[-1] = (ends[-1][0], parse_type(tok, where)[0])
        elif tok == "~" or _NAME.match(tok):
            ends.append(("" if tok == "~" else tok, None))
        else:
            raise EncodingError(f"{where}: bad output {tok!r}")
    if not ends:
        raise EncodingError(f"{where}: no output names after '='")
    return _ChainAst(0, nodes, ends)


class _Builder:
    """Unrolls the parsed items into a ``Graph``."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.next_t = 0
        self.end_types: dict[str, TensorType] = {}
        self.known: set[str] = set()

    def emit(self, items: list, shift: int, check_names: bool, env: dict[str, int]) -> None:
        for item in items:
            if isinstance(item, _RepeatAst):
                per = sum(it.n_tensors() for it in item.body)
                for j in range(item.count):
                    inner = dict(env)
                    inner.update({v: vals[j] for v, vals in item.variables.items()})
                    self.emit(item.body, shift + j * per, check_names and j == 0, inner)
            else:
                self.emit_chain(item, shift, check_names, env)

    @staticmethod
    def _bind(t: TensorType | None, env: dict[str, int], where: str) -> TensorType | None:
        if t is None or t.shape is None or not any(isinstance(d, str) and d.startswith("$") for d in t.shape):
            return t
        try:
            return TensorType(t.dtype, tuple(env[d] if isinstance(d, str) and d.startswith("$") else d
                                             for d in t.shape))
        except KeyError as e:
            raise EncodingError(f"{where}: variable {e.args[0]} is not defined by an enclosing 'repeat'") from None

    def _ref(self, slot: _Slot, shift: int, where: str) -> str:
        name = slot.name
        m = _TREF.match(name)
        if m and not slot.fixed and shift:
            name = f"t{int(m.group(1)) + shift}"
        if name not in self.known:
            raise EncodingError(f"{where}: input {name!r} is used before it is defined")
        return name

    def emit_chain(self, chain: _ChainAst, shift: int, check_names: bool, env: dict[str, int]) -> None:
        where = f"line {chain.line}"
        g = self.graph
        prev = None
        for k, na in enumerate(chain.nodes):
            idx = len(g.nodes)
            inputs: list[str] = []
            slots = na.slots
            if slots is None:
                slots = [_Slot("prev")]
            elif k > 0 and not any(s.kind == "prev" for s in slots):
                slots = [_Slot("prev")] + slots
            for j, s in enumerate(slots):
                if s.kind == "prev":
                    if prev is None:
                        raise EncodingError(f"{where}: '_' in the first node of a chain")
                    inputs.append(prev)
                elif s.kind == "none":
                    inputs.append("")
                elif s.kind == "const":
                    name = f"w{idx}_{j}"
                    g.consts[name] = TensorValue(self._bind(s.type, env, where), s.values)  # type: ignore[arg-type]
                    inputs.append(name)
                else:
                    inputs.append(self._ref(s, shift, where))
            last = k == len(chain.nodes) - 1
            if not last:
                outputs = [f"t{self.next_t}"]
                self.next_t += 1
            else:
                outputs = []
                for name, t in chain.ends:
                    if not name:
                        outputs.append("")
                        continue
                    expect = f"t{self.next_t}"
                    if check_names and name != expect:
                        raise EncodingError(f"{where}: output is named {name!r} but it is tensor {expect!r} "
                                            "(names count node outputs in order)")
                    self.next_t += 1
                    outputs.append(expect)
                    if t is not None:
                        self.end_types[expect] = self._bind(t, env, where)  # type: ignore[assignment]
            self.known.update(o for o in outputs if o)
            g.nodes.append(Node(na.op, na.domain, dict(na.attrs), inputs, outputs))
            prev = outputs[0] if outputs else None


def parse(text: str) -> Graph:
    """Read a ``chain`` or ``compact`` text (with at least the ``inputs`` part) back into a ``Graph``.

    Raises ``EncodingError`` naming the line and the problem.
    """
    b = _Builder()
    g = b.graph
    g.opsets[""] = 17
    stack: list[list] = [[]]
    repeats: list[_RepeatAst] = []
    outputs: list[str] = []
    const_decl: dict[str, TensorValue] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"line {lineno}"
        if not line:
            continue
        if line.startswith("... [") and line.endswith("omitted] ..."):
            raise EncodingError(f"{where}: the text was cut by the length policy ({line}); it cannot be parsed back")
        decl = _DECL.match(line)
        if decl:
            kind, name, t = decl.groups()
            if (kind in ("in", "const")) != (t is not None) or (kind == "opset" and not name.isdigit()):
                raise EncodingError(f"{where}: malformed declaration {line!r}")
            if kind == "opset":
                g.opsets[""] = int(name)
            elif kind == "in":
                g.inputs.append((name, parse_type(t, where)[0]))
                b.known.add(name)
            elif kind == "const":
                tt, values = parse_type(t, where)
                const_decl[name] = TensorValue(tt, values)
                b.known.add(name)
            else:
                outputs.append(name)
        elif line.startswith("repeat ") and _REPEAT.match(line):
            m = _REPEAT.match(line)
            r = _RepeatAst(lineno, int(m.group(1)))  # type: ignore[union-attr]
            for item in (m.group(2) or "").split():  # type: ignore[union-attr]
                var, vals = item.split("=")
                r.variables[var] = [int(v) for v in vals.split(",")]
                if len(r.variables[var]) != r.count:
                    raise EncodingError(f"{where}: {var} has {len(r.variables[var])} values for {r.count} copies")
            stack[-1].append(r)
            stack.append(r.body)
            repeats.append(r)
        elif line == "}":
            if len(stack) == 1:
                raise EncodingError(f"{where}: '}}' without 'repeat'")
            stack.pop()
            repeats.pop()
        else:
            chain = _parse_chain(line, where)
            chain.line = lineno
            stack[-1].append(chain)
    if len(stack) != 1:
        raise EncodingError(f"line {repeats[-1].line}: 'repeat' block is not closed with '}}'")
    if not stack[0]:
        raise EncodingError("no chains in the text: nothing to parse")
    g.consts.update(const_decl)
    b.emit(stack[0], 0, True, {})
    for name, t in b.end_types.items():
        if t.shape is not None:
            g.types[name] = t
    for name in outputs:
        t = b.end_types.get(name) or next((tt for n, tt in g.inputs if n == name), None)
        if t is None and name in g.consts:
            t = g.consts[name].type
        if name not in b.known and name not in g.consts:
            raise EncodingError(f"output {name!r} is not defined in the text")
        g.outputs.append((name, t if t is not None else TensorType(0, None)))
    _order_consts(g)
    _infer_types(g)
    return g


def _order_consts(g: Graph) -> None:
    """Constants in first-use order, as ``load_model`` lists its initializers (declared ones included)."""
    order: dict[str, TensorValue] = {}
    for n in g.nodes:
        for x in n.inputs:
            if x in g.consts and x not in order:
                order[x] = g.consts[x]
    for k, v in g.consts.items():
        order.setdefault(k, v)
    g.consts = order


def _infer_types(g: Graph) -> None:
    """Fill the types of unnamed tensors by ONNX shape inference (printed types are kept as written)."""
    try:
        model = g.to_onnx()
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:
        return

    produced = {o for n in g.nodes for o in n.outputs if o}
    for vi in inferred.graph.value_info:
        if vi.name in produced and vi.name not in g.types:
            t = tensor_type(vi.type)
            if t.shape is not None:
                g.types[vi.name] = t
