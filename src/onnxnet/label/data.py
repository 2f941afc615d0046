"""CIFAR-10 for training: decoded once into a uint8 cache, a fixed 45k / 5k / 10k split, batched GPU-side augmentation.

Two sources are read: the project's JPEG pack (``cifar10_jpeg_pack.npz``, a file or its folder) and the standard
``cifar-10-batches-py`` folder (``data_batch_1..5``, ``test_batch``). The first load decodes every image and writes
``{train,test}_{x,y}.npy`` into a cache folder keyed by the source file's name, size and mtime; later loads map
those arrays. The split is a seeded permutation of the 50,000 training images: the first 45,000 train, the last
5,000 validate, and the 10,000 test images test. Its name and a hash of its indices are recorded with every label.

Augmentation (random crop with 4-pixel zero padding, horizontal flip) and normalisation are batched tensor ops on
whatever device the images live on, so a GPU is never starved by a CPU loader.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onnxnet import atomic
from onnxnet.errors import DataError

#: Per-channel mean / std of the CIFAR-10 training pixels (NAS-Bench-201's values).
MEAN: tuple[float, float, float] = (125.3 / 255, 123.0 / 255, 113.9 / 255)
STD: tuple[float, float, float] = (63.0 / 255, 62.1 / 255, 66.7 / 255)
N_TRAIN, N_VAL = 45_000, 5_000
SPLIT_SEED = 0
PAD = 4


@dataclass
class Cifar10Arrays:
    """The decoded images (uint8 NHWC) and labels (int64) of the fixed split, plus where they came from."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str
    split: str

    def subset(self, n_train: int | None, n_val: int | None = None, n_test: int | None = None) -> "Cifar10Arrays":
        """The first ``n_*`` images of each split (a fixed subset: the split is already shuffled)."""
        def cut(x: np.ndarray, n: int | None, what: str) -> np.ndarray:
            if n is None:
                return x
            if not 0 < n <= len(x):
                raise DataError(f"asked for {n} CIFAR-10 {what} images; the split has {len(x)}")
            return x[:n]

        sizes = (len(self.train_y), len(self.val_y), len(self.test_y))
        if all(n is None or n == have for n, have in zip((n_train, n_val, n_test), sizes)):
            return self
        tag = _subset_name(self.split.split(":first")[0], n_train or sizes[0], n_val or sizes[1], n_test or sizes[2])
        return Cifar10Arrays(cut(self.train_x, n_train, "train"), cut(self.train_y, n_train, "train"),
                             cut(self.val_x, n_val, "val"), cut(self.val_y, n_val, "val"),
                             cut(self.test_x, n_test, "test"), cut(self.test_y, n_test, "test"), self.source, tag)


def _default_cache() -> Path:
    return Path(os.environ.get("ONNXNET_CACHE", Path.home() / ".cache" / "onnxnet")) / "cifar10"


def resolve_source(path: str | os.PathLike[str] | None) -> Path:
    """The CIFAR-10 source: a pack file, a folder holding the pack, a ``cifar-10-batches-py`` folder, or a folder
    of already decoded arrays (``{train,test}_{x,y}.npy``, the cache format)."""
    if path is None:
        from onnxnet.config import cifar10_pack

        return cifar10_pack(None)
    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        for cand in (p / "cifar10_jpeg_pack.npz", p / "cifar-10-batches-py", p):
            if cand.is_file() or (cand / "data_batch_1").is_file() or (cand / "train_x.npy").is_file():
                return cand
    raise DataError(f"CIFAR-10 not found at {p}: expected cifar10_jpeg_pack.npz (or its folder) or a "
                    "cifar-10-batches-py folder with data_batch_1..5 and test_batch; pass --cifar10 PATH")


def _decode_pack(path: Path) -> dict[str, np.ndarray]:
    from onnxnet.bench.cifar10 import Cifar10Pack

    pack = Cifar10Pack(path)
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        x, y = pack.decode(np.arange(pack.size(split)), split)
        out[f"{split}_x"], out[f"{split}_y"] = x, y
    return out


def _decode_batches(folder: Path) -> dict[str, np.ndarray]:
    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        f = folder / name
        if not f.is_file():
            raise DataError(f"{folder} lacks {name}; a cifar-10-batches-py folder has data_batch_1..5 and test_batch")
        try:
            with open(f, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return np.ascontiguousarray(x), np.asarray(d[b"labels"], dtype=np.int64)
        except (KeyError, ValueError, pickle.UnpicklingError, EOFError) as e:
            raise DataError(f"{f} is not a CIFAR-10 python batch ({type(e).__name__}: {e}); re-download it") from None

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    tx, ty = read("test_batch")
    return {"train_x": np.concatenate([p[0] for p in parts]), "train_y": np.concatenate([p[1] for p in parts]),
            "test_x": tx, "test_y": ty}


def _load_npy(folder: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        out = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in names}
    except (OSError, ValueError) as e:
        raise DataError(f"decoded CIFAR-10 arrays in {folder} are missing or corrupted ({e}); delete that folder "
                        "to decode again") from None
    for split in ("train", "test"):
        x, y = out[f"{split}_x"], out[f"{split}_y"]
        if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or len(x) != len(y):
            raise DataError(f"decoded CIFAR-10 arrays in {folder}: {split}_x has shape {x.shape} and {split}_y "
                            f"{len(y)} labels; expected (N, 32, 32, 3) uint8 images with N labels")
    return out


def _source_key(src: Path) -> str:
    probe = src if src.is_file() else src / "data_batch_1"
    st = probe.stat()
    return hashlib.sha256(f"{src.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]


def decoded(path: str | os.PathLike[str] | None = None,
            cache_dir: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """All 60,000 images decoded (cached as ``.npy`` under ``cache_dir``; written atomically, so a kill is safe)."""
    src = resolve_source(path)
    names = ("train_x", "train_y", "test_x", "test_y")
    if src.is_dir() and (src / "train_x.npy").is_file():
        return _load_npy(src, names)
    folder = Path(cache_dir) if cache_dir is not None else _default_cache()
    folder = folder / f"{src.name}-{_source_key(src)}"
    if all((folder / f"{n}.npy").is_file() for n in names):
        return _load_npy(folder, names)
    arrays = _decode_batches(src) if src.is_dir() else _decode_pack(src)
    if arrays["train_x"].shape != (50_000, 32, 32, 3) or arrays["test_x"].shape != (10_000, 32, 32, 3):
        raise DataError(f"CIFAR-10 at {src} has {arrays['train_x'].shape[0]} train / {arrays['test_x'].shape[0]} "
                        "test images; the full data set has 50,000 / 10,000")
    for n in names:
        arr = arrays[n].astype(np.uint8 if n.endswith("_x") else np.int64)
        atomic.write_with(folder / f"{n}.npy", lambda t, a=arr: _save_npy(t, a))
    return arrays


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would append '.npy' to the temp name
        np.save(fh, arr)


def split_indices(n: int = N_TRAIN + N_VAL, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train / validation indices into the ``n`` training images (the last tenth validates: 45k / 5k)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = n // 10
    return perm[:n - n_val], perm[n - n_val:]


def test_order(n: int = 10_000, seed: int = SPLIT_SEED) -> np.ndarray:
    """A fixed shuffle of the test images (sources may sort them by class; a subset must mix classes)."""
    return np.random.default_rng(seed + 1).permutation(n)


def split_name(n: int = N_TRAIN + N_VAL, n_test: int = 10_000, seed: int = SPLIT_SEED) -> str:
    """``cifar10-45000/5000/10000-<hash of the indices>``: recorded with every label so splits can be compared."""
    tr, va = split_indices(n, seed)
    h = hashlib.sha256(tr.astype(np.int64).tobytes() + va.astype(np.int64).tobytes()).hexdigest()[:8]
    return f"cifar10-{len(tr)}/{len(va)}/{n_test}-{h}"


def load_cifar10(path: str | os.PathLike[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, n_train: int | None = None,
                 n_val: int | None = None, n_test: int | None = None) -> Cifar10Arrays:
    """CIFAR-10 in the fixed 45k / 5k / 10k split (uint8 NHWC images, int64 labels; a smaller decoded folder
    splits the same way: the last tenth of its training images validates).

    ``n_train`` / ``n_val`` / ``n_test`` read only the first images of each split from the memory-mapped cache
    (what ``Cifar10Arrays.subset`` gives, without holding the rest in memory)."""
    a = decoded(path, cache_dir)
    n, n_all_test = len(a["train_y"]), len(a["test_y"])
    tr, va = split_indices(n)
    te = test_order(n_all_test)
    train_y, test_y = np.asarray(a["train_y"], dtype=np.int64), np.asarray(a["test_y"], dtype=np.int64)
    # the split's name also hashes the label order, so two sources that order images differently never share it
    order = hashlib.sha256(train_y[tr].tobytes() + test_y[te].tobytes()).hexdigest()[:6]
    name = f"{split_name(n, n_all_test)}-{order}"
    for k, idx, what in ((n_train, tr, "train"), (n_val, va, "val"), (n_test, te, "test")):
        if k is not None and not 0 < k <= len(idx):
            raise DataError(f"asked for {k} CIFAR-10 {what} images; the split has {len(idx)}")
    tr, va, te = tr[:n_train], va[:n_val], te[:n_test]
    out = Cifar10Arrays(_take(a["train_x"], tr), train_y[tr], _take(a["train_x"], va), train_y[va],
                        _take(a["test_x"], te), test_y[te], str(resolve_source(path)), name)
    if (n_train, n_val, n_test) != (None, None, None):
        out.split = _subset_name(name, len(tr), len(va), len(te))
    return out


def _take(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``x[idx]`` read in index order (fast on a memory-mapped cache), returned in ``idx``'s order."""
    order = np.argsort(idx)
    out = np.empty((len(idx), *x.shape[1:]), dtype=x.dtype)
    out[order] = x[idx[order]]
    return out


def _subset_name(split: str, n_train: int, n_val: int, n_test: int) -> str:
    return f"{split}:first{n_train}/{n_val}/{n_test}"


# ------------------------------------------------------------------------------------------ tensor-side ops

def to_device(x: np.ndarray, device: Any) -> Any:
    """uint8 NHWC numpy images -> a uint8 NCHW tensor on ``device`` (kept as uint8: 4x less memory)."""
    import torch

    return torch.from_numpy(np.array(x, dtype=np.uint8, copy=True)).to(device).permute(0, 3, 1, 2).contiguous()


def normalise(x: Any, channels_last: bool = False) -> Any:
    """uint8 NCHW -> float32 normalised with the CIFAR-10 mean / std (optionally channels-last)."""
    import torch

    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1) * 255.0
    out = (x.float() - mean) / std
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def augment(x: Any, gen: Any) -> Any:
    """Random 32x32 crop of the zero-padded (4 px) images and a random horizontal flip, as batched index ops.

    ``x`` is uint8 NCHW on any device; ``gen`` a ``torch.Generator`` on that device (seeded: reproducible).
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    oy = torch.randint(0, 2 * PAD + 1, (n,), generator=gen, device=dev)
    ox = torch.randint(0, 2 * PAD + 1, (n,), generator=gen, device=dev)
    flip = torch.rand((n,), generator=gen, device=dev) < 0.5
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = (oy[:, None] + ar_h[None, :])[:, None, :, None]  # n,1,h,1
    cols = ox[:, None] + torch.where(flip[:, None], ar_w.flip(0)[None, :], ar_w[None, :])
    cols = cols[:, None, None, :]  # n,1,1,w
    idx_n = torch.arange(n, device=dev)[:, None, None, None]
    idx_c = torch.arange(x.shape[1], device=dev)[None, :, None, None]
    return padded[idx_n, idx_c, rows, cols]
