"""``auto``: per search space, the predictor that suits how many labels the space has.

With tens to hundreds of labelled networks the ``pairwise`` comparator ranks best (it learns from n(n-1)/2
comparisons); from about a thousand the ``stack`` does (the comparator's caps on pairs and references leave most of
them unused). On TransNAS-Bench-101 micro, a development space, the two tie at 1,024 training networks (0.718 vs
0.720 Kendall) and the stack leads by 0.05 with 3,210 (``docs/results.md``), so ``threshold`` is 1,000 labelled
rows per space. ``fit`` counts each space's rows, fits ``few`` on the spaces below the threshold and ``many`` on
the others, and ``predict`` scores every row with its space's model. A space not seen in training goes to
``unseen``: the ``zero-shot`` predictor fitted on all training rows: the training-free signal that ranked the
training spaces best, unless it contradicts the other signals on the new space's networks (then their
Kendall-weighted vote; fitted on one space, always the vote). Learned comparators are kept out: they carry
between cell spaces but were reported near chance on a macro-level space where the proxies held
(``docs/zero-shot.md``). ``unseen=None`` restores the old routing (``few``, else ``many``).
``explain_lines()`` says which signal each unseen space got and why; ``inside_fraction(rows)`` how many networks lie
within reach of the training networks. Scores are only ever compared within a space, so two models never have to
agree on a scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.predictors.loading import load_predictor
from onnxnet.predictors.stack import Member, make_member, member_spec
from onnxnet.ranking import row_groups

_ROLES = ("few", "many", "unseen")
#: The zero-shot default for spaces not seen in training: the rule's pick in leave-one-space-out
#: (``benchmarks/bench_zero_shot_loso.py``, docs/zero-shot.md): the best training-free signal unless it
#: contradicts the others on the target, else the Kendall-weighted vote.
UNSEEN: Member = ("zero-shot", {"weighting": "best-checked"})


@PREDICTORS.register("auto")
class AutoPredictor(Predictor):
    """``few`` for spaces with fewer than ``threshold`` training rows, ``many`` for the others."""

    def __init__(self, threshold: int = 1000, few: Member = ("pairwise", {}), many: Member = ("stack", {}),
                 unseen: Member | None = UNSEEN, seed: int = 0, cache_dir: str | None = None, jobs: int = 1) -> None:
        self.threshold = threshold
        self.few = few
        self.many = many
        self.unseen = unseen
        self.seed = seed
        self.cache_dir = cache_dir
        self.jobs = jobs

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        if int(self.threshold) < 1:
            raise ProtocolError(f"auto: threshold must be a positive number of rows, got {self.threshold!r}")
        rows = rows.reset_index(drop=True)
        space = row_groups(rows)
        names, counts = np.unique(space, return_counts=True)
        self.routes_ = {str(s): "many" if c >= int(self.threshold) else "few" for s, c in zip(names, counts)}
        self.models_: dict[str, Predictor] = {}
        self.fit_failures_: list[dict[str, str]] = []
        for role in _ROLES:
            mask = np.array([role == "unseen" or self.routes_[s] == role for s in space])
            if role == "unseen" and self.unseen is None:
                continue
            if mask.any():
                model = make_member(getattr(self, role), cache_dir=self.cache_dir, jobs=self.jobs, seed=self.seed)
                model.fit(rows[mask].reset_index(drop=True), y[mask], spaces[mask])
                self.models_[role] = model
                self.fit_failures_ += list(getattr(model, "fit_failures_", []))

    def _role(self, space: str) -> str:
        if space in self.routes_:
            return self.routes_[space]
        if "unseen" in self.models_:
            return "unseen"
        return "few" if "few" in self.models_ else "many"

    def inside_fraction(self, rows: Any) -> float | None:
        """Share of ``rows`` lying within reach of the training networks (``None`` without a zero-shot model)."""
        model = self.models_.get("unseen")
        return None if model is None else model.inside_fraction(rows)

    def explain_lines(self) -> list[str]:
        """Which signal each space not seen in training got in the last ``predict``, and why."""
        model = self.models_.get("unseen")
        return model.explain_lines() if model is not None and getattr(self, "_used_unseen", False) else []

    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("auto: call fit(rows, y) before predict")
        rows = rows.reset_index(drop=True)
        roles = np.array([self._role(s) for s in row_groups(rows)], dtype=object)
        out = np.full(len(rows), np.nan)
        self.failures_ = []
        self._used_unseen = bool((roles == "unseen").any())
        for role, model in self.models_.items():
            mask = roles == role
            if mask.any():
                out[mask] = np.asarray(model.predict(rows[mask].reset_index(drop=True)), dtype=float)
                self.failures_ += list(getattr(model, "failures_", []))
        return out

    def fit_summary(self) -> list[str]:
        lines = [f"{space}: {member_spec(getattr(self, role))[0]} ({role} labels; threshold {self.threshold})"
                 for space, role in sorted(self.routes_.items())]
        if self.unseen is not None:
            lines.append(f"spaces not seen in training: {member_spec(self.unseen)[0]}")
        for role, model in self.models_.items():
            lines += [f"  [{role}] {line}" for line in model.fit_summary()]
        return lines

    def _save_state(self, folder: Any) -> dict[str, Any]:
        for role, model in self.models_.items():
            model.save(folder / role)
        return {"routes": self.routes_, "roles": sorted(self.models_)}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.routes_ = {str(k): str(v) for k, v in state["routes"].items()}
        unknown = sorted(set(state["roles"]) - set(_ROLES))
        if unknown:
            raise ValueError(f"unknown model roles {unknown}")
        self.models_ = {role: load_predictor(folder / role, cache_dir=self.cache_dir) for role in state["roles"]}
