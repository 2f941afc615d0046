"""Learning-rate search on the training spaces' validation split (tiny ModernBERT, synthetic texts: mechanics only)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from onnxnet.errors import DivergedError, TrainingError
from onnxnet.surrogate.lr_search import RUNS_DIR
from onnxnet.surrogate.surrogate import Surrogate
from onnxnet.surrogate.trainer import train_surrogate


def _grid(out, toy, cfg, **kw):
    texts, y, spaces = toy
    return train_surrogate(texts, y, spaces, out, cfg, progress=False, **kw)


def test_keeps_the_rate_with_the_best_validation_kendall(tmp_path, toy, tiny_config):
    cfg = replace(tiny_config, lr_grid=(3e-3, 1e-6))
    chosen = _grid(tmp_path, toy, cfg)
    saved = json.loads((tmp_path / "surrogate.json").read_text())["training"]
    runs = saved["lr_search"]["runs"]
    assert [r["lr"] for r in runs] == [3e-3, 1e-6] and saved["lr_search"]["grid"] == [3e-3, 1e-6]
    scores = [r["val_kendall"] for r in runs]
    best = runs[int(np.argmax(scores))]["lr"]
    assert saved["lr_search"]["chosen"] == best == saved["config"]["lr"]
    # each rate's run is kept; the output folder holds exactly the chosen one
    texts = toy[0][:10]
    sub = Surrogate.from_pretrained(tmp_path / RUNS_DIR / f"lr-{best:g}")
    np.testing.assert_array_equal(Surrogate.from_pretrained(tmp_path).predict_texts(texts), sub.predict_texts(texts))
    np.testing.assert_array_equal(chosen.predict_texts(texts), sub.predict_texts(texts))
    # every run used the same validation networks
    counts = {json.dumps(json.loads((tmp_path / RUNS_DIR / f"lr-{r['lr']:g}" / "surrogate.json").read_text())
                         ["training"]["val_counts"]) for r in runs}
    assert len(counts) == 1
    card = (tmp_path / "README.md").read_text()
    assert "chosen on the same validation split" in card and "| 1e-06 |" in card


def test_a_diverging_rate_is_recorded_and_skipped(tmp_path, toy, tiny_config, monkeypatch):
    import onnxnet.surrogate.trainer as trainer

    real = trainer.train_surrogate

    def flaky(*a, **kw):
        cfg = a[4]
        if cfg.lr == 1.0:
            raise DivergedError("loss became nan at epoch 1, step 3, batch 3")
        return real(*a, **kw)

    monkeypatch.setattr(trainer, "train_surrogate", flaky)
    _grid(tmp_path, toy, replace(tiny_config, lr_grid=(1.0, 1e-3)))
    search = json.loads((tmp_path / "surrogate.json").read_text())["training"]["lr_search"]
    assert search["chosen"] == 1e-3
    assert search["runs"][0]["val_kendall"] is None and "step 3" in search["runs"][0]["diverged"]
    assert "diverged (NaN loss)" in (tmp_path / "README.md").read_text()

    def always(*a, **kw):
        raise DivergedError("loss became nan")

    monkeypatch.setattr(trainer, "train_surrogate", always)
    with pytest.raises(TrainingError, match="every learning rate"):
        _grid(tmp_path / "b", toy, replace(tiny_config, lr_grid=(1.0, 2.0)))


@pytest.mark.parametrize("changes, match", [
    (dict(lr=1e-3, lr_grid=(1e-3, 1e-4)), "not both"),
    (dict(lr_grid=(1e-3, -1.0)), "positive"),
    (dict(lr_grid=(1e-3, 1e-3)), "repeats"),
    (dict(lr_grid=(1e-3, 1e-4), val_fraction=0.0), "validation split"),
])
def test_bad_grids_are_clear_errors(tmp_path, toy, tiny_config, changes, match):
    with pytest.raises(TrainingError, match=match):
        _grid(tmp_path, toy, replace(tiny_config, **changes))


def test_cli_rejects_a_malformed_grid(tmp_path, capsys):
    from onnxnet.cli.main import main

    assert main(["train", "--store", str(tmp_path), "--spaces", "nb201", "--out", str(tmp_path / "o"),
                 "--lr-grid", "1e-3,fast"]) == 2
    assert "--lr-grid" in capsys.readouterr().err
