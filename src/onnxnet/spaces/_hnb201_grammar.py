"""hNAS-Bench-201's grammar: derivation trees, parsing, checking, sampling and the semantic form (no torch).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Union

import numpy as np

from onnxnet.errors import ArchitectureError

#: The grammar, in the reference's notation (quoted = terminal; the first terminal of an alternative is its head).
#: ``"Linear1" CONVBLOCK`` appears twice in OPS on purpose: uniform sampling over alternatives then draws a
#: convolution block with probability 2/5, as in the reference.
GRAMMAR = """
D2 -> "Linear3" D1 D1 D0 | "Linear3" D0 D1 D1 | "Linear4" D1 D1 D0 D0
D1 -> "Linear3" C C DOWN | "Linear4" C C C DOWN | "Residual3" C C DOWN DOWN
D0 -> "Linear3" C C CELL | "Linear4" C C C CELL | "Residual3" C C CELL CELL
DOWN -> "Linear2" CELL "resBlock" | "Linear3" CELL CELL "resBlock" | "Residual2" CELL "resBlock" "resBlock"
C -> "Linear2" CELL CELL | "Linear3" CELL CELL CELL | "Residual2" CELL CELL CELL
CELL -> "Cell" OPS OPS OPS OPS OPS OPS
OPS -> "id" | "zero" | "Linear1" CONVBLOCK | "Linear1" CONVBLOCK | "avg_pool"
CONVBLOCK -> "Linear3" ACT CONV NORM
CONV -> "conv3x3o" | "conv1x1o" | "dconv3x3o"
NORM -> "batch" | "instance" | "layer"
ACT -> "relu" | "hardswish" | "mish"
"""
START = "D2"

#: Edge lists of the topologies (nodes from 1; node 1 is the input, the largest node the output). The i-th child
#: of a topology sits on the i-th edge, exactly as in the reference's ``topologies.py`` and NePS.
TOPOLOGIES: dict[str, tuple[tuple[int, int], ...]] = {
    "Linear1": ((1, 2),),
    "Linear2": ((1, 2), (2, 3)),
    "Linear3": ((1, 2), (2, 3), (3, 4)),
    "Linear4": ((1, 2), (2, 3), (3, 4), (4, 5)),
    "Residual2": ((1, 2), (1, 3), (2, 3)),
    "Residual3": ((1, 2), (2, 3), (1, 4), (3, 4)),
    "Cell": ((1, 2), (1, 3), (2, 3), (1, 4), (2, 4), (3, 4)),
}
#: Terminal operations (edges of the flattened network).
PRIMITIVES: frozenset[str] = frozenset({
    "resBlock", "id", "zero", "avg_pool", "conv3x3o", "conv1x1o", "dconv3x3o",
    "batch", "instance", "layer", "relu", "hardswish", "mish",
})
ZERO = "zero"

Alternative = tuple[str, tuple[tuple[bool, str], ...]]  # (head, ((is_nonterminal, name), ...))


def _read_grammar(text: str) -> dict[str, tuple[Alternative, ...]]:
    rules: dict[str, list[Alternative]] = {}
    for line in text.strip().splitlines():
        lhs, rhs = (s.strip() for s in line.split("->"))
        for alt in rhs.split("|"):
            toks = alt.split()
            head = toks[0].strip('"')
            kids = tuple((not t.startswith('"'), t.strip('"')) for t in toks[1:])
            rules.setdefault(lhs, []).append((head, kids))
    return {k: tuple(v) for k, v in rules.items()}


RULES = _read_grammar(GRAMMAR)


@dataclass(frozen=True)
class Derivation:
    """One node of a derivation tree: ``(symbol head children...)``; children are sub-derivations or terminals."""

    symbol: str
    head: str
    children: tuple[Union["Derivation", str], ...] = ()

    def __str__(self) -> str:
        parts = [self.symbol, self.head] + [str(c) for c in self.children]
        return "(" + " ".join(parts) + ")"

    def cells(self) -> list["Derivation"]:
        """All CELL sub-derivations, in order."""
        out: list[Derivation] = [self] if self.symbol == "CELL" else []
        for c in self.children:
            if isinstance(c, Derivation):
                out += c.cells()
        return out


Child = Union[Derivation, str]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def _err(text: Any, problem: str) -> ArchitectureError:
    s = str(text)
    shown = s if len(s) <= 120 else s[:100] + " ... " + s[-15:]
    return ArchitectureError(
        f"bad hNAS-Bench-201 derivation {shown!r}: {problem}; expected a bracketed derivation of the grammar "
        "onnxnet.spaces.hnb201.GRAMMAR such as '(D2 Linear3 (D1 ...) (D1 ...) (D0 ...))' (print one with "
        "get_space('hnb201').to_string(arch))"
    )


def parse_derivation(text: str) -> Derivation:
    """Parse the bracket notation into a tree (syntax only; ``check`` validates it against the grammar)."""
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    pos = 0

    def node() -> Derivation:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos][0] != "(":
            at = tokens[pos][1] if pos < len(tokens) else len(text)
            raise _err(text, f"expected '(' at character {at}")
        pos += 1
        if pos + 1 >= len(tokens) or tokens[pos][0] in "()" or tokens[pos + 1][0] in "()":
            raise _err(text, f"a subtree at character {tokens[pos - 1][1]} needs a symbol and a head")
        symbol, head = tokens[pos][0], tokens[pos + 1][0]
        pos += 2
        kids: list[Child] = []
        while pos < len(tokens) and tokens[pos][0] != ")":
            if tokens[pos][0] == "(":
                kids.append(node())
            else:
                kids.append(tokens[pos][0])
                pos += 1
        if pos >= len(tokens):
            raise _err(text, "unbalanced brackets: missing ')'")
        pos += 1
        return Derivation(symbol, head, tuple(kids))

    tree = node()
    if pos != len(tokens):
        raise _err(text, f"unexpected text after the derivation at character {tokens[pos][1]}")
    return tree


def _match(d: Derivation) -> Alternative | None:
    for head, kids in RULES.get(d.symbol, ()):
        if head != d.head or len(kids) != len(d.children):
            continue
        if all((isinstance(c, Derivation) and nt and c.symbol == name) or (isinstance(c, str) and not nt and c == name)
               for c, (nt, name) in zip(d.children, kids)):
            return head, kids
    return None


def _is_zero(op: Child) -> bool:
    return isinstance(op, Derivation) and op.head == ZERO and not op.children


def cell_has_path(ops: tuple[Any, ...]) -> bool:
    """True if the NB201 cell (6 edge ops, ``None`` = not chosen yet) has an input-output path avoiding zero."""
    live = {1}
    for (s, t), op in zip(TOPOLOGIES["Cell"], ops):
        if s in live and not _is_zero(op):
            live.add(t)
    return 4 in live


def check(tree: Derivation, text: Any = None, symbol: str = START, strict: bool = False) -> None:
    """Raise ``ArchitectureError`` unless ``tree`` is a complete derivation from ``symbol`` (``strict``: and
    every cell has a zero-free input-output path)."""
    if tree.symbol != symbol:
        raise _err(text or tree, f"the derivation must start with {symbol!r}, not {tree.symbol!r}")

    def visit(d: Derivation) -> None:
        if d.symbol not in RULES:
            raise _err(text or tree, f"unknown symbol {d.symbol!r}; symbols are {', '.join(RULES)}")
        if _match(d) is None:
            heads = sorted({h for h, _ in RULES[d.symbol]})
            raise _err(text or tree, f"subtree {str(d)[:80]!r} matches no rule of {d.symbol} "
                                     f"(its heads are {', '.join(heads)}; check the number and kind of children)")
        if strict and d.symbol == "CELL" and not cell_has_path(d.children):
            raise _err(text or tree, f"cell {str(d)[:80]!r} has no input-to-output path without 'zero'")
        for c in d.children:
            if isinstance(c, Derivation):
                visit(c)

    visit(tree)


def sample_derivation(rng: np.random.Generator, symbol: str = START) -> Derivation:
    """Expand ``symbol`` top-down, each alternative equally likely; cell edges obey the no-zero-path constraint."""
    alts = RULES[symbol]
    head, kids = alts[int(rng.integers(len(alts)))]
    children: list[Child | None] = [None] * len(kids)
    for i, (nt, name) in enumerate(kids):
        if not nt:
            children[i] = name
            continue
        if symbol == "CELL":
            # The reference forbids 'zero' on an edge when, with the zeros drawn so far, it would cut every path.
            trial = list(children)
            trial[i] = Derivation(name, ZERO)
            if not cell_has_path(tuple(trial)):
                children[i] = _sample_nonzero(rng, name)
                continue
        children[i] = sample_derivation(rng, name)
    return Derivation(symbol, head, tuple(c for c in children if c is not None))


def _sample_nonzero(rng: np.random.Generator, symbol: str) -> Derivation:
    alts = [a for a in RULES[symbol] if a[0] != ZERO]
    head, kids = alts[int(rng.integers(len(alts)))]
    return Derivation(symbol, head, tuple(sample_derivation(rng, n) if nt else n for nt, n in kids))


def _digest(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:20]


def semantic_form(tree: Derivation) -> str:
    """A digest of what the network computes, equal for derivations that compute the same expression.

    Every feature map is an expression of the input: an op applied to an expression, or a sorted sum of
    expressions (``zero`` terms vanish; ``id`` passes its input on). Sub-expressions are hash-consed, so the
    form stays short although residual topologies duplicate paths. Identity cells in a chain, dead cell edges
    and isomorphic cells therefore collapse; different weights-bearing ops never do. As in NB201's UniqueString,
    an op on a zero input counts as zero (strictly, a normalisation then yields a learned constant: such
    input-independent branches are treated as absent).
    """

    def apply(c: Child, x: str) -> str:
        if isinstance(c, str):  # terminal on a topology edge (resBlock)
            return "#" if x == "#" else _digest(f"{c}({x})")
        if c.head in TOPOLOGIES:
            if c.symbol == "CONVBLOCK":  # one fused op: activation-conv-norm in derivation order
                name = "-".join(k.head if isinstance(k, Derivation) else k for k in c.children)
                return "#" if x == "#" else _digest(f"{name}({x})")
            nodes: dict[int, list[str]] = {1: [x]}
            values: dict[int, str] = {}
            for (s, t), child in sorted(zip(TOPOLOGIES[c.head], c.children), key=lambda e: e[0][::-1]):
                if s not in values:
                    values[s] = _sum(nodes[s])
                nodes.setdefault(t, []).append(apply(child, values[s]))
            return _sum(nodes[max(nodes)])
        if c.head == "id":
            return x
        if c.head == ZERO:
            return "#"
        return "#" if x == "#" else _digest(f"{c.head}({x})")

    return apply(tree, "x")


def _sum(terms: list[str]) -> str:
    live = sorted(t for t in terms if t != "#")
    if not live:
        return "#"
    return live[0] if len(live) == 1 else _digest("+".join(live))


@lru_cache(maxsize=None)
def count_derivations(symbol: str = START, distinct: bool = True) -> int:
    """The number of derivations from ``symbol``.

    ``distinct=True``: distinct valid architecture strings (cells obey the zero-path constraint; the repeated
    conv-block alternative counts once): about 10^375.8. ``distinct=False`` counts as the paper does (every
    alternative, repeats included, no constraint) and reproduces its size of 10^446.
    """
    if symbol == "CELL" and distinct:
        ops = count_derivations("OPS", True)  # distinct op strings, 'zero' included
        total = 0
        for mask in range(64):  # which of the 6 edges are 'zero'
            zeros = tuple(Derivation("OPS", ZERO) if mask >> i & 1 else "x" for i in range(6))
            if cell_has_path(zeros):
                total += (ops - 1) ** (6 - bin(mask).count("1"))
        return total
    alts = set(RULES[symbol]) if distinct else RULES[symbol]
    total = 0
    for _, kids in alts:
        n = 1
        for nt, name in kids:
            n *= count_derivations(name, distinct) if nt else 1
        total += n
    return total
