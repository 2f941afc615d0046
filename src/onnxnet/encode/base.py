"""The encoding contract, the ``ENCODINGS`` registry, the ablation ``Parts`` and ``encode()``."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from typing import Any, Iterable

import onnx

from onnxnet.errors import EncodingError
from onnxnet.graph.canonical import canonicalize
from onnxnet.graph.ir import Graph
from onnxnet.graph.load import load_model
from onnxnet.registry import Registry


class Parts(enum.Flag):
    """What the text shows (the paper's ablation). ``ALL`` (the default) is lossless.

    ``OPS`` op types (always shown); ``INPUTS`` connectivity (tensor names), graph input shapes and weight
    shapes; ``ATTRS`` every attribute; ``SHAPES`` output shapes at chain ends. The paper's cumulative
    settings are ``Parts.ablation_levels()``.
    """

    OPS = 1
    INPUTS = 2
    ATTRS = 4
    SHAPES = 8
    ALL = 15

    @classmethod
    def parse(cls, value: "Parts | str | Iterable[str] | None") -> "Parts":
        """``None``/``"all"`` -> ALL; ``"ops,inputs"`` or ``["ops", "inputs"]`` -> OPS|INPUTS (OPS is implied)."""
        if value is None:
            return cls.ALL
        if isinstance(value, Parts):
            return value | cls.OPS
        items = value.split(",") if isinstance(value, str) else list(value)
        out = cls.OPS
        for item in items:
            key = str(item).strip().upper()
            if not key:
                continue
            if key not in cls.__members__:
                raise EncodingError(f"unknown encoding part {item!r}; choose from: ops, inputs, attrs, shapes, all")
            out |= cls[key]
        return out

    @classmethod
    def ablation_levels(cls) -> list["Parts"]:
        """The paper's ablation: ops; + inputs & connectivity; + attributes; + output shapes."""
        return [cls.OPS, cls.OPS | cls.INPUTS, cls.OPS | cls.INPUTS | cls.ATTRS, cls.ALL]

    def label(self) -> str:
        """Stable text label, e.g. ``ops+inputs`` (used in cache keys)."""
        if self == Parts.ALL:
            return "all"
        return "+".join(p.name.lower() for p in (Parts.OPS, Parts.INPUTS, Parts.ATTRS, Parts.SHAPES)
                        if p in self)  # type: ignore[union-attr]


class Encoding(ABC):
    """A text encoding of a canonical graph. Bump ``version`` whenever the produced text changes."""

    name: str = ""
    version: int = 1

    @abstractmethod
    def render(self, graph: Graph, parts: Parts = Parts.ALL) -> str:
        """The text of ``graph`` (already canonical) showing ``parts``."""


#: All encodings, by name (``chain``, ``compact``).
ENCODINGS: Registry[type[Encoding]] = Registry("encoding")


def get_encoding(name: str) -> Encoding:
    """An instance of the encoding registered as ``name``."""
    return ENCODINGS.get(name)()


def as_graph(model: Any) -> Graph:
    """A canonical ``Graph`` from a canonical model, any ``ModelProto`` (canonicalised here), a ``Graph``, or any
    source ``load_model`` accepts (a path, bytes, a torch module is not accepted here: it needs an input shape)."""
    if isinstance(model, Graph):
        return model
    if isinstance(model, onnx.ModelProto):
        if model.producer_name != "onnxnet":
            model = canonicalize(model, weights=False)
        return _from_onnx(model)

    return _from_onnx(load_model(model))


def _from_onnx(model: onnx.ModelProto) -> Graph:
    try:
        return Graph.from_onnx(model)
    except ValueError as e:
        raise EncodingError(f"cannot encode the model: {e}") from None


def encode(model: Any, encoding: str = "compact", parts: Parts | str | Iterable[str] | None = None) -> str:
    """The text of ``model`` (canonical ``ModelProto`` from ``load_model``, any ``ModelProto``, a path or bytes)
    in ``encoding`` (``chain`` or ``compact``), showing ``parts`` (default: all, lossless)."""
    enc = get_encoding(encoding)
    return enc.render(as_graph(model), Parts.parse(parts))
