"""Decide whether the unlabelled rest of a space helps the in-space comparator (development spaces only; it does not).

In-space NAS knows every architecture of its space, labelled or not. Two ways to use the unlabelled ones with the
``pairwise`` comparator fitted on ``n`` labelled networks, each scored on the other (test) networks of the space:

- **pool references**: a network's score is its mean win probability against the 128 training networks; add 384
  (or 1,024) unlabelled networks of the space as references, or use 512 unlabelled ones instead (less sampling
  noise in every score, and references spread over the whole space);
- **self-distillation**: rank the pool by the comparator, then fit a pointwise LightGBM regressor on the pool's
  comparator ranks plus the training networks' true ranks (5-fold cross-fitted, so no pool network predicts
  itself), and score with it alone or rank-averaged with the comparator.

Both are transductive (the scores of the test networks depend on the other test networks' graphs, never on their
labels). Prints Kendall mean ± std over seeds per space. Never run on NB201 (the space the target is quoted on).

    .venv/bin/python experiments/select_unlabelled_use.py --store runs/bench-v3 --store runs/bench \
        --cache results/cache --extra-cache results/cache-nb301 --spaces nb101,nb301,transnas_micro
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def _ranks01(v: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return (rankdata(v) - 0.5) / len(v)


def _distil(X_pool: np.ndarray, teacher: np.ndarray, X_train: np.ndarray, y_train: np.ndarray,
            seed: int) -> np.ndarray:
    """Cross-fitted pointwise student of the teacher's pool ranks (+ the training networks' true ranks)."""
    import lightgbm as lgb
    from sklearn.model_selection import KFold

    pseudo, truth = _ranks01(teacher), _ranks01(y_train)
    out = np.zeros((3, len(X_pool)))
    for k in range(3):
        model = lgb.LGBMRegressor(n_estimators=400, learning_rate=0.05, num_leaves=31, subsample=0.8,
                                  subsample_freq=1, colsample_bytree=0.8, random_state=seed * 10 + k, verbose=-1,
                                  n_jobs=1)
        for fit_idx, held in KFold(5, shuffle=True, random_state=k).split(X_pool):
            model.fit(np.vstack([X_pool[fit_idx], X_train]), np.concatenate([pseudo[fit_idx], truth]))
            out[k, held] = model.predict(X_pool[held])
    return out.mean(axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", action="append", required=True)
    ap.add_argument("--cache", default="results/cache")
    ap.add_argument("--extra-cache", action="append", default=[])
    ap.add_argument("--spaces", default="nb101,nb301,transnas_micro")
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    if "nb201" in args.spaces.split(","):
        raise SystemExit("NB201 is the space the target is quoted on: choose on development spaces only")

    from onnxnet.bench.store import BenchStore
    from onnxnet.evaluate.metrics import kendall_tau
    from onnxnet.evaluate.splits import labelled, sample_graphs
    from onnxnet.predictors import get_predictor
    from onnxnet.predictors.graph_features import features_frame

    spaces = args.spaces.split(",")
    rows = pd.concat([BenchStore(s).read(spaces=spaces) for s in args.store], ignore_index=True)
    rows = labelled(rows.drop_duplicates("id").drop_duplicates("graph_hash"), "accuracy").reset_index(drop=True)
    for extra in args.extra_cache:
        features_frame(rows, kind="proxies", cache_dir=extra, compute=False)
    have = features_frame(rows, kind="proxies", cache_dir=args.cache, compute=False)[0].notna().all(axis=1)
    rows = rows[have.to_numpy()].reset_index(drop=True)
    variants = ("training references (as shipped)", "training + 384 pool references",
                "512 pool references", "training + 1,024 pool references", "self-distilled student",
                "student + comparator (rank mean)")
    print(f"in-space, n = {args.n}, {args.seeds} seeds, pairwise (graph + proxies); Kendall mean ± std\n")
    print("| variant | " + " | ".join(spaces) + " |\n|---|" + "---|" * len(spaces))
    table: dict[str, list[str]] = {v: [] for v in variants}
    for space in spaces:
        part = rows[rows["space"] == space].reset_index(drop=True)
        got: dict[str, list[float]] = {v: [] for v in variants}
        for seed in range(args.seeds):
            train, test = sample_graphs(part, args.n, seed)
            pw = get_predictor("pairwise", cache_dir=args.cache, seed=seed)
            pw.fit(train, train["_y"].to_numpy(), train["space"].tolist())
            X, _ = pw._features(test)
            ok = ~np.isnan(X).all(axis=1)
            X, y = X[ok], test["_y"].to_numpy()[ok]
            refs = pw.references_[space]
            rng = np.random.default_rng(100 + seed)
            pool = X[rng.choice(len(X), min(1024, len(X)), replace=False)]
            base = pw._win_rate(X, refs)
            student = _distil(X, base, pw._features(train)[0], train["_y"].to_numpy(), seed)
            scores = (base, pw._win_rate(X, np.vstack([refs, pool[:384]])), pw._win_rate(X, pool[:512]),
                      pw._win_rate(X, np.vstack([refs, pool])), student, _ranks01(student) + _ranks01(base))
            for v, s in zip(variants, scores):
                got[v].append(kendall_tau(y, s))
        for v in variants:
            table[v].append(f"{np.mean(got[v]):.3f} ± {np.std(got[v]):.3f}")
    for v in variants:
        print(f"| {v} | " + " | ".join(table[v]) + " |")


if __name__ == "__main__":
    main()
