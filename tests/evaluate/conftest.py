"""Tiny, real ONNX rows in the store schema, made from small torch CNNs (fast: no benchmark build needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def tiny_net(width: int, depth: int, kernel: int, skip: bool):
    """A small CNN: stem conv, ``depth`` conv blocks (optionally residual), global pool, linear head."""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(width, width, kernel, padding=kernel // 2)
            self.act = nn.ReLU()

        def forward(self, x):
            y = self.act(self.conv(x))
            return x + y if skip else y

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, width, 3, padding=1)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.head = nn.Linear(width, 10)

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)).mean((2, 3)))

    return Net().eval()


def make_rows(configs: list[tuple[str, int, int, int, bool]], seed: int = 0) -> pd.DataFrame:
    """Rows (store schema) for ``(space, width, depth, kernel, skip)`` configs; accuracy grows with size."""
    import torch

    from onnxnet.graph import graph_facts, graph_hash, load_model

    rng = np.random.default_rng(seed)
    recs = []
    for i, (space, w, d, k, s) in enumerate(configs):
        torch.manual_seed(i)
        model = load_model(tiny_net(w, d, k, s), (1, 3, 8, 8))
        f = graph_facts(model)
        acc = 50 + 8 * np.log2(f.n_params) / 4 + 3 * s + rng.normal(0, 0.3)
        recs.append({
            "id": f"{space}/{i}", "space": space, "arch": f"w{w}-d{d}-k{k}-s{int(s)}",
            "graph_hash": graph_hash(model), "onnx": model.SerializeToString(), "n_params": f.n_params,
            "flops": f.flops, "depth": f.depth, "n_nodes": f.n_nodes, "split": ["train", "test"][i % 2],
            "accuracy": float(acc), "accuracy_label": "toy",
        })
    return pd.DataFrame(recs)


CONFIGS = [
    (space, w, d, k, s)
    for space, widths in (("toy_a", (2, 4, 6)), ("toy_b", (3, 5)))
    for w in widths for d in (1, 2, 3) for k in (1, 3) for s in (False, True)
    if not (space == "toy_b" and d == 3)
]


@pytest.fixture(scope="session")
def tiny_rows() -> pd.DataFrame:
    """60 tiny networks in two spaces, plus one exact duplicate graph (same architecture, new weights)."""
    rows = make_rows(CONFIGS)
    dup = make_rows([("toy_a", 2, 1, 1, False)], seed=1)
    dup["id"] = "toy_a/dup"
    return pd.concat([rows, dup], ignore_index=True)


@pytest.fixture
def store_of():
    """``store_of(folder, rows) -> path``: a real benchmark store holding ``rows`` (one part per space)."""
    from onnxnet.bench.store import BenchStore

    def make(folder, rows: pd.DataFrame):
        store = BenchStore.create(folder / "store")
        for space, part in rows.groupby("space"):
            store.write_part(f"{space}-test-0", part.drop(columns=["accuracy_label"]).assign(accuracy_label="toy"))
        return store.path

    return make
