"""How well do our short-budget labels rank networks like the published ones? And do two runs agree?

    PYTHONPATH=src python3 benchmarks/bench_label_spearman.py --store S --label onnxnet_cifar10_2ep_1024img \
        [--against onnxnet_cifar10_2ep_1024img_ray]
    PYTHONPATH=src python3 benchmarks/bench_label_spearman.py --table runs/gpu/run1/labels.jsonl

Prints, for the networks the label holds: status counts, seconds per network (mean / median), training images/s,
and the Spearman correlation of our validation accuracy with the published NAS-Bench-201 labels of the same
networks (12-epoch val / test, 200-epoch test), with a 95% bootstrap interval (1,000 resamples, seed 0).
``--against`` compares two labels network by network (same seeds should give identical accuracies on CPU).
``--table`` reads a label table written by ``bench_label_gpu.py`` instead of a store label. Published labels come
from the label data folder (``onnxnet bench labels nb201``), joined on the canonical arch string.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

PUBLISHED = ["cifar10_val_12ep", "cifar10_test_12ep", "cifar10_test_200ep"]


def spearman(a: np.ndarray, b: np.ndarray, boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    from scipy.stats import spearmanr

    rho = float(spearmanr(a, b).statistic)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(boot):
        i = rng.integers(0, len(a), len(a))
        if len(set(a[i])) > 1 and len(set(b[i])) > 1:
            vals.append(spearmanr(a[i], b[i]).statistic)
    lo, hi = np.percentile(vals, [2.5, 97.5]) if vals else (np.nan, np.nan)
    return rho, float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", default=None)
    ap.add_argument("--label", default=None)
    ap.add_argument("--table", default=None, help="a bench_label_gpu.py labels.jsonl instead of --label")
    ap.add_argument("--against", default=None, help="a second label of the same networks to compare with")
    args = ap.parse_args()

    from onnxnet.bench.labels import load_labels
    from onnxnet.bench.store import BenchStore
    from onnxnet.label.run import read_table, read_trained

    pub = load_labels("nb201").frame[PUBLISHED].reset_index()
    pub = pub.rename(columns={pub.columns[0]: "arch"})
    store = BenchStore(args.store) if args.store else None
    if args.table:
        ours = read_table(args.table)
        ours = ours[ours["space"] == "nb201"]
    else:
        if store is None or not args.label:
            raise SystemExit("give --table FILE, or --store S with --label NAME")
        ours = read_trained(store, args.label)
    print(f"{len(ours)} networks; status: {ours['status'].value_counts().to_dict()}")
    ok = ours[ours["status"] == "ok"]
    print(f"seconds per network: mean {ok['seconds'].mean():.1f}, median {ok['seconds'].median():.1f}; "
          f"training images/s per network: mean {ok['images_per_s'].mean():.1f} "
          f"(min {ok['images_per_s'].min():.1f}, max {ok['images_per_s'].max():.1f})")
    print(f"our val accuracy: mean {ok['val_acc'].mean():.2f}, std {ok['val_acc'].std():.2f}, "
          f"min {ok['val_acc'].min():.2f}, max {ok['val_acc'].max():.2f}")
    j = ok.merge(pub, on="arch", how="inner")
    rows = []
    for col in PUBLISHED:
        m = j[["val_acc", col]].dropna()
        if len(m) >= 3:
            rho, lo, hi = spearman(m["val_acc"].to_numpy(), m[col].to_numpy())
            rows.append({"published": col, "n": len(m), "spearman": round(rho, 3),
                         "95% CI": f"[{lo:.2f}, {hi:.2f}]"})
    m = j[["test_acc", "cifar10_test_200ep"]].dropna()
    if len(m) >= 3:
        rho, lo, hi = spearman(m["test_acc"].to_numpy(), m["cifar10_test_200ep"].to_numpy())
        rows.append({"published": "cifar10_test_200ep (vs our test acc)", "n": len(m), "spearman": round(rho, 3),
                     "95% CI": f"[{lo:.2f}, {hi:.2f}]"})
    if rows:
        print(pd.DataFrame(rows).to_string(index=False))
    if args.against:
        if store is None:
            raise SystemExit("--against needs --store")
        other = read_trained(store, args.against)
        both = ours.merge(other, on="id", suffixes=("", "_b"))
        same = (both["val_acc"].fillna(-1) == both["val_acc_b"].fillna(-1)) & \
               (both["test_acc"].fillna(-1) == both["test_acc_b"].fillna(-1)) & (both["status"] == both["status_b"])
        curves = sum(json.loads(a) == json.loads(b) or
                     [{k: v for k, v in p.items() if k != "seconds"} for p in json.loads(a)] ==
                     [{k: v for k, v in p.items() if k != "seconds"} for p in json.loads(b)]
                     for a, b in zip(both["curve"], both["curve_b"]))
        print(f"{args.label} vs {args.against}: {len(both)} networks in both; identical status + val + test "
              f"accuracy: {int(same.sum())}; identical curves (ignoring wall time): {curves}")


if __name__ == "__main__":
    main()
