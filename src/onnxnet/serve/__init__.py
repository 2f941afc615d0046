"""onnxnet.serve: the HTTP service (FastAPI + uvicorn) and web page for a saved predictor.

``onnxnet serve --predictor DIR`` runs it; ``create_app(ServeConfig(predictor=DIR))`` builds the app;
``PredictionService`` is the scoring core without the web. Endpoints: ``POST /predict``, ``POST /encode``,
``GET /health``, ``GET /predictor``, the OpenAPI schema (``/openapi.json``, ``/docs``) and the page at ``/``.
"""

from onnxnet.serve.app import ServeConfig, create_app
from onnxnet.serve.service import PredictionService

__all__ = ["PredictionService", "ServeConfig", "create_app"]
