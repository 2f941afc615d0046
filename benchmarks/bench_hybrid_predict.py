"""Latency of ``onnxnet predict`` with a saved onnxnet-hybrid: seconds per ONNX file, end to end.

Loads the hybrid folder, then scores the given files the way the CLI does (``as_rows``: load + simplify +
canonicalise, graph features, ONNX proxies if the hybrid uses them, trees), with no feature cache, and prints the
time per file of each stage.

    .venv/bin/python benchmarks/bench_hybrid_predict.py --hybrid runs/demo/hybrid runs/demo/unseen/*.onnx
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hybrid", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    from onnxnet.surrogate.hybrid import HybridPredictor
    from onnxnet.surrogate.inputs import as_rows

    t0 = time.perf_counter()
    h = HybridPredictor.load(args.hybrid)
    t1 = time.perf_counter()
    rows = as_rows(args.files)
    t2 = time.perf_counter()
    h.predict(rows)
    t3 = time.perf_counter()
    n = len(args.files)
    print(f"hybrid {args.hybrid} (proxies used: {h.proxies_}), {n} files, one process, CPU")
    print("| stage | ms per file |")
    print("|---|---|")
    print(f"| load the hybrid folder (once) | {1e3 * (t1 - t0):.0f} total |")
    print(f"| load + simplify + canonicalise (as_rows) | {1e3 * (t2 - t1) / n:.0f} |")
    print(f"| features (+ proxies) + trees | {1e3 * (t3 - t2) / n:.0f} |")
    print(f"| end to end | {1e3 * (t3 - t1) / n:.0f} |")


if __name__ == "__main__":
    main()
