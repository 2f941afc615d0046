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
#: ``--cifar10``: the CIFAR-10 pack the zero-cost proxies run on (every command that computes them).
CIFAR10 = typer.Option(None, "--cifar10", help="the CIFAR-10 pack (cifar10_jpeg_pack.npz or its folder) the "
                       "zero-cost proxies run on (default: $ONNXNET_CIFAR10, else <data>/cifar10)")
#: ``--allow-partial``: score / fit a predictor whose features are missing for some networks, labelled partial.
ALLOW_PARTIAL = typer.Option(False, "--allow-partial", help="go on when some of a predictor's features are "
                             "missing (e.g. proxies without the CIFAR-10 pack); evaluate labels its rows "
                             "'NAME [partial: ... missing k/n ...]'. Default: such a predictor fails with the reason")
#: ``--quiet``: no progress bars (feature computation shows networks done, rate and ETA otherwise).
QUIET = typer.Option(False, "--quiet", "-q", help="no progress bars")
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
