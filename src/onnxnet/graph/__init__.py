"""onnxnet.graph: load, export, check, simplify and canonicalise ONNX graphs; static graph facts.

Public API::

    load_model(source, input_shape=None, *, simplifier="onnxsim", opset=17) -> onnx.ModelProto
    export_torch(module, input_shape, opset=17) -> onnx.ModelProto
    graph_facts(model) -> GraphFacts
    graph_hash(model) -> str
    Graph.from_onnx(model)   # the weight-free IR that the encodings render and ``parse`` returns
"""

from __future__ import annotations

import hashlib

import onnx

from onnxnet.graph.canonical import canonicalize
from onnxnet.graph.export import DEFAULT_OPSET, export_torch, strip_metadata
from onnxnet.graph.facts import GraphFacts, graph_facts
from onnxnet.graph.ir import Graph, Node, TensorType, TensorValue
from onnxnet.graph.load import SIMPLIFIERS, load_model, read_model


def graph_hash(model: onnx.ModelProto | Graph) -> str:
    """Hex SHA-256 of a canonical graph's structure (ops, attributes, edges, shapes, small constants).

    Weight *values* are not part of it: the same architecture with other weights has the same hash. Pass a
    canonical model (``load_model`` output); equal canonical graphs give equal hashes.
    """
    g = model if isinstance(model, Graph) else Graph.from_onnx(model)
    payload = repr((g.inputs, g.outputs, sorted(g.consts.items()), [
        (n.op, n.domain, sorted(n.attrs.items()), n.inputs, n.outputs) for n in g.nodes], sorted(g.types.items())))
    return hashlib.sha256(payload.encode()).hexdigest()


__all__ = ["DEFAULT_OPSET", "Graph", "GraphFacts", "Node", "SIMPLIFIERS", "TensorType", "TensorValue",
           "canonicalize", "export_torch", "graph_facts", "graph_hash", "load_model", "read_model",
           "strip_metadata"]
