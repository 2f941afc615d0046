"""Parameter-count match of the NB101 / NB301 builders against the published tables, plus einspace sample stats.

For every labelled architecture in ../shared/data (NB101: 500 NASLib + 2,623 EC-NAS rows; NB301: 500 NASLib rows)
we build the PyTorch network with onnxnet and compare ``sum(p.numel())`` with the published ``params`` value.
Prints one markdown table. Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_spaces_params.py [--limit N] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np
import pandas as pd
import torch

from onnxnet.config import data_dir
from onnxnet.spaces import get_space
from onnxnet.spaces.nb101 import CONV1X1, CONV3X3, MAXPOOL3X3, make_cell, nb101_hash

# The op-id reading the data README proposed (2 conv3x3, 3 conv1x1, 4 maxpool), checked here against NASLib's.
README_NB101_OPS = {0: "input", 1: "output", 2: CONV3X3, 3: CONV1X1, 4: MAXPOOL3X3}


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N rows of each table")
    ap.add_argument("--data", default=None, help="data folder (default: ../shared/data or $ONNXNET_DATA)")
    ap.add_argument("--einspace-samples", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = data_dir(args.data)
    rows: list[tuple[str, str, int, int, str, float]] = []

    nb101 = get_space("nb101")
    zc = json.loads((root / "nb101" / "naslib_zc_nasbench101.json").read_text())["nasbench101"]["cifar10"]
    items = list(zc.items())[: args.limit]
    t0 = time.perf_counter()
    ok = ok_readme = n_sensitive = 0
    groups: dict[str, set[float]] = {}
    for key, row in items:
        want = round(row["params"] * 1e6)
        arch = nb101.parse(key)
        groups.setdefault(nb101.arch_hash(arch), set()).add(round(row["val_accuracy"], 6))
        ok += n_params(nb101.build(arch)) == want
        if CONV3X3 in arch.ops or MAXPOOL3X3 in arch.ops:  # cells where the two readings differ
            n_sensitive += 1
            flat = [int(v) for v in key.strip("()").split(",")]
            alt = make_cell(np.array(flat[:49]).reshape(7, 7), [README_NB101_OPS[i] for i in flat[49:]])
            ok_readme += n_params(nb101.build(alt)) == want
    dt = (time.perf_counter() - t0) / max(1, len(items) + n_sensitive)
    dup = [g for g in groups.values() if len(g) > 1]
    rows.append(("nb101", "NASLib zc json, NASLib op ids (2 maxpool, 3 conv1x1, 4 conv3x3)", ok, len(items),
                 f"{len(groups)} unique graphs; duplicates' val_accuracy: at most "
                 f"{max((len(g) for g in groups.values()), default=0)} distinct values (NB101's 3 seeds)", dt))
    rows.append(("nb101", "same rows with a conv3x3 or maxpool vertex, README op ids (2 conv3x3, 4 maxpool)",
                 ok_readme, n_sensitive, "the README's reading is wrong", dt))

    ec = pd.read_csv(root / "nb101" / "ecnas_nb101_4ep.csv")
    if args.limit:
        ec = ec.head(args.limit)
    t0 = time.perf_counter()
    ok = ok_hash = 0
    hashes = set()
    for r in ec.itertuples():
        arch = nb101.parse({"matrix": r.matrix, "ops": r.ops})
        ok += n_params(nb101.build(arch)) == r.trainable_params
        ok_hash += nb101_hash(arch) == r.hash
        hashes.add(r.hash)
    dt = (time.perf_counter() - t0) / max(1, len(ec))
    rows.append(("nb101", "EC-NAS csv (4V9E + 5V9E), trainable_params", ok, len(ec),
                 f"NB101 hash = csv hash: {ok_hash}/{len(ec)}", dt))

    nb301 = get_space("nb301")
    zc = json.loads((root / "nb301" / "naslib_zc_nasbench301.json").read_text())["nasbench301"]["cifar10"]
    items = list(zc.items())[: args.limit]
    t0 = time.perf_counter()
    ok = ok_naslib = 0
    diffs: Counter[str] = Counter()
    for key, row in items:
        want = round(row["params"] * 1e6)
        net = nb301.build(key)
        n = n_params(net)
        ok += n == want
        op_bn = sum(2 * m.num_features for name, m in net.named_modules()
                    if isinstance(m, torch.nn.BatchNorm2d) and ".ops." in name)
        diffs["diff = affine params of op BNs" if n - want == op_bn else f"other diff {n - want}"] += 1
        ok_naslib += n_params(nb301.build(key, op_affine=False)) == want
    dt = (time.perf_counter() - t0) / max(1, 2 * len(items))
    rows.append(("nb301", "NASLib zc json vs NB301 network (DARTS NetworkCIFAR C=32, 8 cells)", ok, len(items),
                 "; ".join(f"{k}: {v}" for k, v in diffs.items()), dt))
    rows.append(("nb301", "same rows vs op_affine=False (NASLib's DARTS graph: non-affine op BNs)", ok_naslib,
                 len(items), "", dt))

    print("| space | published table / builder | match | rows | rate | note | build s/net |")
    print("|---|---|---|---|---|---|---|")
    for space, what, k, n, note, sec in rows:
        print(f"| {space} | {what} | {k} | {n} | {100 * k / max(1, n):.1f}% | {note} | {sec:.3f} |")

    ein = get_space("einspace")
    t0 = time.perf_counter()
    archs = ein.sample_many(args.einspace_samples, seed=0)
    t_sample = (time.perf_counter() - t0) / len(archs)
    infos = [ein.info(a) for a in archs]
    t0 = time.perf_counter()
    bad = 0
    for a, info in zip(archs, infos):
        bad += n_params(ein.build(a)) != info.n_params
    t_build = (time.perf_counter() - t0) / len(archs)
    params = np.array([i.n_params for i in infos])
    leaves = np.array([i.n_leaves for i in infos])
    uniq = len({ein.arch_hash(a) for a in archs})
    print()
    print(f"einspace: {len(archs)} samples (seed 0, max_depth {ein.max_depth}), {uniq} unique canonical forms; "
          f"params median {int(np.median(params))} (min {params.min()}, max {params.max()}); "
          f"leaves median {int(np.median(leaves))} (max {leaves.max()}); built params != inferred: {bad}; "
          f"sample {t_sample * 1e3:.1f} ms/arch, build {t_build * 1e3:.1f} ms/net")


if __name__ == "__main__":
    main()
