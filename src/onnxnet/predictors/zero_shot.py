"""``zero-shot``: a score for networks of a space never seen in training, that knows when it is out of its depth.

A learned comparator ranks well only near the networks it was trained on; training-free signals (#params, FLOPs,
depth and the ONNX zero-cost proxies) mean the same on every space, but which of them to trust is learnt too.
``fit`` therefore records, on the training spaces:

* each signal's Kendall tau within each training space (``signal_kendall_``), from which the signal weights come:
  ``weighting="best"`` trusts the one signal with the best mean tau; ``"kendall"`` votes every signal whose tau has
  the same sign on every training space, weighted by its mean tau (a reversed signal votes reversed);
  ``"equal"`` gives those signals equal weight; ``"best-checked"`` trusts the best signal only on a target where its
  Spearman with the Kendall-weighted vote of the other signals, over the target's own unlabelled networks, is at
  least ``check_floor`` (a number, or ``"training"``: its lowest on the training spaces), and the Kendall-weighted
  vote elsewhere: a signal that parts from all the others on a new space is the first sign that the space is
  unlike the training spaces. Fitted on one space it is the Kendall-weighted vote (one space cannot show that a
  single signal transfers; on the development spaces the vote was then the better choice, ``docs/zero-shot.md``);
* a novelty model of the training networks' graph features (``novelty.SpaceNovelty``);
* optionally a learned member (``learned``, e.g. ``("pairwise", {"bags": 3})``).

``predict`` scores each space (``space`` column) on its own: the weighted vote of the signals' ranks, and, with a
learned member, ``inside x rank(learned) + (1 - inside) x vote`` where ``inside`` is the share of the space's
networks that lie within the training networks' reach (1 for new networks of a training space, 0 for a space
unlike all of them). ``transductive=True`` also weighs each signal by how well it agrees (Spearman, clipped at 0)
with the other voting signals on the target's own unlabelled networks. ``explain_`` says, per space, what was
used and why. Scores are ranks within a space: only compare networks scored together.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.features.engine import features_frame
from onnxnet.features.onnx_proxies import proxy_frame
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.predictors.loading import load_predictor
from onnxnet.predictors.novelty import SpaceNovelty, feature_matrix, load_novelty, save_novelty
from onnxnet.predictors.stack import Member, make_member, member_spec
from onnxnet.ranking import row_groups

#: Training-free signals: static facts of the graph, and ONNX zero-cost proxies.
STATIC_SIGNALS: tuple[str, ...] = ("n_params", "flops", "depth")
PROXY_SIGNALS: tuple[str, ...] = ("nwot", "swap", "meco", "meco_batch", "synflow")
SIGNALS: tuple[str, ...] = STATIC_SIGNALS + PROXY_SIGNALS
WEIGHTINGS: tuple[str, ...] = ("best", "best-checked", "kendall", "equal")


def signal_frame(rows: Any, signals: Sequence[str] = SIGNALS, cache_dir: str | None = None, jobs: int = 1
                 ) -> tuple[Any, list[dict[str, str]]]:
    """The training-free signals of every row (columns named as in ``SIGNALS``), cached, and the failures."""
    import pandas as pd


    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise ProtocolError(f"zero-shot: unknown signal(s) {unknown}; choose from {', '.join(SIGNALS)}")
    parts, failures = [], []
    static = [s for s in signals if s in STATIC_SIGNALS]
    if static:
        F, failed = features_frame(rows, kind="facts", cache_dir=cache_dir, jobs=jobs)
        parts.append(F.reindex(columns=static))
        failures += failed
    proxies = [s for s in signals if s in PROXY_SIGNALS]
    if proxies:
        P, failed = proxy_frame(rows, proxies, cache_dir=cache_dir, jobs=jobs)
        parts.append(P.rename(columns=lambda c: c.removeprefix("zc_")))
        seen = {f["id"] for f in failures}
        failures += [f for f in failed if f["id"] not in seen]
    return pd.concat(parts, axis=1).reindex(columns=list(signals)), failures


def _ranks(v: np.ndarray) -> np.ndarray:
    """Fractional ranks in [0, 1]; NaN (a signal that failed on a network) sits at the middle."""
    from scipy.stats import rankdata

    out = np.full(len(v), 0.5)
    ok = np.isfinite(v)
    if ok.sum() > 1:
        out[ok] = (rankdata(v[ok]) - 1.0) / (ok.sum() - 1)
    return out


def _vote(S: Any, weights: dict[str, float]) -> np.ndarray:
    """The weighted vote of the signals' ranks (a negative weight votes reversed), in [0, 1]."""
    used = [s for s, w in weights.items() if w != 0]
    R = np.column_stack([_ranks(S[s].to_numpy()) for s in used])
    w = np.array([weights[s] for s in used])
    return np.where(w < 0, 1.0 - R, R) @ np.abs(w) / np.abs(w).sum()


def _agreement_with_others(S: Any, best: str, weights: dict[str, float]) -> float:
    """Spearman of the ``best`` signal with the weighted vote of the other signals (0 if there are none)."""
    others = {s: w for s, w in weights.items() if s != best and w != 0}
    if not others or len(S) < 3:
        return 0.0
    c = np.corrcoef(_ranks(S[best].to_numpy()), _ranks(_vote(S, others)))[0, 1]
    return float(c) if np.isfinite(c) else 0.0


@PREDICTORS.register("zero-shot")
class ZeroShotPredictor(Predictor):
    """Training-free signals weighted by how they ranked the training spaces, blended with a learned member by
    how close the target's networks lie to the training networks (see the module docstring)."""

    required_columns: tuple[str, ...] | None = None

    def __init__(self, signals: Sequence[str] = SIGNALS, weighting: str = "kendall", transductive: bool = False,
                 learned: Member | None = None, check_floor: float | str = 0.0, quantile: float = 0.95,
                 seed: int = 0, cache_dir: str | None = None, jobs: int = 1) -> None:
        self.signals = signals
        self.weighting = weighting
        self.transductive = transductive
        self.learned = learned
        self.check_floor = check_floor
        self.quantile = quantile
        self.seed = seed
        self.cache_dir = cache_dir
        self.jobs = jobs

    # ------------------------------------------------------------------ fit
    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        from scipy.stats import kendalltau

        if self.weighting not in WEIGHTINGS:
            raise ProtocolError(f"zero-shot: weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if self.check_floor != "training" and not isinstance(self.check_floor, (int, float)):
            raise ProtocolError(f"zero-shot: check_floor must be a number or 'training', got {self.check_floor!r}")
        rows = rows.reset_index(drop=True)
        sig = list(self.signals)
        S, self.fit_failures_ = signal_frame(rows, sig, self.cache_dir, self.jobs)
        self.signal_kendall_: dict[str, dict[str, float]] = {}
        for g in sorted(set(spaces)):
            m = spaces == g
            if m.sum() < 3:
                continue
            taus = {}
            for s in sig:
                v = S[s].to_numpy()[m]
                ok = np.isfinite(v)
                t = float(kendalltau(v[ok], y[m][ok]).statistic) if ok.sum() > 2 else float("nan")
                taus[s] = float(t) if np.isfinite(t) else 0.0
            self.signal_kendall_[str(g)] = taus
        if not self.signal_kendall_:
            raise ProtocolError("zero-shot: no training space has 3 or more labelled networks")
        self.weights_ = self._weights(self.weighting)
        self.fallback_weights_: dict[str, float] | None = None
        self.agreement_floor_: float | None = None
        if self.weighting == "best-checked" and len(self.signal_kendall_) < 2:
            self.weights_ = self._weights("kendall")
        elif self.weighting == "best-checked":
            self.fallback_weights_ = self._weights("kendall")
            self.agreement_floor_ = self._floor(S, spaces)
        X, failed = feature_matrix(rows, self.cache_dir)
        self.fit_failures_ += [f for f in failed if f["id"] not in {x["id"] for x in self.fit_failures_}]
        self.novelty_ = SpaceNovelty(self.quantile, self.seed).fit(X, spaces)
        self.model_: Predictor | None = None
        if self.learned is not None:
            self.model_ = make_member(self.learned, cache_dir=self.cache_dir, jobs=self.jobs, seed=self.seed)
            self.model_.fit(rows, y, spaces)

    def _floor(self, S: Any, spaces: np.ndarray) -> float:
        """The best signal's least agreement with the others that still trusts it alone."""
        if self.check_floor == "training":
            best = self._best()
            return min(_agreement_with_others(S[spaces == g].reset_index(drop=True), best, self.fallback_weights_)
                       for g in self.signal_kendall_)
        return float(self.check_floor)

    def _best(self) -> str:
        return next(s for s, w in self.weights_.items() if w != 0)

    def _weights(self, weighting: str) -> dict[str, float]:
        taus = np.array([[t[s] for s in self.signals] for t in self.signal_kendall_.values()])
        mean = taus.mean(axis=0)
        if weighting in ("best", "best-checked"):
            j = int(np.argmax(mean))
            return {s: (1.0 if i == j else 0.0) for i, s in enumerate(self.signals)}
        same_sign = (np.all(taus > 0, axis=0) | np.all(taus < 0, axis=0))
        w = np.where(same_sign, mean if weighting == "kendall" else np.sign(mean), 0.0)
        if not np.any(w != 0):  # no signal agrees in sign across the training spaces: trust the best mean
            w = np.where(np.arange(len(mean)) == int(np.argmax(mean)), 1.0, 0.0)
        return {s: float(v) for s, v in zip(self.signals, w)}

    # ------------------------------------------------------------------ predict
    def predict(self, rows: Any) -> np.ndarray:
        if not getattr(self, "is_fitted_", False):
            raise ProtocolError("zero-shot: call fit(rows, y) before predict")
        rows = rows.reset_index(drop=True)
        spaces = row_groups(rows)
        used = [s for s in self.signals if self.weights_.get(s) or (self.fallback_weights_ or {}).get(s)]
        S, self.failures_ = signal_frame(rows, used, self.cache_dir, self.jobs)
        X, failed = feature_matrix(rows, self.cache_dir)
        learned = None
        if self.model_ is not None:
            learned = np.asarray(self.model_.predict(rows), dtype=float)
            self.failures_ += list(getattr(self.model_, "failures_", []))
        out = np.full(len(rows), np.nan)
        self.explain_: dict[str, dict[str, Any]] = {}
        for g in sorted(set(spaces)):
            m = spaces == g
            Sg = S[m].reset_index(drop=True)
            weights, check = self._target_weights(Sg)
            w = np.array([weights[s] for s in weights])
            agree = None
            if self.transductive and len(weights) > 1:
                R = np.column_stack([_ranks(Sg[s].to_numpy()) for s in weights])
                agree = self._agreement(R, w)
                if np.any(agree > 0):
                    w = w * agree
            vote = _vote(Sg, dict(zip(weights, w)))
            inside = self.novelty_.inside_fraction(X[m]) if len(X) else 0.0
            alpha = inside if learned is not None else 0.0
            score = vote
            if alpha > 0 and learned is not None:
                score = alpha * _ranks(learned[m]) + (1.0 - alpha) * vote
            out[m] = score
            self.explain_[str(g)] = self._explain(int(m.sum()), inside, alpha, dict(zip(weights, w)), agree, check)
        return out

    def _target_weights(self, S: Any) -> tuple[dict[str, float], str]:
        """The signal weights for one target space (non-zero only), and what the best-signal check found."""
        weights = {s: w for s, w in self.weights_.items() if w != 0}
        if self.weighting != "best-checked":
            return weights, ""
        if self.fallback_weights_ is None:
            return weights, ("fitted on one space, which cannot show that a single signal transfers: the "
                             "Kendall-weighted vote")
        best = self._best()
        a = _agreement_with_others(S, best, self.fallback_weights_)
        floor = float(self.agreement_floor_ or 0.0)
        if a >= floor:
            return weights, (f"{best} (the best signal on the training spaces) agrees with the "
                             f"other signals at {a:.2f} here, at least {floor:.2f}: trusted alone")
        return ({s: w for s, w in self.fallback_weights_.items() if w != 0},
                f"{best} (the best signal on the training spaces) agrees with the other signals at {a:.2f} here, "
                f"below {floor:.2f}: these networks are unlike the training spaces, so the Kendall-weighted vote")

    @staticmethod
    def _agreement(R: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Each signal's mean Spearman with the other voting signals (sign-corrected by its weight), >= 0."""
        C = np.corrcoef(np.where(w < 0, 1.0 - R, R), rowvar=False)
        C = np.nan_to_num(C)
        k = len(w)
        return np.clip((C.sum(axis=1) - 1.0) / max(k - 1, 1), 0.0, None)

    def _explain(self, n: int, inside: float, alpha: float, w: dict[str, float], agree: Any,
                 check: str) -> dict[str, Any]:
        top = sorted(w.items(), key=lambda kv: -abs(kv[1]))
        vote = ", ".join(f"{s} {v:+.2f}" for s, v in top)
        if self.model_ is None:
            why = "no learned member"
        elif alpha >= 0.5:
            why = f"{inside:.0%} of its networks lie within reach of the training networks"
        else:
            why = f"only {inside:.0%} of its networks lie within reach of the training networks"
        signal = (f"{alpha:.2f} x {member_spec(self.learned)[0]} + {1 - alpha:.2f} x vote ({vote})"
                  if self.model_ is not None and alpha > 0 else f"vote of training-free signals ({vote})")
        return {"networks": n, "inside": round(inside, 3), "learned_weight": round(alpha, 3), "signal": signal,
                "why": why + ("; signal weights x agreement on the target's networks" if agree is not None else "")
                + (f"; {check}" if check else ""),
                "weights": {s: round(float(v), 4) for s, v in w.items()}}

    def inside_fraction(self, rows: Any) -> float:
        """Share of ``rows`` lying within reach of the training networks (``novelty.SpaceNovelty``)."""
        return self.novelty_.inside_fraction(feature_matrix(rows.reset_index(drop=True), self.cache_dir)[0])

    def explain_lines(self) -> list[str]:
        """One line per space scored by the last ``predict``: the signal used and why."""
        return [f"{g}: {e['signal']} ({e['why']})" for g, e in getattr(self, "explain_", {}).items()]

    def fit_summary(self) -> list[str]:
        lines = [f"signal weights (from Kendall on {', '.join(self.signal_kendall_)}): " +
                 ", ".join(f"{s} {w:+.3f}" for s, w in self.weights_.items() if w != 0)]
        if self.fallback_weights_:
            lines.append(f"  used alone unless its Spearman with the other signals on a target is below "
                         f"{self.agreement_floor_:.2f}; then: " +
                         ", ".join(f"{s} {w:+.3f}" for s, w in self.fallback_weights_.items() if w != 0))
        for g, t in self.signal_kendall_.items():
            lines.append(f"  {g}: " + ", ".join(f"{s} {v:+.3f}" for s, v in t.items()))
        if self.model_ is not None:
            lines += [f"  [learned] {line}" for line in self.model_.fit_summary()]
        return lines

    # ------------------------------------------------------------------ persistence
    def _save_state(self, folder: Any) -> dict[str, Any]:
        novelty = save_novelty(self.novelty_, folder, "novelty_references.npz")
        if self.model_ is not None:
            self.model_.save(folder / "learned")
        return {"signal_kendall": self.signal_kendall_, "weights": self.weights_, "novelty": novelty,
                "learned": self.model_ is not None, "fallback_weights": self.fallback_weights_,
                "agreement_floor": self.agreement_floor_}

    def _load_state(self, folder: Any, state: dict[str, Any]) -> None:
        self.signal_kendall_ = {str(k): dict(v) for k, v in state["signal_kendall"].items()}
        self.weights_ = {str(k): float(v) for k, v in state["weights"].items()}
        fallback = state.get("fallback_weights")  # absent in folders saved before best-checked existed
        self.fallback_weights_ = {str(k): float(v) for k, v in fallback.items()} if fallback else None
        self.agreement_floor_ = state.get("agreement_floor")
        novelty = state["novelty"]  # folders saved before save_novelty kept the spaces beside it
        self.novelty_ = load_novelty(folder, novelty if "reference_spaces" in novelty
                                     else {**novelty, "reference_spaces": state["reference_spaces"]})
        self.model_ = load_predictor(folder / "learned") if state["learned"] else None
