"""Single static features as zero-shot scorers: ``params``, ``flops``, ``depth``, ``width``.

Each predicts the feature itself, so a bigger / deeper / wider network is ranked as more accurate (the sign
that holds on NAS-Bench-201, where #params alone reaches Kendall 0.62). Values come from
``onnxnet.graph.graph_facts`` of each row's ONNX graph (#params after BatchNorm folding; FLOPs counted by the
graph module); when the store already holds ``n_params`` / ``flops`` columns (computed by the same function at
build time) those are used directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.features import FACT_NAMES, compose
from onnxnet.predictors.base import PREDICTORS, Predictor

#: Feature name -> the store column that already holds it (if any).
_STORE_COLUMN = {"n_params": "n_params", "flops": "flops", "depth": "depth"}


class StaticFeaturePredictor(Predictor):
    """Score = one static fact of the ONNX graph (``feature``: n_params, flops, depth, width, n_nodes)."""

    needs_training = False
    #: Store columns this predictor reads (``onnx`` only when the fact is not stored, e.g. ``width``).
    required_columns: tuple[str, ...] | None = ("n_params", "flops", "depth", "onnx")
    features_read = ("facts",)

    def __init__(self, feature: str = "n_params", cache_dir: str | None = None) -> None:
        self.feature = feature
        self.cache_dir = cache_dir

    def predict(self, rows: Any) -> np.ndarray:
        if self.feature not in FACT_NAMES:
            raise ProtocolError(f"unknown static feature {self.feature!r}; choose one of {', '.join(FACT_NAMES)}")
        col = _STORE_COLUMN.get(self.feature)
        self.failures_: list[dict[str, str]] = []
        if col is not None and col in rows.columns and rows[col].notna().all() and (rows[col] > 0).all():
            return rows[col].to_numpy(dtype=float)
        frame, self.failures_ = compose(rows, self.feature_families, cache_dir=self.cache_dir)
        if self.feature not in frame.columns:  # every row failed
            return np.full(len(rows), np.nan)
        return frame[self.feature].to_numpy(dtype=float)


def _register(name: str, feature: str, doc: str) -> None:
    def __init__(self: StaticFeaturePredictor, cache_dir: str | None = None) -> None:
        StaticFeaturePredictor.__init__(self, feature, cache_dir)

    cols = (_STORE_COLUMN[feature],) if feature in _STORE_COLUMN else ("onnx",)
    attrs = {"__init__": __init__, "__doc__": doc, "required_columns": cols}
    PREDICTORS.register(name)(type(f"Static_{name}", (StaticFeaturePredictor,), attrs))


PREDICTORS.register("static")(StaticFeaturePredictor)
_register("params", "n_params", "Number of parameters (after BN folding): more parameters, higher score.")
_register("flops", "flops", "FLOPs of one forward pass at the benchmark input size: more FLOPs, higher score.")
_register("depth", "depth", "Depth of the ONNX graph (graph_facts.depth): deeper, higher score.")
_register("width", "width", "Width of the ONNX graph (graph_facts.width): wider, higher score.")
