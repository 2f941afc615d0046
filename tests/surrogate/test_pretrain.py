"""Masked-LM pretraining on unlabelled encodings: a backbone folder that fine-tunes, resumes, and clear errors.
Synthetic texts: mechanics only, no quality claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from onnxnet.errors import DivergedError, TrainingError
from onnxnet.surrogate.pretrain import PRETRAIN_FILE, PretrainConfig, pretrain_backbone
from surrogate_tiny import TINY


def _cfg(**kw):
    base = dict(backbone_overrides=dict(TINY), epochs=3, batch_size=8, vocab_size=300, max_length=128,
                mixed_precision="no", lr=3e-3)
    return PretrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, toy):
    out = tmp_path_factory.mktemp("pretrained")
    return pretrain_backbone(toy[0], out, _cfg(), progress=False)


def test_pretraining_learns_and_writes_a_backbone_folder(pretrained):
    for name in ("config.json", "model.safetensors", "tokenizer.json", PRETRAIN_FILE):
        assert (pretrained / name).is_file(), name
    info = json.loads((pretrained / PRETRAIN_FILE).read_text())
    losses = [h["mlm_loss"] for h in info["history"]]
    assert len(losses) == 3 and losses[-1] < losses[0]  # masked tokens become predictable
    assert info["n_texts"] == 40 and info["config"]["mlm_probability"] == 0.3


def test_the_folder_is_a_backbone_that_fine_tunes(pretrained, toy, tiny_config, tmp_path):
    import dataclasses

    from safetensors.torch import load_file

    from onnxnet.surrogate.backbone import load_pretrained, resolve_backbone
    from onnxnet.surrogate.trainer import train_surrogate

    spec = resolve_backbone(str(pretrained))
    assert not spec.scratch
    encoder, tok = load_pretrained(spec)
    saved = load_file(str(pretrained / "model.safetensors"))
    emb = encoder.embeddings.tok_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(emb, saved["embeddings.tok_embeddings.weight"].numpy())  # weights, not a fresh init
    cfg = dataclasses.replace(tiny_config, backbone=str(pretrained), backbone_overrides={}, lr=1e-3)
    s = train_surrogate(*toy, tmp_path / "ft", cfg, progress=False)
    assert np.isfinite(s.predict_texts(toy[0][:6])).all()


def test_rerun_resumes_and_other_texts_are_refused(pretrained, toy):
    before = (pretrained / "model.safetensors").read_bytes()
    pretrain_backbone(toy[0], pretrained, _cfg(), progress=False)  # all epochs done: nothing retrained
    assert (pretrained / "model.safetensors").read_bytes() == before
    with pytest.raises(TrainingError, match="other texts or settings.*--no-resume"):
        pretrain_backbone(toy[0][:20], pretrained, _cfg(), progress=False)


@pytest.mark.parametrize("texts, cfg, match", [
    ([], {}, "nothing to pretrain on"),
    (["", ""], {}, "nothing to pretrain on"),
    (["a b"] * 4, {"backbone": "minilm"}, "scratch backbone"),
    (["a b"] * 4, {"mlm_probability": 0.0}, "mlm_probability"),
])
def test_bad_input_is_a_clear_error(tmp_path, texts, cfg, match):
    with pytest.raises(TrainingError, match=match):
        pretrain_backbone(texts, tmp_path / "x", _cfg(**cfg), progress=False)


def test_nan_loss_stops_with_epoch_and_batch(tmp_path, toy, monkeypatch):
    import transformers

    cls = transformers.ModernBertForMaskedLM
    real = cls.forward

    def nan_forward(self, *a, **kw):
        out = real(self, *a, **kw)
        out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(cls, "forward", nan_forward)
    with pytest.raises(DivergedError, match=r"epoch 1, batch 0"):
        pretrain_backbone(toy[0], tmp_path, _cfg(epochs=1), progress=False)
