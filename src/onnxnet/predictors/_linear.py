"""The shared part of onnxnet's ridge predictors (``rank-linear``, ``wl-ridge``): a ridge from a feature matrix to
per-space accuracy ranks, penalty by leave-one-out, and its persistence. Subclasses say what the features are."""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import Predictor, registered_name
from onnxnet.ranking import rank_within


class RidgeOnFeatures(Predictor):
    """Ridge on ``_features(rows, fit)``; subclasses set ``alphas`` and may keep more state (``_extra_state``)."""

    alphas: Any

    def _features(self, rows: Any, fit: bool = False) -> tuple[np.ndarray, list[dict[str, str]]]:
        """The feature matrix of ``rows`` in ``feature_names_`` order (set when ``fit``), and per-row failures."""
        raise NotImplementedError

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        from sklearn.linear_model import RidgeCV

        X, self.fit_failures_ = self._features(rows, fit=True)
        ok = np.isfinite(X).all(axis=1)
        if not ok.any():
            raise ProtocolError(f"{registered_name(type(self))}: no training network has all its features: "
                                + "; ".join(f["reason"] for f in self.fit_failures_[:3]))
        model = RidgeCV(alphas=list(self.alphas)).fit(X[ok], rank_within(y[ok], np.asarray(spaces)[ok]))
        self.weights_, self.intercept_ = np.asarray(model.coef_, dtype=float), float(model.intercept_)
        self.alpha_ = float(model.alpha_)
        self.coef_ = dict(zip(self.feature_names_, self.weights_.round(4).tolist()))

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError(f"{registered_name(type(self))}: call fit(rows, y) before predict")
        X, self.failures_ = self._features(rows)
        out = np.full(len(rows), np.nan)
        ok = np.isfinite(X).all(axis=1)
        out[ok] = X[ok] @ self.weights_ + self.intercept_
        return out

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""

    def _save_state(self, folder: Any) -> dict[str, Any]:
        return {"feature_names": self.feature_names_, "weights": self.weights_.tolist(),
                "intercept": self.intercept_, "alpha": self.alpha_, **self._extra_state()}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.feature_names_ = list(state["feature_names"])
        self.weights_ = np.asarray(state["weights"], dtype=float)
        if self.weights_.shape != (len(self.feature_names_),):
            raise ValueError(f"{len(self.weights_)} weights for {len(self.feature_names_)} features")
        self.intercept_, self.alpha_ = float(state["intercept"]), float(state["alpha"])
        self.coef_ = dict(zip(self.feature_names_, self.weights_.round(4).tolist()))
        self._load_extra(state)
