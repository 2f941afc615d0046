"""Canonical reference networks for the encoding tests, exported once per session (imported by the tests)."""

from __future__ import annotations

import onnx
import torch

from onnxnet.graph import load_model
from onnxnet.graph.zoo import NB201Net, zoo_model

torch.set_num_threads(1)
_CACHE: dict[str, onnx.ModelProto] = {}


def canonical(name: str) -> onnx.ModelProto:
    """The canonical model of a zoo network (``nb201_small``: 2 cells per stage, for quick tests)."""
    if name not in _CACHE:
        if name == "nb201_small":
            module, shape = NB201Net(n_cells=2).eval(), (1, 3, 32, 32)
        else:
            module, shape = zoo_model(name)
        _CACHE[name] = load_model(module, shape)
    return _CACHE[name]
