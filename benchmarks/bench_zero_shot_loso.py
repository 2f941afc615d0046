"""Zero-shot on many kinds of space: leave-one-space-out, every training-free signal and zero-shot candidate.

For every labelled space H of the stores (its fixed sample from ``zero_shot_data.py``, as far as its proxies are
cached), the candidates are trained on the other spaces' samples and scored on H (Kendall tau and Spearman rho).

**The rule (written down before any candidate ran on any held-out space)**: the default for H is chosen without H.
Every zero-shot candidate runs leave-one-space-out over the *other* spaces (each of them held out in turn, trained
on the rest, H never seen); the candidate with the best mean Kendall there is H's default, a candidate within
0.005 of the best losing to the one listed earlier in ``CANDIDATES`` (simpler first). The bar it must clear is the
best single training-free signal chosen the same way: the signal with the best mean Kendall over the other spaces
among the rows of the signal table (``proxy-vote`` included). The default shipped for unseen spaces is the rule run once
more over all spaces. Spaces that share graphs (one space's networks labelled for two tasks, ``zero_shot_data.py
--task``) are linked: holding one out holds out the others too, and a linked space never counts for the other's
rule or bar.

    .venv/bin/python benchmarks/bench_zero_shot_loso.py --data benchmarks/data/zero_shot --seeds 2 --out runs/zs_loso

(or ``--store PATH[:space,...] --cache DIR [--labels TABLE.jsonl]`` for samples read from stores, their features
cached by ``zero_shot_data.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: The zero-shot candidates, simplest first (the order breaks near-ties). ``learned`` members are trained on the
#: training spaces; PAIRWISE is the README's comparator for labels only from other spaces.
PAIRWISE = ("pairwise", {"bags": 3})
CANDIDATES: dict[str, dict] = {
    "best signal": dict(weighting="best"),  # the best of the 8 single signals on the training spaces
    "vote, equal": dict(weighting="equal"),
    "vote, kendall-weighted": dict(weighting="kendall"),
    "vote, kendall-weighted, transductive": dict(weighting="kendall", transductive=True),
    "best signal unless it contradicts the others on the target (else the kendall vote)":
        dict(weighting="best-checked", check_floor=0.0),
    "best signal unless it agrees less than on every training space (else the kendall vote)":
        dict(weighting="best-checked", check_floor="training"),
    "distance-aware: best signal + pairwise": dict(weighting="best", learned=PAIRWISE),
    "distance-aware: kendall vote + pairwise": dict(weighting="kendall", learned=PAIRWISE),
    "distance-aware: transductive vote + pairwise": dict(weighting="kendall", transductive=True, learned=PAIRWISE),
    "distance-aware: best signal unless contradicted + pairwise":
        dict(weighting="best-checked", check_floor=0.0, learned=PAIRWISE),
}
#: Learned predictors reported beside them (not candidates for the default).
LEARNED: dict[str, tuple[str, dict]] = {
    "pairwise, 3 bags": PAIRWISE,
    "stack": ("stack", {}),
    "gbm": ("gbm", {}),
    "rank-linear": ("rank-linear", {}),
}
#: Training-free signals reported per space (no training: their LOSO score is their score on the space).
SIGNAL_PREDICTORS: dict[str, str] = {
    "#params": "params", "FLOPs": "flops", "depth": "depth", "onnx-nwot": "onnx-nwot", "onnx-swap": "onnx-swap",
    "onnx-meco": "onnx-meco", "onnx-meco_batch": "onnx-meco_batch", "onnx-synflow": "onnx-synflow",
    "proxy-vote": "proxy-vote",
}
TIE = 0.005


def linked_spaces(rows: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Each space and the spaces that share a graph with it (itself included)."""
    graphs = {sp: set(part["graph_hash"]) for sp, part in rows.groupby("space")}
    return {a: frozenset(b for b in graphs if graphs[a] & graphs[b]) for a in graphs}


def held_out_scores(rows: pd.DataFrame, name: str, params: dict, cache: str, held: tuple[str, ...],
                    seed: int, exclude: frozenset[str] = frozenset()) -> dict[str, tuple[float, float]]:
    """Fit ``name`` on every space but ``held`` and ``exclude``; Kendall / Spearman on each held-out space."""
    import inspect

    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.predictors import PREDICTORS, get_predictor

    accepted = inspect.signature(PREDICTORS.get(name).__init__).parameters
    extra = {k: v for k, v in (("cache_dir", cache), ("seed", seed)) if k in accepted}
    train = rows[~rows["space"].isin(set(held) | exclude)].reset_index(drop=True)
    p = None
    if name == "zero-shot" and params.get("learned") is not None:
        # The learned member's weight is the share of a held-out space's networks within reach of the training
        # networks; where that is 0 for every held-out space its scores cannot matter, so it is not fitted (the
        # scores are exactly those of the full predictor).
        from onnxnet.predictors.novelty import feature_matrix

        p0 = get_predictor(name, **{**params, "learned": None, **extra})
        p0.fit(train, train["_y"].to_numpy(), train["space"].tolist())
        inside = {h: p0.novelty_.inside_fraction(feature_matrix(rows[rows["space"] == h], cache)[0]) for h in held}
        print(f"    {name} {params.get('learned')}: held out {', '.join(held)}: share within reach "
              + ", ".join(f"{h} {v:.2f}" for h, v in inside.items()), flush=True)
        if all(v == 0 for v in inside.values()):
            p = p0
    if p is None:
        p = get_predictor(name, **{**params, **extra})
        p.fit(train, train["_y"].to_numpy(), train["space"].tolist())
    out = {}
    for h in held:
        test = rows[rows["space"] == h].reset_index(drop=True)
        s = np.asarray(p.predict(test), dtype=float)
        y = test["_y"].to_numpy()
        ok = np.isfinite(s)
        out[h] = (float(kendall_tau(y[ok], s[ok])), float(spearman_rho(y[ok], s[ok])))
    return out


def by_training_count(rows: pd.DataFrame, cache: str, counts: tuple[int, ...] = (1, 2)) -> None:
    """Every vote candidate (no learned member) trained on k of the spaces and scored on each other space, for each
    k in ``counts``: mean and worst Kendall over those (train, test) pairs. Shows how many training spaces a
    candidate needs before it can be trusted (what ``weighting="best-checked"`` does with one)."""
    import itertools

    spaces = sorted(rows["space"].unique())
    link = linked_spaces(rows)
    votes = {c: p for c, p in CANDIDATES.items() if p.get("learned") is None}
    print("\n| candidate | " + " | ".join(f"{k} training space{'s' * (k > 1)}: mean / worst Kendall" for k in counts)
          + " |")
    print("|---|" + "---|" * len(counts))
    for cand, params in votes.items():
        cells = []
        for k in counts:
            taus = []
            for test in spaces:
                for train in itertools.combinations([s for s in spaces if s not in link[test]], k):
                    part = rows[rows["space"].isin({*train, test})]
                    taus.append(held_out_scores(part, "zero-shot", params, cache, (test,), 0)[test][0])
            cells.append(f"{np.mean(taus):.3f} / {np.min(taus):.3f} ({len(taus)} pairs)")
        print(f"| {cand} | " + " | ".join(cells) + " |", flush=True)


def explain_unlabelled(rows: pd.DataFrame, cache: str, params: dict, spec: str) -> None:
    """What ``zero-shot`` with ``params``, fitted on every space of ``rows``, does on the networks of an unlabelled
    space (``spec``: STORE:SPACE): its explanation, and how the signals agree there (Spearman). Their features are
    cached in STORE/zs_cache."""
    from onnxnet.bench.store import BenchStore
    from onnxnet.predictors import get_predictor
    from onnxnet.predictors.zero_shot import SIGNALS, signal_frame

    path, _, space = spec.partition(":")
    new = BenchStore(path).read(spaces=[space] if space else None)
    p = get_predictor("zero-shot", cache_dir=cache, **params).fit(rows, rows["_y"].to_numpy(), rows["space"].tolist())
    p.cache_dir = str(Path(path) / "zs_cache")
    p.predict(new)
    print(f"\n{len(new)} unlabelled networks of {space or path}, the shipped default fitted on all spaces:")
    print("\n".join(p.explain_lines()))
    S, _ = signal_frame(new, SIGNALS, p.cache_dir)
    print("\nSpearman between the signals there:\n")
    C = S.corr(method="spearman")
    print("| | " + " | ".join(C.columns) + " |\n|---|" + "---|" * len(C.columns))
    for a in C.index:
        print(f"| {a} | " + " | ".join(f"{C.loc[a, b]:+.2f}" for b in C.columns) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", action="append", default=[], help="PATH or PATH:space,space")
    ap.add_argument("--cache", default="runs/zs_cache")
    ap.add_argument("--data", default=None, help="an exported sample (zero_shot_data.py --export): no stores needed")
    ap.add_argument("--per-space", type=int, default=300)
    ap.add_argument("--spaces", default=None)
    ap.add_argument("--labels", action="append", default=[], help="label table(s) of the training pipeline (JSONL)")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--min-per-space", type=int, default=30, help="spaces with fewer cached networks are skipped")
    ap.add_argument("--skip-learned", action="store_true")
    ap.add_argument("--unlabelled", action="append", default=[],
                    help="STORE:SPACE of unlabelled networks: what the shipped default does there")
    ap.add_argument("--out", default="runs/zs_loso")
    args = ap.parse_args()

    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from zero_shot_data import load_samples, read_exported, with_features

    from onnxnet.evaluate.metrics import kendall_tau, spearman_rho
    from onnxnet.predictors import get_predictor

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = args.spaces.split(",") if args.spaces else None
    if args.data:
        args.cache = args.data
        rows = read_exported(args.data)
        rows = rows[(rows["draw"] < args.per_space) & (rows["space"].isin(only) if only else True)]
        rows = rows.reset_index(drop=True)
    elif args.store:
        rows = with_features(load_samples(args.store, args.per_space, only, labels=args.labels), args.cache)
    else:
        raise SystemExit("give --data DIR (an exported sample) or --store PATH")
    counts = rows.groupby("space").size()
    rows = rows[rows["space"].isin(counts[counts >= args.min_per_space].index)].reset_index(drop=True)
    spaces = sorted(rows["space"].unique())
    print("networks per space (cached proxies):", rows.groupby("space").size().to_dict(), flush=True)
    seeds = list(range(args.seeds))
    link = linked_spaces(rows)
    for sp in spaces:
        if len(link[sp]) > 1:
            print(f"{sp} shares graphs with {', '.join(sorted(link[sp] - {sp}))}: held out together", flush=True)

    # 1. Training-free signals on each space.
    sig = {}
    for label, pname in SIGNAL_PREDICTORS.items():
        p = get_predictor(pname, cache_dir=args.cache)
        for sp in spaces:
            part = rows[rows["space"] == sp]
            s = p.fit(part, part["_y"].to_numpy()).predict(part)
            y = part["_y"].to_numpy()
            sig[(label, sp)] = (kendall_tau(y, s), spearman_rho(y, s))
    print("\n| training-free signal | " + " | ".join(spaces) + " | mean |")
    print("|---|" + "---|" * (len(spaces) + 1))
    for label in SIGNAL_PREDICTORS:
        ks = [sig[(label, sp)][0] for sp in spaces]
        print(f"| {label} | " + " | ".join(f"{sig[(label, sp)][0]:.3f} / {sig[(label, sp)][1]:.3f}" for sp in spaces)
              + f" | {np.mean(ks):.3f} |", flush=True)

    # 2. Every candidate, leave-one-space-out over all spaces (trained without A, scored on A), and over all spaces
    # but H (trained without H and G, scored on G: the rule's input for H). Results are kept in OUT/scores.json, so
    # a killed run resumes.
    import itertools

    store = out / "scores.json"
    done: dict[str, dict] = json.loads(store.read_text()) if store.is_file() else {}
    t0 = time.time()

    def run(label: str, name: str, params: dict, held: tuple[str, ...]) -> dict[str, list[float]]:
        key = f"{label}|{'+'.join(held)}|n={dict(rows.groupby('space').size())}"
        if key not in done:
            exclude = frozenset().union(*(link[h] for h in held))
            per = [held_out_scores(rows, name, params, args.cache, held, sd, exclude) for sd in seeds]
            done[key] = {h: np.mean([p[h] for p in per], axis=0).tolist() for h in held}
            store.write_text(json.dumps(done, indent=1))
        return done[key]

    results: dict[str, dict[str, tuple[float, float]]] = {}
    inner: dict[str, dict[str, float]] = {}  # held-out H -> candidate -> mean Kendall of LOSO without H
    for cand, params in CANDIDATES.items():
        results[cand] = {a: tuple(run(cand, "zero-shot", params, (a,))[a]) for a in spaces}
        pair = {}
        for a, b in itertools.combinations(spaces, 2):
            if len(spaces) > 3 and b not in link[a]:
                pair[(a, b)] = run(cand, "zero-shot", params, (a, b))
        for h in spaces:
            others = [g for g in spaces if g not in link[h]]
            if pair:
                inner.setdefault(h, {})[cand] = float(np.mean([pair[tuple(sorted((h, g)))][g][0] for g in others]))
        print(f"  {cand}: done ({time.time() - t0:.0f} s)", flush=True)
    if not args.skip_learned:
        for label, (pname, params) in LEARNED.items():
            results[label] = {a: tuple(run(label, pname, params, (a,))[a]) for a in spaces}
            print(f"  {label}: done ({time.time() - t0:.0f} s)", flush=True)

    # 3. The rule, per held-out space.
    def pick(scores: dict[str, float]) -> str:
        best = max(scores.values())
        return next(c for c in CANDIDATES if c in scores and scores[c] >= best - TIE)

    picks = {h: pick(inner[h]) for h in spaces if h in inner}
    # The bar: the training-free signal (any row of table 1, proxy-vote included) with the best mean Kendall on
    # the spaces other than H.
    bar = {h: max(SIGNAL_PREDICTORS,
                  key=lambda lab: np.mean([sig[(lab, sp)][0] for sp in spaces if sp not in link[h]]))
           for h in spaces}
    print("\n| held-out space | default picked without it | its Kendall / Spearman | best single signal "
          "(picked without it) Kendall / Spearman | default - best signal (Kendall) |")
    print("|---|---|---|---|---|")
    diffs = []
    for h, c in picks.items():
        d, b = results[c][h], sig[(bar[h], h)]
        diffs.append(d[0] - b[0])
        print(f"| {h} | {c} | {d[0]:.3f} / {d[1]:.3f} | {bar[h]}: {b[0]:.3f} / {b[1]:.3f} | {d[0] - b[0]:+.3f} |")
    print(f"mean difference {np.mean(diffs):+.3f}; never worse: {all(x >= -1e-9 for x in diffs)}")

    print("\n| zero-shot candidate / learned predictor (LOSO) | " + " | ".join(spaces) + " | mean Kendall |")
    print("|---|" + "---|" * (len(spaces) + 1))
    for cand, per in results.items():
        print(f"| {cand} | " + " | ".join(f"{per[sp][0]:.3f} / {per[sp][1]:.3f}" for sp in spaces)
              + f" | {np.mean([per[sp][0] for sp in spaces]):.3f} |")
    overall = {c: float(np.mean([results[c][sp][0] for sp in spaces])) for c in CANDIDATES}
    print(f"\nshipped default (the rule over all {len(spaces)} spaces): {pick(overall)}")
    by_training_count(rows, args.cache)
    for spec in args.unlabelled:
        explain_unlabelled(rows, args.cache, CANDIDATES[pick(overall)], spec)
    (out / "loso.json").write_text(json.dumps({
        "spaces": spaces, "counts": rows.groupby("space").size().to_dict(),
        "signals": {f"{k[0]}|{k[1]}": v for k, v in sig.items()},
        "results": results, "inner": inner, "picks": picks, "overall": overall}, indent=1, default=float))


if __name__ == "__main__":
    main()
