"""Score networks by a column the store already holds (e.g. a published proxy ``label:zc_nwot``).

A reference scorer: it puts published per-network values (NAS-Bench-Suite-Zero proxies, latencies, a
low-fidelity accuracy) through the same protocols and metrics as every predictor. ``sign=-1`` flips
lower-is-better columns (latency, energy). Rows where the column is missing get NaN and a failure record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import PREDICTORS, Predictor


@PREDICTORS.register("column")
class ColumnPredictor(Predictor):
    """Score = ``sign * rows[column]`` (no training)."""

    needs_training = False
    required_columns: tuple[str, ...] | None = ()

    def __init__(self, column: str = "label:zc_synflow", sign: float = 1.0) -> None:
        self.column = column
        self.sign = sign

    def predict(self, rows: Any) -> np.ndarray:
        if self.column not in rows.columns:
            have = sorted(c for c in rows.columns if c.startswith("label:") or c in ("n_params", "flops", "depth"))
            raise ProtocolError(f"column predictor: rows have no column {self.column!r}; choose one of {have}")
        out = self.sign * rows[self.column].to_numpy(dtype=float)
        ids = rows["id"].tolist() if "id" in rows.columns else list(map(str, range(len(rows))))
        self.failures_ = [{"id": ids[i], "reason": f"no value in {self.column}"}
                          for i in np.flatnonzero(~np.isfinite(out))]
        return out
