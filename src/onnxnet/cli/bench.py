"""CLI commands: bench (filled in by its issue)."""

from onnxnet.cli.app import app  # noqa: F401
