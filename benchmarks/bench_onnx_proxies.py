"""Zero-cost proxies computed from stored ONNX graphs (``features_frame(kind="proxies")``): cost and correlation.

For each space, scores the unique graphs of a store (all, or a seeded sample of ``--limit``) with the proxies of
``onnxnet.predictors.onnx_proxies.PROXY_SET`` plus #params, and prints per proxy its Kendall tau / Spearman rho
against the store's primary accuracy label, and seconds per network. Results are cached under ``--cache`` (the
same cache the GBM and the protocols read), so a rerun, or a killed run, resumes. ``--proxy-seeds K`` (K > 1) also
computes the proxies on K - 1 more batches and initialisations and adds, per proxy, the Kendall tau of the mean of
the K draws and how well two draws rank each other (seed 0 vs seed 1): how much of a proxy is noise.

    nice -n 5 .venv/bin/python benchmarks/bench_onnx_proxies.py --store runs/bench-v3 --space nb101,nb201 \
        --jobs 2 --cache results/cache [--proxy-seeds 3] [--extra meco_batch]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", action="append", required=True)
    ap.add_argument("--space", default="nb101,nb201")
    ap.add_argument("--limit", type=int, default=None, help="seeded sample of unique graphs per space")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--cache", default="results/cache")
    ap.add_argument("--proxy-seeds", type=int, default=1, help="also average the proxies over this many draws")
    ap.add_argument("--extra", default="", help="also compute these EXTRA_PROXIES (comma-separated, e.g. meco_batch)")
    args = ap.parse_args()

    import pandas as pd

    from onnxnet.bench.store import BenchStore
    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.predictors.graph_features import features_frame
    from onnxnet.predictors.onnx_proxies import proxy_frame

    spaces = [s.strip() for s in args.space.split(",") if s.strip()]
    cols = ["id", "space", "graph_hash", "onnx", "n_params", "accuracy"]
    rows = pd.concat([BenchStore(s).read(spaces=spaces, columns=cols) for s in args.store], ignore_index=True)
    k = args.proxy_seeds
    extra = f" kendall, mean of {k} draws | draw 0 vs draw 1 (kendall) |" if k > 1 else ""
    print("| space | proxy | kendall | spearman | n | s / net (this run) |" + extra)
    print("|---|---|---|---|---|---|" + "---|---|" * (k > 1))
    for space in spaces:
        part = rows[(rows["space"] == space) & np.isfinite(rows["accuracy"].to_numpy(dtype=float))]
        part = part.drop_duplicates("graph_hash")
        # Shuffled, so the partial cache of a killed run is a random sample.
        part = part.sample(n=min(args.limit or len(part), len(part)), random_state=args.seed)
        t0 = time.perf_counter()
        frame, failures = features_frame(part, kind="proxies", cache_dir=args.cache, progress=True, jobs=args.jobs)
        extra = [e for e in args.extra.split(",") if e]
        if extra:
            more, _ = proxy_frame(part, extra, cache_dir=args.cache, progress=True, jobs=args.jobs)
            frame = frame.join(more)
        dt = (time.perf_counter() - t0) / max(len(part), 1)
        if k > 1:
            mean, _ = proxy_frame(part, cache_dir=args.cache, progress=True, jobs=args.jobs, seeds=k)
            second, _ = features_frame(part, kind="proxies-seed1", cache_dir=args.cache)
        frame["n_params"] = part["n_params"].to_numpy(dtype=float)
        y = part["accuracy"].to_numpy(dtype=float)
        for col in frame.columns:
            x = frame[col].to_numpy()
            ok = np.isfinite(x)
            line = (f"| {space} | {col} | {kendall_tau(y[ok], x[ok]):.3f} | {spearman_rho(y[ok], x[ok]):.3f} | "
                    f"{int(ok.sum())} | {dt:.3f} |")
            if k > 1 and col in mean.columns:
                m, x1 = mean[col].to_numpy(), second[col].to_numpy()
                ok_m, ok_1 = np.isfinite(m), ok & np.isfinite(x1)
                line += f" {kendall_tau(y[ok_m], m[ok_m]):.3f} | {kendall_tau(x[ok_1], x1[ok_1]):.3f} |"
            elif k > 1:
                line += " | |"
            print(line)
        if failures:
            print(f"{space}: {len(failures)} failures, first: {failures[0]}")


if __name__ == "__main__":
    main()
