"""Labelled rows, unique graphs, and seeded train/test splits that never let one graph straddle both sides.

Every split works on *graphs* (``graph_hash``), not rows: isomorphic duplicates (NB201 has 15,625 cell strings
but far fewer distinct graphs) go to the same side, and each test graph is scored once.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.ranking import label_groups

#: Columns every protocol adds to its working copy of the rows.
TARGET, GROUP = "_y", "_group"


def labelled(rows: Any, label: str | Sequence[str] = "accuracy") -> Any:
    """Rows with a finite label, plus ``_y`` (the target) and ``_group`` (which labels may be compared).

    ``label`` is a column or a list of columns in priority order: each row takes the first finite one, so
    ``["accuracy", "label:cifar10_test_4ep"]`` uses NB101's 108-epoch label where it exists and the 4-epoch one
    elsewhere. ``_group`` is the space, or ``space:label`` when a space mixes label sources (fidelities), so
    rank targets and ranking losses never compare a 4-epoch accuracy with a 108-epoch one.
    """
    import pandas as pd

    if not isinstance(rows, pd.DataFrame):
        raise ProtocolError(f"rows must be a pandas DataFrame in the store schema, got {type(rows).__name__}")
    labels = [label] if isinstance(label, str) else list(label)
    missing = [c for c in ["space", *labels] if c not in rows.columns]
    if missing:
        raise ProtocolError(
            f"rows lack column(s) {missing}; protocols need the benchmark-store schema (space, graph_hash, onnx, "
            f"a label column); read them with onnxnet.bench.store.BenchStore(dir).read(). Label columns here: "
            f"{sorted(c for c in rows.columns if c == 'accuracy' or c.startswith('label:'))}"
        )
    if "graph_hash" not in rows.columns:
        raise ProtocolError("rows lack a 'graph_hash' column; splits are made by graph so duplicates never leak")
    y = np.full(len(rows), np.nan)
    src = np.full(len(rows), "", dtype=object)
    prio = np.full(len(rows), len(labels))
    for i, col in enumerate(labels):
        v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        take = np.isnan(y) & np.isfinite(v)
        y[take] = v[take]
        prio[take] = i
        if col == "accuracy" and "accuracy_label" in rows.columns:
            src[take] = rows["accuracy_label"].astype(str).to_numpy()[take]
        else:
            src[take] = col.removeprefix("label:")
    keep = np.isfinite(y)
    out = rows[keep].copy()
    out[TARGET] = y[keep]
    out["_label"] = src[keep]
    out["_prio"] = prio[keep]
    out[GROUP] = label_groups(out["space"], out["_label"])
    if "id" not in out.columns:
        out["id"] = [f"{s}/{i}" for s, i in zip(out["space"], out.index)]
    return out


def space_rows(rows: Any, spaces: str | Sequence[str], *, what: str = "space") -> Any:
    """The rows of ``spaces``; a space with no labelled rows is a ``ProtocolError`` naming what exists."""
    names = [spaces] if isinstance(spaces, str) else list(spaces)
    have = sorted(rows["space"].unique().tolist())
    empty = [s for s in names if s not in have]
    if empty:
        raise ProtocolError(
            f"{what} {', '.join(map(repr, empty))} has no labelled networks in these rows; "
            f"labelled spaces here: {', '.join(have) or 'none'}"
        )
    return rows[rows["space"].isin(names)]


def unique_graphs(rows: Any) -> Any:
    """One row per ``graph_hash`` (best label source first, then by ``id``); its target is the mean over the
    graph's duplicates that carry the same label source (fidelities are never averaged together)."""
    keys = ["_prio", "id"] if "_prio" in rows.columns else ["id"]
    r = rows.sort_values(keys, kind="stable")
    first = r.drop_duplicates("graph_hash", keep="first").copy()
    if "_label" in r.columns:
        means = r.groupby(["graph_hash", "_label"])[TARGET].mean()
        first[TARGET] = means.loc[list(zip(first["graph_hash"], first["_label"]))].to_numpy()
    else:
        first[TARGET] = first["graph_hash"].map(r.groupby("graph_hash")[TARGET].mean()).to_numpy()
    return first


def sample_graphs(rows: Any, n: int, seed: int, *, leave: int = 1, what: str = "train size") -> tuple[Any, Any]:
    """Split ``rows`` by graph: ``n`` unique graphs drawn with ``seed``, and the rest.

    At least ``leave`` graphs must remain on the other side, else ``ProtocolError`` (a train size as large as the
    space would leave nothing to test on).
    """
    uniq = unique_graphs(rows)
    if n < 1:
        raise ProtocolError(f"{what} must be at least 1, got {n}")
    if n > len(uniq) - leave:
        raise ProtocolError(
            f"{what} {n} is too large: these rows hold {len(uniq)} unique graphs and at least {leave} must be left "
            "for testing; use a smaller n"
        )
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(uniq))[:n]
    chosen = uniq.iloc[np.sort(pick)]
    rest = uniq[~uniq["graph_hash"].isin(chosen["graph_hash"])]
    return chosen, rest


def without_graphs(rows: Any, exclude: Any) -> Any:
    """``rows`` minus every graph that appears in ``exclude`` (a frame with ``graph_hash``)."""
    return rows[~rows["graph_hash"].isin(set(exclude["graph_hash"]))]


def store_split(rows: Any, seed: int, test_fraction: float = 0.2) -> tuple[Any, Any]:
    """Train (train + val) and test rows from the store's ``split`` column, else a seeded split by graph hash."""
    if "split" in rows.columns and rows["split"].isin(["test"]).any():
        test = rows[rows["split"] == "test"]
        train = rows[rows["split"] != "test"]
    else:
        hashes = np.array(sorted(rows["graph_hash"].unique()))
        rng = np.random.default_rng(seed)
        test_h = set(rng.choice(hashes, size=max(1, int(round(test_fraction * len(hashes)))), replace=False))
        test = rows[rows["graph_hash"].isin(test_h)]
        train = rows[~rows["graph_hash"].isin(test_h)]
    return train, test
