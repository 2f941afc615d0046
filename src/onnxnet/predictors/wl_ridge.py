"""``wl-ridge``: ridge regression from Weisfeiler-Lehman pattern proportions to per-space accuracy ranks.

A linear kernel on WL subtree counts is NAS-BOWL's surrogate (there a GP; a ridge is its posterior mean with a
fixed noise level, chosen here by leave-one-out). The features (``onnxnet.predictors.wl_features``) come from the
ONNX graph alone, are unit-normalised per WL iteration so a deeper copy of the same cell is not a different
network, and need no search-space knowledge. A network's score depends on it alone (no batch effects); the
weights say which local patterns go with accuracy.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.predictors.base import PREDICTORS, Predictor


@PREDICTORS.register("wl-ridge")
class WLRidgePredictor(Predictor):
    """Ridge on unit-normalised WL pattern counts, per-space rank targets, penalty by leave-one-out."""

    required_columns: tuple[str, ...] | None = ("onnx",)

    def __init__(self, alphas: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
                 cache_dir: str | None = None, jobs: int = 1) -> None:
        self.alphas = alphas
        self.cache_dir = cache_dir
        self.jobs = jobs

    def _features(self, rows: Any) -> tuple[np.ndarray, list[dict[str, str]]]:
        from onnxnet.predictors.graph_features import features_frame
        from onnxnet.predictors.wl_features import normalise

        X, failures = features_frame(rows, kind="wl", cache_dir=self.cache_dir, jobs=self.jobs)
        if hasattr(self, "feature_names_"):
            X = X.reindex(columns=self.feature_names_)
        else:
            self.feature_names_ = list(X.columns)
        return normalise(X.to_numpy(dtype=float)), failures

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        from onnxnet.errors import ProtocolError
        from onnxnet.surrogate.targets import rank_within

        self.__dict__.pop("feature_names_", None)
        X, self.fit_failures_ = self._features(rows)
        ok = np.isfinite(X).all(axis=1)
        if not ok.any():
            raise ProtocolError("wl-ridge: no training graph has WL features: "
                                + "; ".join(f["reason"] for f in self.fit_failures_[:3]))
        model = RidgeCV(alphas=list(self.alphas)).fit(X[ok], rank_within(y[ok], np.asarray(spaces)[ok]))
        self.weights_, self.intercept_ = np.asarray(model.coef_, dtype=float), float(model.intercept_)
        self.alpha_ = float(model.alpha_)

    def _save_state(self, folder: Any) -> dict[str, Any]:
        return {"feature_names": self.feature_names_, "weights": self.weights_.tolist(),
                "intercept": self.intercept_, "alpha": self.alpha_}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.feature_names_ = list(state["feature_names"])
        self.weights_ = np.asarray(state["weights"], dtype=float)
        if self.weights_.shape != (len(self.feature_names_),):
            raise ValueError(f"{len(self.weights_)} weights for {len(self.feature_names_)} features")
        self.intercept_, self.alpha_ = float(state["intercept"]), float(state["alpha"])

    def predict(self, rows: Any) -> np.ndarray:
        from onnxnet.errors import ProtocolError

        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("wl-ridge: call fit(rows, y) before predict")
        X, self.failures_ = self._features(rows)
        out = np.full(len(rows), np.nan)
        ok = np.isfinite(X).all(axis=1)
        out[ok] = X[ok] @ self.weights_ + self.intercept_
        return out
