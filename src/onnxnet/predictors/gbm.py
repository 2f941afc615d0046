"""LightGBM on space-agnostic ONNX graph features (``graph_features``), optionally plus zero-cost proxies.

The GRAF recipe (Kadlecova et al., 2024) with features computed from any ONNX graph instead of one space's
cell. Targets are rank-normalised within each training space (``target="rank"``, the default), so spaces and
label fidelities with different accuracy scales can be trained on together; ``target="raw"`` regresses the
accuracy itself (then MAE / R^2 mean something). Early stopping uses a validation split drawn from the
*training* rows only (by graph hash, so duplicates do not leak), never from the test space.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.features import compose
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.ranking import rank_within


def fit_early_stopped(model: Any, X: Any, y: np.ndarray, X_val: Any, y_val: np.ndarray, rounds: int) -> Any:
    """``model.fit`` with early stopping on ``(X_val, y_val)``, for LightGBM before and after 4.6's API change."""
    import lightgbm as lgb

    stop = [lgb.early_stopping(rounds, verbose=False)]
    if "eval_X" in inspect.signature(model.fit).parameters:  # LightGBM >= 4.6
        return model.fit(X, y, eval_X=(X_val,), eval_y=(y_val,), callbacks=stop)
    return model.fit(X, y, eval_set=[(X_val, y_val)], callbacks=stop)


@PREDICTORS.register("gbm")
class GBMPredictor(Predictor):
    """Gradient-boosted trees (LightGBM) on GRAF-style ONNX features.

    ``proxies``: zero-cost proxies to add as features (computed by running each network; needs ``space`` and
    ``arch`` columns), e.g. ``("synflow", "nwot")``. ``extra_columns``: store columns to add as features as they
    are, e.g. published proxy values ``("label:zc_nwot", "label:zc_jacov")`` (missing values stay NaN).
    ``feature_norm="rank"`` replaces every feature by its quantile within the row's space among the rows being
    fitted or scored together (unlabelled test architectures only, no labels): spaces whose networks differ in
    scale (NB101 nets have 10x the parameters of NB201 nets) then line up, at the price of scores that depend on
    which rows are scored together. ``"none"`` (default) uses the raw features. ``val_fraction``: share of the
    training graphs held out for early stopping (0 disables it; then ``n_estimators`` rounds are used). Too few
    training rows for a validation split (< 20) also disable it.
    """

    required_columns: tuple[str, ...] | None = ("onnx",)
    features_read = ("all",)

    def __init__(self, n_estimators: int = 500, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 5, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 val_fraction: float = 0.2, early_stopping_rounds: int = 50, target: str = "rank",
                 proxies: Sequence[str] = (), extra_columns: Sequence[str] = (), feature_norm: str = "none",
                 seed: int = 0, cache_dir: str | None = None) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.val_fraction = val_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.target = target
        self.proxies = proxies
        self.extra_columns = extra_columns
        self.feature_norm = feature_norm
        self.seed = seed
        self.cache_dir = cache_dir

    def _features(self, rows: Any) -> tuple[Any, np.ndarray, list[dict[str, str]]]:
        """Feature matrix, mask of rows whose graph features exist, and per-row failures."""
        import pandas as pd

        frame, failures = compose(rows, self.feature_families, cache_dir=self.cache_dir)
        ok = frame.notna().any(axis=1).to_numpy()
        proxies = [self.proxies] if isinstance(self.proxies, str) else list(self.proxies)
        for name in proxies:
            from onnxnet.predictors.zero_cost import ZeroCostPredictor

            zc = ZeroCostPredictor(name, seed=self.seed)
            frame[f"zc_{name}"] = zc.predict(rows)
            failures += zc.failures_
        extra = [self.extra_columns] if isinstance(self.extra_columns, str) else list(self.extra_columns)
        missing = [c for c in extra if c not in rows.columns]
        if missing:
            raise ProtocolError(f"gbm: extra_columns {missing} are not in the rows; store label columns here: "
                                f"{sorted(c for c in rows.columns if c.startswith('label:'))}")
        for c in extra:
            frame["col_" + re.sub(r"\W", "_", c)] = rows[c].to_numpy(dtype=float)  # LightGBM-safe name
        if hasattr(self, "feature_names_"):
            frame = frame.reindex(columns=self.feature_names_)
        if self.feature_norm == "rank":
            space = rows["space"].to_numpy() if "space" in rows.columns else np.zeros(len(rows))
            frame = frame.groupby(space).rank(pct=True)
        elif self.feature_norm != "none":
            raise ProtocolError(f"gbm: feature_norm must be 'none' or 'rank', got {self.feature_norm!r}")
        return pd.DataFrame(frame, index=rows.index), ok, failures

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        import lightgbm as lgb

        if self.target not in ("rank", "raw"):
            raise ProtocolError(f"gbm: target must be 'rank' or 'raw', got {self.target!r}")
        X, ok, failures = self._features(rows)
        if not ok.any():
            raise ProtocolError(f"gbm: features failed for all {len(rows)} training rows; first: {failures[:1]}")
        self.fit_failures_ = failures
        X, y, spaces = X[ok], y[ok], spaces[ok]

        target = rank_within(y, spaces) if self.target == "rank" else y
        self.feature_names_ = list(X.columns)
        params = dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
                      min_child_samples=self.min_child_samples, subsample=self.subsample, subsample_freq=1,
                      colsample_bytree=self.colsample_bytree, random_state=self.seed, n_jobs=1, verbose=-1)
        model = lgb.LGBMRegressor(**params)
        groups = rows["graph_hash"].to_numpy()[ok] if "graph_hash" in rows.columns else np.arange(len(y)).astype(str)
        uniq = np.unique(groups)
        n_val = int(round(self.val_fraction * len(uniq)))
        if self.val_fraction > 0 and len(y) >= 20 and n_val >= 4:
            rng = np.random.default_rng(self.seed)
            val_groups = set(rng.choice(uniq, size=n_val, replace=False).tolist())
            is_val = np.array([g in val_groups for g in groups])
            fit_early_stopped(model, X[~is_val], target[~is_val], X[is_val], target[is_val],
                              self.early_stopping_rounds)
            self.best_iteration_ = int(model.best_iteration_ or self.n_estimators)
            # Refit on all training rows with the chosen number of rounds.
            model = lgb.LGBMRegressor(**{**params, "n_estimators": self.best_iteration_})
        else:
            self.best_iteration_ = self.n_estimators
        model.fit(X, target)
        self.model_ = model

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("gbm: call fit(rows, y) before predict")
        X, ok, self.failures_ = self._features(rows)
        out = np.full(len(rows), np.nan)
        if ok.any():
            out[ok] = self.model_.predict(X[ok])
        return out
