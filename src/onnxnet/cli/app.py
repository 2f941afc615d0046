"""The Typer application object that every CLI module adds its commands to."""

import typer

app = typer.Typer(
    name="onnxnet",
    help="Encode any ONNX network as text, build ONNX-Bench, and predict accuracy with a language model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
