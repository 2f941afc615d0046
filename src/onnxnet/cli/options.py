"""Option names shared by the commands, and the old names kept as hidden aliases for one release.

One name per thing: ``--store DIR`` for a benchmark store folder (every command), ``--predictor DIR`` for a
fitted or trained predictor folder (``predict``), ``--spaces a,b`` for several search spaces.
"""

from __future__ import annotations

from typing import Any, TypeVar

import typer

T = TypeVar("T")

#: ``--store``: one benchmark store folder, or several when the parameter is a list (repeat the option).
STORE = typer.Option(None, "--store", help="Benchmark store folder (from 'onnxnet bench build'); repeat to combine "
                                           "where a command reads several.")
#: ``--bench``: the old name of ``--store`` (hidden; kept for one release).
OLD_BENCH = typer.Option(None, "--bench", hidden=True, help="Old name of --store.")


def _given(value: Any) -> bool:
    return value not in (None, [], ())


def renamed(value: T, old_value: T, name: str, old: str, *, required: bool = True) -> T:
    """The value of option ``name``, or of ``old``, its former name (hidden, kept for one release: a note on
    stderr says so). Both given, or neither when ``required``, is a usage error."""
    if _given(old_value):
        if _given(value):
            raise typer.BadParameter(f"{name} and its old name {old} were both given; use {name} only")
        typer.echo(f"note: {old} is now {name}; the old name goes in the next release", err=True)
        return old_value
    if required and not _given(value):
        raise typer.BadParameter(f"missing option {name}")
    return value


def split_names(text: str | list[str] | None) -> list[str]:
    """``"a,b"`` (or repeated values, each possibly comma-separated) as ``["a", "b"]``."""
    parts = [text] if isinstance(text, str) else list(text or [])
    return [s.strip() for p in parts for s in p.split(",") if s.strip()]
