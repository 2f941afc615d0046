"""Weisfeiler-Lehman subtree features of any ONNX graph (family ``wl``): a bag of local patterns, hashed to a fixed width.

NAS-BOWL (Ru et al., 2021) showed that counts of WL subtree patterns of a cell, compared with a linear kernel,
predict accuracy well from few samples and say *which* motifs matter. Here the graph is the whole network's
data-flow DAG (``onnxnet.features.graph_stats.data_flow``), so the features exist for every ONNX file and line
up across search spaces. Each node starts with a label from its op (``Conv3x3``, ``Conv1x1/s2``, ``AveragePool3``,
``Zero`` for a multiplication by zero, ...); each iteration relabels a node by its label and the sorted labels of
its producers and consumers. The number of nodes carrying each label at iterations ``0..ITERATIONS`` is counted and
hashed (stable blake2b) into ``BUCKETS`` columns per iteration, so the vector has a fixed width whatever the graph.
A network made of repeated cells counts each cell's patterns once per copy: compare vectors by direction
(``normalise``), not length, when depth is not what you want to measure.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np

from onnxnet.features.base import FEATURES, FeatureFamily
from onnxnet.features.graph_stats import data_flow

#: Bump when labels, hashing or widths change (keys the disk cache).
WL_VERSION = 1
#: Relabelling rounds after the initial labels (patterns up to this many hops away).
ITERATIONS = 3
#: Hashed columns per iteration.
BUCKETS = 128


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def node_label(node: Any, cats: set[str]) -> str:
    """The initial WL label of one ONNX node: op type with kernel size, stride and grouping where they apply."""
    import onnx

    if "zero" in cats:
        return "Zero"
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    label = node.op_type
    kernel = list(attrs.get("kernel_shape") or [])
    if "conv" in cats:
        size = next((c[4:] for c in cats if c.startswith("conv") and "x" in c), "k")
        label = f"{node.op_type}{size}"
    elif kernel:
        label += "x".join(str(k) for k in kernel)
    if any(int(s) > 1 for s in attrs.get("strides", [])):
        label += "/s2"
    if int(attrs.get("group", 1)) > 1:
        label += "/g"
    return label


def wl_features(model: Any, iterations: int = ITERATIONS, buckets: int = BUCKETS) -> dict[str, float]:
    """``{"wl<t>_<bucket>": count}`` for ``t`` in ``0..iterations`` of one ``onnx.ModelProto``."""
    flow = data_flow(model)
    nodes = sorted(flow.reach)
    succs: dict[int, list[int]] = {v: [] for v in nodes}
    for v in nodes:
        for u in flow.preds[v]:
            succs[u].append(v)
    labels = {v: node_label(model.graph.node[v], flow.cats[v]) for v in nodes}
    feats = {f"wl{t}_{b:03d}": 0.0 for t in range(iterations + 1) for b in range(buckets)}
    for t in range(iterations + 1):
        for label, count in Counter(labels.values()).items():
            feats[f"wl{t}_{int(_digest(label), 16) % buckets:03d}"] += count
        if t < iterations:
            labels = {v: _digest(labels[v] + "<" + ",".join(sorted(labels[u] for u in flow.preds[v]))
                                 + ">" + ",".join(sorted(labels[w] for w in succs[v])))
                      for v in nodes}
    return feats


def normalise(X: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """Each iteration's block of counts scaled to unit length (a graph's patterns as proportions, not totals)."""
    X = np.asarray(X, dtype=float)
    blocks = np.array_split(np.arange(X.shape[1]), iterations + 1)
    out = np.empty_like(X)
    for cols in blocks:
        norm = np.linalg.norm(X[:, cols], axis=1, keepdims=True)
        out[:, cols] = X[:, cols] / np.where(norm > 0, norm, 1.0)
    return out


FEATURES.register("wl")(FeatureFamily("wl", wl_features, f"wl-v{WL_VERSION}",
                                      f"Weisfeiler-Lehman subtree patterns, {BUCKETS} hashed columns per iteration"))
