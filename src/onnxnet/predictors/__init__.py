"""Predictors: the fit/predict/score contract and the registered baselines."""

from onnxnet.predictors.base import PREDICTORS, Predictor, get_predictor
from onnxnet.predictors.loading import is_predictor_folder, load_predictor

__all__ = ["PREDICTORS", "Predictor", "get_predictor", "is_predictor_folder", "load_predictor"]

import importlib as _importlib
import pkgutil as _pkgutil

#: Old module paths that only re-export ``onnxnet.features`` (kept for one release; nothing to register).
_OLD_PATHS = {"graph_features", "onnx_proxies", "wl_features"}

for _m in _pkgutil.iter_modules(__path__):
    if _m.name not in {"base", "loading", *_OLD_PATHS} and not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
