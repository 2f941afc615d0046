"""The language-model surrogate as a Predictor (``surrogate``); torch loads only when a model is trained or loaded."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from onnxnet.errors import ProtocolError
from onnxnet.predictors.base import PREDICTORS, Predictor
from onnxnet.surrogate.inputs import EncodingCache, as_items, encode_items
from onnxnet.surrogate.surrogate import Surrogate
from onnxnet.surrogate.trainer import TrainConfig, train_surrogate


@PREDICTORS.register("surrogate")
class SurrogatePredictor(Predictor):
    """ONNX-Net's predictor: a text encoder fine-tuned on the graph encodings (``onnxnet.surrogate``).

    ``fit`` trains a surrogate on the rows (model selection on a per-space ``val_fraction`` of them, never on
    the rows later scored); ``predict`` scores rows. With ``pretrained`` set to a saved surrogate folder, ``fit``
    only loads it (a zero-shot scorer). ``out_dir`` keeps the trained folder (default: a temporary one).
    ``device``: where the loaded model runs (``"auto"``: the GPU when there is one, else the CPU).
    """

    def __init__(self, backbone: str = "modernbert-tiny", loss: str = "hinge", target_norm: str = "rank",
                 epochs: int = 10, batch_size: int = 16, max_length: int = 512, lr: float | None = None,
                 lr_grid: tuple[float, ...] = (), val_fraction: float = 0.1, patience: int = 3, seed: int = 0,
                 encoding: str = "compact", vocab_size: int = 2048, backbone_overrides: dict[str, Any] | None = None,
                 pretrained: str | None = None, out_dir: str | None = None, progress: bool = False,
                 device: str = "auto") -> None:
        self.backbone = backbone
        self.loss = loss
        self.target_norm = target_norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_length = max_length
        self.lr = lr
        self.lr_grid = lr_grid
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.encoding = encoding
        self.vocab_size = vocab_size
        self.backbone_overrides = backbone_overrides
        self.pretrained = pretrained
        self.out_dir = out_dir
        self.progress = progress
        self.device = device

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "auto") -> "SurrogatePredictor":
        """The trained surrogate in ``folder`` (``onnxnet train --out``) as a fitted predictor, on ``device``."""
        pred = cls(pretrained=str(folder), device=device)
        pred.surrogate_ = Surrogate.from_pretrained(folder, device=device)
        pred.fit_spaces_ = sorted(pred.surrogate_.settings.get("space_stats", {}).get("mean", {}))
        pred.is_fitted_ = True
        return pred

    def _config(self) -> Any:
        return TrainConfig(
            backbone=self.backbone, backbone_overrides=dict(self.backbone_overrides or {}), loss=self.loss,
            target_norm=self.target_norm, encoding=self.encoding, max_length=self.max_length, epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, lr_grid=tuple(self.lr_grid or ()), vocab_size=self.vocab_size,
            val_fraction=self.val_fraction, patience=self.patience, seed=self.seed,
        )

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
