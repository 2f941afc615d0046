"""The feature-family contract: a named function of one ONNX graph, registered in ``FEATURES``.

A family turns one ``onnx.ModelProto`` into ``{column: float}``; the engine (``onnxnet.features.engine``) computes
it for many rows and caches the result by graph hash under the family's ``tag`` (bump the version inside the tag
when the definition changes). A new family is one file in this package that registers a ``FeatureFamily``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from onnxnet.registry import Registry


@dataclass(frozen=True)
class FeatureFamily:
    """``name``: the kind ``features_frame`` takes; ``compute``: one graph to its features; ``tag``: the cache key
    (name and version); ``description``: one line for listings."""

    name: str
    compute: Callable[[Any], dict[str, float]]
    tag: str
    description: str = ""


#: All feature families by name (``all``, ``facts``, ``topology``, ``wl``, ``proxies``, ...).
FEATURES: Registry[FeatureFamily] = Registry("feature family")
