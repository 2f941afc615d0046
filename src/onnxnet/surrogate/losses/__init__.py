"""Training losses for the surrogate (registry ``LOSSES``); one file per loss.

Every loss takes ``scores`` (B,), normalised ``targets`` (B,) and integer ``groups`` (B,) naming each row's
search space, and returns a scalar. Ranking losses only compare rows of the same group: accuracies from
different spaces come from different training protocols and are not comparable.
"""

from onnxnet.surrogate.losses.base import LOSSES, Loss, get_loss

__all__ = ["LOSSES", "Loss", "get_loss"]

import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    if _m.name != "base" and not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
