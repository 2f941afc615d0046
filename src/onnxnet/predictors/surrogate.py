"""The language-model surrogate as a Predictor (``surrogate``); torch loads only when a model is trained or loaded."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.hparams import config_from, extend_signature, set_hparams
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.surrogate.inputs import EncodingCache, as_items, encode_items
from onnxnet.surrogate.surrogate import Surrogate
from onnxnet.surrogate.trainer import TrainConfig, train_surrogate


@PREDICTORS.register("surrogate")
class SurrogatePredictor(Predictor):
    """ONNX-Net's predictor: a text encoder fine-tuned on the graph encodings (``onnxnet.surrogate``).

    Its parameters are ``TrainConfig``'s fields (one declaration) plus the four below. ``fit`` trains a
    surrogate on the rows (model selection on a per-space ``val_fraction`` of them, never on
    the rows later scored); ``predict`` scores rows. With ``pretrained`` set to a saved surrogate folder, ``fit``
    only loads it (a zero-shot scorer). ``out_dir`` keeps the trained folder (default: a temporary one).
    ``device``: where the loaded model runs (``"auto"``: the GPU when there is one, else the CPU).
    """

    def __init__(self, pretrained: str | None = None, out_dir: str | None = None, progress: bool = False,
                 device: str = "auto", **config: Any) -> None:
        self.pretrained = pretrained
        self.out_dir = out_dir
        self.progress = progress
        self.device = device
        set_hparams(self, TrainConfig, config)  # every TrainConfig field is a parameter (e.g. epochs=5)

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "auto") -> "SurrogatePredictor":
        """The trained surrogate in ``folder`` (``onnxnet train --out``) as a fitted predictor, on ``device``."""
        pred = cls(pretrained=str(folder), device=device)
        pred.surrogate_ = Surrogate.from_pretrained(folder, device=device)
        pred.fit_spaces_ = sorted(pred.surrogate_.settings.get("space_stats", {}).get("mean", {}))
        pred.is_fitted_ = True
        return pred

    def _config(self) -> TrainConfig:
        return config_from(TrainConfig, self.get_params())

    def _fit(self, rows: Any, y: np.ndarray, spaces: np.ndarray) -> None:
        if self.pretrained:
            self.surrogate_ = Surrogate.from_pretrained(self.pretrained, device=self.device)
            return
        cache = EncodingCache()
        texts = encode_items(as_items(rows), self.encoding, cache=cache)
        with tempfile.TemporaryDirectory(prefix="onnxnet-surrogate-") as tmp:  # checkpoints are not kept
            out = self.out_dir or tmp
            self.surrogate_ = train_surrogate(texts, y, [str(s) for s in spaces], out, self._config(),
                                              resume=False, progress=self.progress)
        self.surrogate_.cache = cache

    def predict(self, rows: Any) -> np.ndarray:
        if not hasattr(self, "surrogate_"):
            if self.pretrained:
                self.surrogate_ = Surrogate.from_pretrained(self.pretrained, device=self.device)
            else:
                raise ProtocolError("surrogate: call fit() first, or pass pretrained=FOLDER")
        return self.surrogate_.predict(rows)


extend_signature(SurrogatePredictor.__init__, TrainConfig)
