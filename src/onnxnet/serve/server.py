"""Start uvicorn for ``onnxnet serve``: check the folder first, then one process or ``workers`` processes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from onnxnet.errors import OnnxNetError


class ServeError(OnnxNetError):
    """The server cannot start as asked (bad folder, bad option)."""


def run_server(predictor: Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
               max_upload_mb: float = 1024.0, timeout_s: float = 120.0, cache_dir: Path | None = None,
               encoding: str = "compact") -> None:
    """Run the service until interrupted. The predictor is loaded here once to fail early on a bad folder, then
    by each worker. Torch threads are split between workers (``OMP_NUM_THREADS``, unless already set)."""
    import uvicorn

    from onnxnet.serve.app import CONFIG_ENV, ServeConfig, config_json, create_app
    from onnxnet.serve.service import PredictionService

    if workers < 1:
        raise ServeError(f"--workers {workers}: need at least 1")
    if max_upload_mb <= 0 or timeout_s <= 0:
        raise ServeError("--max-upload-mb and --timeout-s must be positive")
    if not predictor.is_dir():
        raise ServeError(f"{predictor}: no such folder; pass a folder saved by `onnxnet fit` or `onnxnet train`")
    cache = cache_dir or Path(tempfile.gettempdir()) / "onnxnet-serve-cache"
    config = ServeConfig(predictor=str(predictor.resolve()), max_upload_mb=max_upload_mb, timeout_s=timeout_s,
                         cache_dir=str(cache), encoding=encoding)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    info = PredictionService(config.predictor, cache_dir=None, encoding=encoding).info()
    print(f"serving {info['kind']} from {predictor} (spaces: {', '.join(info['spaces']) or 'none'}) on "
          f"http://{host}:{port}/ with {workers} worker(s); API schema at /docs", flush=True)
    if workers == 1:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
    else:
        os.environ[CONFIG_ENV] = config_json(config)
        # a worker busy scoring (CPU-bound, holding the GIL) answers the supervisor's ping late: allow for it
        uvicorn.run("onnxnet.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", timeout_worker_healthcheck=int(max(60, 2 * timeout_s)))
