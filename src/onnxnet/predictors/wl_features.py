"""Old import path, kept for one release: the Weisfeiler-Lehman features live in ``onnxnet.features.wl``."""

from onnxnet.features.wl import BUCKETS, ITERATIONS, WL_VERSION, node_label, normalise, wl_features  # noqa: F401
