"""Check the NB201-family builders against published facts and print a table (docs/benchmarks.md).

    nice -n 10 .venv/bin/python benchmarks/bench_spaces_nb201.py [--hnb201-samples 200] [--export 20]

- nb201: enumeration vs the published index order, canonical form vs NB201's UniqueString, and parameter counts
  of our TinyNetwork vs the ``params`` column of nb201_zc_proxies.csv (all 9,445 rows, exact integer match).
- hnb201: the NB201 networks written as hNAS-Bench-201 derivations must have the same published parameter
  counts; sampled derivations must build, run and export; the grammar's size vs the paper's 10^446.
- transnas_micro: no parameter counts are published with the data here; checks that every one of the 4,096
  cells builds, and that the NASLib tables' arch tuples follow TransNAS-Bench-101's digit code (every cell with
  an identically zero output has one and the same accuracy, per task).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import zipfile
from collections import defaultdict

import pandas as pd
import torch
from tqdm import tqdm

from onnxnet.config import data_dir
from onnxnet.spaces import get_space


def n_params(space, arch) -> int:
    """Parameter count without allocating weights (modules built on the meta device)."""
    with torch.device("meta"):
        net = space.build(arch)
    return sum(p.numel() for p in net.parameters())


def bench_nb201(data) -> list[tuple[str, str]]:
    sp = get_space("nb201")
    table = pd.read_csv(data / "nb201" / "nb201_cifar10_200ep_test.csv")
    archs = list(sp.enumerate())
    order_ok = sum(sp.to_string(a) == s for a, s in zip(archs, table.ArchitectureString))
    forms = [sp.canonical_form(a) for a in archs]
    uniq_ok = sum(f == u for f, u in zip(forms, table.UniqueString))
    zc = pd.read_csv(data / "nb201" / "nb201_zc_proxies.csv")
    t0 = time.perf_counter()
    match, bad = 0, []
    for net, published in tqdm(list(zip(zc.net, zc.params)), desc="nb201 params", leave=False):
        ours = n_params(sp, sp.parse(net))
        if ours == round(published * 1e6):
            match += 1
        else:
            bad.append((net, published, ours))
    dt = time.perf_counter() - t0
    rows = [
        ("nb201: enumeration = published index order", f"{order_ok:,}/{len(table):,}"),
        ("nb201: canonical form = UniqueString", f"{uniq_ok:,}/{len(table):,} ({len(set(forms)):,} unique)"),
        ("nb201: #params = published (nb201_zc_proxies.csv)", f"{match:,}/{len(zc):,} ({100 * match / len(zc):.2f}%)"),
        ("nb201: param count time per net (meta device)", f"{1000 * dt / len(zc):.1f} ms"),
    ]
    if bad:
        rows.append(("nb201: first mismatches", "; ".join(f"{n}: {p} vs {o}" for n, p, o in bad[:3])))
    return rows


def bench_hnb201(data, n_samples: int, n_export: int) -> list[tuple[str, str]]:
    sp = get_space("hnb201")
    zc = pd.read_csv(data / "nb201" / "nb201_zc_proxies.csv")
    match = invalid = 0
    for net, published in tqdm(list(zip(zc.net, zc.params)), desc="hnb201 (NB201 embedding)", leave=False):
        arch = sp.from_nb201(net)
        invalid += not sp.is_valid(arch)
        match += n_params(sp, arch) == round(published * 1e6)
    rows = [
        ("hnb201: grammar size, paper's count (repeats, no constraint)",
         f"10^{math.log10(sp.count(distinct=False)):.2f} (paper: 10^446)"),
        ("hnb201: distinct valid derivations", f"10^{math.log10(sp.count()):.2f}"),
        ("hnb201: NB201 nets as derivations, #params = published",
         f"{match:,}/{len(zc):,} ({invalid:,} of them break the cell constraint)"),
    ]
    archs = sp.sample_many(n_samples, seed=0)
    t0 = time.perf_counter()
    params = [n_params(sp, a) for a in tqdm(archs, desc="hnb201 samples", leave=False)]
    dt = time.perf_counter() - t0
    hashes = {sp.arch_hash(a) for a in archs}
    rows += [
        (f"hnb201: {n_samples} seeded samples, unique hashes", f"{len(hashes):,}"),
        ("hnb201: #params of samples (min / median / max)",
         f"{min(params):,} / {int(statistics.median(params)):,} / {max(params):,}"),
        ("hnb201: cells per network (min / max)",
         f"{min(len(a.cells()) for a in archs)} / {max(len(a.cells()) for a in archs)}"),
        ("hnb201: build time per net (meta device)", f"{1000 * dt / n_samples:.1f} ms"),
    ]
    if n_export:
        from onnxnet.graph import export_torch

        ok, t0 = 0, time.perf_counter()
        x = torch.randn(*sp.input_shape)
        for a in tqdm(archs[:n_export], desc="hnb201 forward + ONNX export", leave=False):
            net = sp.build(a)
            with torch.no_grad():
                finite = bool(torch.isfinite(net(x)).all())
            model = export_torch(net, sp.input_shape)
            ok += finite and len(model.graph.node) > 0
        rows.append((f"hnb201: forward finite + ONNX export ({n_export} samples)",
                     f"{ok}/{n_export} ok, {(time.perf_counter() - t0) / n_export:.2f} s/net"))
    return rows


def bench_transnas(data) -> list[tuple[str, str]]:
    sp = get_space("transnas_micro")
    t0 = time.perf_counter()
    params = [n_params(sp, a) for a in tqdm(list(sp.enumerate()), desc="transnas_micro build", leave=False)]
    dt = time.perf_counter() - t0
    # Two readings of the NASLib tables' tuples: TransNAS-Bench-101 digits in cell-code order (ours), or NASLib's
    # object op order (0 skip, 1 none, 2 conv3x3, 3 conv1x1) over NASLib's edge order (1,2),(1,3),(1,4),(2,3),...
    def naslib_reading(t: tuple[int, ...]) -> tuple[int, ...]:
        code = {0: 1, 1: 0, 2: 3, 3: 2}
        edge_at = [0, 1, 3, 2, 4, 5]  # cell-code position of NASLib position k
        out = [0] * 6
        for k, v in enumerate(t):
            out[edge_at[k]] = code[v]
        return tuple(out)

    readings = {"TransNAS digits (ours)": lambda t: t, "NASLib op order": naslib_reading}
    labels: dict[str, list[tuple[tuple[int, ...], float]]] = defaultdict(list)
    with zipfile.ZipFile(data / "transnas_micro" / "naslib_transnas_micro_zen.zip") as z:
        for name in z.namelist():
            if name.endswith(".json"):
                for r in json.loads(z.read(name)):
                    labels[name.split("--")[2]].append((sp.parse(r["arch"]), float(r["val_accuracy"])))
    rows = [
        ("transnas_micro: cells that build (4,096)", f"{len(params):,}, {1000 * dt / len(params):.1f} ms/net (meta)"),
        ("transnas_micro: #params, class_object head (min / median / max)",
         f"{min(params):,} / {int(statistics.median(params)):,} / {max(params):,} (no published counts here)"),
        ("transnas_micro: canonical forms", f"{len({sp.canonical_form(a) for a in sp.enumerate()}):,} of 4,096"),
    ]
    for reading, f in readings.items():
        one_value = worst = either = 0
        for rows_t in labels.values():
            zero = [y for a, y in rows_t if sp.is_zero(f(a))]
            live = [y for a, y in rows_t if not sp.is_zero(f(a))]
            one_value += len({round(y, 6) for y in zero}) == 1
            worst += max(zero) < min(live)
            either += len({round(y, 6) for y in zero}) == 1 or max(zero) < min(live)
        rows.append((f"transnas_micro labels, {reading}: tasks where zero-output cells share one label / "
                     "all score below every other cell / either", f"{one_value} / {worst} / {either} of {len(labels)}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with nb201/ and transnas_micro/ (default: ../shared/data)")
    ap.add_argument("--hnb201-samples", type=int, default=200)
    ap.add_argument("--export", type=int, default=20, help="hnb201 samples to run and export to ONNX (0: skip)")
    ap.add_argument("--spaces", default="nb201,hnb201,transnas_micro", help="comma-separated subset to check")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = data_dir(args.data)
    todo = set(args.spaces.split(","))
    rows = ((bench_nb201(data) if "nb201" in todo else [])
            + (bench_hnb201(data, args.hnb201_samples, args.export) if "hnb201" in todo else [])
            + (bench_transnas(data) if "transnas_micro" in todo else []))
    print("| check | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
