"""Console entry point: ``onnxnet ...``. Commands live in one module per group; heavy imports stay inside them."""

from __future__ import annotations

import sys

from onnxnet.cli.app import app
from onnxnet.errors import OnnxNetError

# Each module registers its commands on ``app`` when imported.
from onnxnet.cli import bench as _bench  # noqa: F401,E402
from onnxnet.cli import encode as _encode  # noqa: F401,E402
from onnxnet.cli import evaluate as _evaluate  # noqa: F401,E402
from onnxnet.cli import search as _search  # noqa: F401,E402
from onnxnet.cli import serve as _serve  # noqa: F401,E402
from onnxnet.cli import surrogate as _surrogate  # noqa: F401,E402


@app.command()
def version() -> None:
    """Print the onnxnet version."""
    from onnxnet import __version__

    print(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an ``OnnxNetError`` becomes ``error: <message>`` on stderr and exit code 2. Ctrl-C and
    SIGTERM stop it cleanly (worker processes stopped, computed features flushed): exit code 130 / 143."""
    from onnxnet.features.jobs import Interrupted, sigterm_interrupts

    try:
        with sigterm_interrupts():
            app(args=argv, standalone_mode=True)
    except SystemExit as e:
        stop = _interrupt(e)  # click turns an interrupt into "Aborted!" and exit 1
        if stop is not None:
            print("interrupted: computed features and finished results are saved; rerun the command to resume",
                  file=sys.stderr)
            return 143 if isinstance(stop, Interrupted) else 130
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except OnnxNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _interrupt(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C / SIGTERM interrupt behind ``exc`` (its cause or context chain), if any."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
