"""TransNAS-Bench-101 micro (cell-level) search space (Duan et al., CVPR 2021).

A cell is NAS-Bench-201's 4-node, 6-edge DAG with 4 operations, coded by TransNAS-Bench-101 as digits
``0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3``: 4^6 = 4,096 cells. The benchmark's arch string is
``64-41414-a_bc_def``: 64 base channels, the fixed macro skeleton ``41414`` and the cell code, whose digits are
the edges (0->1), (0->2), (1->2), (0->3), (1->3), (2->3).

Architectures are tuples of these 6 digits. NASLib's TransNAS micro tables (``naslib_transnas_micro_zen.zip``)
key archs by the same digits written as a tuple, ``"(a, b, c, d, e, f)"`` (checked on the labels: every cell
whose output is identically zero under this reading has the same chance-level accuracy, and no other reading
gives that). ``build`` gives the classification network (object classification: 75 classes, 256x256 input).

Checked against the reference code (yawen-d/TransNASBench ``net_macro.py``, ``cell_micro.py``, ``cell_ops.py``,
``decoder.py`` and the class_object / class_scene configs): the stem (3x3/2 conv to 32 channels + BN, ReLU-conv-BN
3x3/2 to 64), two cells per macro digit with the first doing the stride and channel change, no residual around
cells, skip across a reduction = factorized reduce, the average-pool + linear decoder, 75 / 47 classes
(``target_dim``; NASLib's graph uses 100 / 63), Kaiming initialisation. Not verified: parameter counts (none are
published with the data here). One deliberate difference: the reference sums node inputs with
``torch.stack(...).sum(0)``; we chain ``Add``s, the same function with a simpler ONNX graph.
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import Any, Hashable, Iterator

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces.base import SPACES, SearchSpace

#: TransNAS-Bench-101 op codes (the digit is the index).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
#: Edges in cell-code order; nodes numbered 0 (cell input) to 3 (cell output).
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: The fixed skeleton of the micro space: base channels and macro code.
BASE_CHANNELS = 64
MACRO = "41414"
#: Classification tasks and their number of classes in the TransNAS-Bench-101 training configs.
TASK_CLASSES: dict[str, int] = {"class_object": 75, "class_scene": 47}

Arch = tuple[int, ...]

_NET_RE = re.compile(r"^(?:(\d+)-(\d+)-)?([0-3])_([0-3]{2})_([0-3]{3})$")


def _err(text: Any, problem: str) -> ArchitectureError:
    return ArchitectureError(
        f"bad TransNAS-Bench-101 micro architecture {text!r}: {problem}; expected '64-41414-a_bc_def' "
        "(digits 0 none, 1 skip, 2 conv1x1, 3 conv3x3), 'a_bc_def', or a tuple of 6 such digits like (2, 3, 2, 3, 2, 3)"
    )


def cell_expression(arch: Arch, reduction: bool) -> str:
    """A string naming what the cell computes (equal iff the computations are equal).

    Each node is the sorted '+'-sum of its non-zero inputs; ``none`` terms vanish and a node with no non-zero
    input is ``#`` (zero). ``skip_connect`` passes its input through, except from the input of a reduction
    cell, where it is a factorized-reduce convolution (``@fr``). An op on a zero input counts as zero (as in
    NB201's UniqueString; strictly, its batch norm then adds a learned constant that does not depend on the input).
    """
    nodes = {0: "0"}
    for j in (1, 2, 3):
        terms = []
        for (s, t), code in zip(EDGES, arch):
            if t != j or code == 0 or nodes[s] == "#":
                continue
            if code == 1 and not (reduction and s == 0):
                terms.append(nodes[s])
            else:
                op = "fr" if code == 1 else OPS[code]
                terms.append(f"({nodes[s]})@{op}")
        nodes[j] = "+".join(sorted(terms)) if terms else "#"
    return nodes[3]


@SPACES.register("transnas_micro")
class TransNASMicroSpace(SearchSpace):
    """TransNAS-Bench-101 micro space on its own skeleton (``64-41414``), classification head."""

    name = "transnas_micro"

    def __init__(self, task: str = "class_object") -> None:
        if task not in TASK_CLASSES:
            raise ArchitectureError(
                f"TransNAS-Bench-101 task {task!r} has no classification head here; choose one of "
                f"{', '.join(TASK_CLASSES)}"
            )
        self.task = task
        self.num_classes = TASK_CLASSES[task]
        self.input_shape = (1, 3, 256, 256)

    def parse(self, text: Any) -> Arch:
        """``64-41414-a_bc_def``, ``a_bc_def``, a 6-digit tuple/list, or its string form ``"(a, b, c, d, e, f)"``."""
        if isinstance(text, str):
            s = text.strip()
            if s[:1] in "([":
                try:
                    value = ast.literal_eval(s)
                except (ValueError, SyntaxError):
                    raise _err(text, "not a valid tuple literal") from None
                return self._from_sequence(value, text)
            m = _NET_RE.match(s)
            if not m:
                raise _err(text, "unrecognised format")
            base, macro = m.group(1), m.group(2)
            if base is not None and (int(base) != BASE_CHANNELS or macro != MACRO):
                raise _err(text, f"skeleton '{base}-{macro}' is not the micro space's fixed "
                                 f"'{BASE_CHANNELS}-{MACRO}' (macro-space archs are a different space)")
            return tuple(int(c) for c in m.group(3) + m.group(4) + m.group(5))
        if isinstance(text, (tuple, list, np.ndarray)):
            return self._from_sequence(list(text), text)
        raise _err(text, f"unsupported type {type(text).__name__}")

    def _from_sequence(self, value: Any, text: Any) -> Arch:
        if not isinstance(value, (tuple, list)) or len(value) != 6:
            raise _err(text, "need exactly 6 entries, one per edge")
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            raise _err(text, "entries must be integer op codes")
        bad = [int(v) for v in value if not 0 <= int(v) < len(OPS)]
        if bad:
            raise _err(text, f"op codes {bad} out of range 0-3")
        return tuple(int(v) for v in value)

    def _check(self, arch: Hashable) -> Arch:
        if not (isinstance(arch, tuple) and len(arch) == 6
                and all(isinstance(v, int) and 0 <= v < len(OPS) for v in arch)):
            raise _err(arch, "not a TransNAS micro architecture (a tuple of 6 ints in 0-3); use parse() first")
        return arch

    def to_string(self, arch: Hashable) -> str:
        """The TransNAS-Bench-101 API key, e.g. ``64-41414-3_12_033``."""
        a = self._check(arch)
        return f"{BASE_CHANNELS}-{MACRO}-{a[0]}_{a[1]}{a[2]}_{a[3]}{a[4]}{a[5]}"

    def to_cell_string(self, arch: Hashable) -> str:
        """The same cell in NAS-Bench-201 cell-string notation."""
        from onnxnet.spaces.nb201 import cell_string

        return cell_string([OPS[c] for c in self._check(arch)])

    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(int(i) for i in rng.integers(0, len(OPS), size=6))

    def mutate(self, arch: Hashable, rng: np.random.Generator) -> Arch:
        """One edge's op code changed to another."""
        from onnxnet.spaces.nb201 import mutate_cell

        return mutate_cell(self._check(arch), range(len(OPS)), rng)

    def choices(self) -> dict[str, tuple[int, ...]]:
        """One categorical choice of op code per edge (for optimisers such as optuna)."""
        return {f"edge{s}{t}": tuple(range(len(OPS))) for s, t in EDGES}

    def from_choices(self, params: dict[str, Any]) -> Arch:
        return self.parse([int(params[f"edge{s}{t}"]) for s, t in EDGES])

    def to_choices(self, arch: Hashable) -> dict[str, int]:
        return {f"edge{s}{t}": c for (s, t), c in zip(EDGES, self._check(arch))}

    @property
    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def enumerate(self) -> Iterator[Arch]:
        """All 4,096 cells in lexicographic digit order (NASLib's iteration order)."""
        return (tuple(a) for a in itertools.product(range(len(OPS)), repeat=6))

    def canonical_form(self, arch: Hashable) -> str:
        """What the normal and the reduction cell compute (see ``cell_expression``)."""
        a = self._check(arch)
        return f"{cell_expression(a, reduction=False)}|{cell_expression(a, reduction=True)}"

    def is_zero(self, arch: Hashable) -> bool:
        """True when the cell output is identically zero (no path from input to output avoids ``none``)."""
        return cell_expression(self._check(arch), reduction=False) == "#"

    def build(self, arch: Hashable) -> Any:
        """TransNAS-Bench-101's MacroNet(``64-41414-<cell>``) with its classification decoder."""
        from onnxnet.spaces._cell_ops import TransNASMicroNet

        a = self._check(arch)
        edges = [(s, t, OPS[c]) for (s, t), c in zip(EDGES, a)]
        return TransNASMicroNet(edges, base=BASE_CHANNELS, macro=MACRO, num_classes=self.num_classes).eval()
