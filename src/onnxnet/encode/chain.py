"""The ``chain`` encoding: ONNX-Net's chain format, made lossless.

One line per *chain*: a run of nodes in canonical order where each node's only output feeds only the next
node (once) and is not a graph output. Example (NB201-style cell, abridged)::

    in x0 <1x3x32x32>
    Conv[d=1x1 g=1 k=3x3 p=1x1x1x1 s=1x1](x0,<16x3x3x3>,<16>) --> Relu = t1 <1x16x32x32>
    Conv[d=1x1 g=1 k=1x1 p=0x0x0x0 s=1x1](t1,<16x16x1x1>,<16>) = t2 <1x16x32x32>
    Add(t1,t2) = t3 <1x16x32x32>
    out t3

- ``in NAME TYPE``: graph inputs in order. ``out NAME``: graph outputs in order.
- A chain's first node lists every input slot: a tensor name, a constant (``<shape>`` or ``<i64:2=1,-1>``
  with its values when small), ``~`` for an omitted optional input. A later node omits the input that comes
  from the previous node when it is slot 0, else writes it as ``_``; it lists its other slots the same way.
- ``= NAME TYPE`` at the end of a chain names its last output (several for multi-output nodes, ``~`` for an
  omitted one) and gives its type. Tensors inside a chain are unnamed; names count node outputs in order
  (``t0, t1, ...``), so the parser recovers them, and their shapes follow by shape inference.
- A constant used by several slots is declared once (``const w3_1 <16x3x3x3>``) and referred to by name.
- Ops from custom domains are written ``domain::Op`` and always end a chain (their output types cannot be
  inferred by a reader).
- ``opset N`` is written first when the default-domain opset is not 17.

``Parts`` switch off pieces: without ``INPUTS`` no names, slots, ``in``/``out``/``const`` lines; without
``ATTRS`` no ``[...]``; without ``SHAPES`` no output types.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from onnxnet.encode.base import ENCODINGS, Encoding, Parts
from onnxnet.encode.text import fmt_attrs, fmt_type
from onnxnet.graph.export import DEFAULT_OPSET
from onnxnet.graph.ir import Graph, TensorType


def chain_nodes(graph: Graph, lo: int = 0, hi: int | None = None,
                no_link: frozenset[tuple[int, int]] = frozenset(), uses: Counter[str] | None = None
                ) -> list[list[int]]:
    """Split nodes ``lo .. hi-1`` of the canonical sequence into chains (lists of node indices).

    Node ``i`` continues the chain of node ``i-1`` when ``i-1`` has one output, used once in the whole graph,
    by ``i``, through a slot not in ``no_link``, that output is not a graph output, and both ops are in the
    default domain.
    """
    if uses is None:
        uses = Counter(x for n in graph.nodes for x in n.inputs if x)
    outs = {name for name, _ in graph.outputs}
    hi = len(graph.nodes) if hi is None else hi
    chains: list[list[int]] = []
    for i in range(lo, hi):
        n = graph.nodes[i]
        if chains:
            prev = graph.nodes[i - 1]
            if (len(prev.outputs) == 1 and prev.outputs[0] and not prev.domain and not n.domain
                    and prev.outputs[0] not in outs and uses[prev.outputs[0]] == 1
                    and any(x == prev.outputs[0] and (i, j) not in no_link for j, x in enumerate(n.inputs))):
                chains[-1].append(i)
                continue
        chains.append([i])
    return chains


@dataclass
class Context:
    """What rendering needs to know about the whole graph."""

    graph: Graph
    parts: Parts
    shared_consts: set[str]

    @classmethod
    def of(cls, graph: Graph, parts: Parts) -> "Context":
        uses = Counter(x for n in graph.nodes for x in n.inputs if x in graph.consts)
        return cls(graph, parts, {name for name, c in uses.items() if c > 1})

    def type_of(self, name: str) -> TensorType:
        t = self.graph.types.get(name)
        if t is None:
            t = next((tt for n, tt in self.graph.outputs if n == name), None)
        return t if t is not None else TensorType(0, None)


def render_slot(ctx: Context, name: str, fixed: bool = False) -> str:
    """One input slot: a tensor name (``@name`` when it is a fixed reference in a repeat), a constant, or ``~``."""
    if not name:
        return "~"
    c = ctx.graph.consts.get(name)
    if c is not None and name not in ctx.shared_consts:
        return fmt_type(c.type, c.values)
    return "@" + name if fixed else name


def render_chain(ctx: Context, chain: list[int], fixed: frozenset[tuple[int, int]] = frozenset()) -> str:
    """One chain line; ``fixed`` holds the (node, slot) pairs written as fixed references (``@t5``)."""
    g, parts = ctx.graph, ctx.parts
    pieces = []
    prev_out = None
    for i in chain:
        n = g.nodes[i]
        text = (f"{n.domain}::{n.op}" if n.domain else n.op)
        if Parts.ATTRS in parts:
            text += fmt_attrs(n.attrs)
        if Parts.INPUTS in parts:
            slots = [(x, (i, j) in fixed) for j, x in enumerate(n.inputs)]
            if prev_out is None:
                shown = [render_slot(ctx, x, f) for x, f in slots]
            elif slots and slots[0][0] == prev_out:
                shown = [render_slot(ctx, x, f) for x, f in slots[1:]]
            else:
                shown = ["_" if x == prev_out else render_slot(ctx, x, f) for x, f in slots]
            if shown or prev_out is None:
                text += "(" + ",".join(shown) + ")"
        pieces.append(text)
        prev_out = n.outputs[0] if n.outputs else None
    line = " --> ".join(pieces)
    last = g.nodes[chain[-1]]
    ends = []
    for o in last.outputs:
        item = []
        if Parts.INPUTS in parts:
            item.append(o if o else "~")
        if Parts.SHAPES in parts and o:
            item.append(fmt_type(ctx.type_of(o)))
        if item:
            ends.append(" ".join(item))
    if ends:
        line += " = " + " ".join(ends)
    return line


def render_header(ctx: Context) -> list[str]:
    g = ctx.graph
    lines = []
    opset = g.opsets.get("", DEFAULT_OPSET)
    if opset != DEFAULT_OPSET:
        lines.append(f"opset {opset}")
    if Parts.INPUTS in ctx.parts:
        lines += [f"in {name} {fmt_type(t)}" for name, t in g.inputs]
        for name in sorted(ctx.shared_consts, key=_const_order):
            c = g.consts[name]
            lines.append(f"const {name} {fmt_type(c.type, c.values)}")
    return lines


def render_footer(ctx: Context) -> list[str]:
    if Parts.INPUTS not in ctx.parts:
        return []
    return [f"out {name}" for name, _ in ctx.graph.outputs]


def _const_order(name: str) -> tuple:
    digits = "".join(c if c.isdigit() else " " for c in name).split()
    return tuple(int(d) for d in digits) + (name,)


@ENCODINGS.register("chain")
class ChainEncoding(Encoding):
    """Lossless chain format: one line per chain of single-input single-output ops (see module doc)."""

    name = "chain"
    #: 2: canonical-order and folding fixes; 3: all-zero kernels written as fills (older caches are stale)
    version = 3

    def render(self, graph: Graph, parts: Parts = Parts.ALL) -> str:
        ctx = Context.of(graph, parts)
        lines = render_header(ctx)
        lines += [render_chain(ctx, c) for c in chain_nodes(graph)]
        lines += render_footer(ctx)
        return "\n".join(lines) + "\n"
