"""Predictors: the fit/predict/score contract and the registered baselines."""

from onnxnet.predictors.base import PREDICTORS, Predictor, get_predictor, load_predictor

__all__ = ["PREDICTORS", "Predictor", "get_predictor", "load_predictor"]

import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    if _m.name not in {"base"} and not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
