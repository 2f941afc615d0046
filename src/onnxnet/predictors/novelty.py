"""How far networks lie from the networks a predictor was fitted on: a nearest-neighbour novelty test.

Each network is described by its graph features (``graph_features.features_frame(kind="all")``: size, depth,
op-category counts and path statistics), each ``log1p``-scaled and then robustly standardised with the training
networks' median and inter-quartile range. A network's *novelty* is the distance to its nearest training network
divided by the ``quantile`` (99 %) of the training networks' own leave-one-out nearest-neighbour distances: above
1 it lies further from the training set than almost every training network lies from the others, and counts as
outside. For a group of networks (a target space) ``inside_fraction`` is the share not outside: about 1 for new
networks of a fitted space, 0 for a space unlike every training space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError

#: Training networks kept as neighbours (a seeded sample when there are more).
MAX_REFERENCE = 2000


def feature_matrix(rows: Any, cache_dir: str | None = None) -> tuple[Any, list[dict[str, str]]]:
    """The graph-feature frame of ``rows`` (``features_frame(kind="all")``), cached under ``cache_dir``."""
    from onnxnet.predictors.graph_features import features_frame

    return features_frame(rows, kind="all", cache_dir=cache_dir)


class SpaceNovelty:
    """Nearest-neighbour novelty of networks relative to a reference set (scikit-learn-style ``fit``)."""

    def __init__(self, quantile: float = 0.99, seed: int = 0) -> None:
        self.quantile = quantile
        self.seed = seed

    @staticmethod
    def _log(X: Any) -> np.ndarray:
        A = np.asarray(X, dtype=float)
        return np.sign(A) * np.log1p(np.abs(A))

    def fit(self, X: Any) -> "SpaceNovelty":
        """``X``: the training networks' feature frame (rows with a NaN feature are left out)."""
        import pandas as pd

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        frame = frame[frame.notna().all(axis=1)]
        if len(frame) < 3:
            raise ProtocolError(f"novelty: need at least 3 training networks with graph features, got {len(frame)}")
        self.columns_ = list(frame.columns)
        A = self._log(frame.to_numpy())
        if len(A) > MAX_REFERENCE:
            A = A[np.sort(np.random.default_rng(self.seed).permutation(len(A))[:MAX_REFERENCE])]
        self.center_ = np.median(A, axis=0)
        q75, q25 = np.percentile(A, [75, 25], axis=0)
        scale = q75 - q25
        spread = A.std(axis=0)
        # a feature constant on most networks gets its std, one constant on all gets 1 (it still tells novelty)
        self.scale_ = np.where(scale > 0, scale, np.where(spread > 0, spread, 1.0))
        self.reference_ = (A - self.center_) / self.scale_
        d = self._nn(self.reference_, self.reference_, leave_one_out=True)
        self.radius_ = float(max(np.quantile(d, self.quantile), 1e-9))
        return self

    @staticmethod
    def _nn(Q: np.ndarray, R: np.ndarray, leave_one_out: bool = False) -> np.ndarray:
        out = np.empty(len(Q))
        r2 = (R ** 2).sum(axis=1)
        for i in range(0, len(Q), 512):
            q = Q[i:i + 512]
            d2 = (q ** 2).sum(axis=1)[:, None] + r2[None, :] - 2.0 * q @ R.T
            if leave_one_out:
                idx = np.arange(i, i + len(q))
                d2[np.arange(len(q)), idx] = np.inf
            out[i:i + len(q)] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
        return out

    def novelty(self, X: Any) -> np.ndarray:
        """Nearest-training-network distance / the training radius, per row (NaN where a feature is missing)."""
        import pandas as pd

        if not hasattr(self, "reference_"):
            raise ProtocolError("novelty: call fit first")
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.columns_)
        frame = frame.reindex(columns=self.columns_)  # a feature the training graphs lacked is 0 there
        ok = frame.notna().all(axis=1).to_numpy()
        out = np.full(len(frame), np.nan)
        if ok.any():
            Q = (self._log(frame.to_numpy()[ok]) - self.center_) / self.scale_
            out[ok] = self._nn(Q, self.reference_) / self.radius_
        return out

    def inside_fraction(self, X: Any) -> float:
        """Share of the rows (with features) whose novelty is at most 1."""
        v = self.novelty(X)
        v = v[np.isfinite(v)]
        return float((v <= 1.0).mean()) if len(v) else 0.0

    def state(self) -> dict[str, Any]:
        """JSON-able state (for saving inside a predictor)."""
        return {"columns": self.columns_, "center": self.center_.tolist(), "scale": self.scale_.tolist(),
                "reference": self.reference_.round(5).tolist(), "radius": self.radius_,
                "quantile": self.quantile, "seed": self.seed}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "SpaceNovelty":
        out = cls(quantile=float(state["quantile"]), seed=int(state["seed"]))
        out.columns_ = list(state["columns"])
        out.center_ = np.asarray(state["center"], dtype=float)
        out.scale_ = np.asarray(state["scale"], dtype=float)
        out.reference_ = np.asarray(state["reference"], dtype=float)
        out.radius_ = float(state["radius"])
        return out
