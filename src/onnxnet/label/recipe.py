"""The one training recipe every label comes from (a dataclass that is also the CLI's options), and its hash.

Defaults are NAS-Bench-201's 200-epoch recipe: SGD with Nesterov momentum 0.9, lr 0.1 with a cosine schedule to
0, weight decay 5e-4, batch 256, random crop + flip. Warm-up and label smoothing are settings (0 by default, as in
NB201). A short budget (``epochs=12``) gives cheap labels. On a GPU the forward runs under bf16 autocast in
channels-last memory format. ``recipe_hash`` covers every field that changes the numbers a training produces, so
two labels with the same hash came from the same recipe (the device is recorded separately, as hardware).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

from onnxnet.errors import TrainingError

#: Fields that do not change what a training computes (where it runs, how it is scheduled).
_NOT_HASHED = frozenset({"device", "cuda_graphs", "eval_batch"})


@dataclass(frozen=True)
class Recipe:
    """One CIFAR-10 training recipe (see the module docstring for the defaults)."""

    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    #: Train on the first N images of the fixed 45k train split (None: all); likewise N validation / test images.
    train_images: Optional[int] = None
    val_images: Optional[int] = None
    test_images: Optional[int] = None
    augment: bool = True
    seed: int = 0
    #: ``auto`` (bf16 autocast + channels-last on CUDA, fp32 on CPU), ``bf16`` or ``fp32``.
    precision: str = "auto"
    #: ``auto`` (cuda if available), ``cpu``, ``cuda``, ``cuda:1``...
    device: str = "auto"
    #: Capture the training step as a CUDA graph (CUDA only; falls back to eager if capture fails). On an H200 this
    #: made one NB201 network 4x faster (docs/labelling.md).
    cuda_graphs: bool = True
    eval_batch: int = 1000

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs={self.epochs} (need >= 1)")
        if self.batch_size < 1:
            problems.append(f"batch_size={self.batch_size} (need >= 1)")
        if self.lr <= 0:
            problems.append(f"lr={self.lr} (need > 0)")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label_smoothing={self.label_smoothing} (need 0 <= x < 1)")
        if self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            problems.append(f"warmup_epochs={self.warmup_epochs} (need 0 <= x < epochs)")
        if self.precision not in ("auto", "bf16", "fp32"):
            problems.append(f"precision={self.precision!r} (auto, bf16 or fp32)")
        for name in ("train_images", "val_images", "test_images"):
            v = getattr(self, name)
            if v is not None and v < 1:
                problems.append(f"{name}={v} (need >= 1, or None for the whole split)")
        if problems:
            raise TrainingError(f"bad training recipe: {'; '.join(problems)}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def hashed_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if k not in _NOT_HASHED}

    @property
    def hash(self) -> str:
        """16 hex digits over the result-changing fields (sorted JSON), plus the data split's name."""
        from onnxnet.label.data import split_name

        blob = json.dumps({**self.hashed_fields(), "split": split_name()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label_name(self, dataset: str = "cifar10") -> str:
        """The store label column of this recipe: ``onnxnet_cifar10_12ep`` (+ ``_5000img`` for a train subset)."""
        name = f"onnxnet_{dataset}_{self.epochs}ep"
        if self.train_images is not None:
            name += f"_{self.train_images}img"
        return name

    def replace(self, **changes: Any) -> "Recipe":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise TrainingError(f"unknown recipe field(s) {unknown}; fields are: {', '.join(sorted(known))}")
        return cls(**d)

    def resolve_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise TrainingError(f"device {self.device!r} asked for, but torch sees no CUDA GPU; use --device cpu")
        return self.device

    def use_bf16(self, device: str) -> bool:
        return self.precision == "bf16" or (self.precision == "auto" and device.startswith("cuda"))


#: One line per field: the CLI's option help (``onnxnet bench label --help``).
HELP: dict[str, str] = {
    "epochs": "training budget in epochs (NB201: 200; 12 for cheap labels)",
    "batch_size": "training batch size",
    "lr": "peak learning rate (SGD)",
    "momentum": "SGD momentum",
    "nesterov": "Nesterov momentum",
    "weight_decay": "L2 weight decay",
    "warmup_epochs": "linear learning-rate warm-up (epochs, may be fractional) before the cosine decay",
    "label_smoothing": "label smoothing of the cross-entropy",
    "train_images": "train on the first N images of the fixed 45k train split (default: all)",
    "val_images": "validate on the first N of the 5k validation images (default: all)",
    "test_images": "test on the first N of the 10k test images (default: all)",
    "augment": "random crop (4 px padding) + horizontal flip",
    "seed": "seed of initialisation, data order and augmentation",
    "precision": "auto (bf16 autocast + channels-last on CUDA, fp32 on CPU) | bf16 | fp32",
    "device": "auto | cpu | cuda | cuda:N",
    "cuda_graphs": "capture the training step as a CUDA graph (CUDA only; eager if capture fails)",
    "eval_batch": "evaluation batch size",
}

#: NAS-Bench-201's 12-epoch budget (the cheap label its tables also publish).
SHORT = Recipe(epochs=12)
