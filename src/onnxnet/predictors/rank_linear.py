"""``rank-linear``: a ridge regression from per-space feature ranks to per-space accuracy ranks.

Every feature (ONNX proxies of ``onnxnet.features.onnx_proxies``, #params, FLOPs, optionally the GRAF-style
graph features) is replaced by its quantile within its space, and the target by its quantile within its group,
so the model learns *which ordering signals agree with accuracy*, with no notion of a space's scale: what a model
trained on one space can carry to an unseen one. A network of a space seen in training is placed among that
space's training networks (so its score does not depend on what it is scored with); networks of an unseen space
are ranked among each other (``onnxnet.surrogate.targets.SpaceQuantiles``). Few parameters
(one weight per feature, ridge-penalised, penalty chosen by leave-one-out on the training rows) make it far less
able than trees to fit one space's quirks.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.features import features_frame
from onnxnet.features.onnx_proxies import PROXY_SET, proxy_frame
from onnxnet.predictors._linear import RidgeOnFeatures
from onnxnet.predictors.base import PREDICTORS
from onnxnet.ranking import (column_quantiles, column_references, fit_column_quantiles, load_column_quantiles,
                             row_groups)


@PREDICTORS.register("rank-linear")
class RankLinearPredictor(RidgeOnFeatures):
    """Ridge on per-space quantiles of ``proxies`` + ``static`` (+ graph features when ``graph_features``)."""

    required_columns: tuple[str, ...] | None = ("onnx", "n_params", "flops")
    proxies_param = "proxies"

    @property
    def feature_families(self) -> tuple[str, ...]:  # type: ignore[override]
        return super().feature_families + (("all",) if self.graph_features else ())

    def __init__(self, proxies: Sequence[str] = PROXY_SET, static: Sequence[str] = ("n_params", "flops"),
                 graph_features: bool = False, alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0),
                 cache_dir: str | None = None, jobs: int = 1) -> None:
        self.proxies = proxies
        self.static = static
        self.graph_features = graph_features
        self.alphas = alphas
        self.cache_dir = cache_dir
        self.jobs = jobs

    def _features(self, rows: Any, fit: bool = False) -> tuple[np.ndarray, list[dict[str, str]]]:
        import pandas as pd

        X, failures = proxy_frame(rows, list(self.proxies), cache_dir=self.cache_dir, jobs=self.jobs)
        missing = [c for c in self.static if c not in rows.columns]
        if missing:
            raise ProtocolError(f"rank-linear: rows lack the store columns {missing}")
        for c in self.static:
            X[c] = rows[c].to_numpy(dtype=float)
        if self.graph_features:
            G, more = features_frame(rows, kind="all", cache_dir=self.cache_dir)
            X = pd.concat([X, G.drop(columns=[c for c in G.columns if c in X.columns])], axis=1)
            failures += more
        spaces = row_groups(rows)
        if not fit:
            X = X.reindex(columns=self.feature_names_)
        else:
            self.feature_names_ = list(X.columns)
            self.quantiles_ = fit_column_quantiles(X, spaces)
        return column_quantiles(X, self.quantiles_, spaces).to_numpy(dtype=float), failures

    def _extra_state(self) -> dict[str, Any]:
        return {"reference": column_references(self.quantiles_)}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.quantiles_ = load_column_quantiles(state["reference"], self.feature_names_)
