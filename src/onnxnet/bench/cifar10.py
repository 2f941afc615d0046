"""The CIFAR-10 JPEG pack: decode a seeded, normalised batch of real images for zero-cost proxies and training.

The pack (``cifar10_jpeg_pack.npz``) stores each image's JPEG bytes and an offsets array; images are sorted by
class, so every subset is drawn after a seeded shuffle. Only the images asked for are decoded.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from onnxnet.config import cifar10_pack
from onnxnet.errors import DataError

#: Per-channel mean / std of the CIFAR-10 training pixels (the values NAS-Bench-201 normalises with).
CIFAR10_MEAN: tuple[float, float, float] = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR10_STD: tuple[float, float, float] = (63.0 / 255, 62.1 / 255, 66.7 / 255)
SPLITS = ("train", "test")


@lru_cache(maxsize=2)
def _open_pack(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise DataError(f"CIFAR-10 pack {path} could not be read ({e}); re-copy cifar10_jpeg_pack.npz") from None


class Cifar10Pack:
    """Random access to the images of one pack file (``path``: file or folder; default from ``onnxnet.config``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path: Path = cifar10_pack(path)
        arrays = _open_pack(str(self.path))
        need = [f"{s}_{k}" for s in SPLITS for k in ("jpeg_bytes", "offsets", "labels")]
        missing = [k for k in need if k not in arrays]
        if missing:
            raise DataError(f"CIFAR-10 pack {self.path} lacks arrays {missing}; it is not a cifar10_jpeg_pack.npz")
        self._a = arrays
        self.classes: list[str] = [str(c) for c in arrays.get("classes", np.arange(10))]

    def __len__(self) -> int:
        return len(self._a["train_labels"])

    def size(self, split: str = "train") -> int:
        self._check_split(split)
        return int(len(self._a[f"{split}_labels"]))

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise DataError(f"CIFAR-10 split {split!r} does not exist; use one of {SPLITS}")

    def decode(self, indices: Any, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """Images ``indices`` of ``split`` as uint8 ``(n, 32, 32, 3)`` and their int64 labels."""
        from PIL import Image

        self._check_split(split)
        idx = np.asarray(indices, dtype=np.int64).ravel()
        n_all = self.size(split)
        if idx.size and (idx.min() < 0 or idx.max() >= n_all):
            raise DataError(f"CIFAR-10 {split} has {n_all} images; index {int(idx.max())} is out of range")
        data, offs = self._a[f"{split}_jpeg_bytes"], self._a[f"{split}_offsets"]
        out = np.empty((idx.size, 32, 32, 3), dtype=np.uint8)
        for j, i in enumerate(idx):
            raw = data[offs[i] : offs[i + 1]].tobytes()
            try:
                img = Image.open(io.BytesIO(raw)).convert("RGB")
            except Exception as e:  # noqa: BLE001  (Pillow raises many types for corrupt bytes)
                raise DataError(f"CIFAR-10 {split} image {int(i)} in {self.path} does not decode: {e}") from None
            if img.size != (32, 32):
                img = img.resize((32, 32))
            out[j] = np.asarray(img, dtype=np.uint8)
        return out, self._a[f"{split}_labels"][idx].astype(np.int64)

    def sample_indices(self, n: int, split: str = "train", seed: int = 0) -> np.ndarray:
        """``n`` distinct image indices of ``split``, from a seeded permutation (classes come out mixed)."""
        n_all = self.size(split)
        if not 0 < n <= n_all:
            raise DataError(f"asked for {n} CIFAR-10 {split} images; the split has {n_all}")
        return np.random.default_rng(seed).permutation(n_all)[:n]


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC images -> float32 NCHW, scaled to [0, 1] and normalised with the CIFAR-10 mean / std."""
    x = images.astype(np.float32) / 255.0
    x = (x - np.asarray(CIFAR10_MEAN, np.float32)) / np.asarray(CIFAR10_STD, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def load_batch(
    n: int = 64,
    *,
    split: str = "train",
    seed: int = 0,
    path: str | os.PathLike[str] | None = None,
) -> tuple["Any", "Any"]:
    """A seeded batch of ``n`` normalised CIFAR-10 images as torch tensors ``(x: float32 NCHW, y: int64)``."""
    import torch

    pack = Cifar10Pack(path)
    images, labels = pack.decode(pack.sample_indices(n, split, seed), split)
    return torch.from_numpy(normalise(images)), torch.from_numpy(labels)
