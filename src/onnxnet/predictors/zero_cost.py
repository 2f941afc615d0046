"""Zero-cost proxy predictors: build each network from its search space, run one batch of real CIFAR-10 images.

Rows need ``space`` and ``arch`` columns (the store schema): the proxy runs on the torch module
``get_space(space).build(arch)``, initialised from ``seed``, on ``batch_size`` seeded training images. No training:
``fit`` only records the call. Scores are cached per (proxy, space, arch, batch, seed, data), so repeated
protocol seeds and several proxies on the same rows cost one computation each.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import PREDICTORS, Predictor

_SCORE_CACHE: dict[tuple[Any, ...], float] = {}


class ZeroCostPredictor(Predictor):
    """Scores each network by the zero-cost proxy ``proxy`` (see ``onnxnet.features.proxies``); higher = better.

    ``batch_size`` 64 and one training batch follow NAS-Bench-Suite-Zero. ``seed`` fixes both the weight
    initialisation and the image batch. ``data``: path of the CIFAR-10 pack (default from ``onnxnet.config``).
    Rows that fail (unknown space, bad arch, a runtime error) get NaN and an entry in ``failures_``.
    """

    needs_training = False
    required_columns: tuple[str, ...] | None = ()

    def __init__(self, proxy: str = "synflow", batch_size: int = 64, seed: int = 0, data: str | None = None,
                 progress: bool = False, threads: int | None = 1) -> None:
        self.proxy = proxy
        self.batch_size = batch_size
        self.seed = seed
        self.data = data
        self.progress = progress
        self.threads = threads

    def predict(self, rows: Any) -> np.ndarray:
        """Proxy score per row (NaN + a ``failures_`` entry for rows that fail).

        Runs with ``threads`` torch threads (default 1, see ``proxies.torch_threads``).
        """
        from onnxnet.features.proxies import torch_threads

        with torch_threads(self.threads):
            return self._predict(rows)

    def _predict(self, rows: Any) -> np.ndarray:
        import torch

        from onnxnet.features.proxies import PROXIES, compute_proxy, proxy_batch
        from onnxnet.spaces import get_space

        PROXIES.get(self.proxy)  # fail fast on an unknown proxy name
        for col in ("space", "arch"):
            if col not in rows.columns:
                raise ProtocolError(
                    f"zero-cost proxy {self.proxy!r} needs a {col!r} column (the store schema) to build each network"
                )
        data = os.fspath(self.data) if self.data is not None else None
        out = np.full(len(rows), np.nan)
        self.failures_: list[dict[str, str]] = []
        ids = rows["id"].tolist() if "id" in rows.columns else [str(i) for i in range(len(rows))]
        it = enumerate(zip(rows["space"].tolist(), rows["arch"].tolist()))
        if self.progress:
            from tqdm import tqdm

            it = tqdm(it, total=len(rows), desc=f"{self.proxy}", unit="net")
        for i, (space_name, arch) in it:
            key = (self.proxy, space_name, arch, self.batch_size, self.seed, data)
            if key in _SCORE_CACHE:
                out[i] = _SCORE_CACHE[key]
                continue
            try:
                space = get_space(space_name)
                x, y = proxy_batch(self.batch_size, self.seed, data)
                torch.manual_seed(self.seed)
                net = space.build(space.parse(arch))
                out[i] = _SCORE_CACHE[key] = compute_proxy(self.proxy, net, x, y, copy_net=False)
            except Exception as e:  # noqa: BLE001  (a failure on one network is recorded, not fatal)
                self.failures_.append({"id": ids[i], "reason": f"{type(e).__name__}: {e}"})
        return out


def _register(name: str, doc: str) -> None:
    def __init__(self: ZeroCostPredictor, batch_size: int = 64, seed: int = 0, data: str | None = None,
                 progress: bool = False, threads: int | None = 1) -> None:
        ZeroCostPredictor.__init__(self, name, batch_size, seed, data, progress, threads)

    cls = type(f"ZeroCost_{name}", (ZeroCostPredictor,), {"__init__": __init__, "__doc__": doc})
    PREDICTORS.register(name)(cls)


PREDICTORS.register("zero_cost")(ZeroCostPredictor)
for _name, _doc in {
    "synflow": "SynFlow: log of the summed |w * grad| of a linearised, data-free network.",
    "nwot": "NASWOT: log-determinant of the ReLU-pattern agreement kernel of one batch.",
    "jacov": "Jacobian covariance: how decorrelated the per-image input Jacobians are.",
    "grad_norm": "Sum of per-layer gradient norms of the cross-entropy on one batch.",
    "snip": "SNIP saliency: summed |w * dL/dw| on one batch.",
}.items():
    _register(_name, _doc)
