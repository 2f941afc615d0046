"""``stack``: a weighted rank ensemble of registered predictors, the weights learnt out of fold.

Each member predictor is fitted K times on K-1 folds of the training rows and scores the fold it did not see;
those out-of-fold scores, turned into per-space ranks (fold by fold, so members whose scale drifts between
fits still line up), are regressed onto the per-space rank of the accuracy with non-negative least squares.
Every training row is validation data once, so with 128 networks the weights rest on 128 held-out scores
rather than on a 20 % split of 26. The members are then refitted on all rows. ``predict`` is the weighted mean
of each member's score turned into a quantile: among the member's scores of the training networks of the same
space (a space seen in training: the score of a network does not depend on what it is scored with), or among
the networks scored together (an unseen space). Training-free members (``onnx-meco``, ``params``...) are
scored directly.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.predictors.loading import load_predictor
from onnxnet.ranking import SpaceQuantiles, mean_kendall, rank_within, row_groups

#: A member: a registered predictor name, or ``(name, constructor parameters)``.
Member = str | tuple[str, dict[str, Any]]

#: The default members, chosen on the development spaces NB101 and NB301 (``experiments/select_in_space.py``):
#: LightGBM trees on graph features + ONNX proxies, and the ridge on per-space feature ranks.
DEFAULT_MEMBERS: tuple[Member, ...] = (
    ("onnxnet-hybrid", {"lm": None, "proxies": True}),
    ("rank-linear", {"graph_features": True}),
)


def member_spec(member: Member) -> tuple[str, dict[str, Any]]:
    """``(registered name, parameters)`` of a member given as a name or as that pair."""
    if isinstance(member, str):
        return member, {}
    if isinstance(member, (tuple, list)) and len(member) == 2 and isinstance(member[0], str) \
            and isinstance(member[1], dict):
        return member[0], dict(member[1])
    raise ProtocolError(f"stack: a member is a predictor name or (name, params); got {member!r}")


def make_member(member: Member, **shared: Any) -> Predictor:
    """A fresh predictor for ``member``, given each of ``shared`` (``cache_dir``, ``jobs``, ``seed``) that its
    constructor takes; the member's own parameters win."""
    import inspect

    from onnxnet.predictors import get_predictor

    name, params = member_spec(member)
    accepted = inspect.signature(PREDICTORS.get(name).__init__).parameters
    return get_predictor(name, **{**{k: v for k, v in shared.items() if k in accepted}, **params})


@PREDICTORS.register("stack")
class StackPredictor(Predictor):
    """Rank ensemble of ``members`` with non-negative weights fitted on ``folds``-fold out-of-fold scores.

    ``cache_dir`` and ``jobs`` are passed to every member that takes them, ``seed`` to every member that takes
    one (and fixes the folds). ``min_rows``: with fewer training rows the members are weighted equally.
    """

    def __init__(self, members: Sequence[Member] = DEFAULT_MEMBERS, folds: int = 5, seed: int = 0,
                 cache_dir: str | None = None, jobs: int = 1, min_rows: int = 20) -> None:
        self.members = members
        self.folds = folds
        self.seed = seed
        self.cache_dir = cache_dir
        self.jobs = jobs
        self.min_rows = min_rows

    def _make(self, member: Member) -> Predictor:
        return make_member(member, cache_dir=self.cache_dir, jobs=self.jobs, seed=self.seed)

    @staticmethod
    def _ranks(pred: np.ndarray, spaces: np.ndarray) -> np.ndarray:
        """Per-space rank of ``pred``; a network a member could not score sits at the middle (0.5)."""
        out = np.full(len(pred), 0.5)
        ok = np.isfinite(pred)
        if ok.any():
            out[ok] = rank_within(pred[ok], spaces[ok])
        return out

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        from scipy.optimize import nnls

        if not self.members:
            raise ProtocolError("stack: give at least one member predictor")
        rows = rows.reset_index(drop=True)
        self.member_names_ = [member_spec(m)[0] for m in self.members]
        n = len(rows)
        k = int(min(self.folds, n))
        if n >= self.min_rows and k >= 2:
            fold = np.random.default_rng(self.seed).permutation(n) % k
            oof = np.zeros((n, len(self.members)))
            for j, member in enumerate(self.members):
                for f in range(k):
                    tr, te = fold != f, fold == f
                    model = self._make(member)
                    model.fit(rows[tr], y[tr], spaces[tr])
                    oof[te, j] = self._ranks(np.asarray(model.predict(rows[te]), dtype=float), spaces[te])
            target = rank_within(y, spaces)
            # Centred, so the fit has a free intercept: a reversed member cannot buy weight by shifting the mean.
            w, _ = nnls(oof - oof.mean(axis=0), target - target.mean())
            self.oof_kendall_ = [mean_kendall(oof[:, j], y, spaces) for j in range(len(self.members))]
        else:
            w = np.ones(len(self.members))
            self.oof_kendall_ = None
        if not np.any(w > 0):  # no member orders the held-out folds: fall back to equal weights
            w = np.ones(len(self.members))
        self.weights_ = w / w.sum()
        labels = [f"member {j} {name}" for j, name in enumerate(self.member_names_)]
        self.val_scores_ = {f"{m} weight": float(wj) for m, wj in zip(labels, self.weights_)}
        if self.oof_kendall_ is not None:
            self.val_scores_.update({f"{m} (out of fold)": t for m, t in zip(labels, self.oof_kendall_)})
        self.models_, self.quantiles_, self.fit_failures_ = [], [], []
        spaces_of_rows = row_groups(rows)
        for member, wj in zip(self.members, self.weights_):
            model = self._make(member) if wj > 0 else None
            quantiles = None
            if model is not None:
                model.fit(rows, y, spaces)
                quantiles = SpaceQuantiles().fit(np.asarray(model.predict(rows), dtype=float), spaces_of_rows)
                self.fit_failures_ = _merge(self.fit_failures_, getattr(model, "fit_failures_", []))
            self.models_.append(model)
            self.quantiles_.append(quantiles)

    def _save_state(self, folder: Any) -> dict[str, Any]:
        for j, model in enumerate(self.models_):
            if model is not None:
                model.save(folder / f"member_{j}")
        return {"weights": self.weights_.tolist(), "member_names": self.member_names_,
                "oof_kendall": getattr(self, "oof_kendall_", None),
                "reference": [q.reference if q is not None else None for q in self.quantiles_]}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.weights_ = np.asarray(state["weights"], dtype=float)
        self.member_names_ = list(state["member_names"])
        if len(self.weights_) != len(self.members):
            raise ValueError(f"{len(self.weights_)} weights for {len(self.members)} members")
        self.oof_kendall_ = state.get("oof_kendall")
        self.models_ = [load_predictor(folder / f"member_{j}", cache_dir=self.cache_dir) if w > 0 else None
                        for j, w in enumerate(self.weights_)]
        self.quantiles_ = [SpaceQuantiles(reference=dict(r)) if r is not None else None for r in state["reference"]]
        if len(self.quantiles_) != len(self.models_):
            raise ValueError(f"{len(self.quantiles_)} reference tables for {len(self.models_)} members")

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("stack: call fit(rows, y) before predict")
        rows = rows.reset_index(drop=True)
        spaces = row_groups(rows)
        out = np.zeros(len(rows))
        self.failures_ = []
        for model, quantiles, wj in zip(self.models_, self.quantiles_, self.weights_):
            if model is None:
                continue
            q = quantiles.transform(np.asarray(model.predict(rows), dtype=float), spaces)
            out += wj * np.where(np.isfinite(q), q, 0.5)  # a row a member could not score sits mid-way
            self.failures_ = _merge(self.failures_, getattr(model, "failures_", []))
        return out


def _merge(failures: list[dict[str, str]], more: Any) -> list[dict[str, str]]:
    """Failure records of several members, each (id, reason) once."""
    seen = {(f.get("id"), f.get("reason")) for f in failures}
    return failures + [f for f in list(more or []) if (f.get("id"), f.get("reason")) not in seen]

