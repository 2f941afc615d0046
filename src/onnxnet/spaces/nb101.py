"""NAS-Bench-101 search space (Ying et al., ICML 2019).

A cell is a DAG of at most 7 vertices and 9 edges given by an upper-triangular adjacency matrix and one operation
per vertex: ``input``, then interior vertices from ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``, then
``output``. Vertices not on an input->output path are pruned, exactly as ``nasbench.lib.model_spec`` does; an
architecture here is always the *pruned* cell, so every published form of one network parses to one value.

Accepted forms (``parse``):

- the canonical string (``to_string``): ``{"matrix": [[0, 1, ...], ...], "ops": ["input", ..., "output"]}``;
- a dict / mapping with ``matrix`` and ``ops`` (ops as names, or EC-NAS ints ``-1`` input, ``-2`` output,
  ``0`` conv3x3, ``1`` conv1x1, ``2`` maxpool; matrix and ops may be JSON strings as in the EC-NAS csv);
- the NASLib key: 56 ints (7x7 adjacency row-major, then 7 op ids) as a tuple or its string form, with NASLib's
  op ids ``0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu`` (``all_ops`` in NASLib's
  ``nasbench101/conversions.py``; the parameter counts of all 500 labelled archs confirm it);
- a ``(matrix, ops)`` pair.

``canonical_form`` is NAS-Bench-101's own isomorphism-invariant graph hash (``graph_util.hash_module``,
re-implemented here), so ``arch_hash`` collapses isomorphic cells and ``nb101_hash`` equals the hash that indexes
the official dataset.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces.base import SPACES, SearchSpace

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
#: Interior operations in NAS-Bench-101's canonical order (``config['available_ops']``); index = hash label.
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: NASLib's op ids for the 56-int key (``all_ops`` in ``naslib/search_spaces/nasbench101/conversions.py``).
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
#: EC-NAS-Bench op ids.
ECNAS_OPS: Mapping[int, str] = {-1: INPUT, -2: OUTPUT, 0: CONV3X3, 1: CONV1X1, 2: MAXPOOL3X3}
_ALIASES = {"conv3x3": CONV3X3, "conv1x1": CONV1X1, "maxpool": MAXPOOL3X3, "maxpool3x3": MAXPOOL3X3}

MAX_VERTICES = 7
MAX_EDGES = 9
#: Number of unique (non-isomorphic, valid) cells in NAS-Bench-101.
NUM_UNIQUE = 423_624


@dataclass(frozen=True)
class NB101Cell:
    """A pruned NAS-Bench-101 cell: adjacency rows (0/1 ints, upper-triangular) and one op name per vertex."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return int(sum(map(sum, self.matrix)))

    def array(self) -> np.ndarray:
        return np.array(self.matrix, dtype=np.int64).reshape(len(self.ops), len(self.ops))


def _err(text: Any, problem: str) -> ArchitectureError:
    shown = repr(text)
    if len(shown) > 300:
        shown = shown[:300] + "..."
    return ArchitectureError(
        f"bad NAS-Bench-101 architecture {shown}: {problem}; expected "
        '{"matrix": [[0,1,...],...], "ops": ["input", ..., "output"]}, an EC-NAS (matrix, ops) row, '
        "or a NASLib 56-int key (49 adjacency ints + 7 op ids)"
    )


def prune(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, list[str]] | None:
    """Remove vertices not on an input->output path (``ModelSpec._prune``); ``None`` if input can't reach output."""
    n = matrix.shape[0]
    from_input, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top, v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v, top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    keep = sorted(from_input & to_output)
    if len(keep) < 2 or 0 not in keep or n - 1 not in keep:
        return None
    return matrix[np.ix_(keep, keep)], [ops[i] for i in keep]


def hash_module(matrix: np.ndarray, labeling: Sequence[int]) -> str:
    """NAS-Bench-101's isomorphism-invariant MD5 graph hash (iterated neighbourhood hashing, ``graph_util``)."""
    n = matrix.shape[0]
    in_edges = matrix.sum(axis=0).tolist()
    out_edges = matrix.sum(axis=1).tolist()
    hashes = [hashlib.md5(str(h).encode("utf-8")).hexdigest() for h in zip(out_edges, in_edges, labeling)]
    for _ in range(n):
        new_hashes = []
        for v in range(n):
            ins = "".join(sorted(hashes[w] for w in range(n) if matrix[w, v]))
            outs = "".join(sorted(hashes[w] for w in range(n) if matrix[v, w]))
            new_hashes.append(hashlib.md5((ins + "|" + outs + "|" + hashes[v]).encode("utf-8")).hexdigest())
        hashes = new_hashes
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def nb101_hash(cell: NB101Cell) -> str:
    """The hash that indexes the official NAS-Bench-101 dataset (``ModelSpec.hash_spec``)."""
    labeling = [-1] + [OPS.index(op) for op in cell.ops[1:-1]] + [-2]
    return hash_module(cell.array(), labeling)


def _as_sequence(value: Any, text: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise _err(text, f"{what} {value!r} is not a list") from None
    return value


def _op_names(ops: Sequence[Any], text: Any) -> list[str]:
    ops = list(ops)
    if not ops:
        raise _err(text, "empty op list")
    if all(isinstance(o, str) for o in ops):
        names = [_ALIASES.get(o, o) for o in ops]
        for o in names:
            if o not in (INPUT, OUTPUT, *OPS):
                raise _err(text, f"unknown operation {o!r}; choose from {', '.join(OPS)}")
        return names
    try:
        ints = [int(o) for o in ops]
    except (TypeError, ValueError):
        raise _err(text, f"ops {ops!r} are neither names nor ints") from None
    if ints[0] == -1 or ints[-1] == -2:
        table: Mapping[int, str] = ECNAS_OPS
    elif ints[0] == 0 and ints[-1] == 1:
        table = dict(enumerate(NASLIB_OPS))
    else:
        raise _err(text, f"op ids {ints} start/end neither with -1/-2 (EC-NAS) nor with 0/1 (NASLib)")
    try:
        return [table[i] for i in ints]
    except KeyError as e:
        raise _err(text, f"unknown op id {e.args[0]}") from None


def make_cell(matrix: Any, ops: Sequence[Any], text: Any = None) -> NB101Cell:
    """Validate, prune and freeze a ``(matrix, ops)`` pair; raise ``ArchitectureError`` naming the problem."""
    text = (matrix, ops) if text is None else text
    try:
        m = np.asarray(matrix, dtype=np.int64)
    except (TypeError, ValueError):
        raise _err(text, "the matrix is not a rectangular array of ints") from None
    names = _op_names(ops, text)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise _err(text, f"the matrix must be square, got shape {m.shape}")
    n = m.shape[0]
    if len(names) != n:
        raise _err(text, f"{len(names)} ops for a {n}x{n} matrix")
    if n < 2 or n > MAX_VERTICES:
        raise _err(text, f"{n} vertices; NAS-Bench-101 cells have 2 to {MAX_VERTICES}")
    if not np.isin(m, (0, 1)).all():
        raise _err(text, "matrix entries must be 0 or 1")
    if np.tril(m).any():
        raise _err(text, "the matrix must be strictly upper-triangular (a DAG in topological order)")
    if names[0] != INPUT or names[-1] != OUTPUT or INPUT in names[1:] or OUTPUT in names[:-1]:
        raise _err(text, "ops must start with input, end with output, and have neither in between")
    pruned = prune(m, names)
    if pruned is None:
        raise _err(text, "the output is not reachable from the input")
    pm, pops = pruned
    # Like nasbench's ``_check_spec``, the edge limit applies to the pruned cell.
    if int(pm.sum()) > MAX_EDGES:
        raise _err(text, f"{int(pm.sum())} edges after pruning; NAS-Bench-101 allows at most {MAX_EDGES}")
    return NB101Cell(tuple(tuple(int(x) for x in row) for row in pm), tuple(pops))


@SPACES.register("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101: 423,624 unique cells stacked 3x3 with max-pool downsampling (stem 128 channels)."""

    name = "nb101"
    input_shape = (1, 3, 32, 32)
    num_classes = 10
    #: Network hyper-parameters of the benchmark (``nasbench.lib.config``).
    stem_channels = 128
    num_stacks = 3
    cells_per_stack = 3

    def parse(self, text: Any) -> NB101Cell:
        if isinstance(text, NB101Cell):
            return text
        obj: Any = text
        if isinstance(text, str):
            s = text.strip()
            if not s:
                raise _err(text, "empty string")
            try:
                obj = json.loads(s)
            except ValueError:
                try:
                    obj = ast.literal_eval(s)
                except (ValueError, SyntaxError):
                    raise _err(text, "not JSON, a Python literal, or a NASLib key") from None
        if isinstance(obj, np.ndarray):
            obj = obj.tolist()
        if isinstance(obj, Mapping):
            if "matrix" not in obj or "ops" not in obj:
                raise _err(text, "a mapping needs the keys 'matrix' and 'ops'")
            return make_cell(_as_sequence(obj["matrix"], text, "matrix"), _as_sequence(obj["ops"], text, "ops"),
                             text)
        if isinstance(obj, (tuple, list)):
            if len(obj) == 2:
                return make_cell(_as_sequence(obj[0], text, "matrix"), _as_sequence(obj[1], text, "ops"), text)
            if all(isinstance(x, (int, np.integer)) for x in obj):
                return self._parse_flat(list(obj), text)
        raise _err(text, f"unrecognised form ({type(obj).__name__})")

    def _parse_flat(self, values: list[int], text: Any) -> NB101Cell:
        """The NASLib key: ``n*n`` adjacency ints then ``n`` op ids (n = 7 in the published files)."""
        length = len(values)
        n = int(round((-1 + np.sqrt(1 + 4 * length)) / 2))
        if n * n + n != length:
            raise _err(text, f"{length} ints is not n*n + n for any n (the NASLib key has 56 = 49 + 7)")
        matrix = np.array(values[: n * n]).reshape(n, n)
        op_ids = values[n * n:]
        if op_ids[0] != 0 or op_ids[-1] != 1:
            raise _err(text, f"NASLib op ids {op_ids} must start with 0 (input) and end with 1 (output)")
        return make_cell(matrix, op_ids, text)

    def to_string(self, arch: Hashable) -> str:
        cell = self.parse(arch)
        rows = ",".join("[" + ",".join(map(str, r)) + "]" for r in cell.matrix)
        ops = ",".join(f'"{o}"' for o in cell.ops)
        return f'{{"matrix":[{rows}],"ops":[{ops}]}}'

    def sample(self, rng: np.random.Generator) -> NB101Cell:
        """A uniformly random valid 7-vertex spec (NB101's own random sampler), pruned."""
        while True:
            m = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            ops = [INPUT] + [OPS[i] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)] + [OUTPUT]
            pruned = prune(m, ops)
            if pruned is None or int(pruned[0].sum()) > MAX_EDGES:
                continue
            pm, pops = pruned
            return NB101Cell(tuple(tuple(int(x) for x in row) for row in pm), tuple(pops))

    def mutate(self, arch: Hashable, rng: np.random.Generator) -> NB101Cell:
        """A different valid cell one step away: one adjacency bit flipped or one interior op changed, on the cell
        padded back to 7 vertices (unused vertices get random ops and no edges), then pruned (NB101's evolution);
        when no single step changes the pruned cell, two or more."""
        cell = self.parse(arch)
        n = cell.num_vertices
        base = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        keep = list(range(n - 1)) + [MAX_VERTICES - 1]  # the pruned vertices keep their order; output stays last
        base[np.ix_(keep, keep)] = cell.array()
        base_ops = [INPUT] + [OPS[int(i)] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)] + [OUTPUT]
        for old, new in enumerate(keep[1:-1], start=1):
            base_ops[new] = cell.ops[old]
        slots = [(i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)]
        for attempt in range(1000):
            m, ops = base.copy(), list(base_ops)
            for _ in range(1 + attempt // 100):  # a tiny cell may need two steps (a new vertex needs two edges)
                if rng.random() < 0.5:
                    i, j = slots[int(rng.integers(len(slots)))]
                    m[i, j] = 1 - m[i, j]
                else:
                    v = int(rng.integers(1, MAX_VERTICES - 1))
                    others = [o for o in OPS if o != ops[v]]
                    ops[v] = others[int(rng.integers(len(others)))]
            pruned = prune(m, ops)
            if pruned is None or int(pruned[0].sum()) > MAX_EDGES:
                continue
            child = NB101Cell(tuple(tuple(int(x) for x in row) for row in pruned[0]), tuple(pruned[1]))
            if nb101_hash(child) != nb101_hash(cell):
                return child
        raise ArchitectureError(f"no valid mutation of NAS-Bench-101 cell {self.to_string(cell)} in 1000 tries")

    def choices(self) -> dict[str, tuple[Any, ...]]:
        """The 21 adjacency bits and 5 interior ops of a 7-vertex spec (invalid combinations fail ``from_choices``)."""
        out: dict[str, tuple[Any, ...]] = {f"e{i}{j}": (0, 1) for i in range(MAX_VERTICES)
                                           for j in range(i + 1, MAX_VERTICES)}
        out.update({f"op{v}": OPS for v in range(1, MAX_VERTICES - 1)})
        return out

    def from_choices(self, params: dict[str, Any]) -> NB101Cell:
        m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        for i in range(MAX_VERTICES):
            for j in range(i + 1, MAX_VERTICES):
                m[i, j] = int(params[f"e{i}{j}"])
        ops = [INPUT] + [params[f"op{v}"] for v in range(1, MAX_VERTICES - 1)] + [OUTPUT]
        return make_cell(m, ops, params)

    def to_choices(self, arch: Hashable) -> dict[str, Any]:
        """The cell padded to 7 vertices (unused ones: conv3x3, no edges) as a ``choices()`` assignment."""
        cell = self.parse(arch)
        n = cell.num_vertices
        keep = list(range(n - 1)) + [MAX_VERTICES - 1]
        m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        m[np.ix_(keep, keep)] = cell.array()
        ops = [CONV3X3] * MAX_VERTICES
        for old, new in enumerate(keep):
            ops[new] = cell.ops[old]
        out: dict[str, Any] = {f"e{i}{j}": int(m[i, j]) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)}
        out.update({f"op{v}": ops[v] for v in range(1, MAX_VERTICES - 1)})
        return out

    @property
    def size(self) -> int:
        return NUM_UNIQUE

    def canonical_form(self, arch: Hashable) -> str:
        return nb101_hash(self.parse(arch))

    def build(self, arch: Hashable) -> Any:
        from onnxnet.spaces._nb101_net import NB101Network

        cell = self.parse(arch)
        net = NB101Network(cell.array(), cell.ops, stem_channels=self.stem_channels, num_stacks=self.num_stacks,
                           cells_per_stack=self.cells_per_stack, num_classes=self.num_classes)
        return net.eval()
