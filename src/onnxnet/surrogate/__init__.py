"""The language-model surrogate: backbone, tokenizer, losses (registry ``LOSSES``), training, inference.

Heavy libraries (torch, transformers) load on first use of a submodule, not on ``import onnxnet.surrogate``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Surrogate", "TrainConfig", "train_surrogate", "LOSSES", "get_loss", "normalize_per_space"]

_LAZY = {
    "Surrogate": ("onnxnet.surrogate.surrogate", "Surrogate"),
    "TrainConfig": ("onnxnet.surrogate.trainer", "TrainConfig"),
    "train_surrogate": ("onnxnet.surrogate.trainer", "train_surrogate"),
    "LOSSES": ("onnxnet.surrogate.losses", "LOSSES"),
    "get_loss": ("onnxnet.surrogate.losses", "get_loss"),
    "normalize_per_space": ("onnxnet.surrogate.targets", "normalize_per_space"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'onnxnet.surrogate' has no attribute {name!r}")
