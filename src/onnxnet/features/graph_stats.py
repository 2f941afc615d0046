"""Graph statistics: space-agnostic, GRAF-style features of any ONNX graph (families ``all``, ``facts``, ``topology``).

GRAF (Kadlecova et al., 2024) describes a cell by op counts and by paths input -> output through op subsets.
ONNX graphs of whole networks have no cell boundary, so we compute the path statistics on the whole data-flow
DAG (graph input -> graph output) with a dynamic program over the topological order, for each op category
``c`` (conv, conv1x1, conv3x3, ..., pooling, weighted layers, nonlinearities): the number of paths, the fewest and
the most ``c`` nodes on any path, the path-averaged number of ``c`` nodes (the "effective depth" of the
ensemble-of-paths view), and the fraction of paths with no ``c`` node at all (shortcuts). Add op-category
counts, degree statistics, and the static facts of ``onnxnet.graph.graph_facts`` (#params, FLOPs, depth, width,
#nodes). Every feature is defined for every graph, so feature vectors from different spaces line up.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from onnxnet.errors import ModelLoadError
from onnxnet.features.base import FEATURES, FeatureFamily
from onnxnet.graph import graph_facts
from onnxnet.graph.ir import zero_filled
from onnxnet.graph.weights import is_empty

#: Bump when any feature's definition changes (disk caches are keyed by it).
FEATURES_VERSION = 2

#: Static facts taken from ``onnxnet.graph.graph_facts`` (never recomputed here).
FACT_NAMES: tuple[str, ...] = ("n_params", "flops", "depth", "width", "n_nodes")

_POOL = {"AveragePool", "MaxPool", "LpPool"}
_GLOBAL_POOL = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceMax"}
_LINEAR = {"Gemm", "MatMul", "MatMulInteger", "QLinearMatMul"}
_CONV = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"}
_ACT = {"Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus",
        "Gelu", "Mish", "Clip", "Softsign", "ThresholdedRelu", "Celu"}
_NORM = {"BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "LpNormalization"}
_MERGE_ADD = {"Add", "Sum"}
_SHAPE = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Split", "Pad", "Gather",
          "Shape", "Expand", "Tile", "Resize", "Upsample"}

#: Op categories counted per graph (a node can belong to several, e.g. ``conv`` and ``conv3x3``).
CATEGORIES: tuple[str, ...] = (
    "conv", "conv1x1", "conv3x3", "conv5x5", "conv7x7", "conv_other", "conv_strided", "conv_grouped",
    "pool", "global_pool", "linear", "weighted", "act", "norm", "add", "mul", "concat", "shape", "zero", "other",
)
#: Categories whose path statistics are computed (``all`` = every node).
PATH_CATEGORIES: tuple[str, ...] = ("all", "conv", "conv1x1", "conv3x3", "pool", "weighted", "act", "add")


def node_categories(op_type: str, attrs: dict[str, Any], weight_shape: tuple[int, ...] | None) -> set[str]:
    """The categories of one ONNX node from its op type, attributes and (for convs) its weight's shape."""
    cats: set[str] = set()
    if op_type in _CONV:
        cats |= {"conv", "weighted"}
        kernel = list(attrs.get("kernel_shape") or (weight_shape[2:] if weight_shape and len(weight_shape) > 2 else []))
        if kernel and len(set(kernel)) == 1 and kernel[0] in (1, 3, 5, 7):
            cats.add(f"conv{kernel[0]}x{kernel[0]}")
        else:
            cats.add("conv_other")
        if any(s > 1 for s in attrs.get("strides", [])):
            cats.add("conv_strided")
        if int(attrs.get("group", 1)) > 1:
            cats.add("conv_grouped")
    elif op_type in _LINEAR:
        cats |= {"linear", "weighted"}
    elif op_type in _POOL:
        cats.add("pool")
    elif op_type in _GLOBAL_POOL:
        cats.add("global_pool")
    elif op_type in _ACT:
        cats.add("act")
    elif op_type in _NORM:
        cats.add("norm")
    elif op_type in _MERGE_ADD:
        cats.add("add")
    elif op_type == "Mul":
        cats.add("mul")
    elif op_type == "Concat":
        cats.add("concat")
    elif op_type in _SHAPE:
        cats.add("shape")
    else:
        cats.add("other")
    return cats


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@dataclass
class DataFlow:
    """The data-flow DAG of an ONNX graph: the nodes reachable from a data input, with their op categories.

    ``preds[v]``: producer nodes of ``v``'s inputs; ``src[v]``: how many of its inputs are graph inputs;
    ``sinks``: nodes producing a graph output; ``killed``: multiplications by zero (NB201's ``none``) and convs /
    linear layers with an all-zero weight, through which no signal flows.
    """

    model: Any
    reach: set[int]
    preds: dict[int, list[int]]
    src: dict[int, int]
    succ_count: dict[int, int]
    outputs: set[str]
    sinks: list[int]
    cats: dict[int, set[str]]
    killed: set[int]


def data_flow(model: Any) -> DataFlow:
    """The ``DataFlow`` of ``model`` (an ``onnx.ModelProto``); shape subgraphs and constants are left out."""
    g = model.graph
    init_shapes = {t.name: tuple(t.dims) for t in g.initializer}
    const_names = set(init_shapes)
    zero_consts = {t.name for t in g.initializer if _all_zero(t)}
    for n in g.node:
        if n.op_type == "Constant":
            const_names.update(n.output)
            zero_consts.update(o for o in n.output if any(a.name == "value" and _all_zero(a.t) for a in n.attribute))
    inputs = [i.name for i in g.input if i.name not in const_names]
    if not inputs:
        raise ModelLoadError(f"ONNX graph {g.name!r} has no data input; cannot compute its graph features")
    producer: dict[str, int] = {}
    for idx, n in enumerate(g.node):
        for o in n.output:
            producer[o] = idx

    # Nodes reachable from the data input(s); edges node -> node through tensors.
    consumers: dict[str, list[int]] = defaultdict(list)
    for idx, n in enumerate(g.node):
        for t in n.input:
            if t:
                consumers[t].append(idx)
    reach: set[int] = set()
    queue = deque(i for name in inputs for i in consumers.get(name, []))
    while queue:
        v = queue.popleft()
        if v in reach:
            continue
        reach.add(v)
        for o in g.node[v].output:
            queue.extend(consumers.get(o, []))
    if not reach:
        raise ModelLoadError(f"ONNX graph {g.name!r}: no node consumes the input {inputs}; the graph is empty")

    preds: dict[int, list[int]] = {v: [] for v in reach}
    src: dict[int, int] = {v: 0 for v in reach}  # edges from the graph input itself
    for v in reach:
        for t in g.node[v].input:
            if t in producer and producer[t] in reach:
                preds[v].append(producer[t])
            elif t in inputs:
                src[v] += 1
    succ_count: dict[int, int] = defaultdict(int)
    for v, ps in preds.items():
        for u in ps:
            succ_count[u] += 1
    outputs = {o.name for o in g.output}
    sinks = [v for v in reach if any(o in outputs for o in g.node[v].output)]
    if not sinks:
        raise ModelLoadError(f"ONNX graph {g.name!r}: no graph output depends on the input; cannot compute its graph "
                             "features")

    cats = {v: node_categories(g.node[v].op_type, _attrs(g.node[v]),
                               next((init_shapes[t] for t in g.node[v].input[1:2] if t in init_shapes), None))
            for v in reach}
    # A multiplication by a constant zero (NB201's 'none' op) carries no signal: paths through it do not count;
    # nor do paths through a conv / linear layer with an all-zero weight (onnxsim folds that Mul into the conv).
    for v in reach:
        op, ins = g.node[v].op_type, list(g.node[v].input)
        if (op == "Mul" and any(t in zero_consts for t in ins)) or (
                op in _CONV | _LINEAR and len(ins) > 1 and ins[1] in zero_consts):
            cats[v] = {"zero"}
    killed = {v for v in reach if "zero" in cats[v]}
    return DataFlow(model, reach, preds, src, succ_count, outputs, sinks, cats, killed)


def topology_features(model: Any) -> dict[str, float]:
    """Op-category counts, degree statistics and path statistics of ``model`` (an ``onnx.ModelProto``).

    Only nodes on the data flow from a graph input are counted (shape subgraphs and constants are not).
    """
    flow = data_flow(model)
    g, reach, preds, src, cats = model.graph, flow.reach, flow.preds, flow.src, flow.cats
    succ_count, outputs, sinks, killed = flow.succ_count, flow.outputs, flow.sinks, flow.killed
    feats: dict[str, float] = {f"count_{c}": 0.0 for c in CATEGORIES}
    for v in reach:
        for c in cats[v]:
            feats[f"count_{c}"] += 1

    indeg = np.array([len(preds[v]) + src[v] for v in reach], dtype=float)
    outdeg = np.array([succ_count[v] + sum(o in outputs for o in g.node[v].output) for v in reach], dtype=float)
    feats.update({
        "n_data_nodes": float(len(reach)),
        "in_degree_mean": float(indeg.mean()), "in_degree_max": float(indeg.max()), "in_degree_std": float(indeg.std()),
        "out_degree_mean": float(outdeg.mean()), "out_degree_max": float(outdeg.max()),
        "out_degree_std": float(outdeg.std()),
        "n_merge_nodes": float((indeg > 1).sum()), "n_branch_nodes": float((outdeg > 1).sum()),
    })

    order = _topological(reach, preds)
    for c in PATH_CATEGORIES:
        member: Callable[[int], float] = (lambda v: 1.0) if c == "all" else (lambda v, c=c: float(c in cats[v]))
        feats.update(_path_stats(order, preds, src, sinks, member, c, killed))
    return feats


def _topological(nodes: set[int], preds: dict[int, list[int]]) -> list[int]:
    indeg = {v: len(preds[v]) for v in nodes}
    succ: dict[int, list[int]] = defaultdict(list)
    for v in nodes:
        for u in preds[v]:
            succ[u].append(v)
    ready = deque(sorted(v for v in nodes if indeg[v] == 0))
    order: list[int] = []
    while ready:
        u = ready.popleft()
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if len(order) != len(nodes):
        raise ModelLoadError("ONNX graph has a cycle in its data flow; graph features need a DAG")
    return order


def _all_zero(tensor: Any) -> bool:
    """Whether a tensor holds values and all are zero (weight-free stores keep constant tensors' values).

    Weights (rank >= 2) go through ``onnxnet.graph.ir.zero_filled``, the rule the encodings and ``graph_hash``
    use, which rejects a real weight from its first values instead of converting all of it.
    """
    from onnx import numpy_helper


    if len(tensor.dims) >= 2 and math.prod(tensor.dims) > 1:
        return zero_filled(tensor)
    if tensor.data_location == 1 or is_empty(tensor):
        return False
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception:  # noqa: BLE001  (a weight-free or exotic tensor: not a known zero)
        return False
    return arr.size > 0 and not np.any(arr)


def _path_stats(order: list[int], preds: dict[int, list[int]], src: dict[int, int], sinks: list[int],
                member: Callable[[int], float], name: str, killed: set[int]) -> dict[str, float]:
    """Paths input -> output: log10 count, min / max / path-mean number of member nodes, share with none.

    Paths through a ``killed`` node (a multiplication by zero) do not count. A graph with no live path gets
    count -1 and min / max -1: the output does not depend on the input at all.
    """
    paths: dict[int, float] = {}
    total: dict[int, float] = {}  # sum over paths of the number of member nodes
    zero: dict[int, float] = {}  # paths with no member node
    lo: dict[int, float] = {}
    hi: dict[int, float] = {}
    for v in order:
        if v in killed:
            paths[v] = total[v] = zero[v] = 0.0
            lo[v], hi[v] = math.inf, -math.inf
            continue
        m = member(v)
        live = [u for u in preds[v] if paths[u] > 0]
        p = float(src[v]) + sum(paths[u] for u in live)
        s = sum(total[u] for u in live)
        z = float(src[v]) + sum(zero[u] for u in live)
        cand_lo = [lo[u] for u in live] + ([0.0] if src[v] else [])
        cand_hi = [hi[u] for u in live] + ([0.0] if src[v] else [])
        paths[v], total[v], zero[v] = p, s + m * p, (0.0 if m else z)
        lo[v] = (min(cand_lo) if cand_lo else math.inf) + m
        hi[v] = (max(cand_hi) if cand_hi else -math.inf) + m
    p_out = sum(paths[v] for v in sinks)
    if not p_out > 0:
        return {f"path_{name}_log10_count": -1.0, f"path_{name}_min": -1.0, f"path_{name}_max": -1.0,
                f"path_{name}_mean": 0.0, f"path_{name}_frac_none": 0.0}
    return {
        f"path_{name}_log10_count": math.log10(p_out) if math.isfinite(p_out) else 308.0,
        f"path_{name}_min": min(lo[v] for v in sinks if paths[v] > 0),
        f"path_{name}_max": max(hi[v] for v in sinks if paths[v] > 0),
        f"path_{name}_mean": (sum(total[v] for v in sinks) / p_out) if math.isfinite(p_out) else float("nan"),
        f"path_{name}_frac_none": (sum(zero[v] for v in sinks) / p_out) if math.isfinite(p_out) else float("nan"),
    }


def static_facts(model: Any) -> dict[str, float]:
    """#params, FLOPs, depth, width and #nodes from ``onnxnet.graph.graph_facts`` (the single source of truth)."""
    f = graph_facts(model)
    return {k: float(getattr(f, k)) for k in FACT_NAMES}


def graph_features(model: Any) -> dict[str, float]:
    """All features of one graph: static facts plus topology features."""
    return {**static_facts(model), **topology_features(model)}


#: The graph features every space shares on one scale once logged: network size.
SIZE_COLUMNS: tuple[str, ...] = ("n_params", "flops")


def size_view(X: Any, graph_features: bool = True, log_size: bool = False) -> Any:
    """The feature frame ``X`` (of ``features_frame(kind="all")``) as a predictor reads it: all columns, or only
    ``SIZE_COLUMNS`` when not ``graph_features``; with ``log_size`` those as ``log1p`` (a difference of two is a
    size ratio, the same for small networks as for ten times bigger ones)."""
    size = [c for c in SIZE_COLUMNS if c in X.columns]
    if not graph_features:
        X = X[size]
    if log_size:
        X = X.assign(**{c: np.log1p(X[c].clip(lower=0)) for c in size})
    return X


FEATURES.register("all")(FeatureFamily("all", graph_features, f"all-v{FEATURES_VERSION}",
                                        "static facts and topology (path statistics, op categories)"))
FEATURES.register("facts")(FeatureFamily("facts", static_facts, f"facts-v{FEATURES_VERSION}",
                                          "#params, FLOPs, depth, width, #nodes"))
FEATURES.register("topology")(FeatureFamily("topology", topology_features, f"topology-v{FEATURES_VERSION}",
                                             "GRAF-style path statistics and op-category counts"))
