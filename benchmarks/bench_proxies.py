"""Check our zero-cost proxies against NAS-Bench-Suite-Zero's published NB201 values (nb201_zc_proxies.csv).

For a seeded sample of the 9,445 unique NB201 nets, computes synflow, nwot, jacov, grad_norm and snip with
onnxnet (one batch of 64 real CIFAR-10 training images, as NAS-Bench-Suite-Zero), and prints per proxy: the
Spearman rank agreement of ours vs the published values, and each one's Kendall / Spearman against the
CIFAR-10 validation accuracy (nb201_unique_val_accs.csv) and the 200-epoch test accuracy, plus seconds per net.

    nice -n 10 .venv/bin/python benchmarks/bench_proxies.py --n 300 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="number of unique NB201 nets to score")
    ap.add_argument("--seed", type=int, default=0, help="seed of the net sample, weight init and image batch")
    ap.add_argument("--proxies", default="synflow,nwot,jacov,grad_norm,snip")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from onnxnet.config import data_dir
    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.predictors import get_predictor
    from onnxnet.spaces import get_space

    d = data_dir() / "nb201"
    pub = pd.read_csv(d / "nb201_zc_proxies.csv")
    val = pd.read_csv(d / "nb201_unique_val_accs.csv")
    test = pd.read_csv(d / "nb201_cifar10_200ep_test.csv")
    space = get_space("nb201")
    pub = pub.merge(val, on="net")
    pub["arch"] = [space.to_string(space.parse(s)) for s in pub["net"]]
    test["arch"] = [space.to_string(space.parse(s)) for s in test["ArchitectureString"]]
    pub = pub.merge(test[["arch", "CIFAR10TestAccuracy200Epochs"]], on="arch", how="left")
    rows = pub.sample(n=args.n, random_state=args.seed).reset_index(drop=True)
    rows["space"] = "nb201"
    rows["id"] = "nb201/" + rows.index.astype(str)

    names = [p.strip() for p in args.proxies.split(",") if p.strip()]
    print(f"{len(rows)} unique NB201 nets, batch 64, seed {args.seed}, {args.threads} thread(s), CPU")
    print("| proxy | Spearman ours vs published | ours vs val acc (tau / rho) | published vs val acc (tau / rho) "
          "| ours vs 200-ep test (tau / rho) | s / net | failures |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        pred = get_predictor(name, seed=args.seed, progress=True)
        t0 = time.perf_counter()
        ours = pred.predict(rows)
        dt = (time.perf_counter() - t0) / len(rows)
        ok = np.isfinite(ours)
        o, p = ours[ok], rows[name].to_numpy()[ok]
        v, t = rows["val_accs"].to_numpy()[ok], rows["CIFAR10TestAccuracy200Epochs"].to_numpy()[ok]
        print(
            f"| {name} | {spearman_rho(p, o):.3f} | {kendall_tau(v, o):.3f} / {spearman_rho(v, o):.3f} "
            f"| {kendall_tau(v, p):.3f} / {spearman_rho(v, p):.3f} "
            f"| {kendall_tau(t, o):.3f} / {spearman_rho(t, o):.3f} "
            f"| {dt:.2f} | {len(pred.failures_)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
