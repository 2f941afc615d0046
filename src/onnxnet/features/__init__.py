"""Features of any ONNX graph: families registered in ``FEATURES``, computed and cached by the engine.

Families: graph statistics (``all``, ``facts``, ``topology``: ``graph_stats.py``), Weisfeiler-Lehman patterns
(``wl``: ``wl.py``), zero-cost proxies of the untrained network run from its ONNX (``proxies``, ``proxies-seedK``,
``proxy-<name>``: ``onnx_proxies.py``; the proxy functions themselves are the ``PROXIES`` registry in
``features/proxies/``). Predictors declare which families they read and get frames from ``features_frame``.
"""

from onnxnet.features.base import FEATURES, FeatureFamily
from onnxnet.features.engine import clear_memory_cache, compose, features_frame
from onnxnet.features.graph_stats import (FACT_NAMES, SIZE_COLUMNS, graph_features, size_view, static_facts,
                                          topology_features)
from onnxnet.features.onnx_proxies import PROXY_SET, onnx_proxy_features, proxy_frame, with_proxies
from onnxnet.features.wl import wl_features

__all__ = ["FACT_NAMES", "FEATURES", "FeatureFamily", "PROXY_SET", "SIZE_COLUMNS", "clear_memory_cache", "compose", "features_frame",
           "graph_features", "onnx_proxy_features", "proxy_frame", "size_view", "static_facts",
           "topology_features", "wl_features", "with_proxies"]
