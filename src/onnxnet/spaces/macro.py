"""macro: macro-level CIFAR-10 networks of stacked blocks (ResNet / MobileNetV2-style), not repeated cells.

A network is a 3x3 conv stem (BN, ReLU) followed by three stages at 32, 16 and 8 pixels (the first block of
stages 2 and 3 has stride 2), global average pooling and a 10-way linear classifier. Each stage chooses:

* ``block``: ``plain`` (conv-BN-ReLU), ``basic`` (ResNet basic block: two convs and a shortcut), ``bottleneck``
  (ResNet bottleneck: 1x1 down to ``width // expansion``, kxk, 1x1 up, shortcut) or ``inverted`` (MobileNetV2
  inverted residual: 1x1 up to ``in * expansion``, depthwise kxk, 1x1 down, identity shortcut when shapes match);
* ``depth`` 1-4 blocks, ``width`` (output channels, per stage), ``kernel`` 3 or 5;
* ``expansion`` 2, 4 or 6 (only ``bottleneck`` and ``inverted`` have one);
* ``se``: a squeeze-and-excitation gate (reduction 4) on each block's output branch.

Shortcuts that change shape are 1x1 conv + BN with the block's stride. The stem has 16, 24 or 32 channels.

Canonical string: ``stem{C}|{stage}|{stage}|{stage}`` with a stage written ``{block}-d{depth}-w{width}-k{kernel}``,
then ``-e{expansion}`` for blocks that have one and ``-se`` when gated, e.g.
``stem24|basic-d2-w32-k3|inverted-d3-w64-k5-e6-se|bottleneck-d2-w128-k3-e4``. Uniform samples have 0.02M-7M
parameters (median 0.4M; 90% between 0.08M and 2.4M).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Any, Hashable, Iterator

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces.base import SPACES, SearchSpace

#: Block types, and those that take an expansion ratio.
BLOCKS: tuple[str, ...] = ("plain", "basic", "bottleneck", "inverted")
EXPANDING: frozenset[str] = frozenset({"bottleneck", "inverted"})
STEMS: tuple[int, ...] = (16, 24, 32)
DEPTHS: tuple[int, ...] = (1, 2, 3, 4)
#: Width choices of stages 1, 2, 3 (32, 16, 8 px).
WIDTHS: tuple[tuple[int, ...], ...] = ((16, 24, 32, 48), (32, 48, 64, 96), (64, 96, 128, 192))
KERNELS: tuple[int, ...] = (3, 5)
EXPANSIONS: tuple[int, ...] = (2, 4, 6)
STRIDES: tuple[int, ...] = (1, 2, 2)

_STAGE_RE = re.compile(r"^(?P<block>[a-z]+)-d(?P<d>\d+)-w(?P<w>\d+)-k(?P<k>\d+)(?:-e(?P<e>\d+))?(?P<se>-se)?$")


@dataclass(frozen=True)
class Stage:
    """One stage: ``depth`` blocks of type ``block`` with ``width`` output channels."""

    block: str
    depth: int
    width: int
    kernel: int
    expansion: int | None = None
    se: bool = False

    def __str__(self) -> str:
        e = f"-e{self.expansion}" if self.expansion is not None else ""
        return f"{self.block}-d{self.depth}-w{self.width}-k{self.kernel}{e}{'-se' if self.se else ''}"


@dataclass(frozen=True)
class MacroArch:
    """A macro network: stem channels and three stages."""

    stem: int
    stages: tuple[Stage, Stage, Stage]

    def __str__(self) -> str:
        return "|".join([f"stem{self.stem}"] + [str(s) for s in self.stages])


def _err(text: Any, problem: str) -> ArchitectureError:
    return ArchitectureError(
        f"bad macro architecture {text!r}: {problem}; expected 'stem{{16|24|32}}' and three '|'-separated stages "
        "'{plain|basic|bottleneck|inverted}-d{1-4}-w{width}-k{3|5}[-e{2|4|6}][-se]' such as "
        "'stem24|basic-d2-w32-k3|inverted-d3-w64-k5-e6-se|bottleneck-d2-w128-k3-e4' "
        f"(stage widths: {' / '.join(','.join(map(str, w)) for w in WIDTHS)}; -e only for bottleneck and inverted)"
    )


def _check_stage(text: Any, i: int, s: Stage) -> Stage:
    where = f"stage {i + 1} ({s})"
    if s.block not in BLOCKS:
        raise _err(text, f"{where}: unknown block {s.block!r}; choose from {', '.join(BLOCKS)}")
    if s.depth not in DEPTHS:
        raise _err(text, f"{where}: depth {s.depth} is not one of {DEPTHS}")
    if s.width not in WIDTHS[i]:
        raise _err(text, f"{where}: width {s.width} is not one of stage {i + 1}'s widths {WIDTHS[i]}")
    if s.kernel not in KERNELS:
        raise _err(text, f"{where}: kernel {s.kernel} is not one of {KERNELS}")
    if s.block in EXPANDING and s.expansion not in EXPANSIONS:
        raise _err(text, f"{where}: a {s.block} block needs an expansion -e in {EXPANSIONS}")
    if s.block not in EXPANDING and s.expansion is not None:
        raise _err(text, f"{where}: a {s.block} block has no expansion ratio; drop '-e{s.expansion}'")
    return s


def parse_macro(text: Any) -> MacroArch:
    """Parse the canonical string (or check a ``MacroArch``)."""
    if isinstance(text, MacroArch):
        arch = text
    elif isinstance(text, str):
        parts = text.strip().split("|")
        if len(parts) != 4:
            raise _err(text, f"{len(parts)} '|'-separated parts, need 4 (stem and three stages)")
        m = re.fullmatch(r"stem(\d+)", parts[0].strip())
        if not m:
            raise _err(text, f"first part {parts[0]!r} is not 'stem<channels>'")
        stages = []
        for i, p in enumerate(parts[1:]):
            sm = _STAGE_RE.match(p.strip())
            if not sm:
                raise _err(text, f"stage {i + 1} {p!r} is not 'block-dD-wW-kK[-eE][-se]'")
            stages.append(Stage(sm["block"], int(sm["d"]), int(sm["w"]), int(sm["k"]),
                                int(sm["e"]) if sm["e"] is not None else None, sm["se"] is not None))
        arch = MacroArch(int(m[1]), (stages[0], stages[1], stages[2]))
    else:
        raise _err(text, f"unsupported type {type(text).__name__}")
    if arch.stem not in STEMS:
        raise _err(text, f"stem width {arch.stem} is not one of {STEMS}")
    if not isinstance(arch.stages, tuple) or len(arch.stages) != 3:
        raise _err(text, "need exactly three stages")
    for i, s in enumerate(arch.stages):
        _check_stage(text, i, s)
    return arch


def _stage_choices(i: int) -> Iterator[Stage]:
    for block in BLOCKS:
        exps: tuple[int | None, ...] = EXPANSIONS if block in EXPANDING else (None,)
        for d, w, k, e, se in itertools.product(DEPTHS, WIDTHS[i], KERNELS, exps, (False, True)):
            yield Stage(block, d, w, k, e, se)


def _sample_stage(rng: np.random.Generator, i: int) -> Stage:
    block = BLOCKS[int(rng.integers(len(BLOCKS)))]
    return Stage(block, DEPTHS[int(rng.integers(len(DEPTHS)))], WIDTHS[i][int(rng.integers(len(WIDTHS[i])))],
                 KERNELS[int(rng.integers(len(KERNELS)))],
                 EXPANSIONS[int(rng.integers(len(EXPANSIONS)))] if block in EXPANDING else None,
                 bool(rng.integers(2)))


def _other(rng: np.random.Generator, choices: tuple[Any, ...], current: Any) -> Any:
    rest = [c for c in choices if c != current]
    return rest[int(rng.integers(len(rest)))]


@SPACES.register("macro")
class MacroSpace(SearchSpace):
    """Macro-level CIFAR-10 networks: stem, three stages of stacked blocks, pooling, linear classifier."""

    name = "macro"
    input_shape = (1, 3, 32, 32)
    num_classes = 10

    def parse(self, text: Any) -> MacroArch:
        return parse_macro(text)

    def to_string(self, arch: Hashable) -> str:
        return str(self._check(arch))

    def _check(self, arch: Hashable) -> MacroArch:
        if not isinstance(arch, MacroArch):
            raise _err(arch, "not a macro architecture; use parse() first")
        return arch

    def sample(self, rng: np.random.Generator) -> MacroArch:
        """Every choice uniformly at random, independently per stage."""
        stem = STEMS[int(rng.integers(len(STEMS)))]
        s = tuple(_sample_stage(rng, i) for i in range(3))
        return MacroArch(stem, (s[0], s[1], s[2]))

    @property
    def size(self) -> int:
        """3 stems x 512^3 stage choices = 402,653,184 architectures (all distinct networks)."""
        return len(STEMS) * len(list(_stage_choices(0))) * len(list(_stage_choices(1))) * len(list(_stage_choices(2)))

    def enumerate(self) -> Iterator[MacroArch]:
        """Not offered: 4e8 architectures are too many to list (``bench build --limit N`` samples instead)."""
        raise ArchitectureError(f"search space 'macro' has {self.size:,} architectures, too many to enumerate; "
                                "sample from it instead (bench build --limit N, sample_many)")

    def canonical_form(self, arch: Hashable) -> str:
        """The canonical string: choices without an effect (expansion of plain/basic) are not representable."""
        return str(self._check(arch))

    def mutate(self, arch: Hashable, rng: np.random.Generator) -> MacroArch:
        """``arch`` with exactly one choice changed (the stem, or one stage's block/depth/width/kernel/expansion/se).

        A block changed to ``bottleneck``/``inverted`` draws an expansion; one changed to ``plain``/``basic``
        drops it (that is part of the block change, not a second choice).
        """
        a = self._check(arch)
        slots: list[tuple[int, str]] = [(-1, "stem")]
        for i, s in enumerate(a.stages):
            slots += [(i, f) for f in ("block", "depth", "width", "kernel", "se")]
            if s.block in EXPANDING:
                slots.append((i, "expansion"))
        i, field = slots[int(rng.integers(len(slots)))]
        if i < 0:
            return replace(a, stem=_other(rng, STEMS, a.stem))
        s = a.stages[i]
        if field == "block":
            block = _other(rng, BLOCKS, s.block)
            e = (s.expansion or EXPANSIONS[int(rng.integers(len(EXPANSIONS)))]) if block in EXPANDING else None
            new = replace(s, block=block, expansion=e)
        elif field == "se":
            new = replace(s, se=not s.se)
        else:
            choices = {"depth": DEPTHS, "width": WIDTHS[i], "kernel": KERNELS, "expansion": EXPANSIONS}[field]
            new = replace(s, **{field: _other(rng, choices, getattr(s, field))})
        stages = list(a.stages)
        stages[i] = new
        return MacroArch(a.stem, (stages[0], stages[1], stages[2]))

    def build(self, arch: Hashable) -> Any:
        """The torch network (eval mode)."""
        from onnxnet.spaces._macro_net import build_network

        return build_network(self._check(arch), STRIDES, num_classes=self.num_classes).eval()
