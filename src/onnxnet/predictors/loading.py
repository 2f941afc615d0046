"""One way back from a folder to a predictor: ``load_predictor(dir)`` for every folder ``onnxnet fit`` or
``onnxnet train`` writes (and ``Predictor.save`` / ``Surrogate.save_pretrained``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from onnxnet.errors import SurrogateError
from onnxnet.predictors.base import PREDICTOR_FILE, Predictor, get_predictor
from onnxnet.predictors.novelty import load_novelty
from onnxnet.predictors.surrogate import SurrogatePredictor
from onnxnet.surrogate.surrogate import SETTINGS_FILE


def is_predictor_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a saved predictor: ``onnxnet fit``'s or ``onnxnet train``'s output."""
    folder = Path(path)
    return (folder / PREDICTOR_FILE).is_file() or (folder / SETTINGS_FILE).is_file()


def load_predictor(path: str | Path, *, device: str = "auto", cache_dir: str | Path | None = None) -> Predictor:
    """The fitted predictor in folder ``path``: one saved by ``Predictor.save`` (``onnxnet fit``), or a trained
    language-model surrogate (``onnxnet train``) as a ``surrogate`` predictor. ``device``: where a language model
    in it runs (``"auto"``: the GPU when there is one). ``cache_dir``: the feature cache (by graph hash) it and
    its members read and fill, as ``onnxnet evaluate`` does (a saved predictor keeps no machine paths). A missing
    or damaged folder is a ``SurrogateError``."""
    folder = Path(path)
    if not (folder / PREDICTOR_FILE).is_file() and (folder / SETTINGS_FILE).is_file():
        return SurrogatePredictor.from_folder(folder, device=device)
    meta = folder / PREDICTOR_FILE
    if not folder.is_dir():
        raise SurrogateError(f"{folder} is not a readable saved predictor: no such folder; pass a folder written "
                             "by `onnxnet fit` or `onnxnet train`")
    try:
        saved = json.loads(meta.read_text())
        if saved.get("format") != "onnxnet-predictor":
            raise ValueError(f"format is {saved.get('format')!r}")
        pred = get_predictor(saved["name"], **saved["params"])
        if "device" in pred.get_params():
            pred.set_params(device=device)
        if cache_dir is not None and "cache_dir" in pred.get_params():
            pred.set_params(cache_dir=str(cache_dir))
        if pred.needs_training:
            pred._load_state(folder, saved["state"])
        if saved.get("fit_spaces"):
            pred.fit_spaces_ = list(saved["fit_spaces"])
        if saved.get("training_counts"):
            pred.training_counts_ = {k: int(v) for k, v in saved["training_counts"].items()}
        if saved.get("card"):
            pred.card_ = dict(saved["card"])
        if saved.get("reach"):
            pred.reach_ = load_novelty(folder, saved["reach"])
        if saved.get("reference_scores"):
            pred.reference_scores_ = {k: np.sort(np.asarray(v, dtype=float))
                                      for k, v in saved["reference_scores"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SurrogateError(f"{folder} is not a readable saved predictor ({type(e).__name__}: {e}); save one with "
                             "`onnxnet fit`, `onnxnet train` or Predictor.save") from None
    pred.is_fitted_ = True
    return pred
