"""``pairwise``: gradient-boosted trees that learn which of two networks of one space is the more accurate.

A regressor trained on n networks sees n targets; a comparator sees n(n-1)/2 comparisons, and a ranking is all a
NAS user asks for (BRP-NAS, Dudziak et al. 2020, and ReNAS make the same argument). Every pair (a, b) of training
networks *of one space* (never across spaces: accuracies from different training protocols do not compare), whose
accuracies differ by more than ``margin`` x the space's standard deviation, becomes the features
``[x_a - x_b, (x_a + x_b) / 2]`` (what differs, and where in the space the pair lies) with label "a is better", and
once more swapped with the opposite label, so the learned P(a beats b) is close to 1 - P(b beats a). ``x`` are the
GRAF-style graph features of ``onnxnet.features`` plus the ONNX zero-cost ``proxies``; with
``feature_norm="rank"`` each is first replaced by its quantile within its space (``SpaceQuantiles``: among the
fitted networks of a seen space, among each other for an unseen one), which is what a comparator trained on one
space needs to be applied to another, whose networks may be ten times bigger.
``graph_features=False`` keeps only #params and FLOPs of the graph features (with the proxies: what any two spaces
share); ``log_size=True`` compares those two as logs, so a pair's difference is a size ratio, the same in a space of
small networks as in one of networks ten times bigger (``graph_features.size_view``, shared with the hybrid's
trees). ``proxy_seeds`` > 1 averages each proxy over that many batches and initialisations
(``onnx_proxies.proxy_frame``), at that many times their cost. ``soft`` > 0 replaces the 0/1 label "a is
better" by P = Phi((y_a - y_b) / (soft x the space's std)) and fits a cross-entropy booster to it: a pair 0.1 points
apart (within NB201's seed-to-seed noise) then asks for ~0.5, not for certainty, while clear pairs keep ~0/1.

A network's score is its mean win probability against the references: up to ``max_refs`` training networks of
its space, kept with the model, so a score does not depend on what else is scored. A space not seen in training
has no references; its networks play each other (up to ``max_refs`` of them), which ranks them among the
networks scored together, and a file scored alone gets a score near 0.5 that says nothing.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_bytes
from onnxnet.errors import ProtocolError
from onnxnet.features import features_frame, size_view
from onnxnet.features.onnx_proxies import with_proxies
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.predictors.trees import load_trees
from onnxnet.ranking import (column_quantiles, column_references, fit_column_quantiles, load_column_quantiles,
                             row_groups)

#: Rows of pair features scored per LightGBM call (bounds memory at ~200k x 2 x #features floats).
_PAIR_CHUNK = 200_000


def triu_pair(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)``, ``i < j < n``, at linear positions ``k`` of the row-major upper triangle (the order
    of ``np.triu_indices(n, 1)``), without building it: sampling 50,000 of 10^8 pairs stays cheap."""
    k = np.asarray(k, dtype=np.int64)
    i = np.floor(((2 * n - 1) - np.sqrt((2.0 * n - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)

    def start(row: np.ndarray) -> np.ndarray:
        return row * n - row * (row + 1) // 2

    i = np.where(start(i) > k, i - 1, i)  # float rounding at a row boundary
    i = np.where(k >= start(i + 1), i + 1, i)
    return i, k - start(i) + i + 1


def _soft_label(diff: np.ndarray, scale: float) -> np.ndarray:
    """P(a is better) for accuracy differences ``diff``: the normal CDF of ``diff / scale`` (0.5 when scale is 0)."""
    from scipy.special import ndtr

    return ndtr(diff / scale) if scale > 0 else np.full(len(diff), 0.5)


def pair_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The comparator's input for pairs ``(a[i], b[i])``: difference, then midpoint."""
    return np.hstack([a - b, (a + b) / 2])


@PREDICTORS.register("pairwise")
class PairwisePredictor(Predictor):
    """LightGBM comparator on within-space pairs; score = mean win probability against the space's references."""

    required_columns: tuple[str, ...] | None = ("onnx",)
    features_read = ("all",)
    proxies_param = "proxies"

    def __init__(self, proxies: Sequence[str] | bool = True, margin: float = 0.0, max_pairs: int = 50_000,
                 max_refs: int = 128, n_estimators: int = 300, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 20, feature_norm: str = "none", bags: int = 1, seed: int = 0,
                 cache_dir: str | None = None, jobs: int = 1, progress: bool = False, proxy_seeds: int = 1,
                 graph_features: bool = True, log_size: bool = False, soft: float = 0.0) -> None:
        self.proxies = proxies
        self.soft = soft
        self.proxy_seeds = proxy_seeds
        self.graph_features = graph_features
        self.log_size = log_size
        self.margin = margin
        self.max_pairs = max_pairs
        self.max_refs = max_refs
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_norm = feature_norm
        self.bags = bags
        self.seed = seed
        self.cache_dir = cache_dir
        self.jobs = jobs
        self.progress = progress

    # ------------------------------------------------------------------ features
    def _features(self, rows: Any, fit: bool = False) -> tuple[np.ndarray, list[dict[str, str]]]:
        """Graph features (+ proxies) of ``rows`` as a float matrix in ``feature_names_`` order."""
        if self.feature_norm not in ("none", "rank"):
            raise ProtocolError(f"pairwise: feature_norm must be 'none' or 'rank', got {self.feature_norm!r}")
        X, failures = features_frame(rows, kind="all", cache_dir=self.cache_dir, progress=self.progress,
                                     jobs=self.jobs)
        X = size_view(X, self.graph_features, self.log_size)
        if self.proxies:
            X, more = with_proxies(X, rows, self.proxies, cache_dir=self.cache_dir, progress=self.progress,
                                   jobs=self.jobs, seeds=self.proxy_seeds)
            failures = failures + more
        if fit:
            self.feature_names_ = list(X.columns)
        X = X.reindex(columns=self.feature_names_)
        if self.feature_norm == "rank":
            spaces = row_groups(rows)
            if fit:
                self.quantiles_ = fit_column_quantiles(X, spaces)
            X = column_quantiles(X, self.quantiles_, spaces)
        return X.to_numpy(dtype=float), failures

    def _sample(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``idx`` itself, or ``max_refs`` of it drawn with ``rng`` (sorted)."""
        return idx if len(idx) <= self.max_refs else np.sort(rng.choice(idx, self.max_refs, replace=False))

    # ------------------------------------------------------------------ contract
    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        import lightgbm as lgb

        if self.soft < 0:
            raise ProtocolError(f"pairwise: soft must be >= 0 (0 = hard labels), got {self.soft}")
        X, self.fit_failures_ = self._features(rows, fit=True)
        usable = ~np.isnan(X).all(axis=1)
        rng = np.random.default_rng(self.seed)
        first, second, better = [], [], []
        for group in sorted(set(spaces.tolist())):  # a comparison group: a space, or one label kind of a space
            idx = np.flatnonzero((spaces == group) & usable)
            if len(idx) < 2:
                continue
            total = len(idx) * (len(idx) - 1) // 2
            if total <= 4 * self.max_pairs:
                i, j = np.triu_indices(len(idx), 1)
            else:  # too many to list (10^8 pairs of 14,000 networks): draw positions, twice what is kept
                i, j = triu_pair(rng.choice(total, 2 * self.max_pairs, replace=False), len(idx))
            diff = y[idx[i]] - y[idx[j]]
            keep = np.abs(diff) > self.margin * float(np.std(y[idx]))
            i, j, diff = i[keep], j[keep], diff[keep]
            if len(i) > self.max_pairs:
                pick = rng.choice(len(i), self.max_pairs, replace=False)
                i, j, diff = i[pick], j[pick], diff[pick]
            first.append(idx[i])
            second.append(idx[j])
            better.append(_soft_label(diff, self.soft * float(np.std(y[idx]))) if self.soft > 0 else diff > 0)
        # References are looked up by the rows' search space at predict time (groups are a training notion).
        row_space = row_groups(rows)
        self.references_: dict[str, np.ndarray] = {
            space: X[self._sample(np.flatnonzero((row_space == space) & usable), rng)]
            for space in sorted(set(row_space[usable].tolist()))}
        n_pairs = sum(len(b) for b in better)
        if n_pairs == 0:
            raise ProtocolError("pairwise: no training pair to learn from: it needs two networks of one space with "
                                "graph features and different accuracies (margin "
                                f"{self.margin} x the space's spread); failures: "
                                + "; ".join(f["reason"] for f in self.fit_failures_[:3]))
        a, b = np.concatenate(first), np.concatenate(second)
        label = np.concatenate(better).astype(float)
        F = np.vstack([pair_features(X[a], X[b]), pair_features(X[b], X[a])])
        self.boosters_ = []
        for k in range(max(1, int(self.bags))):  # bags differ in their row and feature subsamples
            common = dict(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                          num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                          subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                          random_state=self.seed + 7919 * k, n_jobs=1, verbose=-1)
            # Soft targets need a cross-entropy regressor; its booster predicts probabilities like the classifier's.
            model = (lgb.LGBMRegressor(objective="cross_entropy", **common) if self.soft > 0
                     else lgb.LGBMClassifier(**common))
            model.fit(F, np.concatenate([label, 1 - label]))
            self.boosters_.append(load_trees(model.booster_.model_to_string()))
        self.n_pairs_ = n_pairs

    def fit_summary(self) -> list[str]:
        refs = ", ".join(f"{s} {len(r)}" for s, r in self.references_.items())
        return [f"comparator: {self.n_pairs_} within-space pairs, {len(self.feature_names_)} features per network, "
                f"{len(self.boosters_)} model(s); references per space: {refs}"]

    def _win_rate(self, X: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Mean P(x beats r) over the references ``r``, for each row ``x`` of ``X``."""
        out = np.empty(len(X))
        step = max(1, _PAIR_CHUNK // len(refs))
        for start in range(0, len(X), step):
            chunk = X[start:start + step]
            F = pair_features(np.repeat(chunk, len(refs), axis=0), np.tile(refs, (len(chunk), 1)))
            p = np.mean([b.predict(F) for b in self.boosters_], axis=0)
            out[start:start + step] = p.reshape(len(chunk), len(refs)).mean(axis=1)
        return out

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("pairwise: call fit(rows, y) before predict")
        X, self.failures_ = self._features(rows)
        spaces = row_groups(rows)
        usable = ~np.isnan(X).all(axis=1)
        out = np.full(len(X), np.nan)
        for space in sorted(set(spaces.tolist())):
            idx = np.flatnonzero((spaces == space) & usable)
            if len(idx):
                refs = self.references_.get(space)
                if refs is None:  # an unseen space: its networks play each other
                    refs = X[self._sample(idx, np.random.default_rng(self.seed))]
                out[idx] = self._win_rate(X[idx], refs)
        return out

    # ------------------------------------------------------------------ persistence
    def _save_state(self, folder: Any) -> dict[str, Any]:
        for k, booster in enumerate(self.boosters_):
            write_bytes(folder / f"pairwise_trees_{k}.txt", booster.model_to_string().encode())
        return {"feature_names": self.feature_names_, "n_pairs": self.n_pairs_, "n_models": len(self.boosters_),
                "references": {s: r.tolist() for s, r in self.references_.items()},
                "quantiles": column_references(getattr(self, "quantiles_", {}))}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.feature_names_ = list(state["feature_names"])
        self.n_pairs_ = int(state["n_pairs"])
        self.references_ = {s: np.asarray(r, dtype=float).reshape(-1, len(self.feature_names_))
                            for s, r in state["references"].items()}
        if self.feature_norm == "rank":
            self.quantiles_ = load_column_quantiles(state["quantiles"], self.feature_names_)
        self.boosters_ = []
        for k in range(int(state["n_models"])):
            name = f"pairwise_trees_{k}.txt"
            try:
                booster = load_trees((folder / name).read_text())
            except ValueError as e:
                raise ValueError(f"{name} is not a LightGBM model ({e})") from None
            if booster.num_feature() != 2 * len(self.feature_names_):
                raise ValueError(f"{name} reads {booster.num_feature()} features, not 2 x {len(self.feature_names_)}")
            self.boosters_.append(booster)
