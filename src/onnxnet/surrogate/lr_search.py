"""Choose the learning rate on the validation split of the training spaces: one run per rate, the best is kept.

The rate that trains a text model well depends on how many networks it sees (a from-scratch ModernBERT-tiny
that learns well at 1e-3 on 2,000 NB201 networks is unstable at 1e-3 on 8,000, where 3e-4 works), so a user
training on their own benchmark passes a few rates and lets validation choose. Every run uses the same
training/validation split (seeded by ``config.seed``), a run whose loss becomes NaN counts as diverged instead of
ending the search, and the model card records every rate with its validation Kendall tau, so the choice can be
checked. Never the test networks.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from onnxnet.errors import DivergedError, TrainingError

#: Sub-folder of the output folder that holds one finished run per learning rate (kept so a killed search resumes).
RUNS_DIR = "lr-search"


def _lr_name(lr: float) -> str:
    return f"lr-{lr:g}"


def check_lr_grid(grid: Sequence[float], lr: float | None) -> tuple[float, ...]:
    """The grid as floats; ``TrainingError`` for non-positive, repeated or conflicting rates."""
    rates = tuple(float(v) for v in grid)
    if lr is not None:
        raise TrainingError(f"pass either a learning rate (lr={lr:g}) or a grid to choose from (lr_grid={rates}), "
                            "not both")
    bad = [v for v in rates if not (math.isfinite(v) and v > 0)]
    if bad:
        raise TrainingError(f"learning rates must be positive numbers; got {bad} in lr_grid={rates}")
    if len(set(rates)) != len(rates):
        raise TrainingError(f"lr_grid={rates} repeats a rate; list each once")
    return rates


def train_lr_grid(texts: Sequence[str], y: Sequence[float], spaces: Sequence[str], out_dir: str | os.PathLike[str],
                  config: Any, *, train: Callable[..., Any], val: Any = None, resume: bool = True,
                  progress: bool = True, **train_kw: Any):
    """Train one surrogate per rate of ``config.lr_grid`` and save the best on validation to ``out_dir``.

    Arguments are those of ``train``, the trainer's ``train_surrogate`` (``train_kw`` passes the rest on). Ties
    keep the earlier rate in the grid.
    Returns the chosen ``Surrogate``; its card's ``training.lr_search`` lists every rate with its best validation
    Kendall (``None`` where it diverged) and the epoch it came from.
    """
    rates = check_lr_grid(config.lr_grid, config.lr)
    if val is None and config.val_fraction <= 0:
        raise TrainingError("a learning-rate search needs a validation split of the training networks: pass a "
                            "validation set or val_fraction > 0, or pass one rate instead")
    out = Path(out_dir)
    runs = out / RUNS_DIR
    if not resume and runs.exists():
        shutil.rmtree(runs)
    tried: list[dict[str, Any]] = []
    best: tuple[float, Any] | None = None
    for i, lr in enumerate(rates):
        if progress:
            print(f"learning-rate search: {i + 1}/{len(rates)}, lr {lr:g}")
        try:
            sur = train(texts, y, spaces, runs / _lr_name(lr), replace(config, lr=lr, lr_grid=()),
                                  val=val, resume=resume, progress=progress, **train_kw)
        except DivergedError as e:
            if progress:
                print(f"lr {lr:g} diverged: {e}")
            tried.append({"lr": lr, "val_kendall": None, "best_epoch": None, "diverged": str(e)})
            continue
        training = sur.settings["training"]
        metrics = training.get("val_metrics")
        if not metrics:
            raise TrainingError(
                "a learning-rate search needs a validation split of the training networks, and this run had none "
                "(too few networks per space, or val_fraction=0 without a validation set); pass one rate instead"
            )
        score = float(metrics["mean"]["kendall"])
        tried.append({"lr": lr, "val_kendall": score, "best_epoch": training.get("best_epoch"),
                      "epochs_run": training.get("epochs_run")})
        if best is None or score > best[0]:
            best = (score, sur)
    if best is None:
        raise TrainingError(f"every learning rate in {rates} diverged (NaN loss); try smaller rates")
    chosen = best[1]
    kept = chosen.settings["training"]["config"]["lr"]
    chosen.settings["training"]["lr_search"] = {"grid": list(rates), "chosen": kept, "runs": tried}
    chosen.save_pretrained(out)
    if progress:
        table = ", ".join(f"{t['lr']:g}: " + ("diverged" if t["val_kendall"] is None else f"{t['val_kendall']:.4f}")
                          for t in tried)
        print(f"learning-rate search (validation Kendall) {table}; kept lr {kept:g}")
    return chosen
