"""einspace's grammar: the node types, shape rules, text form, canonical form and sampler (no torch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

import numpy as np

from onnxnet.errors import ArchitectureError

BRANCHING_FNS: tuple[str, ...] = (
    "clone_tensor2", "clone_tensor4", "clone_tensor8",
    "group_dim2s1d", "group_dim2s2d", "group_dim2s3d",
    "group_dim4s1d", "group_dim4s2d", "group_dim4s3d",
    "group_dim8s1d", "group_dim8s2d", "group_dim8s3d",
)
AGGREGATION_FNS: tuple[str, ...] = (
    "dot_product", "scaled_dot_product", "add_tensors",
    "cat_tensors1d2t", "cat_tensors2d2t", "cat_tensors3d2t",
    "cat_tensors1d4t", "cat_tensors2d4t", "cat_tensors3d4t",
    "cat_tensors1d8t", "cat_tensors2d8t", "cat_tensors3d8t",
)
PREROUTING_FNS: tuple[str, ...] = (
    "identity", "permute21", "permute132", "permute213", "permute231", "permute312", "permute321",
    "im2col1k1s0p", "im2col1k2s0p", "im2col3k1s1p", "im2col3k2s1p", "im2col4k4s0p", "im2col8k8s0p",
    "im2col16k16s0p",
)
POSTROUTING_FNS: tuple[str, ...] = (
    "identity", "permute21", "permute132", "permute213", "permute231", "permute312", "permute321", "col2im",
)
COMPUTATION_FNS: tuple[str, ...] = (
    "identity", "linear16", "linear32", "linear64", "linear128", "linear256", "linear512", "linear1024",
    "linear2048", "norm", "leakyrelu", "softmax", "learnable_positional_encoding",
)
MODULES: tuple[str, ...] = ("sequential", "branching", "routing", "computation")
#: Probability of a computation (leaf) module whenever one may be chosen (einspace's default).
COMPUTATION_MODULE_PROB = 0.32

#: Axis permutations (over the non-batch axes, 1-based as in einspace's names).
PERMUTES: dict[str, tuple[int, ...]] = {
    "permute21": (2, 1), "permute132": (1, 3, 2), "permute213": (2, 1, 3), "permute231": (2, 3, 1),
    "permute312": (3, 1, 2), "permute321": (3, 2, 1),
}
_IM2COL_RE = re.compile(r"^im2col(\d+)k(\d+)s(\d+)p$")
_GROUP_RE = re.compile(r"^group_dim(\d)s(\d)d$")
_CAT_RE = re.compile(r"^cat_tensors(\d)d(\d)t$")


@dataclass(frozen=True)
class Sequential:
    first: "Node"
    second: "Node"


@dataclass(frozen=True)
class Branching:
    """``inner`` holds 2 modules for 2-way branching, 1 module (repeated, separate weights) for 4 or 8 ways."""

    branch: str
    inner: tuple["Node", ...]
    aggregate: str


@dataclass(frozen=True)
class Routing:
    pre: str
    inner: "Node"
    post: str


@dataclass(frozen=True)
class Computation:
    fn: str


Node = Union[Sequential, Branching, Routing, Computation]
Shape = tuple[int, ...]


def branching_factor(fn: str) -> int:
    """Number of branches a branching function makes (2, 4 or 8)."""
    m = re.search(r"\d+", fn)
    assert m is not None, fn
    return int(m.group())


def im2col_params(fn: str) -> tuple[int, int, int]:
    """``(kernel, stride, padding)`` of an ``im2col`` function."""
    m = _IM2COL_RE.match(fn)
    assert m is not None, fn
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


class _ShapeError(Exception):
    """An option does not apply to the tensor it would receive."""


@dataclass
class EinInfo:
    """What a derivation computes on a given input: output shape/mode, #parameters, largest tensor, #leaves."""

    output_shape: Shape
    output_mode: str
    n_params: int
    max_activation: int
    n_leaves: int


# ---- shape rules (one function per terminal kind) --------------------------------------------------------------

def terminal_shape(fn: str, shape: Shape, mode: str, last_im: tuple[int, int] | None) -> tuple[Shape, str, int]:
    """Output shape, mode and parameter count of a routing or computation terminal; ``_ShapeError`` if invalid."""
    if 0 in shape:
        raise _ShapeError(f"{fn} received an empty tensor {shape}")
    if fn in ("identity", "leakyrelu", "softmax"):
        return shape, mode, 0
    if fn == "norm":
        return shape, mode, 2 * (shape[0] if mode == "im" else shape[-1])
    if fn == "learnable_positional_encoding":
        return shape, mode, int(np.prod(shape))
    if fn.startswith("linear"):
        out = int(fn[len("linear"):])
        return (*shape[:-1], out), mode, shape[-1] * out + out
    if fn in PERMUTES:
        perm = PERMUTES[fn]
        if len(perm) != len(shape):
            raise _ShapeError(f"{fn} permutes {len(perm)} axes but the tensor {shape} has {len(shape)}")
        return tuple(shape[p - 1] for p in perm), mode, 0
    if fn.startswith("im2col"):
        if mode != "im":
            raise _ShapeError(f"{fn} needs an image (C, H, W) tensor, got {mode} {shape}")
        k, s, p = im2col_params(fn)
        c, h, w = shape
        if h < k or w < k:
            raise _ShapeError(f"{fn} kernel {k} is larger than the {h}x{w} image")
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        return (ho * wo, c * k * k), "col", 0
    if fn == "col2im":
        if mode != "col":
            raise _ShapeError(f"col2im needs a (S, D) tensor, got {mode} {shape}")
        if last_im is None:
            raise _ShapeError("col2im has no im2col before it to take the image size from")
        size = shape[0] * shape[1]
        if size % (last_im[0] * last_im[1]):
            raise _ShapeError(f"col2im cannot fold {shape} into {last_im[0]}x{last_im[1]} images")
        return (size // (last_im[0] * last_im[1]), last_im[0], last_im[1]), "im", 0
    raise _ShapeError(f"unknown function {fn!r}")


def branch_shape(fn: str, shape: Shape, mode: str) -> tuple[Shape, int]:
    """Shape of each branch and the number of branches."""
    k = branching_factor(fn)
    if fn.startswith("clone_tensor"):
        return shape, k
    m = _GROUP_RE.match(fn)
    assert m is not None, fn
    dim = int(m.group(2))
    if dim > len(shape):
        raise _ShapeError(f"{fn} splits axis {dim} of a {len(shape)}-axis tensor {shape}")
    if shape[dim - 1] % k or shape[dim - 1] < k:
        raise _ShapeError(f"{fn} cannot split axis {dim} of size {shape[dim - 1]} into {k} equal groups")
    out = list(shape)
    out[dim - 1] //= k
    return tuple(out), k


def aggregate_shape(fn: str, shapes: list[Shape], mode: str) -> Shape:
    """Output shape of an aggregation of ``shapes``; ``_ShapeError`` if the shapes do not fit."""
    k = len(shapes)
    first = shapes[0]
    if fn in ("dot_product", "scaled_dot_product"):
        if k != 2:
            raise _ShapeError(f"{fn} multiplies exactly 2 tensors, got {k}")
        a, b = shapes
        if mode == "im":
            if a[0] != b[0] or a[2] != b[1]:
                raise _ShapeError(f"{fn} cannot multiply {a} by {b}")
            return (a[0], a[1], b[2])
        if a[1] != b[0]:
            raise _ShapeError(f"{fn} cannot multiply {a} by {b}")
        return (a[0], b[1])
    if fn == "add_tensors":
        if any(s != first for s in shapes):
            raise _ShapeError(f"add_tensors needs equal shapes, got {shapes}")
        return first
    m = _CAT_RE.match(fn)
    if m is None:
        raise _ShapeError(f"unknown aggregation {fn!r}")
    dim, n = int(m.group(1)), int(m.group(2))
    if n != k:
        raise _ShapeError(f"{fn} concatenates {n} tensors, got {k}")
    if dim > len(first):
        raise _ShapeError(f"{fn} concatenates along axis {dim} of {len(first)}-axis tensors")
    others = [i for i in range(len(first)) if i != dim - 1]
    if any(len(s) != len(first) or any(s[i] != first[i] for i in others) for s in shapes):
        raise _ShapeError(f"{fn} needs shapes equal except on axis {dim}, got {shapes}")
    out = list(first)
    out[dim - 1] = sum(s[dim - 1] for s in shapes)
    return tuple(out)


def analyse(node: Node, shape: Shape = (3, 32, 32), mode: str = "im",
            last_im: tuple[int, int] | None = None) -> EinInfo:
    """Type-check ``node`` on an input of ``shape`` (no batch axis); raise ``_ShapeError`` naming the problem."""
    size = int(np.prod(shape))
    if isinstance(node, Computation):
        out, m, p = terminal_shape(node.fn, shape, mode, last_im)
        return EinInfo(out, m, p, max(size, int(np.prod(out))), 1)
    if isinstance(node, Sequential):
        a = analyse(node.first, shape, mode, last_im)
        b = analyse(node.second, a.output_shape, a.output_mode, last_im)
        return EinInfo(b.output_shape, b.output_mode, a.n_params + b.n_params,
                       max(a.max_activation, b.max_activation), a.n_leaves + b.n_leaves)
    if isinstance(node, Routing):
        pre_shape, pre_mode, _ = terminal_shape(node.pre, shape, mode, last_im)
        post_last = last_im
        if node.pre.startswith("im2col"):
            k, s, p = im2col_params(node.pre)
            post_last = ((shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1)
        inner = analyse(node.inner, pre_shape, pre_mode, last_im)
        out, m, _ = terminal_shape(node.post, inner.output_shape, inner.output_mode, post_last)
        act = max(size, int(np.prod(pre_shape)), inner.max_activation, int(np.prod(out)))
        return EinInfo(out, m, inner.n_params, act, inner.n_leaves + 2)
    if isinstance(node, Branching):
        b_shape, k = branch_shape(node.branch, shape, mode)
        expected = 2 if k == 2 else 1
        if len(node.inner) != expected:
            raise _ShapeError(f"{node.branch} makes {k} branches and takes {expected} inner module(s), "
                              f"got {len(node.inner)}")
        infos = [analyse(inner, b_shape, mode, last_im) for inner in node.inner]
        outs = [i.output_shape for i in infos] if k == 2 else [infos[0].output_shape] * k
        modes = {i.output_mode for i in infos}
        if len(modes) != 1:
            raise _ShapeError(f"the branches of {node.branch} end in different modes {sorted(modes)}")
        out_mode = modes.pop()
        if len({len(s) for s in outs}) != 1:
            raise _ShapeError(f"the branches of {node.branch} give tensors of different rank: {outs}")
        out = aggregate_shape(node.aggregate, outs, out_mode)
        params = sum(i.n_params for i in infos) * (k if k > 2 else 1)
        act = max([size, int(np.prod(out))] + [i.max_activation for i in infos])
        leaves = sum(i.n_leaves for i in infos) * (k if k > 2 else 1) + 2
        return EinInfo(out, out_mode, params, act, leaves)
    raise _ShapeError(f"not an einspace node: {node!r}")


# ---- printing and parsing -----------------------------------------------------------------------------------------

def to_text(node: Node) -> str:
    """The derivation string of ``node``."""
    if isinstance(node, Computation):
        return node.fn
    if isinstance(node, Sequential):
        return f"sequential({to_text(node.first)}, {to_text(node.second)})"
    if isinstance(node, Routing):
        return f"routing({node.pre}, {to_text(node.inner)}, {node.post})"
    inner = ", ".join(to_text(n) for n in node.inner)
    return f"branching({node.branch}, {inner}, {node.aggregate})"


_TOKEN_RE = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\()|(\))|(,))")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                raise self.error(f"unexpected character {text[pos:].lstrip()[:1]!r}", pos)
            tok = next(g for g in m.groups() if g is not None)
            self.tokens.append((tok, m.start(m.lastindex or 0)))
            pos = m.end()
        self.i = 0

    def error(self, problem: str, pos: int | None = None) -> ArchitectureError:
        where = "" if pos is None else f" at character {pos}"
        shown = self.text if len(self.text) <= 300 else self.text[:300] + "..."
        return ArchitectureError(
            f"bad einspace architecture {shown!r}: {problem}{where}; expected a derivation such as "
            "'sequential(routing(im2col3k1s1p, linear64, col2im), sequential(norm, leakyrelu))'"
        )

    def peek(self) -> tuple[str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("<end>", len(self.text))

    def take(self, want: str | None = None) -> str:
        tok, pos = self.peek()
        if tok == "<end>":
            expected = f" (expected {want!r})" if want else ""
            raise self.error(f"unexpected end of string{expected}", pos)
        if want is not None and tok != want:
            raise self.error(f"expected {want!r} but found {tok!r}", pos)
        self.i += 1
        return tok

    def name(self, allowed: tuple[str, ...], what: str) -> str:
        tok, pos = self.peek()
        if tok not in allowed:
            raise self.error(f"{tok!r} is not a {what}; choose from {', '.join(allowed)}", pos)
        return self.take()

    def module(self) -> Node:
        tok, pos = self.peek()
        if tok == "<end>":
            raise self.error("unexpected end of string (expected a module)", pos)
        kind = tok[: -len("_module")] if tok.endswith("_module") else tok
        if kind == "sequential":
            self.take(); self.take("(")
            first = self.module(); self.take(",")
            second = self.module(); self.take(")")
            return Sequential(first, second)
        if kind == "routing":
            self.take(); self.take("(")
            pre = self.name(PREROUTING_FNS, "prerouting function"); self.take(",")
            inner = self.module(); self.take(",")
            post = self.name(POSTROUTING_FNS, "postrouting function"); self.take(")")
            return Routing(pre, inner, post)
        if kind == "branching":
            self.take(); self.take("(")
            branch = self.name(BRANCHING_FNS, "branching function"); self.take(",")
            inners = [self.module()]
            self.take(",")
            while self.peek()[0] not in AGGREGATION_FNS:
                inners.append(self.module()); self.take(",")
            agg = self.name(AGGREGATION_FNS, "aggregation function"); self.take(")")
            k = branching_factor(branch)
            if k > 2 and len(inners) == k and len(set(inners)) == 1:
                inners = inners[:1]  # the repeated module written out k times
            return Branching(branch, tuple(inners), agg)
        if kind == "computation":
            self.take(); self.take("(")
            fn = self.name(COMPUTATION_FNS, "computation function"); self.take(")")
            return Computation(fn)
        if tok in COMPUTATION_FNS:
            self.take()
            return Computation(tok)
        raise self.error(f"{tok!r} is not a module (sequential, branching, routing, computation) "
                         "nor a computation function", pos)


def parse_text(text: str) -> Node:
    """Parse a derivation string (syntax only)."""
    p = _Parser(text)
    node = p.module()
    if p.i != len(p.tokens):
        tok, pos = p.peek()
        raise p.error(f"unexpected {tok!r} after the end of the network", pos)
    return node


# ---- canonical form -------------------------------------------------------------------------------------------

def _chain(node: Node) -> list[Node]:
    if isinstance(node, Sequential):
        return _chain(node.first) + _chain(node.second)
    return [node]


def canonical(node: Node) -> Node:
    """Rewrite ``node`` into a normal form that computes the same function.

    Sequences are associative (flattened, right-nested); identity computations inside sequences and
    ``routing(identity, M, identity)`` wrappers are dropped; the two inner modules of a 2-way ``clone`` branching
    aggregated by ``add_tensors`` (a commutative sum) are sorted.
    """
    if isinstance(node, Computation):
        return node
    if isinstance(node, Routing):
        inner = canonical(node.inner)
        if node.pre == "identity" and node.post == "identity":
            return inner
        return Routing(node.pre, inner, node.post)
    if isinstance(node, Branching):
        inners = tuple(canonical(n) for n in node.inner)
        if node.branch == "clone_tensor2" and node.aggregate == "add_tensors":
            inners = tuple(sorted(inners, key=to_text))
        return Branching(node.branch, inners, node.aggregate)
    parts = [canonical(n) for n in _chain(node)]
    flat: list[Node] = []
    for part in parts:
        flat.extend(_chain(part))
    flat = [n for n in flat if n != Computation("identity")] or [Computation("identity")]
    out = flat[-1]
    for n in reversed(flat[:-1]):
        out = Sequential(n, out)
    return out


# ---- sampling -------------------------------------------------------------------------------------------------

class _SampleError(Exception):
    """No option fits here; the caller removes its choice and tries another (einspace's backtracking)."""


class _Sampler:
    def __init__(self, rng: np.random.Generator, max_depth: int, min_depth: int, budget: int) -> None:
        self.rng, self.max_depth, self.min_depth = rng, max_depth, min_depth
        self.steps_left = budget

    def _tick(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise _Restart()

    def pick(self, options: list[str], weighted: bool) -> str:
        if weighted and "computation" in options and len(options) > 1:
            others = (1.0 - COMPUTATION_MODULE_PROB) / (len(options) - 1)
            p = np.array([COMPUTATION_MODULE_PROB if o == "computation" else others for o in options])
            return options[int(self.rng.choice(len(options), p=p / p.sum()))]
        return options[int(self.rng.integers(len(options)))]

    def module(self, shape: Shape, mode: str, last_im: tuple[int, int] | None, depth: int,
               root: bool = False) -> tuple[Node, Shape, str]:
        options = [m for m in MODULES if not (root and m == "computation")]
        if depth >= self.max_depth:
            options = ["computation"]
        elif depth < self.min_depth and "computation" in options and len(options) > 1:
            options.remove("computation")
        while options:
            self._tick()
            kind = self.pick(options, weighted=True)
            try:
                return self.expand(kind, shape, mode, last_im, depth)
            except _SampleError:
                options.remove(kind)
        raise _SampleError()

    def terminal(self, candidates: tuple[str, ...], shape: Shape, mode: str, last_im: tuple[int, int] | None,
                 ) -> tuple[str, Shape, str]:
        options = list(candidates)
        while options:
            self._tick()
            fn = self.pick(options, weighted=False)
            try:
                out, m, _ = terminal_shape(fn, shape, mode, last_im)
                return fn, out, m
            except _ShapeError:
                options.remove(fn)
        raise _SampleError()

    def expand(self, kind: str, shape: Shape, mode: str, last_im: tuple[int, int] | None,
               depth: int) -> tuple[Node, Shape, str]:
        if kind == "computation":
            fn, out, m = self.terminal(COMPUTATION_FNS, shape, mode, last_im)
            return Computation(fn), out, m
        if kind == "sequential":
            first, s1, m1 = self.module(shape, mode, last_im, depth + 1)
            second, s2, m2 = self.module(s1, m1, last_im, depth + 1)
            return Sequential(first, second), s2, m2
        if kind == "routing":
            pre, s1, m1 = self.terminal(PREROUTING_FNS, shape, mode, last_im)
            post_last = last_im
            if pre.startswith("im2col"):
                k, st, p = im2col_params(pre)
                post_last = ((shape[1] + 2 * p - k) // st + 1, (shape[2] + 2 * p - k) // st + 1)
            inner, s2, m2 = self.module(s1, m1, last_im, depth + 1)
            post, s3, m3 = self.terminal(POSTROUTING_FNS, s2, m2, post_last)
            return Routing(pre, inner, post), s3, m3
        # branching
        options = list(BRANCHING_FNS)
        while options:
            self._tick()
            fn = self.pick(options, weighted=False)
            options.remove(fn)
            try:
                b_shape, k = branch_shape(fn, shape, mode)
            except _ShapeError:
                continue
            inners = [self.module(b_shape, mode, last_im, depth + 1) for _ in range(2 if k == 2 else 1)]
            outs = [s for _, s, _ in inners] if k == 2 else [inners[0][1]] * k
            modes = {m for _, _, m in inners}
            if len(modes) != 1 or len({len(s) for s in outs}) != 1:
                raise _SampleError()
            out_mode = modes.pop()
            aggs = list(AGGREGATION_FNS)
            while aggs:
                agg = self.pick(aggs, weighted=False)
                aggs.remove(agg)
                try:
                    out = aggregate_shape(agg, outs, out_mode)
                except _ShapeError:
                    continue
                return Branching(fn, tuple(n for n, _, _ in inners), agg), out, out_mode
            raise _SampleError()
        raise _SampleError()


class _Restart(Exception):
    """The sampling step budget ran out: start a fresh draw (the generator continues, so this stays seeded)."""
