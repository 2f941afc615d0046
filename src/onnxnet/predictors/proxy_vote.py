"""Training-free scorers from zero-cost proxies computed on the ONNX graph: one proxy, or a rank vote of several.

``onnx-<proxy>`` (``onnx-nwot``, ``onnx-meco``, ``onnx-swap``, ``onnx-synflow``) scores each network by that
proxy, computed by ``onnxnet.features.onnx_proxies`` from the graph itself, so it works on any ONNX network,
not only on the spaces that have a torch builder (``nwot``, ``synflow``... build the network from its space).
``proxy-vote`` averages each feature's rank within its space among the rows scored together (Abdelfattah et al.
2021 vote / "ensemble of proxies"); nothing is trained, so it is its own zero-shot score.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.features.onnx_proxies import EXTRA_PROXIES, PROXY_SET, proxy_frame
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.ranking import rank_within, row_groups


class ProxyVotePredictor(Predictor):
    """Mean per-space rank of ``features`` (ONNX proxy names of ``PROXY_SET``, and/or ``n_params`` / ``flops``)."""

    needs_training = False
    required_columns: tuple[str, ...] | None = ("onnx", "n_params", "flops")
    proxies_param = "features"

    def __init__(self, features: Sequence[str] = (*PROXY_SET, "n_params"), cache_dir: str | None = None,
                 jobs: int = 1, progress: bool = False, proxy_seeds: int = 1) -> None:
        self.features = features
        self.proxy_seeds = proxy_seeds
        self.cache_dir = cache_dir
        self.jobs = jobs
        self.progress = progress

    def predict(self, rows: Any) -> np.ndarray:
        feats = [self.features] if isinstance(self.features, str) else list(self.features)
        static = [f for f in feats if f in ("n_params", "flops")]
        proxies = [f for f in feats if f not in static]
        missing = [c for c in static if c not in rows.columns]
        if missing:
            raise ProtocolError(f"proxy vote: rows lack the store columns {missing}")
        frame, self.failures_ = proxy_frame(rows, proxies, cache_dir=self.cache_dir, progress=self.progress,
                                            jobs=self.jobs, seeds=self.proxy_seeds)
        for c in static:
            frame[c] = rows[c].to_numpy(dtype=float)
        spaces = row_groups(rows)
        ok = frame.notna().all(axis=1).to_numpy()
        out = np.full(len(rows), np.nan)
        if ok.any():
            ranks = [rank_within(frame[c].to_numpy()[ok], spaces[ok]) for c in frame.columns]
            out[ok] = np.mean(ranks, axis=0)
        return out


def _register(name: str, features: tuple[str, ...], doc: str) -> None:
    def __init__(self: ProxyVotePredictor, cache_dir: str | None = None, jobs: int = 1,
                 progress: bool = False, proxy_seeds: int = 1) -> None:
        ProxyVotePredictor.__init__(self, features, cache_dir, jobs, progress, proxy_seeds)

    PREDICTORS.register(name)(type(f"ProxyVote_{name}", (ProxyVotePredictor,), {"__init__": __init__, "__doc__": doc}))


PREDICTORS.register("proxy-vote")(ProxyVotePredictor)
for _p in PROXY_SET + EXTRA_PROXIES:
    _register(f"onnx-{_p}", (_p,), f"Zero-cost proxy {_p!r} computed from the ONNX graph (any network).")
