"""hNAS-Bench-201: the hierarchical NAS-Bench-201 space of Schrodi et al. (NeurIPS 2023).

"Construction of Hierarchical Neural Architecture Search Spaces based on Context-free Grammars" builds
architectures from a context-free grammar with five levels: macro topology (D2, D1, D0, DOWN, C), NB201-style
cells (CELL), cell operations (OPS) and convolution blocks (CONVBLOCK: activation, convolution, normalisation).
The grammar (``_hnb201_grammar.GRAMMAR``) is the union of the reference's ``macro.cfg``, ``cell_flexible.cfg``
and ``conv_block.cfg`` (search space ``nb201_variable_multi_multi`` of automl/hierarchical_nas_construction). Every path through the
macro level passes exactly two residual reduction blocks, so the network is always stem (16 channels) ->
32x32 -> 16x16 -> 8x8 (64 channels) -> BN, ReLU, pooling, linear.

An architecture is a derivation tree (``Derivation``), printed and parsed in the reference's (NePS) bracket
notation: ``(SYMBOL head child ...)``, e.g. ``(OPS Linear1 (CONVBLOCK Linear3 (ACT relu) (CONV conv3x3o)
(NORM batch)))``.

The reference constrains each cell to keep a path from its input to its output that avoids ``zero``. Its
sampler, however, compares against unclosed subtree strings (``"(OPS zero"``), so earlier zero edges are never
seen and the constraint does not act while sampling (it does in mutation, crossover and the space-size count):
derivations from the reference's runs can contain cells whose output is zero. ``parse`` therefore accepts
them (``strict=True`` rejects them; ``is_valid`` tells), while ``sample`` enforces the constraint as intended.
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np

from onnxnet.spaces._hnb201_grammar import (START, Derivation, _err, cell_has_path, check, count_derivations,
                                            parse_derivation, sample_derivation, semantic_form)
from onnxnet.spaces.base import SPACES, SearchSpace


@SPACES.register("hnb201")
class HNB201Space(SearchSpace):
    """hNAS-Bench-201 (hierarchical NB201 from a context-free grammar) for CIFAR-10."""

    name = "hnb201"
    input_shape = (1, 3, 32, 32)
    num_classes = 10
    #: Stem channels (the reference's ``base_channels``).
    C = 16

    def parse(self, text: Any, strict: bool = False) -> Derivation:
        """A derivation string in bracket notation (or a ``Derivation``), checked against the grammar.

        ``strict=True`` also rejects cells without a zero-free input-output path (see the module docstring).
        """
        if isinstance(text, Derivation):
            tree = text
        elif isinstance(text, str):
            if not text.strip():
                raise _err(text, "empty string")
            tree = parse_derivation(text.strip())
        else:
            raise _err(text, f"unsupported type {type(text).__name__}")
        check(tree, text, strict=strict)
        return tree

    def is_valid(self, arch: Hashable) -> bool:
        """True if every cell keeps an input-output path without ``zero`` (the reference's constraint)."""
        return all(cell_has_path(c.children) for c in self._check(arch).cells())

    def to_string(self, arch: Hashable) -> str:
        return str(self._check(arch))

    def _check(self, arch: Hashable) -> Derivation:
        if not isinstance(arch, Derivation) or arch.symbol != START:
            raise _err(arch, "not an hNAS-Bench-201 derivation; use parse() first")
        return arch

    def sample(self, rng: np.random.Generator) -> Derivation:
        return sample_derivation(rng)

    @property
    def size(self) -> None:
        """``None``: the space is finite but far too large to enumerate (see ``count``)."""
        return None

    @staticmethod
    def count(distinct: bool = True) -> int:
        """The exact number of valid derivation strings (``distinct=False``: the paper's count, 10^446)."""
        return count_derivations(START, distinct)

    def canonical_form(self, arch: Hashable) -> str:
        """Digest of the computed expression (``semantic_form``): equal for equivalent derivations."""
        return semantic_form(self._check(arch))

    def from_nb201(self, cell: Any) -> Derivation:
        """The NB201 network of ``cell`` (any form ``nb201`` parses) written as an hNAS-Bench-201 derivation.

        NB201's TinyNetwork is the special case with one shared cell, stages of 5 cells and plain residual
        reductions; its ``nor_conv`` ops are ReLU-conv-BN convolution blocks. Cells with no zero-free path are
        are grammatical but break the cell constraint (``is_valid`` is then False).
        """
        from onnxnet.spaces.nb201 import NB201Space

        nb = NB201Space()
        ops = nb.parse(cell)
        conv = "(OPS Linear1 (CONVBLOCK Linear3 (ACT relu) (CONV {}) (NORM batch)))"
        table = {"none": "(OPS zero)", "skip_connect": "(OPS id)", "avg_pool_3x3": "(OPS avg_pool)",
                 "nor_conv_1x1": conv.format("conv1x1o"), "nor_conv_3x3": conv.format("conv3x3o")}
        c = "(CELL Cell " + " ".join(table[o] for o in ops) + ")"
        pair = f"(C Linear2 {c} {c})"
        d1 = f"(D1 Linear3 {pair} {pair} (DOWN Linear2 {c} resBlock))"
        return self.parse(f"(D2 Linear3 {d1} {d1} (D0 Linear3 {pair} {pair} {c}))")

    def build(self, arch: Hashable) -> Any:
        """The torch network: stem, the derived macro graph, BN-ReLU-pool-linear head (eval mode)."""
        from onnxnet.spaces._hnb201_torch import build_network

        return build_network(self._check(arch), C=self.C, resolution=self.input_shape[-1],
                             num_classes=self.num_classes).eval()
