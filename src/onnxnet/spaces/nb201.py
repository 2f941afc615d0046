"""NAS-Bench-201 / NATS-Bench topology search space (Dong & Yang, ICLR 2020).

A cell is a 4-node DAG with 6 edges, each one of 5 operations: 5^6 = 15,625 cell strings. The network is
NB201's TinyNetwork: a 3x3 conv stem (16 channels), three stages of 5 identical cells (16, 32, 64 channels)
joined by residual reduction blocks, BN + ReLU, global average pooling and a linear classifier.

Architectures are tuples of 6 operation names in cell-string edge order: (0->1), (0->2), (1->2), (0->3), (1->3),
(2->3). ``parse`` also takes NASLib op-index tuples (as tuples or as their string form ``"(4, 3, 3, 0, 0, 0)"``).
"""

from __future__ import annotations

import ast
import itertools
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Hashable, Iterator, Sequence

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces.base import SPACES, SearchSpace

#: The operations, in NAS-Bench-201's own order.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Edges ``(source, target)`` in cell-string order; nodes numbered 0 (input) to 3 (output).
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NASLib op ids: ``0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3``.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib tuple position k holds the edge ``NASLIB_EDGES[k]`` (0-based nodes).
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_NASLIB_TO_CELL = [EDGES.index(e) for e in NASLIB_EDGES]  # NASLib position k -> cell-string position

Arch = tuple[str, ...]

_CELL_RE = re.compile(r"^\|[^|]+\|\+\|[^|]+\|[^|]+\|\+\|[^|]+\|[^|]+\|[^|]+\|$")


def _err(text: Any, problem: str) -> ArchitectureError:
    return ArchitectureError(
        f"bad NAS-Bench-201 architecture {text!r}: {problem}; expected a cell string like "
        "'|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|' "
        "or a NASLib op-index tuple of 6 ints in 0-4 such as (4, 3, 3, 0, 0, 0)"
    )


def parse_cell_string(text: str, ops: Sequence[str] = OPS, space: str = "NAS-Bench-201") -> Arch:
    """Parse ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` into 6 op names (shared by NB201-style spaces)."""
    s = text.strip()
    if not _CELL_RE.match(s):
        raise ArchitectureError(
            f"bad {space} cell string {text!r}: expected 3 '+'-separated nodes with 1, 2 and 3 '|op~input|' "
            "edges, like '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|'"
        )
    out: list[str] = []
    for node, part in enumerate(s.split("+"), start=1):
        for want_src, item in enumerate(p for p in part.split("|") if p):
            op, sep, src = item.rpartition("~")
            if not sep or not src.isdigit():
                raise ArchitectureError(f"bad {space} cell string {text!r}: edge {item!r} is not 'op~input'")
            if int(src) != want_src:
                raise ArchitectureError(
                    f"bad {space} cell string {text!r}: node {node} edge {item!r} should come from node {want_src}"
                )
            if op not in ops:
                raise ArchitectureError(
                    f"bad {space} cell string {text!r}: unknown operation {op!r}; choose from {', '.join(ops)}"
                )
            out.append(op)
    return tuple(out)


def cell_string(arch: Sequence[str]) -> str:
    """``(op01, op02, op12, op03, op13, op23)`` -> ``|op01~0|+|op02~0|op12~1|+|op03~0|op13~1|op23~2|``."""
    a = list(arch)
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


def unique_string(arch: Sequence[str]) -> str:
    """NAS-Bench-201's ``to_unique_str(consider_zero=True)``: the ``UniqueString`` of the published tables.

    Each node becomes the sorted '+'-sum of its inputs' expressions; ``skip_connect`` passes the input's
    expression through and ``none`` (or an input that is itself exactly zero) gives ``#``.
    """
    nodes = {0: "0"}
    for j in (1, 2, 3):
        terms = []
        for (s, t), op in zip(EDGES, arch):
            if t != j:
                continue
            if op == "none" or nodes[s] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[s])
            else:
                terms.append(f"({nodes[s]})@{op}")
        nodes[j] = "+".join(sorted(terms))
    return nodes[3]


def mutate_cell(arch: Sequence[Any], ops: Sequence[Any], rng: np.random.Generator) -> tuple[Any, ...]:
    """``arch`` with the operation of one random edge replaced by a different one (shared by NB201-style cells)."""
    out = list(arch)
    k = int(rng.integers(len(out)))
    others = [op for op in ops if op != out[k]]
    out[k] = others[int(rng.integers(len(others)))]
    return tuple(out)


@lru_cache(maxsize=1)
def _index_order() -> tuple[Arch, ...]:
    """The 15,625 archs in NB201's official index order (vendored from the published table; see the file header)."""
    text = resources.files("onnxnet").joinpath("data/spaces/nb201_index_order.txt").read_text()
    rows = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple(tuple(OPS[int(c)] for c in row) for row in rows)


@lru_cache(maxsize=1)
def _index_of() -> dict[Arch, int]:
    return {a: i for i, a in enumerate(_index_order())}


@SPACES.register("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201 / NATS-Bench topology space (cell strings, NASLib op-index tuples, arch indices)."""

    name = "nb201"
    input_shape = (1, 3, 32, 32)
    num_classes = 10
    #: TinyNetwork hyper-parameters of the benchmark: stem channels and cells per stage.
    C = 16
    N = 5

    def parse(self, text: Any) -> Arch:
        """Cell string, NASLib op-index tuple/list, its string form, or a tuple of 6 op names."""
        if isinstance(text, str):
            s = text.strip()
            if s.startswith("|"):
                return parse_cell_string(s)
            if s[:1] in "([":
                try:
                    value = ast.literal_eval(s)
                except (ValueError, SyntaxError):
                    raise _err(text, "not a valid tuple literal") from None
                return self._from_sequence(value, text)
            raise _err(text, "unrecognised format")
        if isinstance(text, (tuple, list, np.ndarray)):
            return self._from_sequence(list(text), text)
        raise _err(text, f"unsupported type {type(text).__name__}")

    def _from_sequence(self, value: Any, text: Any) -> Arch:
        if not isinstance(value, (tuple, list)) or len(value) != 6:
            raise _err(text, "need exactly 6 entries, one per edge")
        if all(isinstance(v, str) for v in value):
            bad = [v for v in value if v not in OPS]
            if bad:
                raise _err(text, f"unknown operation(s) {bad}; choose from {', '.join(OPS)}")
            return tuple(value)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            bad = [v for v in value if not 0 <= int(v) < len(NASLIB_OPS)]
            if bad:
                raise _err(text, f"op ids {bad} out of range 0-4")
            ops = [""] * 6
            for k, v in enumerate(value):
                ops[_NASLIB_TO_CELL[k]] = NASLIB_OPS[int(v)]
            return tuple(ops)
        raise _err(text, "entries must be all op names or all integer op ids")

    def to_string(self, arch: Hashable) -> str:
        return cell_string(self._check(arch))

    def to_naslib(self, arch: Hashable) -> tuple[int, ...]:
        """The NASLib op-index tuple of ``arch`` (the key of the NAS-Bench-Suite-Zero / HW-NAS tables)."""
        a = self._check(arch)
        return tuple(NASLIB_OPS.index(a[_NASLIB_TO_CELL[k]]) for k in range(6))

    def _check(self, arch: Hashable) -> Arch:
        if not (isinstance(arch, tuple) and len(arch) == 6 and all(op in OPS for op in arch)):
            raise _err(arch, "not an NB201 architecture (a tuple of 6 op names); use parse() first")
        return arch

    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(OPS[int(i)] for i in rng.integers(0, len(OPS), size=6))

    def mutate(self, arch: Hashable, rng: np.random.Generator) -> Arch:
        """One edge's operation changed to another (NB201's regularised-evolution mutation)."""
        return mutate_cell(self._check(arch), OPS, rng)

    def choices(self) -> dict[str, tuple[str, ...]]:
        """The space as independent categorical choices (one per edge), for optimisers such as optuna."""
        return {f"edge{s}{t}": OPS for s, t in EDGES}

    def from_choices(self, params: dict[str, Any]) -> Arch:
        """The architecture of one assignment of ``choices()``."""
        return self.parse([params[f"edge{s}{t}"] for s, t in EDGES])

    def to_choices(self, arch: Hashable) -> dict[str, str]:
        """The ``choices()`` assignment of ``arch`` (``from_choices(to_choices(a)) == a``)."""
        return {f"edge{s}{t}": op for (s, t), op in zip(EDGES, self._check(arch))}

    @property
    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 archs in NAS-Bench-201's index order (row i of the published tables is arch i)."""
        return iter(_index_order())

    def index_of(self, arch: Hashable) -> int:
        """The official NAS-Bench-201 arch index of ``arch``."""
        return _index_of()[self._check(arch)]

    def from_index(self, index: int) -> Arch:
        """The arch with official NAS-Bench-201 index ``index`` (0-15,624)."""
        if not 0 <= int(index) < self.size:
            raise ArchitectureError(f"NAS-Bench-201 index {index} out of range 0-{self.size - 1}")
        return _index_order()[int(index)]

    @staticmethod
    def enumerate_product() -> Iterator[Arch]:
        """All archs in plain lexicographic order over ``OPS`` (no data file needed)."""
        return (tuple(a) for a in itertools.product(OPS, repeat=6))

    def canonical_form(self, arch: Hashable) -> str:
        """NAS-Bench-201's ``UniqueString``: 15,625 cell strings collapse to 6,466 forms."""
        return unique_string(self._check(arch))

    def build(self, arch: Hashable) -> Any:
        """NB201's TinyNetwork (C=16, N=5, affine BN with running stats), returning logits."""
        from onnxnet.spaces._cell_ops import TinyNetwork

        a = self._check(arch)
        edges = [(s, t, op) for (s, t), op in zip(EDGES, a)]
        return TinyNetwork(edges, C=self.C, N=self.N, num_classes=self.num_classes).eval()
