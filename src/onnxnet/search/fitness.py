"""The predictor a search uses as its cheap fitness: a fitted predictor folder or a registered predictor name.

``Fitness.from_spec("runs/pw")`` loads a folder made by ``onnxnet fit`` (used as fitted; with ``refit`` a fresh
predictor of the same kind and parameters is fitted on the search's true evaluations instead);
``Fitness.from_spec("params")`` uses a training-free scorer as is; ``Fitness.from_spec("pairwise",
{"proxies": False})`` is a learning predictor fitted in-space on the search's own true evaluations, refitted as
they arrive.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np

from onnxnet.errors import OnnxNetError
from onnxnet.search.objectives import SearchError


class Fitness:
    """Scores candidate rows with a predictor (higher = better); refits it when asked."""

    def __init__(self, predictor: Any, name: str, source: str, refit: bool) -> None:
        self.predictor = predictor
        self.name = name
        self.source = source  # "folder" or "name"
        self.refit = refit
        self.fitted = (not predictor.needs_training) or getattr(predictor, "is_fitted_", False)
        self.n_fits = 0
        self.anchors: Any = None  # fixed reference rows scored with every batch (see ``needs_anchors``)

    @classmethod
    def from_spec(cls, spec: str, params: dict[str, Any] | None = None, *, refit: bool | None = None,
                  cache_dir: str | None = None, seed: int = 0) -> "Fitness":
        """A folder (``predictor.json`` / ``hybrid.json``) or a registered name with constructor ``params``."""
        from onnxnet.predictors import PREDICTORS, load_predictor
        from onnxnet.predictors.base import registered_name
        from onnxnet.predictors.loading import is_predictor_folder

        params = dict(params or {})
        path = Path(spec)
        if spec.lower() in PREDICTORS and not path.exists():
            cls_ = PREDICTORS.get(spec)
            accepted = set(inspect.signature(cls_.__init__).parameters) - {"self"}
            bad = sorted(set(params) - accepted)
            if bad:
                raise SearchError(f"predictor {spec!r} takes no parameter(s) {bad}; it takes: "
                                  f"{', '.join(sorted(accepted))}")
            if "cache_dir" in accepted and cache_dir is not None:
                params.setdefault("cache_dir", cache_dir)
            if "seed" in accepted:
                params.setdefault("seed", seed)
            try:
                pred = cls_(**params)
            except (TypeError, ValueError) as e:
                raise SearchError(f"predictor {spec!r} with parameters {params}: {e}") from None
            learns = bool(pred.needs_training)
            return cls(pred, spec.lower(), "name", learns if refit is None else (refit and learns))
        if path.is_dir() and is_predictor_folder(path):
            if params:
                raise SearchError(f"--param {sorted(params)}: a saved predictor folder ({path}) keeps the parameters "
                                  "it was fitted with")
            pred = load_predictor(path)
            if cache_dir is not None and hasattr(pred, "cache_dir"):
                pred.cache_dir = cache_dir
            return cls(pred, registered_name(type(pred)), "folder", bool(refit) and pred.needs_training)
        if path.exists():
            raise SearchError(f"--predictor {spec}: the folder holds no saved predictor (no predictor.json or "
                              "hybrid.json); make one with `onnxnet fit --out DIR`")
        if any(sep in spec for sep in ("/", "\\")) or spec.startswith("."):
            raise SearchError(f"--predictor {spec}: predictor folder not found; give a folder made by "
                              f"`onnxnet fit` or one of the predictor names: {', '.join(PREDICTORS.names())}")
        raise SearchError(f"--predictor {spec!r}: not a registered predictor nor an existing folder; choose one of "
                          f"{', '.join(PREDICTORS.names())}, or a folder made by `onnxnet fit`")

    @property
    def needs_fit(self) -> bool:
        """True while the predictor has never been fitted (it must see true evaluations first)."""
        return not self.fitted

    def needs_anchors(self, space: str) -> bool:
        """Whether scores depend on the batch scored together: a vote of per-batch ranks, or a predictor fitted
        without ``space`` (its networks are then ranked among each other). Such a fitness scores every batch
        together with the same fixed anchor networks, so scores of different batches compare."""
        from onnxnet.predictors.static import StaticFeaturePredictor

        if isinstance(self.predictor, StaticFeaturePredictor):
            return False
        if self.predictor.needs_training and not self.refit:
            return space not in (getattr(self.predictor, "fit_spaces_", None) or [])
        return not self.predictor.needs_training

    def fit(self, rows: Any, y: np.ndarray) -> None:
        """Fit a fresh copy of the predictor on ``rows`` with true accuracies ``y``."""
        fresh = type(self.predictor)(**self.predictor.get_params())
        try:
            fresh.fit(rows, np.asarray(y, dtype=float))
        except OnnxNetError:
            raise
        except Exception as e:  # noqa: BLE001  (a library failing on a tiny training set is a search problem)
            raise SearchError(f"refitting {self.name} on {len(rows)} evaluated networks failed: "
                              f"{type(e).__name__}: {e}") from e
        self.predictor = fresh
        self.fitted = True
        self.n_fits += 1

    def score(self, rows: Any) -> np.ndarray:
        """One score per row; rows the predictor cannot score get ``-inf``."""
        import pandas as pd

        if self.anchors is not None and len(self.anchors):
            both = pd.concat([self.anchors, rows], ignore_index=True)
            out = np.asarray(self.predictor.predict(both), dtype=float)[len(self.anchors):]
        else:
            out = np.asarray(self.predictor.predict(rows), dtype=float)
        return np.where(np.isfinite(out), out, -np.inf)
