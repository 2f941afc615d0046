"""Training mechanics on a tiny ModernBERT: save/load, resume, bad input. Synthetic texts: no quality claims."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from onnxnet.errors import SurrogateError, TrainingError
from onnxnet.surrogate.surrogate import Surrogate
from onnxnet.surrogate.trainer import STATE_FILE, train_surrogate


def _train(out, toy, cfg, **kw):
    texts, y, spaces = toy
    return train_surrogate(texts, y, spaces, out, cfg, progress=False, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, toy):
    from onnxnet.surrogate.trainer import TrainConfig

    from surrogate_tiny import TINY

    cfg = TrainConfig(backbone="modernbert-tiny", backbone_overrides=dict(TINY), epochs=2, batch_size=8,
                      vocab_size=300, max_length=128, val_fraction=0.2, mixed_precision="no", seed=0)
    out = tmp_path_factory.mktemp("surrogate")
    return out, _train(out, toy, cfg)


def test_trains_and_writes_a_complete_folder(trained, toy):
    out, s = trained
    for name in ("surrogate.json", "head.safetensors", "README.md", "backbone/config.json",
                 "backbone/model.safetensors", "tokenizer/tokenizer.json"):
        assert (out / name).is_file(), name
    settings = json.loads((out / "surrogate.json").read_text())
    assert settings["scratch"] is True and settings["loss"] == "hinge" and settings["target_norm"] == "rank"
    tr = settings["training"]
    assert tr["train_counts"] == {"nb101": 16, "nb201": 16} and tr["val_counts"] == {"nb101": 4, "nb201": 4}
    assert tr["epochs_run"] == 2 and tr["best_epoch"] in (1, 2)
    assert set(tr["val_metrics"]) == {"nb101", "nb201", "mean"}
    card = (out / "README.md").read_text()
    assert "nb201" in card and "Kendall" in card
    # the learned tokenizer is byte-level BPE from the encodings, not a generic vocabulary
    assert len(s.tokenizer) <= 300
    p = s.predict_texts(toy[0])
    assert p.shape == (40,) and np.all(np.isfinite(p))


def test_reload_in_a_fresh_process_gives_identical_predictions(trained, toy, tmp_path):
    out, s = trained
    texts = toy[0][:12]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    code = textwrap.dedent(f"""
        import json, numpy as np
        from onnxnet.surrogate import Surrogate
        s = Surrogate.from_pretrained({str(out)!r})
        texts = json.load(open({str(tmp_path / 'texts.json')!r}))
        np.save({str(tmp_path / 'p.npy')!r}, s.predict_texts(texts))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), s.predict_texts(texts))


def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path, toy, tiny_config, monkeypatch):
    import onnxnet.surrogate.trainer as tr

    full = _train(tmp_path / "full", toy, tiny_config)

    real_write = tr.write_json

    def die_after_first_epoch(path, obj):
        real_write(path, obj)
        raise KeyboardInterrupt  # the process is killed right after epoch 1's checkpoint

    monkeypatch.setattr(tr, "write_json", die_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", toy, tiny_config)
    assert json.loads((tmp_path / "killed" / "checkpoints" / STATE_FILE).read_text())["epoch"] == 0
    assert not (tmp_path / "killed" / "surrogate.json").exists()
    monkeypatch.setattr(tr, "write_json", real_write)
    resumed = _train(tmp_path / "killed", toy, tiny_config)
    assert resumed.settings["training"]["epochs_run"] == 2
    np.testing.assert_allclose(resumed.predict_texts(toy[0]), full.predict_texts(toy[0]), rtol=0, atol=1e-6)


def test_corrupted_checkpoint_folder_is_a_clear_error(tmp_path, toy, tiny_config):
    ck = tmp_path / "checkpoints"
    ck.mkdir(parents=True)
    (ck / STATE_FILE).write_text("{not json")
    with pytest.raises(TrainingError, match="corrupted.*--no-resume"):
        _train(tmp_path, toy, tiny_config)
    (ck / STATE_FILE).unlink()
    (ck / "epoch-0").mkdir()
    with pytest.raises(TrainingError, match="corrupted"):
        _train(tmp_path, toy, tiny_config)
    # a readable state whose weights are gone
    (ck / STATE_FILE).write_text(json.dumps({"epoch": 0, "fingerprint": "x"}))
    with pytest.raises(TrainingError, match="other data or settings"):
        _train(tmp_path, toy, tiny_config)


@pytest.mark.parametrize("case, match", [
    ("empty", "empty"),
    ("nan", "NaN"),
    ("singleton", "only 1"),
])
def test_bad_training_sets_are_clear_errors(tmp_path, toy, tiny_config, case, match):
    texts, y, spaces = toy
    if case == "empty":
        texts, y, spaces = [], [], []
    elif case == "nan":
        y = list(y)
        y[3] = float("nan")
    else:
        spaces = ["nb101"] * (len(texts) - 1) + ["nb301"]
    with pytest.raises(TrainingError, match=match):
        train_surrogate(texts, y, spaces, tmp_path, tiny_config, progress=False)


def test_validation_from_an_unseen_space_is_refused(tmp_path, toy, tiny_config):
    texts, y, spaces = toy
    with pytest.raises(TrainingError, match="training spaces only"):
        train_surrogate(texts, y, ["nb101"] * len(texts), tmp_path, tiny_config, progress=False,
                        val=(texts[:4], y[:4], ["nb201"] * 4))


def test_nan_loss_stops_with_step_and_batch(tmp_path, toy, tiny_config, monkeypatch):
    import torch

    import onnxnet.surrogate.losses as losses

    class NanLoss(torch.nn.Module):
        def forward(self, s, t, g):
            return s.sum() * float("nan")

    monkeypatch.setattr(losses, "get_loss", lambda name, **kw: NanLoss())
    with pytest.raises(TrainingError, match=r"epoch 1, step 0, batch 0"):
        _train(tmp_path, toy, tiny_config)


def test_loading_a_folder_that_is_not_a_surrogate(tmp_path):
    with pytest.raises(SurrogateError, match="onnxnet train"):
        Surrogate.from_pretrained(tmp_path)
    (tmp_path / "surrogate.json").write_text("{}")
    with pytest.raises(SurrogateError, match="corrupted"):
        Surrogate.from_pretrained(tmp_path)
