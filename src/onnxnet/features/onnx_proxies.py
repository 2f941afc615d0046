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
from functools import partial
from typing import Any, Sequence

from onnxnet.errors import ProtocolError
from onnxnet.features.base import FEATURES, FeatureFamily
from onnxnet.features.engine import features_frame
from onnxnet.graph.load import load_model
from onnxnet.graph.torch_exec import UnsupportedOpError, to_torch

#: The proxies computed by default (see the module docstring for why these).
PROXY_SET: tuple[str, ...] = ("nwot", "meco", "swap", "synflow")

#: Proxies computed on request only, each into its own feature-cache kind ``proxy-<name>`` (so adding one does not
#: invalidate the cache of ``PROXY_SET``): ``meco_batch`` (MeCo over the whole batch, for narrow late layers).
EXTRA_PROXIES: tuple[str, ...] = ("meco_batch",)

#: Bump when a proxy's definition, the executor's initialisation or the batch changes (keys disk caches).
PROXIES_VERSION = 1

#: Most proxy seeds ``proxy_frame(seeds=...)`` averages (each seed is its own feature-cache kind, ``proxies-seedK``).
MAX_PROXY_SEEDS = 8

#: Largest image side the proxies run at: a model declared for bigger images (224 x 224 ImageNet nets,
#: TransNAS-Bench's 256 x 256) gets the CIFAR-10 batch resized to at most this, keeping the aspect ratio. Proxies
#: are cheap rankings of untrained nets; their cost grows with the pixels, and 64 px keeps several pooling stages.
MAX_SIDE = 64


def proxy_input_size(model: Any, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(H, W) the proxies feed ``model``: its declared image size, scaled down to ``max_side`` at most; 32 x 32
    when the graph leaves the size open. A graph whose first input is not a 3-channel NCHW image is an error."""
    init = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init]
    if not inputs:
        raise UnsupportedOpError("zero-cost proxies need an image input, and this graph has no input (its output "
                                 "does not depend on one, e.g. a cell of only 'none' edges)")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] not in (3, None):
        raise UnsupportedOpError(f"zero-cost proxies need a 3-channel image input (N, 3, H, W); this graph's input "
                                 f"{inputs[0].name!r} has shape {dims}")
    h, w = dims[2] or 32, dims[3] or 32
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def onnx_proxy_features(model: Any, names: Sequence[str] = PROXY_SET, *, batch_size: int = 64, seed: int = 0,
                        data: str | None = None, max_side: int = MAX_SIDE) -> dict[str, float]:
    """``{"zc_<name>": score}`` for one ONNX model (ModelProto, path or bytes), computed on one torch thread, on
    CIFAR-10 training images resized to the model's input size (``proxy_input_size``)."""
    import torch
    import torch.nn.functional as F

    from onnxnet.features.proxies import NON_FINITE_SCORE, compute_proxy, proxy_batch, torch_threads
    from onnxnet.features.proxies._relu import RELU_STATISTICS, relu_scores

    model = model if hasattr(model, "graph") else load_model(model)
    x, y = proxy_batch(batch_size, seed, data)
    size = proxy_input_size(model, max_side)
    if size != tuple(x.shape[-2:]):
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    with torch_threads(1):
        torch.manual_seed(seed)
        net = to_torch(model, seed=seed).float().train()
        forward = [n for n in names if n in RELU_STATISTICS]
        scores = relu_scores(net, x, {n: RELU_STATISTICS[n](int(x.shape[0])) for n in forward}) if forward else {}
        rest = [n for n in names if n not in RELU_STATISTICS]
        # synflow rewrites its network (|w|, float64, BN bypassed): it gets the net last, or a copy.
        rest.sort(key=lambda n: n == "synflow")
        for i, name in enumerate(rest):
            scores[name] = compute_proxy(name, net, x, y, copy_net=name == "synflow" and i < len(rest) - 1)
        out: dict[str, float] = {}
        for name in names:
            value = scores[name]
            value = value if math.isfinite(value) else NON_FINITE_SCORE
            if name == "swap" and value > 0:
                value = math.log(value)
            out[f"zc_{name}"] = value
        return out


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
