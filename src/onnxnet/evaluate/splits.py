"""Labelled rows, isomorphism classes, and seeded train/test splits that never let one class straddle both sides.

A *class* is what one network is, however it is stored: rows are in one class when they share an ONNX graph
(``graph_hash``) or, within a space, an isomorphism-canonical architecture (``arch_hash``, the hash of the
space's ``canonical_form``: NB201's ``UniqueString``, NB101's and NB301's canonical cells), and transitively so.
This matters because isomorphic NB201 cell strings give *different* ONNX graphs (they were trained separately
and carry their own labels): deduplicating by graph alone would put one functional twin in training and the
other in the test set. Every split here keeps a whole class on one side, for in-space, few-shot and zero-shot
test sets alike; rows without an ``arch_hash`` (files imported from elsewhere) are classed by graph alone.
Test sets hold one row per graph (each test graph is scored once, its label the mean over its duplicates).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.ranking import label_groups

#: Columns every protocol adds to its working copy of the rows: target, comparison group, isomorphism class.
TARGET, GROUP, CLASS = "_y", "_group", "_class"


def iso_classes(rows: Any) -> np.ndarray:
    """The isomorphism class of every row: connected components of "same ``graph_hash``" and "same space and
    ``arch_hash``"; each class is named by its smallest graph hash (the same name whatever else is in ``rows``)."""
    import pandas as pd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(rows)
    if n == 0:
        return np.array([], dtype=object)
    graph = rows["graph_hash"].astype(str).to_numpy()
    keys = ["g:" + graph]
    if "arch_hash" in rows.columns:
        ah = rows["arch_hash"]
        known = (ah.notna() & (ah.astype(str) != "")).to_numpy()
        arch = ("a:" + rows["space"].astype(str) + ":" + ah.astype(str)).to_numpy()
        keys.append(np.where(known, arch, keys[0]))  # no arch hash: its graph key again (no new link)
    codes, uniques = pd.factorize(np.concatenate(keys))
    m = len(uniques)
    r = np.tile(np.arange(n), len(keys))
    adj = coo_matrix((np.ones(len(r)), (r, n + codes)), shape=(n + m, n + m))
    comp = connected_components(adj, directed=False)[1][:n]
    return pd.Series(graph).groupby(comp).transform("min").to_numpy()


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
    out[CLASS] = iso_classes(out)
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
    """Split ``rows`` by isomorphism class: ``n`` unique graphs of ``n`` different classes, and every graph of
    the other classes.

    The graphs are drawn uniformly with ``seed``; a graph whose class is already drawn is skipped (its twins are
    neither trained on nor tested). At least ``leave`` classes must remain on the other side, else
    ``ProtocolError`` (a train size as large as the space would leave nothing to test on).
    """
    uniq = unique_graphs(rows)
    classes = uniq[CLASS] if CLASS in uniq.columns else uniq["graph_hash"]
    n_classes = int(classes.nunique())
    if n < 1:
        raise ProtocolError(f"{what} must be at least 1, got {n}")
    if n > n_classes - leave:
        raise ProtocolError(
            f"{what} {n} is too large: these rows hold {len(uniq)} unique graphs in {n_classes} isomorphism "
            f"classes, and at least {leave} class(es) must be left for testing; use a smaller n"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(uniq))
    first = ~classes.iloc[order].duplicated().to_numpy()  # the first drawn graph of each class
    pick = order[first][:n]
    chosen = uniq.iloc[np.sort(pick)]
    rest = uniq[~classes.isin(set(classes.iloc[pick])).to_numpy()]
    return chosen, rest


def n_classes(rows: Any) -> int:
    """How many isomorphism classes ``rows`` (from ``labelled``) hold."""
    return int(rows[CLASS].nunique()) if CLASS in rows.columns else int(rows["graph_hash"].nunique())


def without_graphs(rows: Any, exclude: Any) -> Any:
    """``rows`` minus every row of an isomorphism class that appears in ``exclude`` (a frame with
    ``graph_hash``, and ``arch_hash`` where known); classes are found on both frames together, so a twin linked
    only through a third row is excluded too."""
    import pandas as pd

    if len(exclude) == 0 or len(rows) == 0:
        return rows
    cols = [c for c in ("graph_hash", "arch_hash", "space") if c in rows.columns and c in exclude.columns]
    both = pd.concat([rows[cols], exclude[cols]], ignore_index=True)
    cls = iso_classes(both)
    return rows[~np.isin(cls[:len(rows)], cls[len(rows):])]


def straddling(train: Any, test: Any) -> int:
    """How many isomorphism classes have rows in both ``train`` and ``test`` (0 for every split made here)."""
    import pandas as pd

    cols = [c for c in ("graph_hash", "arch_hash", "space") if c in train.columns and c in test.columns]
    cls = iso_classes(pd.concat([train[cols], test[cols]], ignore_index=True))
    return len(set(cls[:len(train)]) & set(cls[len(train):]))


def store_split(rows: Any, seed: int, test_fraction: float = 0.2) -> tuple[Any, Any]:
    """Train (train + val) and test rows from the store's ``split`` column, else a seeded split by isomorphism
    class; training rows of a class that has a test row are dropped, so no class straddles."""
    if "split" in rows.columns and rows["split"].isin(["test"]).any():
        test = rows[rows["split"] == "test"]
        train = without_graphs(rows[rows["split"] != "test"], test)
    else:
        import pandas as pd

        cls = pd.Series(rows[CLASS] if CLASS in rows.columns else iso_classes(rows), index=rows.index)
        names = np.array(sorted(cls.unique()))
        rng = np.random.default_rng(seed)
        test_c = set(rng.choice(names, size=max(1, int(round(test_fraction * len(names)))), replace=False))
        test = rows[cls.isin(test_c)]
        train = rows[~cls.isin(test_c)]
    return train, test
