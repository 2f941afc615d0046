"""One declaration per hyperparameter set: the CLI options of ``train`` / ``pretrain`` and the ``surrogate``
predictor's parameters are the fields of ``TrainConfig`` / ``PretrainConfig``, no more and no fewer."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import typer

from onnxnet.cli.main import app, main
from onnxnet.cli.config_options import option_name
from onnxnet.hparams import hparams
from onnxnet.surrogate.pretrain import PretrainConfig
from onnxnet.surrogate.trainer import TrainConfig

#: Options of each command that are about the job (data, output), not hyperparameters.
JOB_OPTIONS = {
    "train": {"--store", "--bench", "--spaces", "--out", "--limit", "--val-limit", "--test-limit", "--zero-shot",
              "--resume"},
    "pretrain": {"--store", "--bench", "--spaces", "--out", "--encoding", "--limit", "--resume"},
}
CONFIGS = {"train": TrainConfig, "pretrain": PretrainConfig}


def _options(command: str) -> dict[str, object]:
    cmd = typer.main.get_command(app).commands[command]
    return {p.opts[0]: p for p in cmd.params if p.opts and p.opts[0].startswith("--")}


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_every_field_has_an_option_and_every_option_a_field(command):
    cls = CONFIGS[command]
    opts = _options(command)
    fields = {option_name(h.name): h for h in hparams(cls) if h.cli}
    assert set(opts) - JOB_OPTIONS[command] == set(fields), "an option without a field, or a field without an option"
    for name, h in fields.items():
        default = opts[name].default
        want = ",".join(f"{v:g}" for v in h.default) if isinstance(h.default, tuple) else h.default
        assert default == want, name
    # the fields left off the command line are the ones it cannot carry (dicts) or the job sets itself
    assert {h.name for h in hparams(cls) if not h.cli} <= {"backbone_overrides", "loss_params", "val_fraction"}


def test_command_line_values_reach_the_config(monkeypatch, tmp_path):
    import onnxnet.surrogate.run as run

    seen = {}

    def fake(config, **job):
        seen.update(config=config, job=job)
        return {"surrogate": None, "val": None, "test": None, "zero_shot": None, "seconds": 0.0}

    monkeypatch.setattr(run, "run_training", fake)
    monkeypatch.setattr(run, "report_table", lambda result: None)
    assert main(["train", "--store", str(tmp_path), "--spaces", "a,b", "--out", str(tmp_path / "o"), "--epochs", "3",
                 "--lr-grid", "1e-3,3e-4", "--no-gradient-checkpointing", "--weight-decay", "0.05", "--limit", "7"]) == 0
    cfg = seen["config"]
    assert cfg == dataclasses.replace(TrainConfig(), epochs=3, lr_grid=(1e-3, 3e-4), weight_decay=0.05)
    assert seen["job"]["limit"] == 7 and seen["job"]["spaces"] == ["a", "b"]


def test_surrogate_predictor_parameters_are_the_config_fields():
    from onnxnet.predictors import PREDICTORS, get_predictor

    params = set(inspect.signature(PREDICTORS.get("surrogate").__init__).parameters) - {"self"}
    assert params - {"pretrained", "out_dir", "progress", "device"} == {h.name for h in hparams(TrainConfig)}
    p = get_predictor("surrogate", epochs=4, lr_grid=[1e-3, 1e-4])
    assert p._config() == dataclasses.replace(TrainConfig(), epochs=4, lr_grid=(1e-3, 1e-4))
    with pytest.raises(TypeError, match="epoch"):
        get_predictor("surrogate", epoch=4)
