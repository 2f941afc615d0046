"""Latency of ``onnxnet predict`` with a saved predictor (``onnxnet fit``): milliseconds per ONNX file, end to end.

Loads the folder (any saved predictor: onnxnet-hybrid, stack, rank-linear...), then scores the given files the
way the CLI does (``as_rows``: load + simplify + canonicalise, then the predictor's features, ONNX proxies if it
uses them, and its model), with no feature cache, and prints the time per file of each stage. ``--one-by-one``
scores the files one at a time (what a user scoring a single file pays) instead of as one batch.

    .venv/bin/python benchmarks/bench_predict_latency.py --predictor runs/demo/stack runs/demo/unseen/*.onnx
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictor", "--hybrid", dest="predictor", required=True, help="a folder from onnxnet fit")
    ap.add_argument("--space", default=None, help="score the files as networks of this space (default: its own)")
    ap.add_argument("--one-by-one", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    from onnxnet.predictors import load_predictor
    from onnxnet.surrogate.inputs import as_rows

    t0 = time.perf_counter()
    p = load_predictor(args.predictor)
    t1 = time.perf_counter()
    fitted = list(getattr(p, "fit_spaces_", None) or [])
    space = args.space or (fitted[0] if len(fitted) == 1 else "user")
    batches = [[f] for f in args.files] if args.one_by_one else [args.files]
    t_rows = t_pred = 0.0
    for batch in batches:
        a = time.perf_counter()
        rows = as_rows(batch, space=space)
        b = time.perf_counter()
        p.predict(rows)
        t_rows, t_pred = t_rows + b - a, t_pred + time.perf_counter() - b
    n = len(args.files)
    print(f"{type(p).__name__} {args.predictor}, {n} files {'one by one' if args.one_by_one else 'in one batch'}, "
          "one process, CPU")
    print("| stage | ms per file |")
    print("|---|---|")
    print(f"| load the predictor folder (once) | {1e3 * (t1 - t0):.0f} total |")
    print(f"| load + simplify + canonicalise (as_rows) | {1e3 * t_rows / n:.0f} |")
    print(f"| features (+ proxies) + model | {1e3 * t_pred / n:.0f} |")
    print(f"| end to end | {1e3 * (t_rows + t_pred) / n:.0f} |")


if __name__ == "__main__":
    main()
