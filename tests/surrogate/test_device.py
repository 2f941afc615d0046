"""Where a loaded language model runs: the GPU when there is one (``device="auto"``), else the CPU."""

from __future__ import annotations

import pytest
import torch
from surrogate_tiny import TINY

from onnxnet.errors import SurrogateError
from onnxnet.surrogate.surrogate import Surrogate, resolve_device
from onnxnet.surrogate.trainer import TrainConfig, train_surrogate


def test_auto_is_cuda_only_when_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device(None) == "cuda"
    assert resolve_device("cpu") == "cpu" and resolve_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu"


def test_asking_for_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SurrogateError, match="no CUDA GPU here; use device='cpu' or 'auto'"):
        resolve_device("cuda")


def test_a_loaded_surrogate_sits_on_the_chosen_device(tmp_path, monkeypatch):
    texts = [f"Conv k={k}\nRelu\nAdd" for k in range(8)]
    cfg = TrainConfig(backbone="modernbert-tiny", backbone_overrides=dict(TINY), epochs=1, batch_size=4,
                      vocab_size=300, max_length=64, val_fraction=0.0)
    train_surrogate(texts, list(range(8)), ["s"] * 8, tmp_path, cfg, resume=False, progress=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    s = Surrogate.from_pretrained(tmp_path)
    assert next(s.model.parameters()).device.type == "cpu"
    with pytest.raises(SurrogateError, match="no CUDA GPU"):
        Surrogate.from_pretrained(tmp_path, device="cuda")
