"""Backbones: offline MiniLM loads; an unloadable backbone says what to pass instead."""

from __future__ import annotations

import pytest

from onnxnet.errors import SurrogateError
from onnxnet.surrogate.backbone import load_pretrained, resolve_backbone


def test_minilm_loads_offline_and_embeds():
    import torch

    from onnxnet.surrogate.model import SurrogateModel

    spec = resolve_backbone("minilm")
    backbone, tok = load_pretrained(spec)
    m = SurrogateModel(backbone).eval()
    enc = tok(["%1 = Conv[k=3](%0)", "%1 = Relu(%0)\n%2 = Gemm(%1)"], padding=True, return_tensors="pt")
    with torch.no_grad():
        s = m(enc["input_ids"], enc["attention_mask"])
        e = m.embed(enc["input_ids"], enc["attention_mask"])
    assert s.shape == (2,) and e.shape == (2, 384)


def test_unloadable_backbone_names_the_alternatives(tmp_path):
    with pytest.raises(SurrogateError, match="minilm.*modernbert-tiny"):
        load_pretrained(resolve_backbone("answerdotai/ModernBERT-large-not-cached-here"))
    with pytest.raises(SurrogateError, match="no config.json"):
        resolve_backbone(str(tmp_path))
    with pytest.raises(SurrogateError, match="neither a known alias"):
        resolve_backbone("definitely not a model")
