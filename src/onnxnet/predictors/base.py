"""The predictor contract every scorer follows (baselines and the language-model surrogate alike).

scikit-learn style: hyperparameters are constructor arguments, ``fit`` learns state in attributes ending in
``_``, ``predict`` returns one score per network (higher = better), ``score`` returns Kendall tau.

*Rows* are a ``pandas.DataFrame`` in the benchmark-store schema (see ``docs/architecture.md``): at least an
``onnx`` column (serialised, canonical ONNX bytes) and a ``space`` column; predictors may use any other column
(``n_params``, ``flops``, ``arch``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.registry import Registry

#: All predictors by name, e.g. ``PREDICTORS.get("params")``.
PREDICTORS: Registry[type["Predictor"]] = Registry("predictor")
#: The file a saved predictor folder is recognised by (``onnxnet-hybrid`` folders have ``hybrid.json``).
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

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, as scikit-learn's ``get_params``."""
        import inspect

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
            self.fit_spaces_ = sorted(set(row_spaces(rows)))
        if spaces is None:
            spaces = row_spaces(rows) if hasattr(rows, "columns") else ["?"] * len(y_arr)
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
        spaces = row_spaces(rows)
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

    # ------------------------------------------------------------------ persistence
    def saved_params(self) -> dict[str, Any]:
        """Constructor arguments as JSON values; ``cache_dir`` dropped (a path on this machine)."""
        return {k: _jsonable(v) for k, v in self.get_params().items() if k != "cache_dir"}

    def save(self, path: str | Path) -> Path:
        """Write the predictor to folder ``path`` (``PREDICTOR_FILE``: its registered name and parameters, plus
        ``_save_state``'s files); ``load_predictor(path)`` restores it. Predictors that learn save their state by
        overriding ``_save_state`` / ``_load_state``; the others need nothing more."""
        from onnxnet.bench.atomic import write_json

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
                                          "card": _jsonable(getattr(self, "card_", None))})
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
        (``evaluate.metrics.mean_kendall``: never across spaces; constant scores count 0). Rows the predictor
        could not score (NaN, listed in ``failures_``) are left out, as the protocols do; none scored: NaN."""
        from onnxnet.evaluate.metrics import mean_kendall

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


def row_spaces(rows: Any) -> np.ndarray:
    """The search space of each row as strings (``"?"`` for every row when the rows carry no ``space`` column)."""
    if hasattr(rows, "columns") and "space" in rows.columns:
        return rows["space"].astype(str).to_numpy(object)
    return np.array(["?"] * len(rows), dtype=object)


def registered_name(cls: type) -> str:
    """The name ``cls`` is registered under (its class name if it is not registered)."""
    import onnxnet.predictors  # noqa: F401  (registers the built-ins)

    for name in PREDICTORS.names():
        if PREDICTORS.get(name) is cls:
            return name
    return cls.__name__


def is_predictor_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a predictor saved by ``save`` / ``onnxnet fit`` (what ``load_predictor`` reads)."""
    folder = Path(path)
    return (folder / PREDICTOR_FILE).is_file() or (folder / "hybrid.json").is_file()


def load_predictor(path: str | Path) -> Predictor:
    """A fitted predictor from a folder written by its ``save`` (``onnxnet fit``); a missing or damaged folder is
    a ``SurrogateError`` naming it."""
    import json

    from onnxnet.errors import SurrogateError

    folder = Path(path)
    if (folder / "hybrid.json").is_file():
        from onnxnet.surrogate.hybrid import HybridPredictor

        return HybridPredictor.load(folder)
    meta = folder / PREDICTOR_FILE
    try:
        saved = json.loads(meta.read_text())
        if saved.get("format") != "onnxnet-predictor":
            raise ValueError(f"format is {saved.get('format')!r}")
        pred = get_predictor(saved["name"], **saved["params"])
        if pred.needs_training:
            pred._load_state(folder, saved["state"])
        if saved.get("fit_spaces"):
            pred.fit_spaces_ = list(saved["fit_spaces"])
        if saved.get("training_counts"):
            pred.training_counts_ = {k: int(v) for k, v in saved["training_counts"].items()}
        if saved.get("card"):
            pred.card_ = dict(saved["card"])
        if saved.get("reference_scores"):
            pred.reference_scores_ = {k: np.sort(np.asarray(v, dtype=float))
                                      for k, v in saved["reference_scores"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SurrogateError(f"{folder} is not a readable saved predictor ({type(e).__name__}: {e}); save one with "
                             "`onnxnet fit` or Predictor.save") from None
    pred.is_fitted_ = True
    return pred
