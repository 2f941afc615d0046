"""How far networks lie from the networks a predictor was fitted on: a nearest-neighbour novelty test.

Each network is described by its graph features (``features_frame(kind="all")``: size, depth,
op-category counts and path statistics), each ``log1p``-scaled and then robustly standardised with the training
networks' median and inter-quartile range. For each training space, its *reach* is the ``quantile`` (95 %) of its
networks' leave-one-out distances to their nearest neighbour in that space. A network's *novelty* is, over the
training spaces, the smallest ratio of its distance to the space's nearest network and that space's reach: above 1
it lies further from every training space than almost all of that space's networks lie from each other, and
counts as outside. For a group of networks (a target space) ``inside_fraction`` is the share not outside: about 1
for new networks of a fitted space, 0 for a space unlike every training space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.atomic import write_with
from onnxnet.errors import ProtocolError
from onnxnet.features.engine import features_frame

#: Training networks kept as neighbours (a seeded sample when there are more).
MAX_REFERENCE = 2000
#: Files scored together count as a new space when more than this share of them lies outside the reach of the
#: training networks (``unseen_space``).
FOREIGN_SHARE = 0.5


def feature_matrix(rows: Any, cache_dir: str | None = None) -> tuple[Any, list[dict[str, str]]]:
    """The graph-feature frame of ``rows`` (``features_frame(kind="all")``), cached under ``cache_dir``."""
    return features_frame(rows, kind="all", cache_dir=cache_dir)


class SpaceNovelty:
    """Nearest-neighbour novelty of networks relative to a reference set (scikit-learn-style ``fit``)."""

    def __init__(self, quantile: float = 0.95, seed: int = 0) -> None:
        self.quantile = quantile
        self.seed = seed

    @staticmethod
    def _log(X: Any) -> np.ndarray:
        A = np.asarray(X, dtype=float)
        return np.sign(A) * np.log1p(np.abs(A))

    def fit(self, X: Any, groups: Any = None) -> "SpaceNovelty":
        """``X``: the training networks' feature frame; ``groups``: their spaces (one space if not given). Rows
        with a NaN feature are left out; a space needs 3 networks with features to count."""
        import pandas as pd

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        g = np.asarray(["all"] * len(frame) if groups is None else list(groups), dtype=object)
        ok = frame.notna().all(axis=1).to_numpy()
        frame, g = frame[ok], g[ok]
        if len(frame) < 3:
            raise ProtocolError(f"novelty: need at least 3 training networks with graph features, got {len(frame)}")
        self.columns_ = list(frame.columns)
        A = self._log(frame.to_numpy())
        self.center_ = np.median(A, axis=0)
        q75, q25 = np.percentile(A, [75, 25], axis=0)
        scale = q75 - q25
        spread = A.std(axis=0)
        # a feature constant on most networks gets its std, one constant on all gets 1 (it still tells novelty)
        self.scale_ = np.where(scale > 1e-6, scale, np.where(spread > 1e-6, spread, 1.0))  # float noise is no spread
        Z = (A - self.center_) / self.scale_
        self.references_: dict[str, np.ndarray] = {}
        self.radii_: dict[str, float] = {}
        rng = np.random.default_rng(self.seed)
        for space in sorted(set(g)):
            R = Z[g == space]
            if len(R) < 3:
                continue
            if len(R) > MAX_REFERENCE:
                R = R[np.sort(rng.permutation(len(R))[:MAX_REFERENCE])]
            d = self._nn(R, R, leave_one_out=True)
            self.references_[str(space)] = R
            self.radii_[str(space)] = float(max(np.quantile(d, self.quantile), 1e-9))
        if not self.references_:
            raise ProtocolError("novelty: no training space has 3 networks with graph features")
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
        """Smallest (distance to a training space's nearest network / that space's reach), per row (NaN where a
        feature is missing)."""
        import pandas as pd

        if not hasattr(self, "references_"):
            raise ProtocolError("novelty: call fit first")
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.columns_)
        frame = frame.reindex(columns=self.columns_)  # a feature the training graphs lacked is 0 there
        ok = frame.notna().all(axis=1).to_numpy()
        out = np.full(len(frame), np.nan)
        if ok.any():
            Q = (self._log(frame.to_numpy()[ok]) - self.center_) / self.scale_
            out[ok] = np.min([self._nn(Q, R) / self.radii_[sp] for sp, R in self.references_.items()], axis=0)
        return out

    def inside_fraction(self, X: Any) -> float:
        """Share of the rows (with features) whose novelty is at most 1."""
        v = self.novelty(X)
        v = v[np.isfinite(v)]
        return float((v <= 1.0).mean()) if len(v) else 0.0

    def state(self) -> dict[str, Any]:
        """JSON-able state without the reference networks (``references_``: save them as arrays)."""
        return {"columns": self.columns_, "center": self.center_.tolist(), "scale": self.scale_.tolist(),
                "radii": self.radii_, "quantile": self.quantile, "seed": self.seed}

    @classmethod
    def from_state(cls, state: dict[str, Any], references: dict[str, np.ndarray]) -> "SpaceNovelty":
        out = cls(quantile=float(state["quantile"]), seed=int(state["seed"]))
        out.columns_ = list(state["columns"])
        out.center_ = np.asarray(state["center"], dtype=float)
        out.scale_ = np.asarray(state["scale"], dtype=float)
        out.radii_ = {str(k): float(v) for k, v in state["radii"].items()}
        out.references_ = {k: np.asarray(references[k], dtype=float) for k in out.radii_}
        return out


def save_novelty(model: SpaceNovelty, folder: Any, name: str) -> dict[str, Any]:
    """Write ``model``'s reference networks to ``folder / name`` (npz, atomic); returns the JSON state that
    ``load_novelty`` needs beside it."""
    refs = [np.asarray(r, dtype=np.float32) for r in model.references_.values()]

    def write(path: Any) -> None:
        with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to the temp name
            np.savez(f, *refs)

    write_with(folder / name, write)
    return {**model.state(), "reference_spaces": list(model.references_), "file": name}


def load_novelty(folder: Any, state: dict[str, Any]) -> SpaceNovelty:
    """The ``SpaceNovelty`` that ``save_novelty`` wrote into ``folder``."""
    with np.load(folder / state.get("file", "novelty_references.npz")) as z:
        refs = {sp: z[f"arr_{i}"] for i, sp in enumerate(state["reference_spaces"])}
    return SpaceNovelty.from_state(state, refs)


def unseen_space(inside: np.ndarray | None, fitted: str, new: str = "user") -> tuple[str, str | None]:
    """The space networks assumed to be of ``fitted`` are scored as, given ``inside`` (per network, within reach
    of the training networks): ``new`` when more than ``FOREIGN_SHARE`` of two or more networks lie outside, with
    a sentence saying so; else ``fitted`` (with a warning for the ones outside)."""
    if inside is None or not len(inside):
        return fitted, None
    out, n = int((~inside).sum()), len(inside)
    if out == 0:
        return fitted, None
    share = f"{out} of {n} network{'s' if n > 1 else ''}"
    if n >= 2 and out / n > FOREIGN_SHARE:
        return new, (f"{share} lie outside the reach of the {fitted} training networks (graph features further "
                     f"from every training network than 95% of those lie from each other): scored as a new space, "
                     f"ranked among each other; pass --space {fitted} to score them as {fitted} networks")
    return fitted, (f"{share} lie{'s' if out == 1 else ''} outside the reach of the {fitted} training networks: "
                    f"{'its score is' if out == 1 else 'their scores are'} an extrapolation"
                    + ("; score it together with other networks of its kind to rank them as a new space"
                       if n == 1 else ""))
