"""Canonicalise an ONNX graph: drop no-ops and dead nodes, merge duplicates, fix node order and names.

The canonical node order depends only on the graph's structure, never on the file's node order or on names:

1. Every node gets a *label* hash: op type, domain, attributes, the types of its outputs, and for each input
   slot what feeds it when that is not another node (graph input position, constant type and kept values).
2. Colour refinement (Weisfeiler-Lehman style, over in- and out-edges with slot numbers) gives colours
   ``c0..cR`` that describe a node's neighbourhood of radius ``r``; full Merkle hashes over all ancestors
   (``up``) and all descendants (``down``) come last. Refinement runs twice: first on labels with every
   dimension hidden (ranks only), then on full labels. Nodes are compared on
   ``(coarse c0..cR, fine c0..cR, up, down)``: the most *local*, least *size-specific* difference decides,
   so every copy of a repeated block, at any width or resolution, is ordered the same way (which is what
   lets the ``compact`` encoding fold it).
3. A topological sort (Kahn) takes, among ready nodes, the one whose producers were emitted last (latest
   producer first, depth-first, so chains stay together; then the next-latest, ...), then the smallest key
   above, then the canonical positions of its inputs by slot. Nodes still tied after that have identical
   inputs and identical neighbourhoods at every radius.

Tensors are then renamed: graph inputs ``x0, x1, ...`` (declared order), node outputs ``t0, t1, ...`` in
canonical order, constants ``w<node>_<slot>`` after their first consumer, symbolic dims ``d0, d1, ...``,
nodes ``n0, n1, ...``. Doc strings and metadata are removed.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from typing import Callable

import numpy as np
import onnx
from onnx import helper

from onnxnet.errors import ModelLoadError
from onnxnet.graph.ir import CONFIG_SLOTS, attr_value, keep_values, numel, zero_filled

#: Ops that compute nothing at inference time and are removed (their output is their first input).
NOOP_OPS = frozenset({"Identity", "Dropout"})
#: Ops whose result is random: never merged as duplicates.
NONDETERMINISTIC_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                                  "Multinomial", "Bernoulli"})
#: Rounds of colour refinement (radius of the neighbourhood that orders otherwise-equal nodes first).
REFINE_ROUNDS = 3


#: ``producer_name`` of every graph ``canonicalize`` writes; ``load_model`` skips the simplifier for such files
#: (``bench export`` output, saved ``load_model`` results): they were simplified when they were made.
CANONICAL_PRODUCER = "onnxnet"

def stable_hash(text: str) -> int:
    """A 60-bit hash of a string that is the same in every process (``hash(str)`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 4


def _h(obj: tuple) -> int:
    # not ``hash()``: the canonical order, and so the text, must not depend on the Python version or platform
    return int.from_bytes(hashlib.blake2b(repr(obj).encode(), digest_size=8).digest(), "big") >> 4


def has_subgraphs(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Nodes that hold subgraphs (If, Loop, Scan, ...)."""
    A = onnx.AttributeProto
    return [n for n in model.graph.node if any(a.type in (A.GRAPH, A.GRAPHS) for a in n.attribute)]


def topo_sort_nodes(nodes: list[onnx.NodeProto], available: set[str], *, source: str = "<model>"
                    ) -> list[onnx.NodeProto]:
    """Nodes in a topological order (stable: keeps file order where it is already valid)."""
    producer: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if o:
                producer[o] = i
    indeg = [0] * len(nodes)
    users: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(nodes):
        for name in set(n.input):
            if not name or name in available:
                continue
            p = producer.get(name)
            if p is None:
                raise ModelLoadError(
                    f"{source}: node {n.name or n.op_type!r} ({n.op_type}) reads tensor {name!r}, which no node, "
                    "graph input or initializer provides; the graph is broken; re-export the model"
                )
            if p == i:
                raise ModelLoadError(f"{source}: node {n.name or n.op_type!r} reads its own output {name!r}")
            indeg[i] += 1
            users[p].append(i)
    ready = [i for i in range(len(nodes)) if indeg[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(nodes):
        raise ModelLoadError(f"{source}: the graph has a cycle; ONNX graphs must be acyclic; re-export the model")
    return [nodes[i] for i in order]


def _attr_key(n: onnx.NodeProto) -> str:
    return repr(sorted((a.name, attr_value(a)) for a in n.attribute))


def _type_key(tp: onnx.TypeProto | None) -> str:
    if tp is None or not tp.HasField("tensor_type"):
        return "?"
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return f"{tt.elem_type}"
    return f"{tt.elem_type}:" + ",".join(
        str(d.dim_value) if d.HasField("dim_value") else ("s" if d.dim_param else "?") for d in tt.shape.dim)


def _init_key(t: onnx.TensorProto, keep: bool) -> str:
    base = f"W{t.data_type}:{tuple(t.dims)}"
    if keep or keep_values(t.data_type, numel(t)):
        try:
            base += repr(onnx.numpy_helper.to_array(t).reshape(-1).tolist())
        except Exception:
            pass
    elif zero_filled(t):
        base += "=0"
    return base


def _init_fingerprint(t: onnx.TensorProto) -> bytes:
    """Cheap fingerprint: type, dims and the first/last bytes (full comparison only when these match)."""
    data = t.raw_data
    return f"{t.data_type}:{tuple(t.dims)}".encode() + (data[:64] + data[-64:] if data else t.SerializeToString()[:256])


def _same_tensor(a: onnx.TensorProto, b: onnx.TensorProto) -> bool:
    if a.raw_data and b.raw_data:
        return a.raw_data == b.raw_data
    return bool(np.array_equal(onnx.numpy_helper.to_array(a), onnx.numpy_helper.to_array(b)))


def duplicate_initializers(inits: dict[str, onnx.TensorProto]) -> dict[str, str]:
    """``{duplicate name: first name}`` for small constants (those whose values are part of the structure:
    shapes, axes, scalars) with equal type, shape and values. Weights are never merged by value: equal
    values there (e.g. zero biases of a freshly initialised network) are an accident of training, not
    structure."""
    groups: dict[bytes, list[str]] = defaultdict(list)
    for name, t in inits.items():
        if t.data_location == onnx.TensorProto.EXTERNAL or not keep_values(t.data_type, numel(t)):
            continue
        groups[_init_fingerprint(t)].append(name)
    alias: dict[str, str] = {}
    for names in groups.values():
        firsts: list[str] = []
        for name in names:
            same = next((f for f in firsts if _same_tensor(inits[f], inits[name])), None)
            if same is None:
                firsts.append(name)
            else:
                alias[name] = same
    return alias


def canonicalize(model: onnx.ModelProto, *, source: str = "<model>", unshare_weights: bool = True,
                 weights: bool = True) -> onnx.ModelProto:
    """A canonical copy of ``model`` (see the module docstring); the input is not modified.

    ``unshare_weights``: exporters merge initializers with equal values (torch turns the zero biases of a
    freshly folded BatchNorm into one shared tensor), which would make the text depend on weight values.
    By default every use of a constant gets its own copy (after duplicate nodes were merged), so each is
    written where it is used. Pass ``False`` to keep deliberate sharing (tied weights) visible.
    ``weights=False`` leaves out the values of large weights (type and shape only): much faster for big
    models when only the text or the facts are needed.
    """
    g = model.graph
    sub = has_subgraphs(model)
    if sub:
        n = sub[0]
        raise ModelLoadError(
            f"{source}: node {n.name or n.op_type!r} ({n.op_type}) holds a subgraph; data-dependent control flow "
            "(If/Loop/Scan) is not supported by onnxnet's canonical text (an If on a constant condition is folded "
            "away by the default simplifier); export the model traced, with loops unrolled"
        )
    inits, graph_inputs, vtypes = _constants_and_types(g)
    input_pos = {vi.name: i for i, vi in enumerate(graph_inputs)}
    out_names = [vi.name for vi in g.output]
    nodes = topo_sort_nodes([n for n in g.node if not (n.op_type == "Constant" and n.output[0] in inits)],
                            set(inits) | set(input_pos), source=source)
    kept, res = _merge_nodes(nodes, inits)
    outputs = [res(o) for o in out_names]
    kept = _drop_dead_nodes(kept, outputs)
    order = _canonical_order(kept, inits, input_pos, outputs, vtypes)
    return _rebuild(model, [kept[i] for i in order], inits, graph_inputs, outputs, out_names, vtypes,
                    unshare_weights, weights)


def _constants_and_types(g: onnx.GraphProto) -> tuple[dict[str, onnx.TensorProto], list[onnx.ValueInfoProto],
                                                       dict[str, onnx.TypeProto]]:
    """Initializers (Constant nodes included: written inline like any constant), the graph inputs that are not
    initializers, and every declared value type."""
    inits: dict[str, onnx.TensorProto] = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            t = _constant_tensor(n)
            if t is not None:
                inits[n.output[0]] = t
    graph_inputs = [vi for vi in g.input if vi.name not in inits]
    vtypes: dict[str, onnx.TypeProto] = {vi.name: vi.type for vi in list(g.value_info) + list(g.input) + list(g.output)}
    return inits, graph_inputs, vtypes


def _merge_nodes(nodes: list[onnx.NodeProto], inits: dict[str, onnx.TensorProto]
                 ) -> tuple[list[onnx.NodeProto], Callable[[str], str]]:
    """No-ops, duplicate constants and duplicate nodes (CSE) removed in one forward pass: the kept nodes (clean
    copies) and the resolver from a removed value's name to the name that replaces it."""
    alias: dict[str, str] = {}

    def res(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    alias.update(duplicate_initializers(inits))
    kept: list[onnx.NodeProto] = []
    seen: dict[tuple, list[str]] = {}
    for n in nodes:
        ins = [res(x) if x else "" for x in n.input]
        if n.op_type in NOOP_OPS and n.domain in ("", "ai.onnx") and ins and ins[0]:
            mask_used = n.op_type == "Dropout" and len(n.output) > 1 and bool(n.output[1])
            if n.op_type == "Identity" or (not mask_used and _dropout_is_noop(n, ins, inits)):
                alias[n.output[0]] = ins[0]
                continue
        key = None
        if n.op_type not in NONDETERMINISTIC_OPS:
            key = (n.op_type, n.domain, _attr_key(n), tuple(ins))
            if key in seen:
                for o, o0 in zip(n.output, seen[key]):
                    if o:
                        alias[o] = o0
                continue
        new = onnx.NodeProto()
        new.op_type, new.domain = n.op_type, ("" if n.domain == "ai.onnx" else n.domain)
        new.input.extend(ins)
        new.output.extend(n.output)
        new.attribute.extend(n.attribute)
        for a in new.attribute:
            a.ClearField("doc_string")
        kept.append(new)
        if key is not None:
            seen[key] = list(n.output)
    return kept, res


def _producers(nodes: list[onnx.NodeProto]) -> dict[str, tuple[int, int]]:
    """Value name -> (producing node, output slot)."""
    producer: dict[str, tuple[int, int]] = {}
    for i, n in enumerate(nodes):
        for k, o in enumerate(n.output):
            if o:
                producer[o] = (i, k)
    return producer


def _drop_dead_nodes(kept: list[onnx.NodeProto], outputs: list[str]) -> list[onnx.NodeProto]:
    """Nodes the outputs depend on; unused outputs of the rest dropped (trailing) or blanked (inner)."""
    producer = _producers(kept)
    live = [False] * len(kept)
    stack = [producer[o][0] for o in outputs if o in producer]
    while stack:
        i = stack.pop()
        if live[i]:
            continue
        live[i] = True
        stack.extend(producer[x][0] for x in kept[i].input if x in producer)
    kept = [n for i, n in enumerate(kept) if live[i]]
    used: set[str] = set(outputs)
    for n in kept:
        used.update(n.input)
    for n in kept:
        outs = [o if o in used else "" for o in n.output]
        while outs and not outs[-1]:
            outs.pop()
        if not outs:
            outs = [n.output[0]]
        del n.output[:]
        n.output.extend(outs)
    return kept


def _constant_tensor(n: onnx.NodeProto) -> onnx.TensorProto | None:
    """The value of a Constant node as a ``TensorProto`` named after its output (None for sparse values)."""
    if len(n.attribute) != 1 or not n.output:
        return None
    a = n.attribute[0]
    name = n.output[0]
    if a.name == "value":
        t = onnx.TensorProto()
        t.CopyFrom(a.t)
        t.name = name
        return t
    values = {"value_float": (onnx.TensorProto.FLOAT, [], [a.f]), "value_int": (onnx.TensorProto.INT64, [], [a.i]),
              "value_floats": (onnx.TensorProto.FLOAT, [len(a.floats)], list(a.floats)),
              "value_ints": (onnx.TensorProto.INT64, [len(a.ints)], list(a.ints))}
    if a.name in values:
        dtype, dims, vals = values[a.name]
        return helper.make_tensor(name, dtype, dims, vals)
    return None


def _dropout_is_noop(n: onnx.NodeProto, ins: list[str], inits: dict[str, onnx.TensorProto]) -> bool:
    """Dropout is the identity at inference unless ``training_mode`` is a constant true."""
    if len(ins) >= 3 and ins[2]:
        t = inits.get(ins[2])
        if t is None:
            return False
        return not bool(onnx.numpy_helper.to_array(t).reshape(-1)[0])
    return True


def _node_labels(nodes: list[onnx.NodeProto], inits: dict[str, onnx.TensorProto], input_pos: dict[str, int],
                 outputs: list[str], vtypes: dict[str, onnx.TypeProto]) -> tuple[list, list, list[int], list[int]]:
    """In-edges (slot, producer, out index) and out-edges (consumer, slot, out index) per node, and two labels per
    node: ``coarse`` hides dimensions (so copies of a block at other widths or resolutions are ordered alike),
    ``fine`` has them."""
    n_nodes = len(nodes)
    producer = _producers(nodes)
    out_pos: dict[str, list[int]] = defaultdict(list)
    for j, o in enumerate(outputs):
        out_pos[o].append(j)
    ins: list[list[tuple[int, int, int]]] = [[] for _ in range(n_nodes)]
    outs: list[list[tuple[int, int, int]]] = [[] for _ in range(n_nodes)]
    coarse: list[int] = []
    fine: list[int] = []
    cache: dict[str, int] = {}
    for i, n in enumerate(nodes):
        parts = [n.op_type, n.domain, _attr_key(n)]
        dims: list[str] = []
        for j, x in enumerate(n.input):
            if not x:
                parts.append("-")
            elif x in producer:
                p, k = producer[x]
                ins[i].append((j, p, k))
                outs[p].append((i, j, k))
                parts.append("N")
            elif x in input_pos:
                parts.append(f"X{input_pos[x]}")
            else:
                t = inits[x]
                parts.append(f"W{t.data_type}:{len(t.dims)}")
                dims.append(_init_key(t, (n.op_type, j) in CONFIG_SLOTS))
        for o in n.output:
            tk = _type_key(vtypes.get(o)) if o else "-"
            parts.append(f"O{tk.count(',') + 1 if ':' in tk else tk}" + "".join(f"@{p}" for p in out_pos.get(o, ())))
            dims.append(tk)
        text = "|".join(parts)
        full = text + "|" + "|".join(dims)
        for t_, lst in ((text, coarse), (full, fine)):
            lab = cache.get(t_)
            if lab is None:
                lab = cache[t_] = stable_hash(t_)
            lst.append(lab)
    return ins, outs, coarse, fine


def _refine(label: list[int], ins: list, outs: list) -> list[list[int]]:
    """Colour refinement: each round's colour is the rank of the node's signature among all signatures
    (structural, and cheaper than hashing); the colours of every round."""
    cols = [label]
    c = label
    for _ in range(REFINE_ROUNDS):
        sigs = [(c[i], tuple((j, c[p], k) for j, p, k in ins[i]),
                 tuple(sorted((c[u], j, k) for u, j, k in outs[i]))) for i in range(len(label))]
        rank = {sig: r for r, sig in enumerate(sorted(set(sigs)))}
        c = [rank[sig] for sig in sigs]
        cols.append(c)
    return cols


def _canonical_order(nodes: list[onnx.NodeProto], inits: dict[str, onnx.TensorProto],
                     input_pos: dict[str, int], outputs: list[str], vtypes: dict[str, onnx.TypeProto]
                     ) -> list[int]:
    """The canonical node order: a topological order that breaks ties by structural keys only."""
    n_nodes = len(nodes)
    ins, outs, coarse, fine = _node_labels(nodes, inits, input_pos, outputs, vtypes)
    colours = _refine(coarse, ins, outs) + _refine(fine, ins, outs)
    label = fine
    # nodes are already topologically sorted, so one pass each way gives the full Merkle hashes
    up = [0] * n_nodes
    for i in range(n_nodes):
        up[i] = _h((label[i], tuple((j, up[p], k) for j, p, k in ins[i])))
    down = [0] * n_nodes
    for i in range(n_nodes - 1, -1, -1):
        down[i] = _h((label[i], tuple(sorted((down[u], j, k) for u, j, k in outs[i]))))
    key = [tuple(col[i] for col in colours) + (up[i], down[i]) for i in range(n_nodes)]

    indeg = [len({p for _, p, _ in ins[i]}) for i in range(n_nodes)]
    pos = [-1] * n_nodes
    heap: list[tuple] = []

    def push(i: int) -> None:
        # positions of the producers, latest first: relative to what was emitted, so every copy of a
        # repeated block compares the same way (colours alone can differ at a block's border)
        recent = tuple(sorted((-pos[p] for _, p, _ in ins[i])))
        heapq.heappush(heap, (recent[:1] or (1,), recent, key[i], tuple((j, pos[p], k) for j, p, k in ins[i]), i))

    for i in range(n_nodes):
        if indeg[i] == 0:
            push(i)
    order: list[int] = []
    while heap:
        i = heapq.heappop(heap)[-1]
        pos[i] = len(order)
        order.append(i)
        for u in sorted({u for u, _, _ in outs[i]}):
            indeg[u] -= 1
            if indeg[u] == 0:
                push(u)
    return order


def _rebuild(model: onnx.ModelProto, nodes: list[onnx.NodeProto], inits: dict[str, onnx.TensorProto],
             graph_inputs: list[onnx.ValueInfoProto], outputs: list[str], out_names: list[str],
             vtypes: dict[str, onnx.TypeProto], unshare_weights: bool, weights: bool) -> onnx.ModelProto:
    rename: dict[str, str] = {}
    for i, vi in enumerate(graph_inputs):
        rename[vi.name] = f"x{i}"
    t = 0
    new_inits: list[tuple[str, onnx.TensorProto]] = []
    node_inputs: list[list[str]] = []
    for k, n in enumerate(nodes):
        ins = []
        for j, x in enumerate(n.input):
            if x and x in inits and (x not in rename or (
                    unshare_weights)):
                name = f"w{k}_{j}"
                rename.setdefault(x, name)
                new_inits.append((name, inits[x]))
                ins.append(name)
            else:
                ins.append(rename[x] if x else "")
        node_inputs.append(ins)
        for o in n.output:
            if o:
                rename[o] = f"t{t}"
                t += 1
    dims: dict[str, str] = {}

    out = onnx.ModelProto()  # built in place: every message is copied once, not once per wrapper
    out.ir_version = model.ir_version
    out.producer_name = CANONICAL_PRODUCER
    out.opset_import.extend(model.opset_import)
    graph = out.graph
    graph.name = "graph"

    def typed(vi: onnx.ValueInfoProto, name: str, new_name: str, type_of: str | None = None) -> None:
        vi.name = new_name
        tp = vtypes.get(type_of or name) or vtypes.get(name)
        if tp is not None:
            vi.type.CopyFrom(tp)
            vi.type.ClearField("denotation")
            if vi.type.HasField("tensor_type"):
                for d in vi.type.tensor_type.shape.dim:
                    d.ClearField("denotation")
                    if d.HasField("dim_param"):
                        d.dim_param = dims.setdefault(d.dim_param, f"d{len(dims)}")

    for vi in graph_inputs:
        typed(graph.input.add(), vi.name, rename[vi.name])
    out_set = set(outputs)
    for k, (n, ins) in enumerate(zip(nodes, node_inputs)):
        nn = graph.node.add()
        nn.op_type, nn.domain, nn.name = n.op_type, n.domain, f"n{k}"
        nn.input.extend(ins)
        nn.output.extend(rename[o] if o else "" for o in n.output)
        nn.attribute.extend(n.attribute)
        for o in n.output:
            if o and o not in out_set and o in vtypes:
                typed(graph.value_info.add(), o, rename[o])
    for o, orig in zip(outputs, out_names):
        if o not in rename:  # an output that is directly a constant: keep the constant
            rename[o] = f"w_out{len(new_inits)}"
            new_inits.append((rename[o], inits[o]))
        typed(graph.output.add(), o, rename[o], orig)
    for name, src in new_inits:
        t = graph.initializer.add()
        if weights or keep_values(src.data_type, numel(src)) or zero_filled(src):
            t.CopyFrom(src)
            t.ClearField("doc_string")
        else:  # type and shape only: enough for the encodings and the facts
            t.data_type = src.data_type
            t.dims.extend(src.dims)
        t.name = name
    return out
