"""The append-only journal of a search's true evaluations (``journal.jsonl`` in the run folder).

One JSON object per line. A line is written with a single ``write`` and ``fsync``ed before the search goes on, so a
killed search leaves every finished evaluation on disk and at most one torn last line, which ``Journal`` drops
(and truncates away) when the run folder is opened again. Nothing is ever rewritten or duplicated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from onnxnet.errors import DataError


class Journal:
    """Read the records already in ``path`` and append new ones durably."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []
        if self.path.is_file():
            self._read()

    def _read(self) -> None:
        raw = self.path.read_bytes()
        good = 0
        for line_no, line in enumerate(raw.split(b"\n"), start=1):
            end = good + len(line) + 1
            if end > len(raw):  # the last piece has no newline: a write that a kill cut short
                break
            try:
                rec = json.loads(line)
            except ValueError:
                raise DataError(f"{self.path}, line {line_no}: not a JSON record; the journal was edited or "
                                "corrupted. Restore it or start a new run folder") from None
            if rec.get("i") != len(self.records):
                raise DataError(f"{self.path}, line {line_no}: evaluation number {rec.get('i')} where "
                                f"{len(self.records)} was expected; start a new run folder")
            self.records.append(rec)
            good = end
        if good < len(raw):  # drop the torn tail so the next append starts on a clean line
            with open(self.path, "r+b") as fh:
                fh.truncate(good)
                fh.flush()
                os.fsync(fh.fileno())

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` (numbered ``i`` in order) as one line and fsync it."""
        rec = {"i": len(self.records), **record}
        data = (json.dumps(rec, sort_keys=True, default=_jsonable) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.records.append(rec)


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return str(value)
