"""Search spaces (a registry: a new space is one file that registers itself with ``@SPACES.register``)."""

from onnxnet.spaces.base import SPACES, SearchSpace, get_space, space_names

__all__ = ["SPACES", "SearchSpace", "get_space", "space_names"]

# Built-in spaces register themselves on import.
import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    if _m.name not in {"base"} and not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
