"""The FastAPI application: endpoints, upload limits, request time limit, errors as 4xx JSON, the page at ``/``.

``create_app(ServeConfig(...))`` builds the app; ``app_from_env()`` builds it from ``ONNXNET_SERVE_CONFIG`` (JSON
of a ``ServeConfig``), which is how each uvicorn worker process of ``onnxnet serve --workers N`` gets its settings.

Uploads are streamed by Starlette's multipart parser into temporary files (memory only up to 1 MB per file),
and the request body is counted while it arrives: past ``max_upload_mb`` the request ends with 413 at once
(``Content-Length`` is checked before anything is read). Scoring runs in a worker thread, one request at a time
per process; a request that does not finish within ``timeout_s`` (waiting included) gets 504 and a scoring that
had started goes on in the background (its request folder is removed when it ends), so a later upload of the
same file hits the cache.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoints' annotations at runtime

import asyncio
import json
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onnxnet.errors import OnnxNetError

#: Environment variable holding a ``ServeConfig`` as JSON for worker processes.
CONFIG_ENV = "ONNXNET_SERVE_CONFIG"
STATIC = Path(__file__).parent / "static"


@dataclass
class ServeConfig:
    """Settings of one server (``onnxnet serve`` options)."""

    predictor: str
    max_upload_mb: float = 1024.0
    timeout_s: float = 120.0
    cache_dir: str | None = None
    encoding: str = "compact"
    max_files: int = 64
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def max_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


def _too_large_message(size: int, limit: int) -> str:
    return (f"upload too large: {size / 2**20:.1f} MB is over this server's limit of {limit / 2**20:g} MB; send "
            "fewer or smaller files, or restart the server with a larger --max-upload-mb")


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` (declared or counted while it streams in)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(send, int(declared))
        from starlette.exceptions import HTTPException

        seen = 0

        async def counted() -> dict:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:  # FastAPI passes an HTTPException raised while parsing through
                    raise HTTPException(413, _too_large_message(seen, self.max_bytes))
            return msg

        await self.app(scope, counted, send)

    async def _reject(self, send: Any, size: int) -> None:
        body = json.dumps({"detail": _too_large_message(size, self.max_bytes)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def create_app(config: ServeConfig) -> Any:
    """The FastAPI app serving ``config.predictor`` (loaded once, here)."""
    import anyio
    from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
    from fastapi.responses import FileResponse, JSONResponse

    from onnxnet import __version__
    from onnxnet.serve.service import PredictionService

    service = PredictionService(config.predictor, cache_dir=config.cache_dir, encoding=config.encoding)
    service.warm_up()
    limiter = anyio.CapacityLimiter(1)  # CPU-bound scoring: one at a time per worker process
    app = FastAPI(title="onnxnet", version=__version__,
                  description="Score ONNX networks with a fitted onnxnet predictor: higher = more accurate. "
                              f"Loaded: {service.info()['kind']} from {config.predictor}.")

    @app.exception_handler(OnnxNetError)
    async def _onnxnet_error(request: Request, exc: OnnxNetError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    async def _saved(files: list[UploadFile], tmp: str) -> list[tuple[str, str]]:
        if not files:
            raise HTTPException(400, "no file in the request; send one or more .onnx files as form field 'files'")
        if len(files) > config.max_files:
            raise HTTPException(400, f"{len(files)} files in one request; at most {config.max_files}")
        out = []
        for k, f in enumerate(files):
            name = os.path.basename(f.filename or f"file{k}.onnx")
            path = os.path.join(tmp, f"{k}.onnx")
            await f.seek(0)
            with open(path, "wb") as dst:  # Starlette spooled it to a temporary file; copy it in chunks
                await anyio.to_thread.run_sync(shutil.copyfileobj, f.file, dst, 1 << 22)
            await f.close()
            if os.path.getsize(path) == 0:
                raise HTTPException(400, f"{name}: the file is empty; send the .onnx file itself")
            out.append((name, path))
        return out

    async def _run_on_uploads(files: list[UploadFile], fn: Any) -> Any:
        """``fn(saved)`` on the uploads saved into a request folder, in a worker thread, within the time limit.
        At the limit the request ends with 504; a scoring already running finishes in its thread (it fills the
        cache) and removes the folder afterwards; one still waiting for its turn does not start."""
        tmp = tempfile.mkdtemp(prefix="onnxnet-serve-")
        lock, state = threading.Lock(), {"started": False, "abandoned": False}

        def job(saved: list[tuple[str, str]]) -> Any:
            with lock:
                if state["abandoned"]:
                    return None
                state["started"] = True
            try:
                return fn(saved)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        try:
            saved = await _saved(files, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            return await asyncio.wait_for(anyio.to_thread.run_sync(job, saved, limiter=limiter,
                                                                   abandon_on_cancel=True), config.timeout_s)
        except asyncio.TimeoutError:
            with lock:
                state["abandoned"] = True
                if not state["started"]:
                    shutil.rmtree(tmp, ignore_errors=True)
            raise HTTPException(504, f"scoring took longer than this server's limit of {config.timeout_s:g} s "
                                     "(waiting for earlier requests included); retry later (a finished result is "
                                     "cached) or restart the server with a larger --timeout-s") from None

    @app.post("/predict", summary="Score ONNX files")
    async def predict(files: list[UploadFile] = File(..., description="One or more .onnx files"),
                      space: str | None = Form(None, description="Score the files as networks of this space "
                                               "(default: the predictor's only training space)"),
                      text: bool = Query(False, description="Include each file's encoding text")) -> dict:
        """Per file: score (higher = better), rank among the recorded training networks of the space, graph
        facts, graph hash, encoding length, and whether it came from the cache."""
        results = await _run_on_uploads(files, lambda saved: service.predict(saved, space=space, with_text=text))
        return {"predictor": service.info()["kind"], "results": results}

    @app.post("/encode", summary="Canonical text of one ONNX file")
    async def encode(file: UploadFile = File(..., description="An .onnx file"),
                     encoding: str = Form("compact", description="compact | chain")) -> dict:
        """The canonical, lossless text of the graph in the chosen encoding."""
        return await _run_on_uploads([file], lambda saved: service.encode_file(*saved[0], encoding))

    @app.get("/health", summary="Liveness")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "pid": os.getpid(), "predictor": config.predictor,
                "cache": service.stats()}

    @app.get("/predictor", summary="What is loaded")
    async def predictor() -> dict:
        """Kind, training spaces, training size, quality figures from its card, and the recorded training scores
        per space (what ranks are computed against)."""
        return {**service.info(), "limits": {"max_upload_mb": config.max_upload_mb, "timeout_s": config.timeout_s,
                                             "max_files": config.max_files}}

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    if config.max_bytes > 0:
        app.add_middleware(BodyLimit, max_bytes=config.max_bytes)
    return app


def app_from_env() -> Any:
    """``create_app`` with the ``ServeConfig`` in ``$ONNXNET_SERVE_CONFIG`` (set by ``onnxnet serve``)."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the server with `onnxnet serve --predictor DIR`")
    return create_app(ServeConfig(**json.loads(raw)))


def config_json(config: ServeConfig) -> str:
    return json.dumps(asdict(config))
