"""``onnxnet-hybrid``: the language-model surrogate blended with gradient-boosted trees on graph features.

Two views of a network are combined: what a language model reads in its text encoding, and GRAF-style static
graph features (op counts, path statistics, #params, FLOPs) from ``onnxnet.features``. Each
member is trained on per-space normalised targets; the trees are an ensemble over seeds; the language model can
optionally feed its pooled text representation (reduced by PCA) to the trees as extra features. The blend
weight is chosen on a validation split of the *training* rows only, then members are refitted on all of them.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_bytes
from onnxnet.errors import ProtocolError
from onnxnet.hparams import config_from, extend_signature, set_hparams
from onnxnet.features import features_frame, size_view
from onnxnet.features.onnx_proxies import with_proxies
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.predictors.gbm import fit_early_stopped
from onnxnet.predictors.trees import load_trees
from onnxnet.ranking import (SpaceQuantiles, column_quantiles, column_references, fit_column_quantiles,
                             load_column_quantiles, mean_kendall, rank_within, row_groups)
from onnxnet.surrogate.inputs import EncodingCache, as_items, encode_items
from onnxnet.surrogate.surrogate import Surrogate
from onnxnet.surrogate.targets import normalize_per_space
from onnxnet.surrogate.backbone import DEFAULT_BACKBONE
from onnxnet.surrogate.trainer import TrainConfig, train_surrogate


def _val_mask(rows: Any, spaces: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Per-space validation rows, grouped by graph hash so duplicate graphs never straddle the split."""
    keys = rows["graph_hash"].astype(str).to_numpy() if "graph_hash" in rows.columns else np.arange(len(rows)).astype(str)
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(rows), dtype=bool)
    for s in np.unique(spaces):
        m = spaces == s
        uniq = np.unique(keys[m])
        k = int(round(fraction * len(uniq)))
        if k >= 4 and len(uniq) - k >= 4:
            pick = set(rng.choice(uniq, size=k, replace=False).tolist())
            mask |= m & np.array([x in pick for x in keys])
    return mask


def _booster(model: Any) -> Any:
    """The LightGBM ``Booster`` of a fitted ``LGBMRegressor`` (or the ``load_trees`` model, once reloaded)."""
    return getattr(model, "booster_", model)


#: TrainConfig fields the hybrid sets itself (``lm`` is the backbone; seed and encoding are shared with the trees;
#: the LM's validation split is the hybrid's own), so they get no ``lm_`` parameter.
_LM_SHARED = ("backbone", "seed", "encoding", "val_fraction")


@PREDICTORS.register("onnxnet-hybrid")
class HybridPredictor(Predictor):
    """LM surrogate + LightGBM ensemble on graph features, blended by a weight chosen on training-space validation.

    ``lm``: backbone name for the language-model member (``None``: trees only); ``lm_<field>`` sets any other
    ``TrainConfig`` field of it (``lm_epochs``, ``lm_lr``, ``lm_loss``, ...: generated from the one declaration). ``lm_features``: number of PCA
    components of the LM's pooled text representation added to the trees' features (0: none).
    ``lm_weight``: blend weight of the LM member (``"auto"``: the best of ``weights`` on validation).
    ``n_trees`` LightGBM models (seeds differ) each stop early (at most ``max_rounds``) on the validation rows,
    then are refitted on all training rows with their chosen number of rounds. ``proxies``: zero-cost proxies
    computed from each ONNX graph (``onnxnet.features.onnx_proxies``; ``True``: all of ``PROXY_SET``) added to
    the trees' features; ``graph_features=False`` drops the static graph features (keeps #params and FLOPs).
    ``feature_norm="rank"`` replaces each feature by its quantile within its space (no labels used): among the
    fitted networks of a seen space, among the rows scored together for an unseen one (``SpaceQuantiles``), so
    spaces of different scale line up: the setting for unseen spaces.
    ``proxies="auto"``: fit the trees with and without the proxies and keep what the validation part prefers
    (``proxies_`` says which). ``jobs``: processes for computing proxies not yet in the cache.
    ``trees``: ``"gbdt"`` (gradient boosting, rounds chosen on validation) or ``"rf"`` (a LightGBM random forest of
    extremely randomised trees, ``max_rounds`` trees, nothing early-stopped: less variance on a few hundred rows).
    ``extra_features``: store columns to add to the trees' features as they are (e.g. published proxies
    ``label:zc_jacov``); a row without a value gets NaN. ``tree_params``: LightGBM parameters that override the
    defaults of ``trees`` (e.g. ``{"num_leaves": 7}``). ``device``: where a reloaded LM member runs (``"auto"``:
    the GPU when there is one).
    """

    required_columns = ("onnx",)
    features_read = ("all",)
    proxies_param = "proxies"

    def __init__(self, lm: str | None = DEFAULT_BACKBONE, lm_features: int = 0, lm_weight: float | str = "auto",
                 weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0), n_trees: int = 5, max_rounds: int = 500,
                 val_fraction: float = 0.2, encoding: str = "compact", seed: int = 0, cache_dir: str | None = None,
                 progress: bool = False, proxies: Sequence[str] | str | bool = (), graph_features: bool = True,
                 feature_norm: str = "none", jobs: int = 1, trees: str = "gbdt",
                 extra_features: Sequence[str] = (), tree_params: dict[str, Any] | None = None,
                 device: str = "auto", **lm_config: Any) -> None:
        self.lm = lm
        self.lm_features = lm_features
        self.lm_weight = lm_weight
        self.weights = weights
        self.n_trees = n_trees
        self.max_rounds = max_rounds
        self.val_fraction = val_fraction
        self.encoding = encoding
        self.seed = seed
        self.cache_dir = cache_dir
        self.progress = progress
        self.proxies = proxies
        self.graph_features = graph_features
        self.feature_norm = feature_norm
        self.jobs = jobs
        self.trees = trees
        self.extra_features = extra_features
        self.tree_params = tree_params
        self.device = device
        set_hparams(self, TrainConfig, lm_config, prefix="lm_", exclude=_LM_SHARED)  # lm_epochs, lm_lr, ...

    # ------------------------------------------------------------------ members
    def _texts(self, rows: Any) -> list[str]:
        if not hasattr(self, "_cache"):
            self._cache = EncodingCache()
        return encode_items(as_items(rows), self.encoding, cache=self._cache)

    def _train_lm(self, texts: list[str], y: np.ndarray, spaces: np.ndarray, val: tuple | None) -> Any:
        cfg = config_from(TrainConfig, self.get_params(), prefix="lm_", backbone=str(self.lm), seed=self.seed,
                          encoding=self.encoding, val_fraction=0.0 if val is not None else 0.1)
        with tempfile.TemporaryDirectory(prefix="onnxnet-hybrid-lm-") as out:  # the model stays in memory
            return train_surrogate(texts, y, [str(s) for s in spaces], out, cfg, val=val, resume=False,
                                   progress=self.progress)

    def _tree_features(self, rows: Any, emb: np.ndarray | None, proxies: Sequence[str] | bool,
                       fit: bool = False) -> Any:
        """The trees' feature frame: graph features, the ONNX ``proxies`` (if any), LM components (if fitted).
        With ``feature_norm="rank"``, ``fit=True`` records each column's per-space reference values."""
        import pandas as pd

        X, self.failures_ = features_frame(rows, kind="all", cache_dir=self.cache_dir)
        X = size_view(X, self.graph_features, log_size=True)
        if proxies:
            X, failed = with_proxies(X, rows, proxies, cache_dir=self.cache_dir, progress=self.progress,
                                     jobs=self.jobs)
            self.failures_ = self.failures_ + failed
        if self.extra_features:
            missing = [c for c in self.extra_features if c not in rows.columns]
            if missing:
                raise ProtocolError(f"onnxnet-hybrid: extra_features {missing} are not columns of the rows; "
                                    f"the rows have {sorted(rows.columns)}")
            extra = rows[list(self.extra_features)].astype(float).set_axis(X.index)
            # LightGBM refuses JSON characters (``label:`` has one) in feature names.
            extra.columns = ["extra_" + re.sub(r"[^0-9A-Za-z_]", "_", c) for c in extra.columns]
            X = pd.concat([X, extra], axis=1)
        if self.feature_norm == "rank":
            space = row_groups(rows)
            if fit:  # both proxy options of proxies="auto" add their columns
                self.feature_quantiles_.update(fit_column_quantiles(X, space))
            X = column_quantiles(X, self.feature_quantiles_, space)
        elif self.feature_norm != "none":
            raise ProtocolError(f"onnxnet-hybrid: feature_norm must be 'none' or 'rank', got {self.feature_norm!r}")
        if emb is not None and self.lm_features > 0 and hasattr(self, "pca_"):
            Z = self.pca_.transform(emb)
            X = pd.concat([X, pd.DataFrame(Z, index=X.index, columns=[f"lm_pc{i}" for i in range(Z.shape[1])])],
                          axis=1)
        return X

    def _tree_params(self, n: int, k: int) -> dict[str, Any]:
        common = dict(n_estimators=self.max_rounds, random_state=self.seed * 1000 + k, n_jobs=1, verbose=-1,
                      subsample_freq=1)
        if self.trees == "rf":
            params = dict(common, boosting_type="rf", extra_trees=True, num_leaves=31, min_child_samples=3,
                          subsample=0.7, colsample_bytree=0.5)
        elif self.trees == "gbdt":
            params = dict(common, learning_rate=0.05, num_leaves=15, min_child_samples=max(3, min(10, n // 20)),
                          subsample=0.8, colsample_bytree=0.8, reg_lambda=1.0)
        else:
            raise ProtocolError(f"onnxnet-hybrid: trees must be 'gbdt' or 'rf', got {self.trees!r}")
        return {**params, **dict(self.tree_params or {})}

    def _fit_trees(self, X: Any, target: np.ndarray, rounds: list[int] | None = None,
                   val: tuple[Any, np.ndarray] | None = None) -> list[Any]:
        """``n_trees`` LightGBM regressors (seeds differ); with ``val``, each stops early on it and its number
        of rounds is recorded in ``rounds_``; with ``rounds``, each uses the given number."""
        import lightgbm as lgb

        models = []
        if val is not None:
            self.rounds_ = []
        for k in range(self.n_trees):
            params = self._tree_params(len(target), k)
            if rounds is not None:
                params["n_estimators"] = int(rounds[k])
            m = lgb.LGBMRegressor(**params)
            if val is not None and self.trees == "gbdt":
                fit_early_stopped(m, X, target, val[0], val[1], 50)
                self.rounds_.append(int(m.best_iteration_ or self.max_rounds))
            else:
                m.fit(X, target)
                if val is not None:
                    self.rounds_.append(int(params["n_estimators"]))
            models.append(m)
        return models

    @staticmethod
    def _tree_predict(models: list[Any], X: Any) -> np.ndarray:
        """Mean of the members' predictions: fitted ``LGBMRegressor`` models, or reloaded ``load_trees`` models
        (which read a float matrix in ``feature_names_`` order)."""
        return np.mean([m.predict(X if hasattr(m, "booster_") else np.asarray(X, dtype=float)) for m in models],
                       axis=0)

    # ------------------------------------------------------------------ contract
    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        rows = rows.reset_index(drop=True)
        spaces = np.asarray([str(s) for s in spaces], dtype=object)
        self.feature_quantiles_: dict[str, Any] = {}
        use_lm = bool(self.lm)
        texts = self._texts(rows) if use_lm else None
        is_val = _val_mask(rows, spaces, self.val_fraction, self.seed)
        tr, va = ~is_val, is_val
        self.val_scores_: dict[str, float] = {}

        # 1. Language-model member: trained on the fit part, epoch selected on the validation part.
        emb = None
        lm_val = None
        if use_lm:
            assert texts is not None
            val = ([texts[i] for i in np.flatnonzero(va)], y[va], spaces[va].tolist()) if va.any() else None
            self.lm_model_ = self._train_lm([texts[i] for i in np.flatnonzero(tr)], y[tr], spaces[tr], val)
            if self.lm_features > 0:
                from sklearn.decomposition import PCA

                emb = self.lm_model_.embed_texts(texts)
                self.pca_ = PCA(n_components=min(self.lm_features, int(tr.sum()) - 1), random_state=self.seed)
                self.pca_.fit(emb[tr])
            if va.any():
                lm_val = self.lm_model_.predict_texts([texts[i] for i in np.flatnonzero(va)])
                self.val_scores_["lm"] = mean_kendall(lm_val, y[va], spaces[va])

        # 2. Trees on graph features (+ proxies, + LM components), per-space rank targets. With
        # proxies="auto" the trees are fitted with and without the proxies; the validation part decides.
        options = [False, True] if self.proxies == "auto" and va.any() else [self.proxies]
        target, _ = normalize_per_space(y, spaces, "rank")
        w = 0.0 if not use_lm else (float(self.lm_weight) if self.lm_weight != "auto" else None)
        if va.any():
            target_tr, _ = normalize_per_space(y[tr], spaces[tr], "rank")
            target_va, _ = normalize_per_space(y[va], spaces[va], "rank")
            best_trees = None
            for option in options:
                X = self._tree_features(rows, emb, option, fit=True)
                trees = self._fit_trees(X[tr], target_tr, val=(X[va], target_va))
                pred_va = self._tree_predict(trees, X[va])
                val_score = mean_kendall(pred_va, y[va], spaces[va])
                if len(options) > 1:
                    self.val_scores_[f"trees_proxies_{bool(option)}"] = val_score
                if best_trees is None or val_score > best_trees[0] + 1e-12:
                    best_trees = (val_score, option, X, pred_va, self.rounds_)
            self.val_scores_["trees"], self.proxies_, X, tree_val, self.rounds_ = best_trees
            if w is None:
                assert lm_val is not None
                best = (-np.inf, 0.0)
                for cand in self.weights:
                    blend = (1 - cand) * rank_within(tree_val, spaces[va]) + cand * rank_within(lm_val, spaces[va])
                    score = mean_kendall(blend, y[va], spaces[va])
                    self.val_scores_[f"blend_{cand:g}"] = score
                    if score > best[0] + 1e-12:
                        best = (score, float(cand))
                w = best[1]
        else:
            self.proxies_ = True if self.proxies == "auto" else self.proxies
            X = self._tree_features(rows, emb, self.proxies_, fit=True)
            if w is None:
                w = 0.5
        self.feature_names_ = list(X.columns)
        self.lm_weight_ = float(w)
        # 3. Refit the trees on every training row; the LM keeps its validation-selected epoch.
        self.trees_ = self._fit_trees(X, target, rounds=getattr(self, "rounds_", None))
        # 4. A blend puts each member's score among its scores of the training networks of the same space, so a
        # network scores the same alone or in a batch (unseen spaces: ranked among the rows scored together).
        self.blend_quantiles_ = None
        if use_lm and self.lm_weight_ > 0:
            spaces_of_rows = row_groups(rows)
            assert texts is not None
            self.blend_quantiles_ = (SpaceQuantiles().fit(self._tree_predict(self.trees_, X), spaces_of_rows),
                                     SpaceQuantiles().fit(self.lm_model_.predict_texts(texts), spaces_of_rows))

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("onnxnet-hybrid: call fit(rows, y) before predict")
        rows = rows.reset_index(drop=True)
        spaces = row_groups(rows)
        texts = self._texts(rows) if hasattr(self, "lm_model_") else None
        emb = self.lm_model_.embed_texts(texts) if texts is not None and self.lm_features > 0 else None
        X = self._tree_features(rows, emb, self.proxies_).reindex(columns=self.feature_names_)
        tree = self._tree_predict(self.trees_, X)
        if texts is None or self.lm_weight_ == 0.0:
            return tree
        lm = self.lm_model_.predict_texts(texts)
        q_tree, q_lm = self.blend_quantiles_
        return (1 - self.lm_weight_) * q_tree.transform(tree, spaces) + self.lm_weight_ * q_lm.transform(lm, spaces)

    # ------------------------------------------------------------------ persistence
    def _save_state(self, folder: Path) -> dict[str, Any]:
        """One LightGBM text model per tree member, the PCA of the LM features, the LM member as a ``Surrogate``
        folder under ``lm/``; the returned JSON holds feature names, blend weight and validation scores."""
        for k, m in enumerate(self.trees_):
            write_bytes(folder / f"trees_{k}.txt", _booster(m).model_to_string().encode())
        if hasattr(self, "pca_"):
            np.savez(folder / "pca.npz", mean=self.pca_.mean_, components=self.pca_.components_)
        if hasattr(self, "lm_model_"):
            self.lm_model_.save_pretrained(folder / "lm")
        return {"feature_names": self.feature_names_,
                "lm_weight": self.lm_weight_, "n_trees": len(self.trees_), "val_scores": self.val_scores_,
                "proxies_used": self.proxies_,
                "feature_reference": column_references(getattr(self, "feature_quantiles_", {})),
                "blend_reference": [q.reference for q in self.blend_quantiles_] if getattr(
                    self, "blend_quantiles_", None) else None,
                "has_pca": hasattr(self, "pca_"), "has_lm": hasattr(self, "lm_model_")}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        self.feature_names_ = list(state["feature_names"])
        self.lm_weight_ = float(state["lm_weight"])
        self.proxies_ = state.get("proxies_used", self.proxies)
        self.feature_quantiles_ = load_column_quantiles(state.get("feature_reference", {}))
        blend = state.get("blend_reference")
        self.blend_quantiles_ = tuple(SpaceQuantiles(reference=dict(r)) for r in blend) if blend else None
        if self.lm_weight_ > 0 and state.get("has_lm") and self.blend_quantiles_ is None:
            raise ValueError("the LM blend's per-space references are missing: refit it")
        if self.feature_norm == "rank" and not set(self.feature_names_) <= set(self.feature_quantiles_) | {
                c for c in self.feature_names_ if c.startswith("lm_pc")}:
            raise ValueError("feature_norm='rank' but the per-space feature references are missing: refit it")
        self.val_scores_ = dict(state.get("val_scores", {}))
        try:
            self.trees_ = [load_trees((folder / f"trees_{k}.txt").read_text())
                           for k in range(int(state["n_trees"]))]
        except ValueError as e:
            raise ValueError(f"a tree member does not parse: {e}") from None
        if state.get("has_pca"):
            from sklearn.decomposition import PCA

            z = np.load(folder / "pca.npz")
            self.pca_ = PCA(n_components=z["components"].shape[0])
            self.pca_.mean_, self.pca_.components_ = z["mean"], z["components"]
        if state.get("has_lm"):
            self.lm_model_ = Surrogate.from_pretrained(folder / "lm", device=self.device)


extend_signature(HybridPredictor.__init__, TrainConfig, prefix="lm_", exclude=_LM_SHARED)
