"""onnxnet.encode: canonical, lossless text encodings of ONNX graphs, their parser, and token lengths.

Public API::

    encode(model, encoding="compact", parts=None) -> str     # registry ENCODINGS: chain, compact
    parse(text) -> onnxnet.graph.Graph                       # reads both encodings back
    Parts                                                    # ablation: OPS | INPUTS | ATTRS | SHAPES
    count_tokens(text, tokenizer) -> int                     # any HF tokenizer: object, name or path
    fit_to_length(model, tokenizer, max_tokens) -> (text, LengthReport)   # fold, shorten, cut the middle
"""

from __future__ import annotations

from onnxnet.encode.base import ENCODINGS, Encoding, Parts, as_graph, encode, get_encoding
from onnxnet.encode import chain as _chain  # noqa: F401  (registers "chain")
from onnxnet.encode import compact as _compact  # noqa: F401  (registers "compact")
from onnxnet.encode.parse import parse
from onnxnet.encode.tokens import DROP_ORDER, LengthReport, count_tokens, cut_middle, fit_to_length, load_tokenizer

__all__ = ["DROP_ORDER", "ENCODINGS", "Encoding", "LengthReport", "Parts", "as_graph", "count_tokens", "cut_middle",
           "encode", "fit_to_length", "get_encoding", "load_tokenizer", "parse"]
