"""DARTS / NAS-Bench-301 search space (Liu et al., ICLR 2019; Siems et al., 2020).

An architecture is a normal and a reduction cell. Each cell has two inputs (0: the cell before the previous one,
1: the previous cell) and four intermediate nodes (2-5); node ``k`` sums two operations applied to two distinct
earlier nodes, and the cell output concatenates nodes 2-5. Operations: ``max_pool_3x3``, ``avg_pool_3x3``,
``skip_connect``, ``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3``, ``dil_conv_5x5`` (7; no ``none``).

Accepted forms (``parse``):

- a DARTS genotype string ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5],
  reduce=[...], reduce_concat=[2, 3, 4, 5])`` (the canonical string; ``range(2, 6)`` is accepted as well);
- the NASLib compact key ``[[(input, op_id) x 8], [(input, op_id) x 8]]`` (tuple, list, or string form) with
  NASLib's DARTS op ids ``0 max_pool_3x3, 1 avg_pool_3x3, 2 skip_connect, 3 sep_conv_3x3, 4 sep_conv_5x5,
  5 dil_conv_3x3, 6 dil_conv_5x5`` (``OPS`` in NASLib's ``convert_genotype_to_compact``);
- a NAS-Bench-301 ConfigSpace dict (``NetworkSelectorDatasetInfo:darts:edge_normal_0`` ... and
  ``inputs_node_normal_3`` ...), as in NB301's training configs.

``build`` gives the NB301 evaluation network: DARTS ``NetworkCIFAR`` with 32 initial channels and 8 cells
(NB301's training config; the auxiliary head, used only for the training loss, is left out).
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces.base import SPACES, SearchSpace

#: NASLib's DARTS op ids (index = id).
OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                        "dil_conv_3x3", "dil_conv_5x5")
NUM_NODES = 4
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
_CONFIG_PREFIX = "NetworkSelectorDatasetInfo:darts:"

Cell = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Genotype:
    """A DARTS genotype restricted to NB301's space: 8 ``(op, input)`` pairs per cell, nodes 2-5 concatenated."""

    normal: Cell
    reduce: Cell

    def __str__(self) -> str:
        def cell(pairs: Cell) -> str:
            return "[" + ", ".join(f"('{op}', {i})" for op, i in pairs) + "]"

        concat = "[" + ", ".join(map(str, CONCAT)) + "]"
        return (f"Genotype(normal={cell(self.normal)}, normal_concat={concat}, "
                f"reduce={cell(self.reduce)}, reduce_concat={concat})")


def _err(text: Any, problem: str) -> ArchitectureError:
    shown = repr(text)
    if len(shown) > 300:
        shown = shown[:300] + "..."
    return ArchitectureError(
        f"bad NAS-Bench-301 / DARTS architecture {shown}: {problem}; expected a genotype string "
        "\"Genotype(normal=[('sep_conv_3x3', 0), ...8 pairs], normal_concat=[2, 3, 4, 5], reduce=[...], "
        "reduce_concat=[2, 3, 4, 5])\", a NASLib key [[(input, op_id) x 8], [(input, op_id) x 8]] with op ids 0-6, "
        "or an NB301 ConfigSpace dict"
    )


def _check_cell(pairs: Sequence[tuple[str, int]], which: str, text: Any) -> Cell:
    if len(pairs) != 2 * NUM_NODES:
        raise _err(text, f"the {which} cell has {len(pairs)} (op, input) pairs, not {2 * NUM_NODES}")
    out: list[tuple[str, int]] = []
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise _err(text, f"{which} entry {k} ({pair!r}) is not an (op, input) pair")
        op, src = pair
        if op not in OPS:
            raise _err(text, f"{which} entry {k}: unknown operation {op!r}; choose from {', '.join(OPS)}")
        if isinstance(src, bool) or not isinstance(src, (int, np.integer)):
            raise _err(text, f"{which} entry {k}: input {src!r} is not an int")
        node = 2 + k // 2
        if not 0 <= int(src) < node:
            raise _err(text, f"{which} entry {k}: node {node} cannot take input {src} (allowed 0-{node - 1})")
        out.append((str(op), int(src)))
    for node in range(NUM_NODES):
        if out[2 * node][1] == out[2 * node + 1][1]:
            raise _err(text, f"{which} node {node + 2} takes input {out[2 * node][1]} twice; "
                             "the two inputs of a node must differ in the NB301 space")
    return tuple(out)


def _canonical_cell(cell: Cell) -> str:
    """The cell's text under the relabelling of nodes 2-5 that gives the smallest string.

    A node's two operands are unordered (their sum commutes), and intermediate nodes may be renumbered in any
    order that keeps the DAG topologically numbered: all of these compute the same function, up to a channel
    permutation of the concatenated output.
    """
    best: str | None = None
    for perm in itertools.permutations(range(NUM_NODES)):
        relabel = {0: 0, 1: 1, **{2 + old: 2 + new for old, new in enumerate(perm)}}
        nodes: list[tuple[tuple[str, int], ...] | None] = [None] * NUM_NODES
        valid = True
        for old in range(NUM_NODES):
            new = perm[old]
            ins = tuple(sorted((cell[2 * old + j][0], relabel[cell[2 * old + j][1]]) for j in range(2)))
            if any(src >= 2 + new for _, src in ins):
                valid = False
                break
            nodes[new] = ins
        if not valid:
            continue
        text = ";".join("+".join(f"{op}~{src}" for op, src in n) for n in nodes if n is not None)
        if best is None or text < best:
            best = text
    assert best is not None
    return best


@SPACES.register("nb301")
class NB301Space(SearchSpace):
    """DARTS / NAS-Bench-301: two cells of 8 (op, input) choices; NetworkCIFAR with C=32, 8 cells."""

    name = "nb301"
    input_shape = (1, 3, 32, 32)
    num_classes = 10
    #: NB301's training configuration (``NetworkSelectorDatasetInfo:darts:init_channels`` / ``layers``).
    init_channels = 32
    layers = 8
    drop_path_prob = 0.2

    def parse(self, text: Any) -> Genotype:
        if isinstance(text, Genotype):
            return text
        obj: Any = text
        if isinstance(text, str):
            s = text.strip()
            if s.startswith("Genotype("):
                return self._parse_genotype_string(s, text)
            try:
                obj = ast.literal_eval(s)
            except (ValueError, SyntaxError):
                raise _err(text, "not a genotype string nor a NASLib key") from None
        if isinstance(obj, Mapping):
            if any(str(k).startswith(_CONFIG_PREFIX) for k in obj):
                return self._parse_config(obj, text)
            if "normal" in obj and "reduce" in obj:
                return self._from_pairs(obj["normal"], obj["reduce"], text)
            raise _err(text, "a mapping needs NB301 ConfigSpace keys or 'normal' and 'reduce'")
        if hasattr(obj, "normal") and hasattr(obj, "reduce"):  # a DARTS / NASLib Genotype namedtuple
            return self._from_pairs(obj.normal, obj.reduce, text)
        if isinstance(obj, (tuple, list)) and len(obj) == 2:
            cells = []
            for which, cell in zip(("normal", "reduce"), obj):
                if not isinstance(cell, (tuple, list)):
                    raise _err(text, f"the {which} cell is not a sequence of pairs")
                pairs = []
                for k, pair in enumerate(cell):
                    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                            or not all(isinstance(v, (int, np.integer)) for v in pair)):
                        raise _err(text, f"{which} entry {k} ({pair!r}) is not an (input, op_id) pair of ints")
                    src, op_id = int(pair[0]), int(pair[1])
                    if not 0 <= op_id < len(OPS):
                        raise _err(text, f"{which} entry {k}: op id {op_id} is not in 0-{len(OPS) - 1}")
                    pairs.append((OPS[op_id], src))
                cells.append(pairs)
            return self._from_pairs(cells[0], cells[1], text)
        raise _err(text, f"unrecognised form ({type(obj).__name__})")

    def _from_pairs(self, normal: Any, reduce: Any, text: Any) -> Genotype:
        try:
            n = [tuple(p) for p in normal]
            r = [tuple(p) for p in reduce]
        except TypeError:
            raise _err(text, "cells must be sequences of (op, input) pairs") from None
        return Genotype(_check_cell(n, "normal", text), _check_cell(r, "reduce", text))

    def _parse_genotype_string(self, s: str, text: Any) -> Genotype:
        try:
            call = ast.parse(s, mode="eval").body
        except SyntaxError:
            raise _err(text, "the genotype string is not valid Python syntax") from None
        if not isinstance(call, ast.Call) or call.args:
            raise _err(text, "expected Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)")
        fields: dict[str, Any] = {}
        for kw in call.keywords:
            node = kw.value
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
                    and all(isinstance(a, ast.Constant) for a in node.args)):
                fields[str(kw.arg)] = list(range(*[a.value for a in node.args]))
                continue
            try:
                fields[str(kw.arg)] = ast.literal_eval(node)
            except ValueError:
                raise _err(text, f"field {kw.arg!r} is not a literal") from None
        missing = {"normal", "reduce"} - set(fields)
        if missing:
            raise _err(text, f"missing field(s) {', '.join(sorted(missing))}")
        for key in ("normal_concat", "reduce_concat"):
            if key in fields and list(fields[key]) != list(CONCAT):
                raise _err(text, f"{key}={fields[key]!r}; the NB301 space always concatenates nodes [2, 3, 4, 5]")
        return self._from_pairs(fields["normal"], fields["reduce"], text)

    def _parse_config(self, config: Mapping[str, Any], text: Any) -> Genotype:
        """NB301 ConfigSpace: ``edge_{cell}_{k}`` ops over the 14 candidate edges, ``inputs_node_{cell}_{n}``."""
        cells = []
        for cell_type in ("normal", "reduce"):
            pairs: list[tuple[str, int]] = []
            start = 0
            for node in range(NUM_NODES):
                n_in = node + 2
                present = [(config[f"{_CONFIG_PREFIX}edge_{cell_type}_{start + j}"], j) for j in range(n_in)
                           if f"{_CONFIG_PREFIX}edge_{cell_type}_{start + j}" in config]
                if len(present) != 2:
                    raise _err(text, f"{cell_type} node {node + 2} has {len(present)} active edges, not 2")
                pairs.extend(present)
                start += n_in
            cells.append(pairs)
        return self._from_pairs(cells[0], cells[1], text)

    def to_string(self, arch: Hashable) -> str:
        return str(self.parse(arch))

    def to_naslib(self, arch: Hashable) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The NASLib compact key ``((input, op_id) x 8, (input, op_id) x 8)``."""
        g = self.parse(arch)
        normal, reduce = (tuple((src, OPS.index(op)) for op, src in cell) for cell in (g.normal, g.reduce))
        return normal, reduce

    def sample(self, rng: np.random.Generator) -> Genotype:
        """NB301's random sampler: per node, two distinct earlier inputs and an op for each, uniformly."""
        cells = []
        for _ in range(2):
            pairs: list[tuple[str, int]] = []
            for node in range(NUM_NODES):
                srcs = sorted(rng.choice(node + 2, size=2, replace=False).tolist())
                pairs.extend((OPS[int(rng.integers(len(OPS)))], int(s)) for s in srcs)
            cells.append(tuple(pairs))
        return Genotype(cells[0], cells[1])

    def mutate(self, arch: Hashable, rng: np.random.Generator) -> Genotype:
        """One edge of one cell changed: either its operation or its input (NASLib's DARTS mutation); the two
        inputs of a node stay distinct."""
        g = self.parse(arch)
        cells = [list(g.normal), list(g.reduce)]
        cell = cells[int(rng.integers(2))]
        k = int(rng.integers(len(cell)))
        op, src = cell[k]
        node = 2 + k // 2
        sibling = cell[k ^ 1][1]
        inputs = [i for i in range(node) if i not in (src, sibling)]
        if inputs and rng.random() < 0.5:
            cell[k] = (op, int(inputs[int(rng.integers(len(inputs)))]))
        else:
            others = [o for o in OPS if o != op]
            cell[k] = (others[int(rng.integers(len(others)))], src)
        return Genotype(tuple(cells[0]), tuple(cells[1]))

    def choices(self) -> dict[str, tuple[Any, ...]]:
        """Per cell and node: the pair of inputs (``"i,j"``, i < j) and the op on each input."""
        out: dict[str, tuple[Any, ...]] = {}
        for which in ("normal", "reduce"):
            for node in range(NUM_NODES):
                n_in = node + 2
                out[f"{which}{node + 2}_inputs"] = tuple(f"{i},{j}" for i, j in itertools.combinations(range(n_in), 2))
                out[f"{which}{node + 2}_op_a"] = OPS
                out[f"{which}{node + 2}_op_b"] = OPS
        return out

    def from_choices(self, params: dict[str, Any]) -> Genotype:
        cells = []
        for which in ("normal", "reduce"):
            pairs: list[tuple[str, int]] = []
            for node in range(2, 2 + NUM_NODES):
                i, j = (int(v) for v in str(params[f"{which}{node}_inputs"]).split(","))
                pairs += [(params[f"{which}{node}_op_a"], i), (params[f"{which}{node}_op_b"], j)]
            cells.append(pairs)
        return self._from_pairs(cells[0], cells[1], params)

    def to_choices(self, arch: Hashable) -> dict[str, Any]:
        g = self.parse(arch)
        out: dict[str, Any] = {}
        for which, cell in (("normal", g.normal), ("reduce", g.reduce)):
            for node in range(NUM_NODES):
                a, b = sorted([cell[2 * node], cell[2 * node + 1]], key=lambda p: p[1])
                out[f"{which}{node + 2}_inputs"] = f"{a[1]},{b[1]}"
                out[f"{which}{node + 2}_op_a"], out[f"{which}{node + 2}_op_b"] = a[0], b[0]
        return out

    @property
    def size(self) -> int:
        """Number of genotypes: per node an unordered pair of distinct inputs and an op for each,
        (prod_k C(k + 2, 2) * 7^2)^2 over the 4 nodes of both cells (about 1.1e18; NB301 quotes 10^18)."""
        per_cell = 1
        for node in range(NUM_NODES):
            n_in = node + 2
            per_cell *= n_in * (n_in - 1) // 2 * len(OPS) ** 2
        return per_cell ** 2

    def canonical_form(self, arch: Hashable) -> str:
        g = self.parse(arch)
        return f"normal:{_canonical_cell(g.normal)}|reduce:{_canonical_cell(g.reduce)}"

    def build(self, arch: Hashable, *, auxiliary: bool = False, op_affine: bool = True) -> Any:
        """The NB301 evaluation network (``auxiliary=True`` adds the training-only auxiliary head)."""
        from onnxnet.spaces._darts_net import NetworkCIFAR

        g = self.parse(arch)
        net = NetworkCIFAR(g.normal, CONCAT, g.reduce, CONCAT, c=self.init_channels, layers=self.layers,
                           num_classes=self.num_classes, auxiliary=auxiliary, op_affine=op_affine)
        net.set_drop_path_prob(self.drop_path_prob)
        return net.eval()
