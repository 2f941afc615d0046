"""Before/after table of the isomorphism-class split, from two `onnxnet evaluate` results folders of one protocol.

    python benchmarks/bench_iso_split.py BEFORE_DIR AFTER_DIR

BEFORE_DIR: a run whose splits were by graph hash (isomorphic twins of training networks could be in the test
set); AFTER_DIR: the same command with the isomorphism-class split. Per predictor and setting (mean ± std over
seeds, Kendall): the old figure; the old predictions re-scored on their test graphs that have no twin in training
(the graphs the new split keeps: its test ids of the same seed and setting); the new figure; and the test sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _cell(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) else "n/a"


def main(before: Path, after: Path) -> None:
    from onnxnet.evaluate.metrics import kendall_tau

    old = pd.read_parquet(before / "predictions.parquet")
    new = pd.read_parquet(after / "predictions.parquet")
    print("| predictor | setting | before | before, twins of training nets dropped | after | n test before -> after |")
    print("|---|---|---|---|---|---|")
    for (pred, setting), g in old.groupby(["predictor", "setting"], sort=False):
        h = new[(new["predictor"] == pred) & (new["setting"] == setting)]
        full, kept, fresh, sizes = [], [], [], []
        for seed, gs in g.groupby("seed"):
            hs = h[h["seed"] == seed]
            keep = gs["id"].isin(set(hs["id"]))
            full.append(kendall_tau(gs["y_true"].to_numpy(), gs["y_pred"].to_numpy()))
            kept.append(kendall_tau(gs["y_true"][keep].to_numpy(), gs["y_pred"][keep].to_numpy()))
            fresh.append(kendall_tau(hs["y_true"].to_numpy(), hs["y_pred"].to_numpy()))
            sizes.append((len(gs), len(hs)))
        n_old, n_new = np.mean(sizes, axis=0)
        print(f"| {pred} | {setting} | {_cell(full)} | {_cell(kept)} | {_cell(fresh)} | {n_old:.0f} -> {n_new:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
