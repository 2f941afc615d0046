"""Saved LightGBM models scored with numpy: ``TreeEnsemble`` reads a booster's text model and predicts exactly
what ``lightgbm.Booster.predict`` does, without importing LightGBM (and the scikit-learn and SciPy it imports),
which is most of what a cold ``onnxnet predict`` of one file would otherwise spend.

The evaluator covers what onnxnet's predictors fit: numerical splits with their missing-value rule (``NaN`` or
zero goes to the default side per ``missing_type``; a ``NaN`` where no missing value was seen counts as 0),
regression, binary and cross-entropy objectives, boosting and random forests (``average_output``). A model with
anything else (categorical splits, linear trees, several classes, another objective or output transform) is
scored by LightGBM itself, as it is for large batches (over ``NUMPY_MAX_CELLS`` row x tree visits), where
LightGBM's C++ loop is faster than numpy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Above this many (row, tree) pairs in one call, LightGBM scores the batch (when it is installed).
NUMPY_MAX_CELLS = 4_000_000
#: (row, tree) pairs walked per numpy chunk (bounds the memory of the node-index matrix).
_CHUNK_CELLS = 1_000_000
#: LightGBM's ``kZeroThreshold`` (a float): |x| at or below it is "zero" for ``missing_type=Zero``.
_ZERO = float(np.float32(1e-35))
_OUTPUTS = {"regression": "identity", "regression_l2": "identity", "l2": "identity", "mean_squared_error": "identity",
            "mse": "identity", "binary": "sigmoid", "cross_entropy": "sigmoid", "xentropy": "sigmoid"}


class Unsupported(ValueError):
    """A valid LightGBM model that uses something the numpy evaluator does not implement."""


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def _numbers(fields: dict[str, str], key: str, kind: type, n: int) -> np.ndarray:
    values = np.array(fields[key].split(), dtype=kind) if fields.get(key, "").strip() else np.zeros(0, dtype=kind)
    if len(values) != n:
        raise ValueError(f"tree field {key} has {len(values)} values, expected {n}")
    return values


def _output(header: dict[str, str]) -> tuple[str, float]:
    """The output transform (``identity`` or ``sigmoid``) and the sigmoid's scale, from the ``objective`` line."""
    parts = header.get("objective", "regression").split()
    name, options = parts[0], dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    kind = _OUTPUTS.get(name)
    if kind is None or "sqrt" in parts[1:]:
        raise Unsupported(f"objective {header.get('objective')!r}")
    return kind, float(options.get("sigmoid", 1.0)) if name == "binary" else 1.0


class TreeEnsemble:
    """A LightGBM text model (``Booster.model_to_string()``) that predicts with numpy.

    ``TreeEnsemble(text)`` raises ``ValueError`` for text that is not a LightGBM model, and ``Unsupported`` (a
    ``ValueError``) for one that needs LightGBM to be scored; ``load`` falls back to LightGBM for the latter."""

    def __init__(self, text: str) -> None:
        self.text = text
        head, sep, rest = text.partition("\nTree=")
        header = _fields(head)
        if not sep or "max_feature_idx" not in header:
            raise ValueError("not a LightGBM text model (no header with max_feature_idx, or no tree)")
        if int(header.get("num_class", 1)) != 1 or int(header.get("num_tree_per_iteration", 1)) != 1:
            raise Unsupported("several classes / trees per iteration")
        self._num_feature = int(header["max_feature_idx"]) + 1
        self.output, self.sigmoid = _output(header)
        self.average = "average_output" in head.splitlines()
        blocks = ("Tree=" + rest).split("end of trees")[0].split("\nTree=")
        self._build([_fields(b) for b in blocks if b.strip()])

    def _build(self, trees: list[dict[str, str]]) -> None:
        """Concatenate the trees' arrays; a child < 0 is leaf ``-child - 1`` (all indices global)."""
        feature, threshold, kind, left, right, leaves, roots = [], [], [], [], [], [], []
        n_nodes = n_leaves = 0
        for t in trees:
            k = int(t["num_leaves"])
            if int(t.get("num_cat", 0)) or int(t.get("is_linear", 0)):
                raise Unsupported("categorical splits or linear trees")
            leaves.append(_numbers(t, "leaf_value", float, k))
            if k == 1:
                roots.append(-n_leaves - 1)
            else:
                feature.append(_numbers(t, "split_feature", np.int64, k - 1))
                threshold.append(_numbers(t, "threshold", float, k - 1))
                kind.append(_numbers(t, "decision_type", np.int64, k - 1))
                children = [_numbers(t, side, np.int64, k - 1) for side in ("left_child", "right_child")]
                left.append(np.where(children[0] >= 0, children[0] + n_nodes, children[0] - n_leaves))
                right.append(np.where(children[1] >= 0, children[1] + n_nodes, children[1] - n_leaves))
                roots.append(n_nodes)
                n_nodes += k - 1
            n_leaves += k
        if not trees:
            raise ValueError("a LightGBM model without trees")

        def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        self.feature, self.threshold = cat(feature, np.int64), cat(threshold, float)
        decision = cat(kind, np.int64)
        if (decision & 1).any():
            raise Unsupported("categorical splits")
        if len(self.feature) and (self.feature.min() < 0 or self.feature.max() >= self._num_feature):
            raise ValueError("a split reads a feature beyond max_feature_idx")
        self.default_left, self.missing = (decision & 2) > 0, (decision >> 2) & 3
        self.left, self.right = cat(left, np.int64), cat(right, np.int64)
        self.leaf_value, self.roots = cat(leaves, float), np.asarray(roots, dtype=np.int64)
        self._lgb: Any = None

    def num_feature(self) -> int:
        """How many features (columns) the model reads."""
        return self._num_feature

    def num_trees(self) -> int:
        return len(self.roots)

    def model_to_string(self) -> str:
        """The LightGBM text model it was read from (what ``Booster.model_to_string`` gives)."""
        return self.text

    def predict(self, X: Any) -> np.ndarray:
        """``lightgbm.Booster(model_str=text).predict(X)``: numpy for small batches, LightGBM (if installed) for
        batches over ``NUMPY_MAX_CELLS`` row x tree visits."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self._num_feature:
            raise ValueError(f"the model reads {self._num_feature} features per row; got an array of shape {X.shape}")
        if len(X) * self.num_trees() > NUMPY_MAX_CELLS and self._booster() is not None:
            return self._lgb.predict(X)
        return self.predict_numpy(X)

    def predict_numpy(self, X: np.ndarray) -> np.ndarray:
        """The prediction computed by walking every tree with numpy (whatever the batch size)."""
        raw = np.empty(len(X))
        step = max(1, _CHUNK_CELLS // self.num_trees())
        for start in range(0, len(X), step):
            raw[start:start + step] = self._raw(X[start:start + step])
        if self.average:
            raw /= self.num_trees()
        return 1.0 / (1.0 + np.exp(-self.sigmoid * raw)) if self.output == "sigmoid" else raw

    def _raw(self, X: np.ndarray) -> np.ndarray:
        """Sum of the leaf values each row of ``X`` reaches, tree by tree."""
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        rows = np.broadcast_to(np.arange(len(X))[:, None], node.shape)
        active = np.flatnonzero(node.ravel() >= 0)
        flat, flat_rows = node.ravel(), rows.ravel()
        while len(active):
            at = flat[active]
            v = X[flat_rows[active], self.feature[at]]
            kind = self.missing[at]
            nan = np.isnan(v)
            v = np.where(nan & (kind != 2), 0.0, v)
            is_missing = ((kind == 1) & (np.abs(v) <= _ZERO)) | ((kind == 2) & nan)
            go_left = np.where(is_missing, self.default_left[at], v <= self.threshold[at])
            flat[active] = np.where(go_left, self.left[at], self.right[at])
            active = active[flat[active] >= 0]
        leaf = -node - 1
        return self.leaf_value[leaf].sum(axis=1)

    def _booster(self) -> Any:
        """LightGBM's booster of the same text, built on first use; ``None`` when LightGBM is not installed."""
        if self._lgb is None:
            try:
                import lightgbm as lgb
            except ImportError:
                return None
            self._lgb = lgb.Booster(model_str=self.text)
        return self._lgb


class LightGBMModel:
    """A model the numpy evaluator does not cover, scored by ``lightgbm.Booster`` (same interface)."""

    def __init__(self, text: str) -> None:
        import lightgbm as lgb

        try:
            self.booster = lgb.Booster(model_str=text)
        except lgb.basic.LightGBMError as e:
            raise ValueError(f"not a LightGBM model ({e})") from None
        self.text = text

    def num_feature(self) -> int:
        return int(self.booster.num_feature())

    def model_to_string(self) -> str:
        return self.text

    def predict(self, X: Any) -> np.ndarray:
        return self.booster.predict(np.asarray(X, dtype=float))


def load_trees(text: str) -> TreeEnsemble | LightGBMModel:
    """The model in LightGBM text ``text``: a numpy ``TreeEnsemble`` when it covers the model, else LightGBM's
    booster. ``ValueError`` when the text is no LightGBM model."""
    try:
        return TreeEnsemble(text)
    except Unsupported:
        return LightGBMModel(text)
