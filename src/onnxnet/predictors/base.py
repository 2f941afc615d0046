"""The predictor contract every scorer follows (baselines and the language-model surrogate alike).

scikit-learn style: hyperparameters are constructor arguments, ``fit`` learns state in attributes ending in
``_``, ``predict`` returns one score per network (higher = better), ``score`` returns Kendall tau.

*Rows* are a ``pandas.DataFrame`` in the benchmark-store schema (see ``docs/architecture.md``): at least an
``onnx`` column (serialised, canonical ONNX bytes) and a ``space`` column; predictors may use any other column
(``n_params``, ``flops``, ``arch``, ...).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_json
from onnxnet.errors import ProtocolError
from onnxnet.features.onnx_proxies import proxy_families
from onnxnet.predictors.novelty import SpaceNovelty, feature_matrix, load_novelty, save_novelty
from onnxnet.ranking import mean_kendall, row_groups
from onnxnet.registry import Registry

#: All predictors by name, e.g. ``PREDICTORS.get("params")``.
PREDICTORS: Registry[type["Predictor"]] = Registry("predictor")
#: Store columns some predictors take beside proxy names (``proxy-vote``'s ``features``, ``rank-linear``'s ``static``).
STORE_FEATURES = ("n_params", "flops")
#: Constructor arguments that describe this machine, not the predictor: never saved.
MACHINE_PARAMS = ("cache_dir", "device")
#: The file a saved predictor folder is recognised by.
PREDICTOR_FILE = "predictor.json"
#: Training networks per space whose scores ``onnxnet fit`` keeps with a predictor (``record_reference_scores``).
REFERENCE_SCORES = 1000


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class Predictor:
    """Base class. Subclasses set ``needs_training`` and implement ``_fit`` / ``predict``."""

    #: False for zero-shot scorers (#params, FLOPs, zero-cost proxies): ``fit`` only records the call.
    needs_training: bool = True
    #: Store columns ``fit`` / ``predict`` read besides id, space, arch, graph_hash, split and the labels, so
    #: callers can skip loading the (large) ``onnx`` column; ``None`` means every column.
    required_columns: tuple[str, ...] | None = None
    #: Feature families (``onnxnet.features.FEATURES``) the predictor reads whatever its parameters.
    features_read: tuple[str, ...] = ()
    #: The constructor argument naming the ONNX proxies it reads (their families count too), if any.
    proxies_param: str | None = None

    @property
    def feature_families(self) -> tuple[str, ...]:
        """Every feature family this predictor reads with its parameters: ``features_read``, then the families of
        the proxies its ``proxies_param`` chooses (``"auto"``: maybe all of them; store columns are not proxies)."""
        chosen = getattr(self, self.proxies_param) if self.proxies_param else ()
        if isinstance(chosen, str):
            chosen = True if chosen == "auto" else [chosen]
        if not isinstance(chosen, bool):
            chosen = [c for c in chosen if c not in STORE_FEATURES]
        extra = proxy_families(chosen, getattr(self, "proxy_seeds", 1)) if chosen else ()
        return self.features_read + extra

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, as scikit-learn's ``get_params``."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self" and hasattr(self, k)}

    def set_params(self, **params: Any) -> "Predictor":
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, rows: Any, y: Sequence[float], spaces: Sequence[str] | None = None) -> "Predictor":
        """Learn from ``rows`` with targets ``y`` (accuracies) from the search spaces ``spaces`` (per row)."""
        y_arr = np.asarray(y, dtype=float)
        if len(y_arr) != len(rows):
            raise ProtocolError(f"fit: {len(rows)} rows but {len(y_arr)} targets")
        if self.needs_training:
            if len(y_arr) == 0:
                raise ProtocolError("fit: empty training set")
            if not np.all(np.isfinite(y_arr)):
                bad = int((~np.isfinite(y_arr)).sum())
                raise ProtocolError(f"fit: {bad} of {len(y_arr)} targets are NaN or infinite; drop or fix them")
        if hasattr(rows, "columns") and "space" in rows.columns:
            self.fit_spaces_ = sorted(set(row_groups(rows)))
        if spaces is None:
            spaces = row_groups(rows) if hasattr(rows, "columns") else ["?"] * len(y_arr)
        self._fit(rows, y_arr, np.asarray(list(spaces), dtype=object))
        self.is_fitted_ = True
        return self

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        """Subclasses that learn override this."""

    def predict(self, rows: Any) -> np.ndarray:
        """One score per row; higher means a better (more accurate) network."""
        raise NotImplementedError

    def fit_summary(self) -> list[str]:
        """Lines saying what ``fit`` learnt, for ``onnxnet fit`` to print (none by default)."""
        return []

    def record_reference_scores(self, rows: Any, max_per_space: int = REFERENCE_SCORES, seed: int = 0
                                ) -> dict[str, np.ndarray]:
        """Score up to ``max_per_space`` of the training ``rows`` of each space (seeded draw) and keep the sorted
        scores in ``reference_scores_`` and the number of rows per space in ``training_counts_`` (both saved with
        the predictor), so a new network's score can be placed among the training networks of its space
        (``reference_rank``). Rows it cannot score are left out."""
        spaces = row_groups(rows)
        rng = np.random.default_rng(seed)
        pick = []
        for space in sorted(set(spaces.tolist())):
            idx = np.flatnonzero(spaces == space)
            pick.append(idx if len(idx) <= max_per_space else np.sort(rng.choice(idx, max_per_space, replace=False)))
        take = np.concatenate(pick) if pick else np.arange(0)
        scores = np.asarray(self.predict(rows.iloc[take]), dtype=float)
        self.training_counts_ = {space: int((spaces == space).sum()) for space in sorted(set(spaces.tolist()))}
        self.reference_scores_ = {
            space: np.sort(scores[(spaces[take] == space) & np.isfinite(scores)]) for space in sorted(set(spaces.tolist()))}
        return self.reference_scores_

    def reference_rank(self, score: float, space: str) -> tuple[int, int] | None:
        """``(rank, n)``: 1 + how many of the ``n`` recorded training networks of ``space`` score higher than
        ``score`` (1 = better than all of them); ``None`` when none were recorded for ``space``."""
        ref = getattr(self, "reference_scores_", {}).get(space)
        if ref is None or len(ref) == 0 or not np.isfinite(score):
            return None
        return int(len(ref) - np.searchsorted(ref, score, side="right")) + 1, int(len(ref))

    def record_reach(self, rows: Any, seed: int = 0) -> SpaceNovelty:
        """Fit a novelty model of the training ``rows``' graph features (``reach_``, saved with the predictor), so
        that networks unlike every training network can be told apart at predict time (``within_reach``)."""
        X, _ = feature_matrix(rows.reset_index(drop=True), getattr(self, "cache_dir", None))
        self.reach_ = SpaceNovelty(seed=seed).fit(X, row_groups(rows))
        return self.reach_

    def within_reach(self, rows: Any) -> np.ndarray | None:
        """Per row, whether it lies within reach of the training networks (``novelty.SpaceNovelty``: nearest
        training network no further than 95 % of the training networks lie from each other); ``None`` when no
        reach was recorded (a folder saved before ``record_reach`` existed)."""
        reach = getattr(self, "reach_", None)
        if reach is None:
            return None
        X, _ = feature_matrix(rows.reset_index(drop=True), getattr(self, "cache_dir", None))
        v = reach.novelty(X)
        return ~(v > 1.0)  # a row without features counts as inside: nothing says otherwise

    # ------------------------------------------------------------------ persistence
    def saved_params(self) -> dict[str, Any]:
        """Constructor arguments as JSON values; ``cache_dir`` and ``device`` dropped (this machine's)."""
        return {k: _jsonable(v) for k, v in self.get_params().items() if k not in MACHINE_PARAMS}

    def save(self, path: str | Path) -> Path:
        """Write the predictor to folder ``path`` (``PREDICTOR_FILE``: its registered name and parameters, plus
        ``_save_state``'s files); ``onnxnet.predictors.load_predictor(path)`` restores it. Predictors that learn save their state by
        overriding ``_save_state`` / ``_load_state``; the others need nothing more."""
        if self.needs_training and not getattr(self, "is_fitted_", False):
            raise ProtocolError(f"{registered_name(type(self))}: fit before save")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        state = self._save_state(out) if self.needs_training else {}
        write_json(out / PREDICTOR_FILE, {"format": "onnxnet-predictor", "version": 1,
                                          "name": registered_name(type(self)), "params": self.saved_params(),
                                          "fit_spaces": getattr(self, "fit_spaces_", None), "state": state,
                                          "reference_scores": {k: [float(x) for x in v] for k, v in
                                                               getattr(self, "reference_scores_", {}).items()},
                                          "training_counts": getattr(self, "training_counts_", None),
                                          "card": _jsonable(getattr(self, "card_", None)),
                                          "reach": (save_novelty(self.reach_, out, "reach.npz")
                                                    if getattr(self, "reach_", None) is not None else None)})
        return out

    def can_save(self) -> bool:
        """Whether ``save`` works for this predictor (checked before a long fit, not after)."""
        return not self.needs_training or _saves_state(type(self))

    def _save_state(self, folder: Path) -> dict[str, Any]:
        """Learned state as JSON (bigger files go into ``folder``). Predictors that learn override this."""
        raise ProtocolError(f"predictor {registered_name(type(self))!r} cannot be saved yet; use one of "
                            f"{', '.join(savable_learners())}")

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        """Restore what ``_save_state`` wrote."""

    def score(self, rows: Any, y: Sequence[float], spaces: Sequence[str] | None = None) -> float:
        """Kendall tau between ``predict(rows)`` and ``y``, within each of ``spaces`` and averaged when given
        (``onnxnet.ranking.mean_kendall``: never across spaces; constant scores count 0). Rows the predictor
        could not score (NaN, listed in ``failures_``) are left out, as the protocols do; none scored: NaN."""
        pred = np.asarray(self.predict(rows), dtype=float)
        y_arr = np.asarray(y, dtype=float)
        groups = np.asarray(["all"] * len(pred) if spaces is None else list(spaces), dtype=object)
        ok = np.isfinite(pred) & np.isfinite(y_arr)
        return mean_kendall(pred[ok], y_arr[ok], groups[ok]) if ok.any() else float("nan")


def get_predictor(name: str, **params: Any) -> Predictor:
    """An instance of the registered predictor ``name`` built with ``params``."""
    import onnxnet.predictors  # noqa: F401  (registers the built-ins)

    return PREDICTORS.get(name)(**params)


def _saves_state(cls: type) -> bool:
    return cls._save_state is not Predictor._save_state or cls.save is not Predictor.save


def savable_learners() -> list[str]:
    """Registered predictors that learn and can be saved (``onnxnet fit`` candidates), sorted by name."""
    import onnxnet.predictors  # noqa: F401  (registers the built-ins)

    out = []
    for name in PREDICTORS.names():
        cls = PREDICTORS.get(name)
        if cls.needs_training and _saves_state(cls):
            out.append(name)
    return sorted(out)


def registered_name(cls: type) -> str:
    """The name ``cls`` is registered under (its class name if it is not registered)."""
    import onnxnet.predictors  # noqa: F401  (registers the built-ins)

    for name in PREDICTORS.names():
        if PREDICTORS.get(name) is cls:
            return name
    return cls.__name__
