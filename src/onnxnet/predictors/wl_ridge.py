"""``wl-ridge``: ridge regression from Weisfeiler-Lehman pattern proportions to per-space accuracy ranks.

A linear kernel on WL subtree counts is NAS-BOWL's surrogate (there a GP; a ridge is its posterior mean with a
fixed noise level, chosen here by leave-one-out). The features (``onnxnet.features.wl``) come from the
ONNX graph alone, are unit-normalised per WL iteration so a deeper copy of the same cell is not a different
network, and need no search-space knowledge. A network's score depends on it alone (no batch effects); the
weights say which local patterns go with accuracy.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.features import compose
from onnxnet.features.wl import normalise
from onnxnet.predictors._linear import RidgeOnFeatures
from onnxnet.predictors.base import PREDICTORS


@PREDICTORS.register("wl-ridge")
class WLRidgePredictor(RidgeOnFeatures):
    """Ridge on unit-normalised WL pattern counts, per-space rank targets, penalty by leave-one-out."""

    required_columns: tuple[str, ...] | None = ("onnx",)
    features_read = ("wl",)

    def __init__(self, alphas: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
                 cache_dir: str | None = None, jobs: int = 1) -> None:
        self.alphas = alphas
        self.cache_dir = cache_dir
        self.jobs = jobs

    def _features(self, rows: Any, fit: bool = False) -> tuple[np.ndarray, list[dict[str, str]]]:
        X, failures = compose(rows, self.feature_families, cache_dir=self.cache_dir, jobs=self.jobs)
        if fit:
            self.feature_names_ = list(X.columns)
        return normalise(X.reindex(columns=self.feature_names_).to_numpy(dtype=float)), failures
