"""CLI command: ``onnxnet serve`` (the HTTP service and web page for a saved predictor)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from onnxnet.cli.app import app


@app.command()
def serve(
    predictor: Path = typer.Option(..., "--predictor", help="A folder saved by 'onnxnet fit' or 'onnxnet train'."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each loads the predictor once)."),
    max_upload_mb: float = typer.Option(1024.0, "--max-upload-mb", help="Largest request body accepted, in MB."),
    timeout_s: float = typer.Option(120.0, "--timeout-s", help="Longest a request may take (waiting included)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Results and features cached by graph "
                                             "hash, shared by the workers (default: a folder in the temp dir)."),
    encoding: str = typer.Option("compact", "--encoding", help="Encoding whose length /predict reports."),
) -> None:
    """Serve a fitted predictor over HTTP: POST /predict, POST /encode, GET /health, GET /predictor, the OpenAPI
    schema at /docs, and a web page at / to drop .onnx files on."""
    from onnxnet.serve.server import run_server

    run_server(predictor=predictor, host=host, port=port, workers=workers, max_upload_mb=max_upload_mb,
               timeout_s=timeout_s, cache_dir=cache_dir, encoding=encoding)
