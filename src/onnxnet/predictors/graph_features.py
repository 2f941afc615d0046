"""Old import path, kept for one release: graph statistics and the feature engine live in ``onnxnet.features``."""

from onnxnet.features.engine import _MEM_CACHE, clear_memory_cache, features_frame  # noqa: F401
from onnxnet.features.graph_stats import (FACT_NAMES, FEATURES_VERSION, SIZE_COLUMNS, DataFlow,  # noqa: F401
                                          data_flow, graph_features, node_categories, size_view, static_facts,
                                          topology_features)
