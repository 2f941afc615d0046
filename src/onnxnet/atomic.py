"""Atomic file writes: write a hidden temp file beside the target, fsync, then ``os.replace``.

A reader (or a build resumed after ``kill -9``) sees either the old file or the complete new one, never half a
file. A full disk becomes a ``DataError`` that says so, and the target is left untouched.
"""

from __future__ import annotations

import errno
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from onnxnet.errors import DataError

TMP_MARK = ".tmp-"


def temp_path(target: Path) -> Path:
    """A hidden sibling of ``target`` (leading dot: pyarrow, DuckDB and ``datasets`` globs all skip it)."""
    return target.with_name(f".{target.name}{TMP_MARK}{os.getpid()}")


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``target`` atomically, on any error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as e:
        _unlink(tmp)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DataError(f"disk full while writing {target}; nothing was changed there. Free space and rerun "
                            "(a build resumes where it stopped)") from e
        raise DataError(f"cannot write {target}: {e}; nothing was changed there") from e
    except BaseException:
        _unlink(tmp)
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    write_bytes(target, (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode())


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and commit its output atomically to ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)


def clean_temps(folder: str | os.PathLike[str]) -> int:
    """Remove temp files left by a killed writer under ``folder``; returns how many were removed."""
    n = 0
    for p in Path(folder).rglob(f".*{TMP_MARK}*"):
        if p.is_file():
            _unlink(p)
            n += 1
    return n


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass
