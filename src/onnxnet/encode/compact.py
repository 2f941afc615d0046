"""The ``compact`` encoding: the chain format with repeated blocks folded (``repeat N { ... }``)."""

from __future__ import annotations

from onnxnet.encode.base import ENCODINGS, Parts
from onnxnet.encode.chain import ChainEncoding
from onnxnet.graph.ir import Graph


@ENCODINGS.register("compact")
class CompactEncoding(ChainEncoding):
    """Chain format with repeats folded (folding not implemented yet: same text as ``chain``)."""

    name = "compact"
    version = 0

    def render(self, graph: Graph, parts: Parts = Parts.ALL) -> str:
        return super().render(graph, parts)
