"""Baselines on the published NB201 / NB101 data: single features and speed, printed as Markdown tables.

Sections (``--sections``, comma-separated):

* ``features``: single static features on the 9,445 unique NB201 nets (nb201_unique_val_accs.csv) against the
  CIFAR-10 validation accuracy and the 200-epoch test accuracy, Kendall / Spearman, from three sources: the
  published ``params`` / ``flops`` columns (NAS-Bench-Suite-Zero), torch parameter counts of our builder, and
  the ONNX facts in the store (``graph_facts`` after BN folding and simplification; needs ``--store``).
* ``in-space``: GBM on graph features (and the static features) in NB201, train n in ``--sizes``, ``--seeds``
  seeds, tested on all other unique graphs (needs ``--store``).
* ``speed``: milliseconds per network for graph features, GBM fit and predict (needs ``--store``).
* ``zero-shot``: NB101 (108-epoch labels, plus 4-epoch labels as a separate group) -> all of NB201, every
  trained and static baseline; zero-cost proxies computed by us on a fixed random ``--proxy-sample`` of NB201
  graphs (``--proxies``), and the published proxy values (store columns, ``--published-proxies``) on all of it.

    nice -n 10 .venv/bin/python benchmarks/bench_baselines.py --store runs/bench --sections features,in-space,zero-shot
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _corr_line(name: str, x: np.ndarray, val: np.ndarray, test: np.ndarray) -> str:
    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho

    ok = np.isfinite(x) & np.isfinite(val) & np.isfinite(test)
    return (f"| {name} | {ok.sum()} | {kendall_tau(val[ok], x[ok]):.3f} / {spearman_rho(val[ok], x[ok]):.3f} "
            f"| {kendall_tau(test[ok], x[ok]):.3f} / {spearman_rho(test[ok], x[ok]):.3f} |")


def features(store: str | None) -> None:
    """Single-feature correlations on the 9,445 unique NB201 nets."""
    import torch
    from tqdm import tqdm

    from onnxnet.config import data_dir
    from onnxnet.spaces import get_space

    d = data_dir() / "nb201"
    zc = pd.read_csv(d / "nb201_zc_proxies.csv").merge(pd.read_csv(d / "nb201_unique_val_accs.csv"), on="net")
    t200 = pd.read_csv(d / "nb201_cifar10_200ep_test.csv")
    space = get_space("nb201")
    zc["arch"] = [space.to_string(space.parse(s)) for s in zc["net"]]
    t200["arch"] = [space.to_string(space.parse(s)) for s in t200["ArchitectureString"]]
    df = zc.merge(t200[["arch", "CIFAR10TestAccuracy200Epochs"]], on="arch", how="left")
    val, test = df["val_accs"].to_numpy(float), df["CIFAR10TestAccuracy200Epochs"].to_numpy(float)

    cache = Path("results/cache/nb201_torch_params.csv")  # builds take minutes; counts never change
    build_s = float("nan")
    if cache.is_file():
        df = df.merge(pd.read_csv(cache), on="arch", how="left")
    else:
        t0 = time.perf_counter()
        counts = []
        for a in tqdm(df["arch"], desc="torch builds", unit="net"):
            counts.append(sum(p.numel() for p in space.build(space.parse(a)).parameters()))
        df["torch_params"] = counts
        build_s = (time.perf_counter() - t0) / len(df)
        cache.parent.mkdir(parents=True, exist_ok=True)
        df[["arch", "torch_params"]].to_csv(cache, index=False)

    print(f"\n### Single features, {len(df)} unique NB201 nets (Kendall / Spearman)\n")
    print("| feature (source) | nets | vs val acc (published: params 0.568 / 0.747, flops 0.519 / 0.714) "
          "| vs 200-ep test acc (published: params 0.623 / 0.799, flops 0.574 / 0.770) |")
    print("|---|---|---|---|")
    print(_corr_line("#params (published column)", df["params"].to_numpy(float), val, test))
    print(_corr_line("FLOPs (published column)", df["flops"].to_numpy(float), val, test))
    print(_corr_line("#params (torch, our builder)", df["torch_params"].to_numpy(float), val, test))
    if store:
        s = _rows(store, ["nb201"], columns=["id", "space", "arch", "n_params", "flops", "depth"])
        s = s.rename(columns={"n_params": "onnx_params", "flops": "onnx_flops", "depth": "onnx_depth"})
        m = df.merge(s[["arch", "onnx_params", "onnx_flops", "onnx_depth"]], on="arch", how="inner")
        if len(m):
            v, t = m["val_accs"].to_numpy(float), m["CIFAR10TestAccuracy200Epochs"].to_numpy(float)
            print(f"\nThe same on the {len(m)} of these nets that are in the ONNX store so far (same nets per line):\n")
            print("| feature (source) | nets | vs val acc | vs 200-ep test acc |")
            print("|---|---|---|---|")
            for name, col in [("#params (published column)", "params"),
                              ("#params (torch, our builder)", "torch_params"),
                              ("#params (ONNX graph_facts: BN folded, dead weights removed)", "onnx_params"),
                              ("FLOPs (published column)", "flops"), ("FLOPs (ONNX graph_facts)", "onnx_flops"),
                              ("depth (ONNX graph_facts)", "onnx_depth")]:
                print(_corr_line(name, m[col].to_numpy(float), v, t))
            from onnxnet.evaluate.metrics import kendall_tau

            same = (m["onnx_params"] == m["torch_params"]).mean()
            agree = kendall_tau(m["torch_params"].to_numpy(float), m["onnx_params"].to_numpy(float))
            print(f"\nONNX #params equal torch #params for {same:.1%} of them (BatchNorm folding always changes the "
                  f"count; 'none' edges leave weights dead, which the simplifier removes); Kendall tau between the two "
                  f"counts: {agree:.3f}.")
        else:
            print("\n(no nb201 rows in the store yet: ONNX rows skipped)")
    if np.isfinite(build_s):
        print(f"\ntorch build + count: {build_s * 1000:.1f} ms/net (1 thread)")


def _rows(store: str, spaces: list[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of ``spaces`` from one store or several (comma-separated; the first wins for a repeated id)."""
    from onnxnet.bench.store import BenchStore

    frames = [BenchStore(s).read(spaces=spaces, columns=columns) for s in store.split(",") if s]
    return pd.concat(frames, ignore_index=True).drop_duplicates("id", keep="first").reset_index(drop=True)


def in_space(store: str, sizes: list[int], seeds: int, predictors: list[str]) -> None:
    from onnxnet.evaluate.protocols import in_space as run
    from onnxnet.evaluate.report import markdown_table

    rows = _rows(store, ["nb201"])
    rows = rows[rows["accuracy"].notna()]
    n_unique = rows["graph_hash"].nunique()
    kept = [n for n in sizes if n <= n_unique - 100]
    print(f"\n### In-space NB201 ({len(rows)} labelled rows, {n_unique} unique graphs), {seeds} seeds\n")
    if kept != sizes:
        print(f"(train sizes {sorted(set(sizes) - set(kept))} skipped: fewer than 100 test graphs would remain)\n")
    sizes = kept
    out = []
    for p in predictors:
        t0 = time.perf_counter()
        res = run(rows, p, "nb201", train_sizes=sizes, seeds=seeds, progress=True,
                  params={"cache_dir": "results/cache"} if p in ("gbm", "width") else None)
        out.append(res.summary())
        print(f"{p}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(markdown_table(pd.concat(out, ignore_index=True), metrics=("kendall", "spearman", "p@top5%")))


def zero_shot(store: str, seeds: int, predictors: list[str], proxies: list[str], published: list[str],
              proxy_sample: int) -> None:
    from onnxnet.evaluate.protocols import zero_shot as run
    from onnxnet.evaluate.report import markdown_table

    rows = _rows(store, ["nb101", "nb201"])
    labels = ["accuracy", "label:cifar10_test_4ep"]
    n101 = rows[(rows.space == "nb101")]
    print(f"\n### Zero-shot NB101 -> NB201 ({int(n101['accuracy'].notna().sum())} NB101 nets at 108 epochs + "
          f"{int((n101['accuracy'].isna() & n101.get('label:cifar10_test_4ep', pd.Series(dtype=float)).notna()).sum())}"
          f" at 4 epochs as a separate group), {seeds} seeds\n")
    out = []
    for p in predictors:
        out.append(run(rows, p, "nb101", "nb201", seeds=seeds, label=labels, progress=True,
                       params={"cache_dir": "results/cache"} if p in ("gbm", "width") else None).summary())
    for p in proxies:
        out.append(run(rows, p, "nb101", "nb201", seeds=1, label=labels, test_sample=proxy_sample,
                       params={"progress": True}).summary())
    for p in published:
        col = f"label:zc_{p}"
        if col in rows.columns:
            r = run(rows, "column", "nb101", "nb201", seeds=1, label=labels, params={"column": col})
            r.predictor = f"{p} (published values)"
            out.append(r.summary())
    print(markdown_table(pd.concat(out, ignore_index=True), metrics=("kendall", "spearman", "p@top5%")))


def speed(store: str, n: int = 300) -> None:
    """Seconds per network: graph features (uncached), GBM fit on 128 nets, GBM predict."""
    from onnxnet.predictors import get_predictor
    from onnxnet.predictors.graph_features import _MEM_CACHE, features_frame

    rows = _rows(store, ["nb201", "nb101", "nb301"])
    print("\n### Speed (1 thread)\n")
    print("| step | networks | ms / network |")
    print("|---|---|---|")
    for sp, part in rows.groupby("space"):
        part = part.sample(n=min(n, len(part)), random_state=0)
        _MEM_CACHE.clear()
        t0 = time.perf_counter()
        features_frame(part, kind="all")
        print(f"| graph features + graph_facts ({sp}, from stored ONNX) | {len(part)} | "
              f"{(time.perf_counter() - t0) / len(part) * 1000:.1f} |")
    nb201 = rows[rows["space"] == "nb201"]
    features_frame(nb201, kind="all")  # fill the cache: the next two lines time the trees only
    train = nb201.sample(n=min(128, len(nb201)), random_state=0)
    gbm = get_predictor("gbm")
    t0 = time.perf_counter()
    gbm.fit(train, train["accuracy"])
    print(f"| GBM fit (features cached, early stopping) | {len(train)} | "
          f"{(time.perf_counter() - t0) / len(train) * 1000:.1f} |")
    t0 = time.perf_counter()
    gbm.predict(nb201)
    print(f"| GBM predict (features cached) | {len(nb201)} | {(time.perf_counter() - t0) / len(nb201) * 1000:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=None, help="benchmark store folder(s), comma-separated (runs/bench)")
    ap.add_argument("--sections", default="features,in-space,zero-shot")
    ap.add_argument("--sizes", default="16,32,64,128,256,1024")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--predictors", default="gbm,params,flops,depth")
    ap.add_argument("--proxies", default="synflow,nwot,jacov,grad_norm,snip")
    ap.add_argument("--published-proxies", default="synflow,nwot,jacov,grad_norm,snip",
                    help="published NAS-Bench-Suite-Zero values (store columns label:zc_*) to score as references")
    ap.add_argument("--proxy-sample", type=int, default=500)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    preds = [p for p in args.predictors.split(",") if p]
    if "features" in sections:
        features(args.store)
    if args.store is None and set(sections) - {"features"}:
        raise SystemExit("--store is needed for the in-space and zero-shot sections")
    if "speed" in sections:
        speed(args.store)
    if "in-space" in sections:
        in_space(args.store, [int(x) for x in args.sizes.split(",")], args.seeds, preds)
    if "zero-shot" in sections:
        proxies = [p for p in args.proxies.split(",") if p]
        published = [p for p in args.published_proxies.split(",") if p]
        zero_shot(args.store, args.seeds, preds, proxies, published, args.proxy_sample)
    Path("results").mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
