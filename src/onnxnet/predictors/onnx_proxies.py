"""Old import path, kept for one release: the ONNX zero-cost proxies live in ``onnxnet.features.onnx_proxies``."""

from onnxnet.features.onnx_proxies import (EXTRA_PROXIES, MAX_PROXY_SEEDS, PROXIES_VERSION, PROXY_SET,  # noqa: F401
                                           onnx_proxy_features, proxy_frame, proxy_input_size, with_proxies)
