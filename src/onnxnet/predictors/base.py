"""The predictor contract every scorer follows (baselines and the language-model surrogate alike).

scikit-learn style: hyperparameters are constructor arguments, ``fit`` learns state in attributes ending in
``_``, ``predict`` returns one score per network (higher = better), ``score`` returns Kendall tau.

*Rows* are a ``pandas.DataFrame`` in the benchmark-store schema (see ``docs/architecture.md``): at least an
``onnx`` column (serialised, canonical ONNX bytes) and a ``space`` column; predictors may use any other column
(``n_params``, ``flops``, ``arch``, ...).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.registry import Registry

#: All predictors by name, e.g. ``PREDICTORS.get("params")``.
PREDICTORS: Registry[type["Predictor"]] = Registry("predictor")


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
        if spaces is None:
            spaces = list(rows["space"]) if hasattr(rows, "columns") and "space" in rows.columns else ["?"] * len(y_arr)
        self._fit(rows, y_arr, np.asarray(list(spaces), dtype=object))
        self.is_fitted_ = True
        return self

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        """Subclasses that learn override this."""

    def predict(self, rows: Any) -> np.ndarray:
        """One score per row; higher means a better (more accurate) network."""
        raise NotImplementedError

    def score(self, rows: Any, y: Sequence[float], spaces: Sequence[str] | None = None) -> float:
        """Kendall tau between ``predict(rows)`` and ``y``, averaged over spaces when ``spaces`` is given."""
        from scipy.stats import kendalltau

        pred = np.asarray(self.predict(rows), dtype=float)
        y_arr = np.asarray(y, dtype=float)
        if spaces is None:
            return float(kendalltau(pred, y_arr).statistic)
        sp = np.asarray(list(spaces), dtype=object)
        taus = [float(kendalltau(pred[sp == s], y_arr[sp == s]).statistic) for s in np.unique(sp)]
        return float(np.mean(taus))


def get_predictor(name: str, **params: Any) -> Predictor:
    """An instance of the registered predictor ``name`` built with ``params``."""
    import onnxnet.predictors  # noqa: F401  (registers the built-ins)

    return PREDICTORS.get(name)(**params)
