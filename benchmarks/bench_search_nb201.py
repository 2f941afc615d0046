"""Architecture search on NAS-Bench-201 with the real 200-epoch CIFAR-10 test accuracy as the oracle.

Methods (``--methods``, comma-separated), each run for ``--seeds`` seeds with ``--evals`` true evaluations:

* ``random``: random search on true labels;
* ``evolution``: regularised evolution on true labels alone (population 10, tournament 3);
* ``inspace``: predictor-guided: ``pairwise`` (graph features, no proxies) fitted in-space on the search's own
  evaluations (10 random first, then refitted every round of 5), candidates proposed by regularised evolution
  (population: the 10 best evaluated networks, tournament 3) and scored by the predictor, ``--queries`` per run;
* ``zeroshot``: the same loop with a predictor fitted only on other spaces (``--zero-shot DIR``, a folder from
  ``onnxnet fit``, e.g. NB101 + NB301), not refitted;
* ``mo-random``, ``mo-nsga2``, ``mo-inspace``: two objectives, accuracy and HW-NAS-Bench edge-GPU latency:
  random search, NSGA-II on true labels, and the in-space predictor-guided loop; hypervolume of the true front of
  the evaluated networks divided by the hypervolume of the true front of all 15,625 networks (reference point:
  the median accuracy of the space and the largest latency in the table, so the ratio measures the front above
  the median network).

Prints Markdown tables (mean ± std over seeds, per-seed values, hits within 0.3 points of the best network
94.37) and writes the best-so-far curves (``--plot``). Every run is a resumable run folder under ``--out``; a
finished run is read back, not rerun, so the script can be rerun after a kill.

    nice -n 5 .venv/bin/python benchmarks/bench_search_nb201.py --zero-shot runs/zs-pairwise --store runs/bench \\
        --out runs/search-bench --plot docs/search_nb201.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("random", "evolution", "inspace", "zeroshot", "mo-random", "mo-nsga2", "mo-inspace")
LABELS = {"random": "random search (labels)", "evolution": "regularised evolution (labels)",
          "inspace": "predictor-guided, in-space pairwise", "zeroshot": "predictor-guided, zero-shot pairwise",
          "mo-random": "random search (labels)", "mo-nsga2": "NSGA-II (labels)",
          "mo-inspace": "predictor-guided NSGA-II, in-space pairwise"}


#: Evolution inside a guided round: the 10 best evaluated networks (warm start) are the population.
EVO = {"population": 10, "sample_size": 3}


def config(method: str, seed: int, args: argparse.Namespace) -> "object":
    from onnxnet.search import SearchConfig

    common = dict(space="nb201", evals=args.evals, seed=seed, top=0, store=args.store)
    pw = {"proxies": False}
    if method == "random":
        return SearchConfig(strategy="random", **common)
    if method == "evolution":
        return SearchConfig(strategy="evolution", strategy_params={"population": 10, "sample_size": 3}, **common)
    if method == "inspace":
        return SearchConfig(strategy="evolution", strategy_params=EVO, predictor="pairwise", predictor_params=pw,
                            queries=args.queries, init=10, batch=5, **common)
    if method == "zeroshot":
        return SearchConfig(strategy="evolution", strategy_params=EVO, predictor=str(Path(args.zero_shot).resolve()),
                            queries=args.queries, init=0, batch=5, refit=False, **common)
    mo = dict(objective="accuracy,latency")
    if method == "mo-random":
        return SearchConfig(strategy="random", **mo, **common)
    if method == "mo-nsga2":
        return SearchConfig(strategy="nsga2", strategy_params={"population_size": 10}, **mo, **common)
    if method == "mo-inspace":
        return SearchConfig(strategy="nsga2", strategy_params={"population_size": 20}, predictor="pairwise",
                            predictor_params=pw, queries=args.queries, init=10, batch=5, **mo, **common)
    raise SystemExit(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def run_one(method: str, seed: int, args: argparse.Namespace) -> pd.DataFrame | None:
    """The evaluations of one run (read back when the run folder is complete; ``None`` for an unfinished run
    with ``--only-finished``)."""
    from onnxnet.search import run_search

    out = Path(args.out) / method / f"seed{seed}"
    done = out / "evaluations.csv"
    if done.is_file() and len(pd.read_csv(done)) == args.evals:
        return pd.read_csv(done)
    if args.only_finished:
        return None
    t = time.time()
    res = run_search(config(method, seed, args), out, progress=False, cache_dir=Path(args.out) / "cache",
                     jobs=args.jobs, write_onnx=False)
    print(f"  {method} seed {seed}: best {res.best_accuracy:.2f}, {res.queries_used} queries, "
          f"{res.built_graphs} graphs built, {time.time() - t:.0f} s", flush=True)
    return res.evaluations


def true_front_hv() -> tuple[float, tuple[float, float]]:
    from onnxnet.bench.labels import load_labels
    from onnxnet.search import hypervolume
    from onnxnet.search.objectives import latency_table

    acc = load_labels("nb201").frame["cifar10_test_200ep"].dropna()
    lat = latency_table("edgegpu")
    a = acc.to_numpy(float)
    c = np.array([lat[k] for k in acc.index], dtype=float)
    ref = (float(np.median(a)), float(max(lat.values())))
    return hypervolume(a, c, ref), ref


def fmt(values: list[float], digits: int = 2) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if len(v) > 1 else 0:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=50)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--zero-shot", default="runs/zs-pairwise", help="predictor folder fitted on other spaces")
    ap.add_argument("--store", default=None, help="benchmark store to read NB201 graphs from")
    ap.add_argument("--jobs", type=int, default=1, help="processes building missing graphs")
    ap.add_argument("--out", default="runs/search-bench")
    ap.add_argument("--plot", default=None, help="PNG of best true accuracy vs true evaluations")
    ap.add_argument("--checkpoints", default="10,20,30,50")
    ap.add_argument("--only-finished", action="store_true", help="tabulate finished runs only (run nothing)")
    args = ap.parse_args()
    import signal

    def stop(signum: int, frame: object) -> None:  # a kill still flushes the graph cache (finally blocks run)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    from onnxnet.bench.labels import load_labels

    best = float(load_labels("nb201").frame["cifar10_test_200ep"].max())
    runs: dict[str, list[pd.DataFrame]] = {m: [] for m in methods}
    for seed in range(args.seeds):  # seed-major: a partial run covers every method
        for m in methods:
            r = run_one(m, seed, args)
            if r is not None:
                runs[m].append(r)
    methods = [m for m in methods if runs[m]]
    marks = [int(x) for x in args.checkpoints.split(",") if int(x) <= args.evals]
    print(f"\nNB201, CIFAR-10 200-epoch test accuracy oracle (best {best:.2f}); up to {args.seeds} seeds, "
          f"{args.evals} true evaluations, {args.queries} predictor queries per guided run\n")
    single = [m for m in methods if not m.startswith("mo-")]
    if single:
        print("| method | seeds | " + " | ".join(f"best after {k}" for k in marks)
              + f" | within 0.3 of {best:.2f} | regret at end |")
        print("|---|---|" + "---|" * (len(marks) + 2))
        for m in single:
            curves = [r["accuracy"].cummax().to_numpy() for r in runs[m]]
            cells = [fmt([c[min(k, len(c)) - 1] for c in curves]) for k in marks]
            hits = sum(c[-1] >= best - 0.3 for c in curves)
            print(f"| {LABELS[m]} | {len(curves)} | " + " | ".join(cells) + f" | {hits}/{len(curves)} | "
                  f"{fmt([best - c[-1] for c in curves])} |")
        print("\nper seed, best after all evaluations:")
        for m in single:
            print(f"  {m}: " + ", ".join(f"{r['accuracy'].max():.2f}" for r in runs[m]))
    multi = [m for m in methods if m.startswith("mo-")]
    if multi:
        from onnxnet.search import hypervolume

        hv_true, ref = true_front_hv()
        print(f"\nTwo objectives (accuracy, edge-GPU latency): hypervolume / true-front hypervolume "
              f"(true front HV {hv_true:.1f}, reference {ref})\n")
        print("| method | seeds | " + " | ".join(f"HV ratio after {k}" for k in marks) + " |")
        print("|---|---|" + "---|" * len(marks))
        for m in multi:
            cells = []
            for k in marks:
                vals = [hypervolume(r["accuracy"][:k], r["cost"][:k], ref) / hv_true for r in runs[m]]
                cells.append(fmt(vals, 4))
            print(f"| {LABELS[m]} | {len(runs[m])} | " + " | ".join(cells) + " |")
    if args.plot and single:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        x = np.arange(1, args.evals + 1)
        for m in single:
            curves = np.array([r["accuracy"].cummax().to_numpy() for r in runs[m]])
            mean, sd = curves.mean(axis=0), curves.std(axis=0)
            ax.plot(x, mean, label=f"{LABELS[m]} ({len(curves)} seeds)")
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.15)
        ax.axhline(best, color="k", lw=0.8, ls="--", label=f"best in NB201 ({best:.2f})")
        ax.axhline(best - 0.3, color="k", lw=0.6, ls=":", label="best - 0.3")
        ax.set_ylim(max(88.0, ax.get_ylim()[0]), best + 0.3)
        ax.set_xlabel("true evaluations")
        ax.set_ylabel("best true test accuracy so far (%)")
        seeds = sorted({len(runs[m]) for m in single})
        ax.set_title(f"NB201 search, mean ± std over {'/'.join(map(str, seeds))} seeds")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=130)
        print(f"\nplot: {args.plot}")
    summary = {m: [float(r["accuracy"].max()) for r in runs[m]] for m in methods}
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
