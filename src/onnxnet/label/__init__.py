"""onnxnet.label: the standardised CIFAR-10 training pipeline that labels networks for ONNX-Bench.

    from onnxnet.label import Recipe, Network, label_networks
    label_networks("runs/bench", networks, Recipe(epochs=12), executor="local")

``data`` (CIFAR-10 cache, fixed split, GPU-side augmentation), ``recipe`` (the one training recipe and its hash),
``train`` (one network), ``executors`` (local process pool, Ray), ``run`` (resumable labelling into a store).
Names are imported lazily so the GPU benchmark needs only torch, numpy, pandas, pyarrow, pillow and onnx.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Recipe": "onnxnet.label.recipe",
    "Network": "onnxnet.label.train",
    "NetworkError": "onnxnet.label.train",
    "TrainResult": "onnxnet.label.train",
    "train_network": "onnxnet.label.train",
    "load_cifar10": "onnxnet.label.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onnxnet.label' has no attribute {name!r}")
