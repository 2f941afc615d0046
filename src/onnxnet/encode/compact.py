"""The ``compact`` encoding: the chain format with repeated blocks folded, still lossless.

A block of consecutive nodes that repeats (a cell stacked N times, ResNet blocks, transformer layers) is
written once::

    repeat 3 $0=128,256,512 $1=28,14,7 {
    Conv[...](t12,<$0x64x3x3>,<$0>) --> Relu = t14 <1x$0x$1x$1>
    ...
    }

- The body is the first copy, with its real tensor names. Copy ``j`` is the body with every ``t`` name
  shifted by ``j * T`` (``T``: tensors one copy produces); ``@t7`` is a *fixed* reference (the same tensor
  in every copy, e.g. a mask computed once). Graph inputs and declared constants never shift. Names after
  the block continue from the last copy, so every edge stays explicit.
- Copies must agree on ops, attributes, constant values, ranks and wiring; dimensions may differ (channels
  and resolution across ResNet stages). A dimension that differs is a variable ``$k`` whose value in each
  copy the header lists (``$0=128,256,512``). Variables are numbered through the whole text.
- A chain never crosses a block border, and never links through a fixed reference.

Detection runs on the canonical node sequence (``onnxnet.graph.canonical`` orders every copy of a block the
same way). For each period ``L`` a vectorised scan marks nodes equal to the node ``L`` later; runs of at least
``L`` marks are candidates; each is checked (every reference consistently shifted or fixed over all copies)
and candidates are taken by nodes saved, never overlapping. Blocks nest: a folded body is scanned again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from onnxnet.encode.base import ENCODINGS, Parts
from onnxnet.encode.chain import (ChainEncoding, Context, chain_nodes, render_chain, render_footer,
                                  render_header)
from onnxnet.encode.text import fmt_attrs
from onnxnet.graph.ir import Graph, TensorType, TensorValue

#: Fold a block only if its extra copies hold at least this many nodes (smaller folds cost more than they save).
MIN_SAVED_NODES = 6
#: Blocks nest at most this deep.
MAX_DEPTH = 3


@dataclass
class Repeat:
    """Nodes ``start .. start + length * count - 1`` are ``count`` copies of ``length`` nodes."""

    start: int
    length: int
    count: int
    fixed: frozenset[tuple[int, int]]  # (node, slot) in the first copy written as fixed references
    variables: list[tuple[list[int], tuple[int, ...]]] = field(default_factory=list)  # (dim positions, values)
    inner: list["Repeat"] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.length * self.count


def _tid(name: str) -> int:
    return int(name[1:]) if len(name) > 1 and name[0] == "t" and name[1:].isdigit() else -1


class _NodeTable:
    """Per-node structure labels, tensor references and dimensions, as arrays for fast period scans."""

    def __init__(self, ctx: Context) -> None:
        g = ctx.graph
        self.ctx = ctx
        n_nodes = len(g.nodes)
        label_ids: dict[str, int] = {}
        labels = np.zeros(n_nodes, dtype=np.int64)
        refs: list[list[int]] = []
        self.ref_slots: list[list[tuple[int, int]]] = []
        self.dims: list[list[int]] = []  # every integer dim of the node's constants and outputs, in order
        tstart = np.zeros(n_nodes + 1, dtype=np.int64)
        next_t = 0
        for i, n in enumerate(g.nodes):
            tstart[i] = next_t
            parts = [n.domain, n.op, fmt_attrs(n.attrs)]
            r: list[int] = []
            rs: list[tuple[int, int]] = []
            dims: list[int] = []
            for j, x in enumerate(n.inputs):
                if x in g.consts and x not in ctx.shared_consts:
                    c = g.consts[x]
                    parts.append(_shape_key(c.type, dims) + repr(c.values))
                elif _tid(x) >= 0:
                    parts.append("R")
                    r.append(_tid(x))
                    rs.append((i, j))
                else:
                    parts.append(x or "~")  # graph input, shared constant, omitted slot: never shifts
            for o in n.outputs:
                parts.append(_shape_key(ctx.type_of(o), dims) if o else "~")
            next_t += sum(1 for o in n.outputs if o)
            labels[i] = label_ids.setdefault("|".join(parts), len(label_ids))
            refs.append(r)
            self.ref_slots.append(rs)
            self.dims.append(dims)
        tstart[n_nodes] = next_t
        self.labels, self.tstart = labels, tstart
        width = max((len(r) for r in refs), default=0)
        self.refs = np.full((n_nodes, max(width, 1)), -1, dtype=np.int64)
        for i, r in enumerate(refs):
            self.refs[i, :len(r)] = r

    def runs(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(start, end, period): maximal stretches inside ``[lo, hi)`` with period ``L`` holding >= 2 copies."""
        out = []
        labels, refs, tstart = self.labels[lo:hi], self.refs[lo:hi], self.tstart[lo:hi + 1]
        n = hi - lo
        for L in range(1, n // 2 + 1):
            eq = labels[:-L] == labels[L:]
            if eq.sum() < L:
                continue
            T = tstart[L:n] - tstart[:n - L]
            d = refs[L:] - refs[:-L]
            match = eq & ((d == T[:, None]) | (d == 0)).all(axis=1)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], match.astype(np.int8), [0]])))
            for s, e in zip(edges[::2], edges[1::2]):
                if e - s >= L:
                    out.append((lo + int(s), lo + int(e) + L, L))
        return out

    def validate(self, start: int, L: int, count: int) -> tuple[int, frozenset[tuple[int, int]]]:
        """Largest ``k <= count`` for which every reference is consistently shifted or fixed, and the fixed slots."""
        T = int(self.tstart[start + L] - self.tstart[start])
        fixed: set[tuple[int, int]] = set()
        k = count
        for i in range(start, start + L):
            slots = self.ref_slots[i]
            for q in range(len(slots)):
                r0 = int(self.refs[i, q])
                is_fixed = int(self.refs[i + L, q]) == r0
                for j in range(1, k):
                    if int(self.refs[i + j * L, q]) != (r0 if is_fixed else r0 + j * T):
                        k = j
                        break
                if is_fixed:
                    fixed.add(slots[q])
        return k, frozenset(fixed)

    def variables(self, start: int, L: int, k: int) -> list[tuple[list[int], tuple[int, ...]]] | None:
        """Dimensions that differ between copies, grouped by their value sequence: [(positions, values)].
        A position is ``(node offset in the block) * 2**20 + dim index`` (dims of one node, in order)."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for off in range(L):
            copies = [self.dims[start + off + j * L] for j in range(k)]
            if any(len(c) != len(copies[0]) for c in copies):
                return None
            for q in range(len(copies[0])):
                vals = tuple(c[q] for c in copies)
                if any(v != vals[0] for v in vals):
                    groups.setdefault(vals, []).append(off * (1 << 20) + q)
        return [(pos, vals) for vals, pos in groups.items()]


def _shape_key(t: TensorType, dims: list[int]) -> str:
    """Structure key of a type with integer dims abstracted (collected into ``dims``)."""
    if t.shape is None:
        return f"{t.dtype}:*"
    out = []
    for d in t.shape:
        if isinstance(d, int):
            dims.append(d)
            out.append("#")
        else:
            out.append(str(d))
    return f"{t.dtype}:" + "x".join(out)


def find_repeats(table: _NodeTable, lo: int, hi: int, depth: int = 0) -> list[Repeat]:
    """Non-overlapping repeats inside nodes ``[lo, hi)``, most nodes saved first; folded bodies are scanned
    again for inner repeats (without fixed references or variables of their own, so nesting stays exact)."""
    if hi - lo < 4:
        return []
    cands = sorted(((((e - s) // L - 1) * L, -L, -s, s, e, L) for s, e, L in table.runs(lo, hi)), reverse=True)
    taken = np.zeros(hi - lo, dtype=bool)
    chosen: list[Repeat] = []
    for saved, _, _, s, e, L in cands:
        if saved < MIN_SAVED_NODES:
            break
        free = ~taken[s - lo:e - lo]
        if not free.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], free.astype(np.int8), [0]])))
        fs, fe = max(zip(edges[::2], edges[1::2]), key=lambda p: p[1] - p[0])
        start, stop = s + int(fs), s + int(fe)
        while stop - start >= 2 * L:
            k, fixed = table.validate(start, L, (stop - start) // L)
            if k >= 2 and (k - 1) * L >= MIN_SAVED_NODES:
                variables = table.variables(start, L, k)
                if variables is not None:
                    chosen.append(Repeat(start, L, k, fixed, variables))
                    taken[start - lo:start - lo + k * L] = True
                    break
            start += 1
    chosen.sort(key=lambda r: r.start)
    if depth + 1 < MAX_DEPTH:
        for r in chosen:
            inner = find_repeats(table, r.start, r.start + r.length, depth + 1)
            r.inner = [x for x in inner if _nestable(table, r, x)]
    return chosen


def _nestable(table: _NodeTable, outer: Repeat, inner: Repeat) -> bool:
    """An inner block is exact inside every outer copy if it has no fixed references or variables of its
    own, no outer fixed reference falls inside it, and the outer variables agree across its copies."""
    if inner.fixed or inner.variables:
        return False
    if any(inner.start <= node < inner.end for node, _ in outer.fixed):
        return False
    where: dict[int, int] = {}
    for v, (positions, _) in enumerate(outer.variables):
        for p in positions:
            where[p] = v
    base = inner.start - outer.start
    for off in range(inner.length):
        n_dims = len(table.dims[inner.start + off])
        for q in range(n_dims):
            first = where.get((base + off) * (1 << 20) + q, -1)
            for j in range(1, inner.count):
                if where.get((base + off + j * inner.length) * (1 << 20) + q, -1) != first:
                    return False
    return True


class _Renderer:
    def __init__(self, ctx: Context, table: _NodeTable) -> None:
        self.ctx, self.table = ctx, table
        self.uses: Counter[str] = Counter(x for n in ctx.graph.nodes for x in n.inputs if x)
        self.next_var = 0

    def segment(self, lo: int, hi: int, repeats: list[Repeat], fixed: frozenset[tuple[int, int]],
                ctx: Context) -> list[str]:
        lines: list[str] = []
        pos = lo
        for r in repeats:
            lines += self._plain(pos, r.start, fixed, ctx)
            lines += self._block(r, fixed, ctx)
            pos = r.end
        lines += self._plain(pos, hi, fixed, ctx)
        return lines

    def _plain(self, lo: int, hi: int, fixed: frozenset[tuple[int, int]], ctx: Context) -> list[str]:
        if lo >= hi:
            return []
        chains = chain_nodes(ctx.graph, lo, hi, fixed, self.uses)
        return [render_chain(ctx, c, fixed) for c in chains]

    def _block(self, r: Repeat, outer_fixed: frozenset[tuple[int, int]], ctx: Context) -> list[str]:
        names = []
        subst: dict[int, str] = {}
        header = f"repeat {r.count}"
        show_vars = bool(ctx.parts & (Parts.INPUTS | Parts.SHAPES))
        for positions, values in (r.variables if show_vars else []):
            var = f"${self.next_var}"
            self.next_var += 1
            names.append(var)
            header += f" {var}=" + ",".join(str(v) for v in values)
            for p in positions:
                subst[r.start * (1 << 20) + p] = var
        body_ctx = self._substituted(ctx, r, subst) if subst else ctx
        fixed = outer_fixed | r.fixed
        lines = [header + " {"]
        lines += self.segment(r.start, r.start + r.length, r.inner, fixed, body_ctx)
        lines.append("}")
        return lines

    def _substituted(self, ctx: Context, r: Repeat, subst: dict[int, str]) -> Context:
        """A context whose types for the block's first copy show variables instead of varying dims."""
        g = ctx.graph
        consts = dict(g.consts)
        types = dict(g.types)
        outputs = list(g.outputs)
        out_index = {name: k for k, (name, _) in enumerate(outputs)}
        for i in range(r.start, r.start + r.length):
            n = g.nodes[i]
            q = 0
            base = i * (1 << 20)

            def sub(t: TensorType) -> TensorType:
                nonlocal q
                if t.shape is None:
                    return t
                dims = []
                for d in t.shape:
                    if isinstance(d, int):
                        dims.append(subst.get(base + q, d))
                        q += 1
                    else:
                        dims.append(d)
                return TensorType(t.dtype, tuple(dims))

            for x in n.inputs:
                if x in g.consts and x not in ctx.shared_consts:
                    c = g.consts[x]
                    consts[x] = TensorValue(sub(c.type), c.values)
            for o in n.outputs:
                if o:
                    t = sub(ctx.type_of(o))
                    types[o] = t
                    if o in out_index:
                        outputs[out_index[o]] = (o, t)
        view = Graph(inputs=g.inputs, outputs=outputs, consts=consts, nodes=g.nodes, types=types, opsets=g.opsets)
        return Context(view, ctx.parts, ctx.shared_consts)


@ENCODINGS.register("compact")
class CompactEncoding(ChainEncoding):
    """The chain format with repeated blocks written once with ``repeat N { ... }`` (see module doc)."""

    name = "compact"
    #: 2: canonical-order and folding fixes; 3: all-zero kernels written as fills (older caches are stale)
    version = 3

    def render(self, graph: Graph, parts: Parts = Parts.ALL) -> str:
        ctx = Context.of(graph, parts)
        table = _NodeTable(ctx)
        repeats = find_repeats(table, 0, len(graph.nodes))
        r = _Renderer(ctx, table)
        lines = render_header(ctx) + r.segment(0, len(graph.nodes), repeats, frozenset(), ctx) + render_footer(ctx)
        return "\n".join(lines) + "\n"
