"""Where onnxnet finds its data: configurable paths, never hard-coded machine paths."""

from __future__ import annotations

import os
from pathlib import Path

from onnxnet.errors import DataError

#: Environment variable naming the folder that holds the published label tables (``nb201/``, ``nb101/``, ...).
DATA_ENV = "ONNXNET_DATA"
#: Environment variable naming the CIFAR-10 JPEG pack (``cifar10_jpeg_pack.npz``) or its folder.
CIFAR10_ENV = "ONNXNET_CIFAR10"

_REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The label-data folder: ``path`` if given, else ``$ONNXNET_DATA``, else ``../shared/data`` beside the repo or cwd."""
    candidates: list[Path] = []
    if path is not None:
        candidates = [Path(path)]
    elif os.environ.get(DATA_ENV):
        candidates = [Path(os.environ[DATA_ENV])]
    else:
        candidates = [_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
                      Path.cwd() / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c  # as given: messages name the path the user configured, not a link's target
    raise DataError(
        f"benchmark data folder not found (looked in: {', '.join(str(c) for c in candidates)}); "
        f"pass --data DIR or set {DATA_ENV} to the folder that holds nb201/, nb101/, nb301/"
    )


def cifar10_pack(path: str | os.PathLike[str] | None = None) -> Path:
    """The CIFAR-10 JPEG pack: ``path`` (file or folder), else ``$ONNXNET_CIFAR10``, else ``<data_dir>/cifar10``.

    Messages name the path as it was given (the option, the variable, or the data folder), never a link target.
    """
    if path is None and os.environ.get(CIFAR10_ENV):
        path = os.environ[CIFAR10_ENV]
    p = Path(path) if path is not None else data_dir() / "cifar10"
    if p.is_dir():
        p = p / "cifar10_jpeg_pack.npz"
    if not p.is_file():
        raise DataError(
            f"CIFAR-10 pack not found at {p}; pass --cifar10 PATH (or set {CIFAR10_ENV}) "
            "to the cifar10_jpeg_pack.npz file or its folder"
        )
    return p


def use_cifar10(path: str | os.PathLike[str] | None) -> None:
    """Make ``path`` the CIFAR-10 pack of this process and of the worker processes it starts (``--cifar10``);
    ``None`` changes nothing. A path that holds no pack is a ``DataError`` now, naming it as given."""
    if path is None:
        return
    cifar10_pack(path)
    os.environ[CIFAR10_ENV] = str(path)
