"""onnxnet.encode: canonical, lossless text encodings of ONNX graphs, their parser, and token lengths.

Public API::

    encode(model, encoding="compact", parts=None) -> str     # registry ENCODINGS: chain, compact
    parse(text) -> onnxnet.graph.Graph                       # reads both encodings back
    Parts                                                    # ablation: OPS | INPUTS | ATTRS | SHAPES
"""

from __future__ import annotations

from onnxnet.encode.base import ENCODINGS, Encoding, Parts, as_graph, encode, get_encoding
from onnxnet.encode import chain as _chain  # noqa: F401  (registers "chain")
from onnxnet.encode import compact as _compact  # noqa: F401  (registers "compact")
from onnxnet.encode.parse import parse

__all__ = ["ENCODINGS", "Encoding", "Parts", "as_graph", "encode", "get_encoding", "parse"]
