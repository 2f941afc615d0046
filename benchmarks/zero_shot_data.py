"""The fixed per-space samples the zero-shot benchmarks use, and their cached features (graph facts, proxies).

Every labelled space of the given stores contributes up to ``--per-space`` unique graphs, drawn once with a fixed
seed from its graphs sorted by ``graph_hash`` (so the sample does not depend on the store's row order or on what
else the store holds). ``prepare`` computes, for those graphs only, the static graph features and the ONNX
zero-cost proxies (``nwot``, ``meco``, ``swap``, ``synflow`` and ``meco_batch``) into ``--cache`` (resumable: a
killed run keeps what it computed). Proxies cost 1-5 s per network on one CPU core. One process per space, each
with its own cache, then merged (the commands that made ``benchmarks/data/zero_shot`` are in its README):

    for sp in nb101 nb201 nb301 transnas_micro; do .venv/bin/python benchmarks/zero_shot_data.py \
        --store runs/bench:$sp --spaces $sp --per-space 150 --cache runs/zs/cache_$sp & done; wait
    .venv/bin/python benchmarks/zero_shot_data.py --merge runs/zs/cache_* --cache runs/zs/cache

``--export DIR`` writes the samples whose features are all cached (``rows.parquet``: the store columns but the
ONNX file, and the draw) and the cache rows of their graphs into DIR; the benchmarks read such a folder with
``--data DIR`` and need neither the stores nor the ONNX files. The repository keeps one,
``benchmarks/data/zero_shot``.
"""

from __future__ import annotations

import argparse
from typing import Sequence

import numpy as np
import pandas as pd

#: Store columns the zero-shot benchmarks read.
COLUMNS = ["id", "space", "arch", "graph_hash", "onnx", "n_params", "flops", "depth", "n_nodes", "split",
           "accuracy", "accuracy_label"]
#: Proxies of the samples: the default set (one cache kind) and MeCo over the batch (its own kind).
PROXIES = ("nwot", "meco", "swap", "synflow", "meco_batch")


def read_label_tables(paths: Sequence[str]) -> pd.DataFrame:
    """Accuracies from the training pipeline's label tables (JSON lines: space, arch, status, val_acc, ...):
    one row per (space, arch) with status ``ok``; ``val_acc`` is the label."""
    import json
    from pathlib import Path

    recs = []
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("status") == "ok" and r.get("val_acc") is not None:
                    recs.append({"space": r["space"], "arch": r["arch"], "label_acc": float(r["val_acc"]),
                                 "label_name": str(r.get("label", "onnxnet_val"))})
    return pd.DataFrame(recs, columns=["space", "arch", "label_acc", "label_name"]).drop_duplicates(["space", "arch"])


def load_samples(stores: Sequence[str], per_space: int = 300, spaces: Sequence[str] | None = None,
                 seed: int = 0, labels: Sequence[str] = (), unlabelled: bool = False) -> pd.DataFrame:
    """Up to ``per_space`` unique labelled graphs of every space in ``stores`` (first store wins a duplicate id),
    in draw order (column ``draw``): the first k of a space are its sample of size k. ``labels``: label tables
    of the training pipeline (``read_label_tables``), joined on (space, arch) where the store has no accuracy."""
    from onnxnet.bench.store import BenchStore
    from onnxnet.evaluate.splits import labelled, unique_graphs

    frames = []
    for s in stores:  # PATH or PATH:space,space (only those spaces from that store)
        path, _, only = s.partition(":")
        want = [x for x in (only.split(",") if only else spaces or []) if not spaces or x in spaces] or None
        if only and not want:
            continue
        frames.append(BenchStore(path).read(spaces=want, columns=COLUMNS))
    rows = pd.concat(frames, ignore_index=True).drop_duplicates("id")
    if labels:
        lab = read_label_tables(labels)
        rows = rows.merge(lab, on=["space", "arch"], how="left")
        fill = rows["accuracy"].isna() & rows["label_acc"].notna()
        rows.loc[fill, "accuracy"] = rows.loc[fill, "label_acc"]
        rows.loc[fill, "accuracy_label"] = rows.loc[fill, "label_name"]
        rows = rows.drop(columns=["label_acc", "label_name"])
    if unlabelled:  # compute ahead of the labels: every network, in the order the sampler drew them (seed 0)
        from onnxnet.bench.build import _sample_unique
        from onnxnet.spaces import get_space

        rows = rows.assign(_y=rows["accuracy"], _group=rows["space"])
        parts = []
        for sp, p in rows.groupby("space", sort=True):
            space = get_space(sp)
            order = {space.to_string(a): i for i, a in enumerate(_sample_unique(space, len(p), 0))}
            p = p.assign(draw=p["arch"].map(order).fillna(len(p)).to_numpy()).sort_values("draw")
            parts.append(p.assign(draw=np.arange(len(p))))
        return pd.concat(parts, ignore_index=True)
    rows = labelled(rows, "accuracy")
    parts = []
    for sp, part in rows.groupby("space", sort=True):
        u = unique_graphs(part).sort_values("graph_hash").reset_index(drop=True)
        order = np.random.default_rng([seed, 0x2E50]).permutation(len(u))[:per_space]
        parts.append(u.iloc[order].assign(draw=np.arange(len(order))))
    return pd.concat(parts, ignore_index=True)


#: File in a cache folder listing the graphs whose proxies cannot be computed (``prepare`` writes it).
FAILED = "proxy_failures.json"


def read_failures(folder: str) -> dict[str, str]:
    """Graph hash -> reason, from ``folder``'s ``FAILED`` list (empty when there is none)."""
    import json
    from pathlib import Path

    path = Path(folder) / FAILED
    return json.loads(path.read_text()) if path.is_file() else {}


def write_failures(folder: str, failed: dict[str, str]) -> None:
    """Write ``folder``'s ``FAILED`` list (atomically)."""
    import json
    from pathlib import Path

    from onnxnet.atomic import write_with

    write_with(Path(folder) / FAILED, lambda p: Path(p).write_text(json.dumps(failed, indent=1, sort_keys=True)))


def with_features(rows: pd.DataFrame, cache: str) -> pd.DataFrame:
    """The rows whose proxies are all in ``cache`` (each space: the longest prefix of its draw order). Graphs that
    ``prepare`` recorded as failing (e.g. a cell whose output does not depend on the input) are left out of the
    sample, and the count is printed."""
    from onnxnet.features.engine import features_frame

    failed = read_failures(cache)
    have = np.ones(len(rows), dtype=bool)
    for kind in ("proxies", "proxy-meco_batch"):
        F, _ = features_frame(rows, kind=kind, cache_dir=cache, compute=False)
        have &= F.notna().all(axis=1).to_numpy() if F.shape[1] else np.zeros(len(rows), dtype=bool)
    bad = rows["graph_hash"].astype(str).isin(failed).to_numpy()
    keep = []
    for sp, part in rows.assign(_have=have | bad, _bad=bad).groupby("space", sort=True):
        part = part.sort_values("draw")
        n = int(np.argmin(part["_have"].to_numpy())) if not part["_have"].all() else len(part)
        part = part.iloc[:n]
        if part["_bad"].any():
            reasons = sorted({failed[h] for h in part.loc[part["_bad"], "graph_hash"].astype(str)})
            print(f"{sp}: {int(part['_bad'].sum())} of {n} networks left out (proxies fail): {'; '.join(reasons)}",
                  flush=True)
        keep.append(part[~part["_bad"]])
    return pd.concat(keep).drop(columns=["_have", "_bad"]).reset_index(drop=True)


def prepare(rows: pd.DataFrame, cache: str, jobs: int = 1, step: int = 5, part: tuple[int, int] = (0, 1)) -> None:
    """Graph features and proxies of ``rows`` into ``cache``, ``step`` networks per space in turn, in draw order,
    so that every space's computed networks are a prefix of its sample whenever the run is stopped. ``part``
    ``(i, k)``: only the networks whose draw is i modulo k (k processes share a space, each with its own cache)."""
    from onnxnet.features.engine import features_frame
    from onnxnet.features.onnx_proxies import proxy_frame

    if part[0] == 0:
        features_frame(rows, kind="all", cache_dir=cache, jobs=jobs)
        features_frame(rows, kind="facts", cache_dir=cache, jobs=jobs)
    rows = rows[rows["draw"] % part[1] == part[0]].sort_values(["draw", "space"])
    top = int(rows["draw"].max()) + 1
    for k in range(0, top, step):
        part = rows[(rows["draw"] >= k) & (rows["draw"] < k + step)]
        for sp, chunk in part.groupby("space", sort=True):
            _, failed = proxy_frame(chunk, PROXIES, cache_dir=cache, jobs=jobs)
            for f in failed:
                print(f"  {sp}: {f['id']} failed: {f['reason']}", flush=True)
            _record_failures(chunk, failed, cache)
        print(f"{pd.Timestamp.now('UTC'):%H:%M:%S} proxies of the first {min(k + step, top)} networks per space",
              flush=True)


#: Columns of an exported sample (``export``); features live in the folder's cache files.
EXPORT_COLUMNS = [c for c in COLUMNS if c != "onnx"] + ["draw"]


def add_tasks(rows: pd.DataFrame, stores: Sequence[str], tasks: Sequence[str]) -> pd.DataFrame:
    """For each ``SPACE:LABEL`` of ``tasks``, SPACE's sampled networks once more, labelled by the store's
    ``label:LABEL`` column, as space ``SPACE/TASK`` (TASK: LABEL without ``tb101_`` and ``_val``). The copies share
    their graphs with SPACE, so the leave-one-space-out benchmark holds them out together."""
    from onnxnet.bench.store import BenchStore
    from onnxnet.evaluate.splits import labelled

    parts = [rows]
    for spec in tasks:
        space, _, label = spec.partition(":")
        col = f"label:{label}"
        lab = pd.concat([BenchStore(st.partition(":")[0]).read(spaces=[space], columns=["id", col])
                         for st in stores]).drop_duplicates("id")
        task = rows[rows["space"] == space].drop(columns=["_y", "_group"], errors="ignore").merge(lab, on="id")
        name = f"{space}/{label.removeprefix('tb101_').removesuffix('_val')}"
        task = task.assign(space=name, id=task["id"] + "@" + name, accuracy=task[col], accuracy_label=label)
        parts.append(labelled(task.drop(columns=[col]), "accuracy"))
        print(f"{name}: {len(task)} networks labelled by {label}", flush=True)
    return pd.concat(parts, ignore_index=True)


def export(rows: pd.DataFrame, cache: str, folder: str) -> None:
    """The samples ``rows`` (with features in ``cache``) and their graphs' cache rows, into ``folder``."""
    from pathlib import Path

    from onnxnet.atomic import write_with

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    keep = set(rows["graph_hash"].astype(str))
    for f in sorted(Path(cache).glob("graph_features_*.parquet")):
        if f.name.startswith("graph_features_topology"):
            continue
        part = pd.read_parquet(f)
        part = part[part.index.astype(str).isin(keep)]
        write_with(out / f.name, part.to_parquet)
        print(f"{f.name}: {len(part)} graphs", flush=True)
    table = rows[EXPORT_COLUMNS].sort_values(["space", "draw"]).reset_index(drop=True)
    write_with(out / "rows.parquet", table.to_parquet)
    print(table.groupby("space").size().to_string(), flush=True)


def read_exported(folder: str) -> pd.DataFrame:
    """An exported sample (``export``) as labelled rows, in draw order per space."""
    from pathlib import Path

    from onnxnet.evaluate.splits import labelled

    path = Path(folder) / "rows.parquet"
    if not path.is_file():
        raise SystemExit(f"{folder}: no rows.parquet here; write one with zero_shot_data.py --export {folder}")
    return labelled(pd.read_parquet(path), "accuracy")


def _record_failures(rows: pd.DataFrame, failed: list[dict[str, str]], cache: str) -> None:
    """Add the graphs of ``failed`` (proxy failures of ``rows``) to the cache folder's ``FAILED`` list."""
    if not failed:
        return
    known = read_failures(cache)
    by_id = dict(zip(rows["id"].astype(str), rows["graph_hash"].astype(str)))
    known.update({by_id[f["id"]]: f["reason"] for f in failed if f["id"] in by_id})
    write_failures(cache, known)


def merge_caches(sources: Sequence[str], target: str) -> None:
    """Merge the feature-cache files of ``sources`` (one prepare run per space, each with its own cache: two
    writers of one cache file could lose each other's rows) into ``target``."""
    from pathlib import Path

    from onnxnet.atomic import write_with

    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted({f.name for s in sources for f in Path(s).glob("graph_features_*.parquet")})
    for name in names:
        parts = [pd.read_parquet(f) for f in [out / name, *(Path(s) / name for s in sources)] if f.is_file()]
        both = pd.concat(parts)
        both = both[~both.index.duplicated(keep="first")]
        write_with(out / name, both.to_parquet)
        print(f"{name}: {len(both)} graphs", flush=True)
    failed: dict[str, str] = {}
    for folder in [*sources, target]:
        failed.update(read_failures(folder))
    if failed:
        write_failures(target, failed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", action="append", default=[], help="PATH or PATH:space,space (those spaces only)")
    ap.add_argument("--cache", default="runs/zs_cache")
    ap.add_argument("--per-space", type=int, default=300)
    ap.add_argument("--spaces", default=None, help="comma-separated (default: every labelled space)")
    ap.add_argument("--labels", action="append", default=[], help="label table(s) of the training pipeline (JSONL)")
    ap.add_argument("--all", action="store_true", help="also networks without labels (to compute ahead)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--merge", nargs="+", default=None, help="only merge these caches into --cache")
    ap.add_argument("--part", default="0/1", help="i/k: only draws i modulo k (k processes per space)")
    ap.add_argument("--export", default=None, help="write the samples with cached features to this folder")
    ap.add_argument("--task", action="append", default=[],
                    help="with --export: SPACE:LABEL adds SPACE's sample labelled by the store's label:LABEL")
    args = ap.parse_args()
    if args.merge:
        merge_caches(args.merge, args.cache)
        return
    spaces = args.spaces.split(",") if args.spaces else None
    rows = load_samples(args.store, args.per_space, spaces, labels=args.labels, unlabelled=args.all)
    if args.export:
        export(add_tasks(with_features(rows, args.cache), args.store, args.task), args.cache, args.export)
        return
    print(rows.groupby("space").size().to_string(), flush=True)
    i, k = (int(v) for v in args.part.split("/"))
    prepare(rows, args.cache, args.jobs, part=(i, k))


if __name__ == "__main__":
    main()
