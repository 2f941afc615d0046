"""Zero-cost proxies computed from the ONNX graph itself, for any network (families ``proxies``, ``proxy-<name>``).

``onnx_proxy_features(model)`` runs the graph as a freshly initialised torch module
(``onnxnet.graph.torch_exec.to_torch``: Kaiming weights, batch-statistics normalisation after every conv, all-zero
kernels kept zero) on one batch of real CIFAR-10 training images and returns the proxies of ``PROXY_SET``:
forward-only (``nwot``, ``meco``, ``swap``) plus the data-free ``synflow``. The set is fixed by cost, not by
results: each costs one forward pass (synflow one tiny backward), so an NB201 network takes ~0.3 s on one core;
``jacov`` / ``snip`` / ``grad_norm`` need a full backward and are available by name. Every proxy comes back as
``log``-scaled where it counts things (``swap``), so feature scales stay comparable across network sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Sequence

from onnxnet.errors import ProtocolError
from onnxnet.features.base import FEATURES, FeatureFamily
from onnxnet.features.engine import features_frame
from onnxnet.graph.load import load_model
from onnxnet.graph.torch_exec import FixedShapeError, UnsupportedOpError, to_torch

#: The proxies computed by default (see the module docstring for why these).
PROXY_SET: tuple[str, ...] = ("nwot", "meco", "swap", "synflow")

#: Proxies computed on request only, each into its own feature-cache kind ``proxy-<name>`` (so adding one does not
#: invalidate the cache of ``PROXY_SET``): ``meco_batch`` (MeCo over the whole batch, for narrow late layers).
EXTRA_PROXIES: tuple[str, ...] = ("meco_batch",)

#: Bump when a proxy's definition, the executor's initialisation or the batch changes (keys disk caches).
PROXIES_VERSION = 1

#: Most proxy seeds ``proxy_frame(seeds=...)`` averages (each seed is its own feature-cache kind, ``proxies-seedK``).
MAX_PROXY_SEEDS = 8

#: The column ``onnx_proxy_features`` adds to the proxies: the image side they ran at (0: token ids), so a
#: cached row still says what its proxies were computed on (``describe_signals``).
INPUT_COLUMN = "proxy_input_px"

#: Largest image side the proxies run at: a model declared for bigger images (224 x 224 ImageNet nets,
#: TransNAS-Bench's 256 x 256) gets the CIFAR-10 batch resized to at most this, keeping the aspect ratio. Proxies
#: are cheap rankings of untrained nets; their cost grows with the pixels, and 64 px keeps several pooling stages.
MAX_SIDE = 64


def _graph_input(model: Any) -> Any:
    init = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init]
    if not inputs:
        raise UnsupportedOpError("zero-cost proxies need an input, and this graph has no input (its output does "
                                 "not depend on one, e.g. a cell of only 'none' edges)")
    return inputs[0]


def _dims(value_info: Any) -> list[int | None]:
    return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]


def token_input(model: Any) -> tuple[int, int] | None:
    """``(sequence length, vocabulary size)`` when the graph's input is integer token ids (N, L) that an embedding
    (a Gather on a weight table) reads; ``None`` for any other input."""
    from onnx import TensorProto

    first = _graph_input(model)
    dims = _dims(first)
    if first.type.tensor_type.elem_type not in (TensorProto.INT64, TensorProto.INT32) or len(dims) != 2:
        return None
    tables = {t.name: list(t.dims) for t in model.graph.initializer}
    vocab = [tables[n.input[0]][0] for n in model.graph.node
             if n.op_type == "Gather" and len(n.input) > 1 and n.input[1] == first.name and n.input[0] in tables]
    if not vocab:
        return None
    return int(dims[1] or 128), int(min(vocab))


def proxy_input_size(model: Any, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(H, W) the proxies feed ``model``: its declared image size, scaled down to ``max_side`` at most; 32 x 32
    when the graph leaves the size open. A graph whose first input is not a 3-channel NCHW image is an error."""
    first = _graph_input(model)
    dims = _dims(first)
    if len(dims) != 4 or dims[1] not in (3, None):
        raise UnsupportedOpError(f"zero-cost proxies need a 3-channel image input (N, 3, H, W) or token ids (N, L) "
                                 f"read by an embedding; this graph's input {first.name!r} has shape {dims}")
    h, w = dims[2] or 32, dims[3] or 32
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


@dataclass
class ProxySignals:
    """The zero-cost signals of one graph and what they were computed on.

    ``values``: ``{"zc_<name>": score}`` (NaN for a proxy that does not apply to this graph); ``input``: what the
    network was fed (``"64 CIFAR-10 images at 64x64 px"``, ...); ``skipped``: proxy -> why it has no value.
    """

    values: dict[str, float]
    input: str
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """One sentence: which signals were used, on what, and which were not and why."""
        used = [k[3:] for k, v in self.values.items() if k.startswith("zc_") and math.isfinite(v)]
        text = f"proxies {', '.join(used) or 'none'} on {self.input}"
        reasons: dict[str, list[str]] = {}
        for name, why in self.skipped.items():
            reasons.setdefault(why, []).append(name)
        return text + "".join(f"; {', '.join(names)} not computed ({why})" for why, names in reasons.items())


def _fresh_net(model: Any, seed: int) -> Any:
    """``model`` as a freshly initialised float torch module in training mode (seeded)."""
    import torch

    torch.manual_seed(seed)
    return to_torch(model, seed=seed).float().train()


def onnx_signals(model: Any, names: Sequence[str] = PROXY_SET, *, batch_size: int = 64, seed: int = 0,
                 data: str | None = None, max_side: int = MAX_SIDE) -> ProxySignals:
    """The zero-cost signals of one ONNX model (ModelProto, path or bytes), on one torch thread.

    Image input: ``names`` on CIFAR-10 training images resized to ``proxy_input_size``; when a shape constant the
    exporter fixed for the declared size does not fit the smaller input (``FixedShapeError``), at the model's own
    input size. Token input (``token_input``): the data-free ``synflow`` on all-ones token ids (the image-free
    signal); the others need an image batch and are NaN. ReLU-statistic proxies of a graph without ReLUs are NaN.
    """
    import torch
    import torch.nn.functional as F

    from onnxnet.features.proxies import compute_proxy, proxy_batch, torch_threads
    from onnxnet.features.proxies._relu import RELU_STATISTICS

    model = model if hasattr(model, "graph") else load_model(model)
    tokens = token_input(model)
    with torch_threads(1):
        if tokens is not None:
            length, vocab = tokens
            skipped = {n: "they need an image batch; this graph reads token ids" for n in names if n != "synflow"}
            values = {f"zc_{n}": float("nan") for n in names}
            if "synflow" in names:
                ids = torch.ones((batch_size, length), dtype=torch.long)
                net = _fresh_net(model, seed)
                values["zc_synflow"] = compute_proxy("synflow", net, ids, None, copy_net=False)
            values[INPUT_COLUMN] = 0.0
            return ProxySignals(values, _token_text(length, vocab), skipped)
        x, y = proxy_batch(batch_size, seed, data)
        native = proxy_input_size(model, max_side=10**9)
        size = proxy_input_size(model, max_side)
        for attempt in (size, native) if size != native else (size,):
            xs = F.interpolate(x, size=attempt, mode="bilinear", align_corners=False) \
                if attempt != tuple(x.shape[-2:]) else x
            try:
                values, skipped = _image_proxies(model, xs, y, names, seed, RELU_STATISTICS)
            except (FixedShapeError, RuntimeError) as e:
                if attempt == native or (isinstance(e, RuntimeError) and not _shape_error(e)):
                    raise
                continue
            values[INPUT_COLUMN] = float(attempt[0])
            return ProxySignals(values, _image_text(int(xs.shape[0]), attempt, size), skipped)
    raise AssertionError("unreachable")


def _token_text(length: int, vocab: int) -> str:
    return f"token ids (N, {length}) from a vocabulary of {vocab} (no image input)"


def _image_text(n: int, used: tuple[int, int], planned: tuple[int, int]) -> str:
    text = f"{n} CIFAR-10 images at {used[0]}x{used[1]} px"
    if used != planned:
        text += f" (the model's own size: its fixed shapes do not fit {planned[0]}x{planned[1]})"
    return text


def describe_signals(model: Any, values: dict[str, float], batch_size: int = 64) -> str:
    """``ProxySignals.note`` for proxies read back from the feature cache (``values``: one row of the
    ``proxies`` family, with ``INPUT_COLUMN``): which were used, on what, and why the others have no value.
    ``model``: a ModelProto, a path, or a row's canonical ONNX bytes (parsed as they are, not loaded again: a
    cached ``predict`` reads 300 NB201 files' statements in well under a second instead of ~10 s)."""
    import onnx

    if isinstance(model, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model))
    elif not hasattr(model, "graph"):
        model = load_model(model)
    names = [k[3:] for k in values if k.startswith("zc_")]
    tokens = token_input(model)
    if tokens is not None:
        what, why = _token_text(*tokens), "they need an image batch; this graph reads token ids"
    else:
        planned = proxy_input_size(model)
        side = values.get(INPUT_COLUMN)
        used = planned if side is None or not math.isfinite(side) or int(side) == planned[0] else \
            proxy_input_size(model, max_side=10**9)
        what = _image_text(batch_size, used, planned)
        relu = any(n.op_type == "Relu" or (n.op_type == "Clip" and _clips_at_zero(n, model)) for n in model.graph.node)
        why = "failed" if relu else "the graph has no ReLU"
    skipped = {n: why for n in names if not math.isfinite(values[f"zc_{n}"])}
    return ProxySignals({k: v for k, v in values.items() if k.startswith("zc_")}, what, skipped).note


def _clips_at_zero(node: Any, model: Any) -> bool:
    """Whether a Clip node is a ReLU (constant lower bound 0), as the torch executor builds it."""
    from onnx import numpy_helper

    if len(node.input) < 2 or not node.input[1]:
        return any(a.name == "min" and a.f == 0.0 for a in node.attribute)
    init = {t.name: t for t in model.graph.initializer}
    return node.input[1] in init and float(numpy_helper.to_array(init[node.input[1]]).reshape(-1)[0]) == 0.0


def _shape_error(e: RuntimeError) -> bool:
    """Whether torch's error says that tensor shapes do not fit (a shape fixed for another input size)."""
    text = str(e)
    return any(k in text for k in ("shape", "size", "dimension", "Sizes of tensors", "Output size is too small"))


def _image_proxies(model: Any, x: Any, y: Any, names: Sequence[str], seed: int,
                   statistics: Any) -> tuple[dict[str, float], dict[str, str]]:
    from onnxnet.features.proxies import NON_FINITE_SCORE, compute_proxy
    from onnxnet.features.proxies._relu import relu_scores

    net = _fresh_net(model, seed)
    forward = [n for n in names if n in statistics]
    scores = relu_scores(net, x, {n: statistics[n](int(x.shape[0])) for n in forward}) if forward else {}
    skipped = {}
    if forward and not any("ReLU" in type(m).__name__ for m in net.modules()):  # as relu_scores hooks them
        skipped = {n: "the graph has no ReLU" for n in forward}
    rest = [n for n in names if n not in statistics]
    # synflow rewrites its network (|w|, float64, BN bypassed): it gets the net last, or a copy.
    rest.sort(key=lambda n: n == "synflow")
    for i, name in enumerate(rest):
        scores[name] = compute_proxy(name, net, x, y, copy_net=name == "synflow" and i < len(rest) - 1)
    out: dict[str, float] = {}
    for name in names:
        value = scores[name]
        if name in skipped:
            value = float("nan")
        elif not math.isfinite(value):
            value = NON_FINITE_SCORE
        elif name == "swap" and value > 0:
            value = math.log(value)
        out[f"zc_{name}"] = value
    return out, skipped


def onnx_proxy_features(model: Any, names: Sequence[str] = PROXY_SET, *, batch_size: int = 64, seed: int = 0,
                        data: str | None = None, max_side: int = MAX_SIDE) -> dict[str, float]:
    """``{"zc_<name>": score}`` for one ONNX model: the values of ``onnx_signals`` (NaN where a proxy does not
    apply), plus ``INPUT_COLUMN``."""
    return onnx_signals(model, names, batch_size=batch_size, seed=seed, data=data, max_side=max_side).values


def _chosen(names: Sequence[str] | str | bool) -> list[str]:
    return list(PROXY_SET) if names is True else [names] if isinstance(names, str) else list(names or ())


def proxy_families(names: Sequence[str] | str | bool = True, seeds: int = 1) -> tuple[str, ...]:
    """The feature families ``proxy_frame(rows, names, seeds=seeds)`` reads: one per draw of ``PROXY_SET``
    (``proxies``, ``proxies-seed1``, ...) when any of it is chosen, one per chosen extra proxy."""
    chosen = _chosen(names)
    draws = [("proxies" if k == 0 else f"proxies-seed{k}") for k in range(int(seeds))] \
        if any(n in PROXY_SET for n in chosen) else []
    return tuple(draws + [f"proxy-{n}" for n in chosen if n in EXTRA_PROXIES])


def proxy_frame(rows: Any, names: Sequence[str] | str | bool = True, cache_dir: str | None = None,
                progress: bool = False, jobs: int = 1, seeds: int = 1) -> tuple[Any, list[dict[str, str]]]:
    """The ``zc_<name>`` columns of proxies ``names`` (of ``PROXY_SET`` or ``EXTRA_PROXIES``; ``True``: all of
    ``PROXY_SET``) for every row, cached, aligned with ``rows``.

    Computed through ``features_frame(kind="proxies")`` (disk cache under ``cache_dir``), and ``kind="proxy-<name>"``
    for an extra proxy. ``seeds`` > 1 averages each ``PROXY_SET`` proxy over that many batches and initialisations
    (seeds 0 .. seeds-1, each its own cache kind ``proxies-seedK``). A row any part fails on gets NaN there.
    """
    import pandas as pd

    chosen = _chosen(names)
    unknown = [n for n in chosen if n not in PROXY_SET + EXTRA_PROXIES]
    if unknown:
        raise ProtocolError(f"ONNX proxies {unknown} are not computed by the feature cache; choose from "
                            f"{', '.join(PROXY_SET + EXTRA_PROXIES)}")
    if not 1 <= int(seeds) <= MAX_PROXY_SEEDS:
        raise ProtocolError(f"proxy seeds must be 1 to {MAX_PROXY_SEEDS}, got {seeds!r}")
    extras = [n for n in chosen if n in EXTRA_PROXIES]
    if extras and int(seeds) > 1:
        raise ProtocolError(f"proxy seeds > 1 average {', '.join(PROXY_SET)} only; {extras} have one draw")
    # (cache kind, its columns wanted): one kind per draw of PROXY_SET, one per extra proxy
    kinds = [("proxies" if k == 0 else f"proxies-seed{k}", [f"zc_{n}" for n in chosen if n in PROXY_SET])
             for k in range(int(seeds))] + [(f"proxy-{n}", [f"zc_{n}"]) for n in extras]
    draws, parts, failures, seen = [], [], [], set()
    for kind, columns in kinds:
        if not columns:
            continue
        frame, failed = features_frame(rows, kind=kind, cache_dir=cache_dir, progress=progress, jobs=jobs)
        (draws if kind.startswith("proxies") else parts).append(frame.reindex(columns=columns))
        failures += [f for f in failed if f["id"] not in seen]
        seen.update(f["id"] for f in failed)
    if draws:
        parts.insert(0, sum(draws[1:], draws[0]) / len(draws))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=rows.index)
    return out.reindex(columns=[f"zc_{n}" for n in chosen]), failures


def with_proxies(X: Any, rows: Any, names: Sequence[str] | str | bool = True, cache_dir: str | None = None,
                 progress: bool = False, jobs: int = 1, seeds: int = 1) -> tuple[Any, list[dict[str, str]]]:
    """The feature frame ``X`` (aligned with ``rows``) with the proxies' ``zc_<name>`` columns appended, and the
    proxies' failures, each reason prefixed ``proxies:``. A network the torch executor cannot run keeps its other
    features and gets NaN proxies (tree models take NaN)."""
    import pandas as pd

    P, failed = proxy_frame(rows, names, cache_dir=cache_dir, progress=progress, jobs=jobs, seeds=seeds)
    return pd.concat([X, P], axis=1), [{**f, "reason": "proxies: " + f["reason"]} for f in failed]


FEATURES.register("proxies")(FeatureFamily("proxies", onnx_proxy_features, f"proxies-v{PROXIES_VERSION}",
                                            f"zero-cost proxies {', '.join(PROXY_SET)} of the untrained network"))
# The proxies again on another batch and initialisation (seed k): averaged, they are less noisy.
for _k in range(1, MAX_PROXY_SEEDS):
    FEATURES.register(f"proxies-seed{_k}")(FeatureFamily(
        f"proxies-seed{_k}", partial(onnx_proxy_features, seed=_k), f"proxies-v{PROXIES_VERSION}-seed{_k}",
        f"the proxies on batch and initialisation seed {_k}"))
for _name in EXTRA_PROXIES:
    FEATURES.register(f"proxy-{_name}")(FeatureFamily(
        f"proxy-{_name}", partial(onnx_proxy_features, names=(_name,)), f"proxy-{_name}-v{PROXIES_VERSION}",
        f"the proxy {_name} alone"))
