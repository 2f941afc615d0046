"""einspace (Ericsson et al., NeurIPS 2024): architectures derived from a context-free grammar of fundamental ops.

A network is a derivation tree of four module kinds (``linusericsson/einspace``, ``search_spaces.py``)::

    module      := sequential(module, module)
                 | branching(branching_fn, module, module, aggregation_fn)   # 2 branches, 2 inner modules
                 | branching(branching_fn, module, aggregation_fn)           # 4 or 8 branches, 1 repeated module
                 | routing(prerouting_fn, module, postrouting_fn)
                 | computation_fn                                            # ``computation(fn)`` also parses
    branching_fn    := clone_tensor{2,4,8} | group_dim{2,4,8}s{1,2,3}d
    aggregation_fn  := dot_product | scaled_dot_product | add_tensors | cat_tensors{1,2,3}d{2,4,8}t
    prerouting_fn   := identity | permute{132,213,231,312,321,21} | im2col{1k1s0p,1k2s0p,3k1s1p,3k2s1p,4k4s0p,...}
    postrouting_fn  := identity | permute... | col2im
    computation_fn  := identity | linear{16,...,2048} | norm | leakyrelu | softmax | learnable_positional_encoding

Tensors are ``im`` (C, H, W) or ``col`` (S, D) (batch left out); ``im2col`` / ``col2im`` switch modes, a linear
acts on the last dimension, ``norm`` is BatchNorm in ``im`` and LayerNorm in ``col`` mode. The root is never a bare
computation. A network is the backbone plus einspace's head: mean over the trailing dimensions, then a linear
layer to the classes. Every option is filtered by the tensor shapes exactly as einspace's ``filter_options`` does,
so sampled networks always type-check on 3x32x32 CIFAR-10 input.

Simplifications against the reference code (stated, deliberate):

- Sampling is seeded (numpy ``Generator``) and depth-limited (``max_depth``, default 6; einspace uses 0-100 with
  computation probability 0.32, which we keep), and resamples networks above ``max_params`` parameters or with a
  tensor above ``max_activation`` elements, so that every sampled network is small enough to build and export.
- Aggregation options follow the true number of branches (einspace propagates a branching factor that a nested
  branching module resets to 1, which lets a 2-way concatenation be picked for 4 tensors); ``dot_product`` needs
  exactly 2 branches.
- Mutation, the stitching used to repeat cells, and ``num_repeated_cells`` are not implemented (only sampling).
- Shapes are inferred symbolically instead of by running torch on every candidate.
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.spaces._einspace_grammar import (Branching, Computation, EinInfo, Node, Routing, Sequential, _Restart,
                                              _SampleError, _Sampler, _ShapeError, analyse, canonical, parse_text,
                                              to_text)
from onnxnet.spaces.base import SPACES, SearchSpace


@SPACES.register("einspace")
class EinSpace(SearchSpace):
    """einspace on CIFAR-10: seeded, depth-limited grammar sampling; networks = backbone + pooled linear head."""

    name = "einspace"
    input_shape = (1, 3, 32, 32)
    num_classes = 10

    def __init__(self, max_depth: int = 6, min_depth: int = 0, max_params: int = 5_000_000,
                 max_activation: int = 2 ** 21, max_attempts: int = 10_000) -> None:
        self.max_attempts = max_attempts
        self.max_depth = max_depth
        self.min_depth = min_depth
        self.max_params = max_params
        self.max_activation = max_activation

    def parse(self, text: Any) -> Node:
        if isinstance(text, (Sequential, Branching, Routing, Computation)):
            node: Node = text
            shown = to_text(node)
        elif isinstance(text, str):
            node = parse_text(text)
            shown = text
        else:
            raise ArchitectureError(f"bad einspace architecture {text!r}: expected a derivation string such as "
                                    "'sequential(routing(im2col3k1s1p, linear64, col2im), leakyrelu)'")
        if isinstance(node, Computation):
            raise ArchitectureError(f"bad einspace architecture {shown!r}: a network must start with a "
                                    "sequential, branching or routing module, not a bare computation")
        try:
            analyse(node, self.input_shape[1:])
        except _ShapeError as e:
            raise ArchitectureError(f"bad einspace architecture {shown!r}: does not fit a "
                                    f"{'x'.join(map(str, self.input_shape[1:]))} input: {e}") from None
        return node

    def to_string(self, arch: Hashable) -> str:
        return to_text(self.parse(arch))

    def info(self, arch: Hashable) -> EinInfo:
        """Backbone output shape/mode, parameter count (backbone + head), largest tensor and leaf count."""
        node = self.parse(arch)
        info = analyse(node, self.input_shape[1:])
        head_in = info.output_shape[0]
        info.n_params += head_in * self.num_classes + self.num_classes
        return info

    def sample(self, rng: np.random.Generator) -> Node:
        """Draw derivations with einspace's probabilities and backtracking until one fits the size limits."""
        for _ in range(self.max_attempts):
            sampler = _Sampler(rng, self.max_depth, self.min_depth, budget=5000)
            try:
                node, _, _ = sampler.module(self.input_shape[1:], "im", None, 0, root=True)
            except (_SampleError, _Restart):
                continue
            info = self.info(node)
            if info.n_params <= self.max_params and info.max_activation <= self.max_activation:
                return node
        raise ArchitectureError(
            f"einspace sampling found no network within max_params={self.max_params} and "
            f"max_activation={self.max_activation} in {self.max_attempts} draws; raise the limits or max_depth"
        )

    def canonical_form(self, arch: Hashable) -> str:
        return to_text(canonical(self.parse(arch)))

    def build(self, arch: Hashable) -> Any:
        from onnxnet.spaces._einspace_net import build_network

        node = self.parse(arch)
        return build_network(node, self.input_shape[1:], self.num_classes).eval()
