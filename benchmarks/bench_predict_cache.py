"""`onnxnet predict` twice on the same files: the second run reads the feature cache (by graph hash).

Exports the NB201 networks of ``--store`` in the ONNX-Bench layout (``onnxnet bench export``), keeps ``--n``
files, fits a ``pairwise`` predictor (graph features + ONNX proxies) on ``--fit`` other NB201 rows of the store,
then runs ``onnxnet predict FILES --predictor P --cache C --json`` twice as a user would (a fresh process each
time, the cache folder ``C`` empty before the first) and prints the wall time of each, the speed-up and whether
both runs gave the same scores.

    .venv/bin/onnxnet bench build --space nb201 --labelled-only --limit 400 --store runs/b201 --jobs 1
    nice .venv/bin/python benchmarks/bench_predict_cache.py --store runs/b201 --n 300 --fit 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path("runs/bench"))
    ap.add_argument("--n", type=int, default=300, help="files to score")
    ap.add_argument("--fit", type=int, default=200, help="store rows the predictor is fitted on")
    ap.add_argument("--out", type=Path, default=Path("runs/predict_cache"))
    args = ap.parse_args()

    import numpy as np

    from onnxnet.bench.interop import export_onnx_bench
    from onnxnet.bench.store import BenchStore
    from onnxnet.predictors import get_predictor

    files_dir, cache, fit_cache, folder = (args.out / "files", args.out / "cache", args.out / "fit-cache",
                                           args.out / "predictor")
    if not (files_dir / "nb201").is_dir():
        export_onnx_bench(args.store, files_dir, spaces=["nb201"], labelled_only=True)
    files = sorted((files_dir / "nb201").glob("*.onnx"))[: args.n]
    if len(files) < args.n:
        sys.exit(f"the store has {len(files)} labelled NB201 networks, fewer than --n {args.n}")
    chosen = {f"nb201/{f.stem}" for f in files}
    if not folder.is_dir():
        rows = BenchStore(args.store).read(spaces=["nb201"])
        rows = rows[~rows["id"].isin(chosen) & rows["accuracy"].notna()].head(args.fit).reset_index(drop=True)
        pred = get_predictor("pairwise", cache_dir=str(fit_cache))
        pred.fit(rows, rows["accuracy"].to_numpy(), rows["space"].tolist())
        pred.save(folder)
    shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-m", "onnxnet.cli.main", "predict", *map(str, files), "--predictor", str(folder),
           "--cache", str(cache), "--json"]
    times, scores = [], []
    for run in (1, 2):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        times.append(time.perf_counter() - t0)
        if done.returncode:
            sys.exit(f"predict run {run} failed:\n{done.stderr[-2000:]}")
        out = json.loads(done.stdout)
        scores.append({p["model"]: p["score"] for p in out["predictions"]})
        print(f"run {run}: {times[-1]:.1f} s", flush=True)
    same = scores[0].keys() == scores[1].keys() and all(np.isclose(scores[0][k], scores[1][k]) for k in scores[0])
    print("\n| files | first predict (s) | second predict (s) | speed-up | same scores |")
    print("|---|---|---|---|---|")
    print(f"| {len(files)} | {times[0]:.1f} | {times[1]:.1f} | {times[0] / times[1]:.1f}x | {same} |")


if __name__ == "__main__":
    main()
