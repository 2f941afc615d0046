"""Zero-cost proxies: scores of an untrained torch network computed from one batch of data.

A registry (``PROXIES``) of functions ``proxy(net, inputs, targets) -> float``; a new proxy is one file in this
package that decorates its function with ``@PROXIES.register("name")``. Each receives its own deep copy of the
network in training mode (as NAS-Bench-Suite-Zero / NASLib run them), so proxies never disturb each other.
Higher is better for every registered proxy. Non-finite scores become ``NON_FINITE_SCORE``, NASLib's convention
for degenerate networks (e.g. a cell whose every path is ``none``), so they rank last instead of vanishing.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from onnxnet.registry import Registry

ProxyFn = Callable[[Any, Any, Any], float]

#: All zero-cost proxies by name (``synflow``, ``nwot``, ``jacov``, ``grad_norm``, ``snip``, ...).
PROXIES: Registry[ProxyFn] = Registry("zero-cost proxy")

#: The score NASLib's ``ZeroCost.query`` gives a network whose proxy is NaN or infinite.
NON_FINITE_SCORE = -1e8


def compute_proxy(name: str, net: Any, inputs: Any, targets: Any, *, copy_net: bool = True) -> float:
    """Proxy ``name`` of ``net`` on the batch ``(inputs, targets)``.

    ``net`` is left untouched unless ``copy_net=False`` (for a network built only to be scored: saves the copy).
    """
    fn = PROXIES.get(name)
    work = (copy.deepcopy(net) if copy_net else net).float().train()
    value = float(fn(work, inputs, targets))
    return value if math.isfinite(value) else NON_FINITE_SCORE


def compute_proxies(names: Sequence[str], net: Any, inputs: Any, targets: Any) -> dict[str, float]:
    """Several proxies of one network on one batch: ``{name: score}``."""
    return {n: compute_proxy(n, net, inputs, targets) for n in names}


def proxy_names() -> list[str]:
    return PROXIES.names()


_BATCHES: dict[tuple[int, int, str], tuple[Any, Any]] = {}


def proxy_batch(batch_size: int, seed: int, data: str | None = None) -> tuple[Any, Any]:
    """The seeded batch of CIFAR-10 training images (and labels) proxies are computed on, loaded once per pack
    (``data``, else the configured one: a pack that went missing is a ``DataError`` naming its path)."""
    from onnxnet.config import cifar10_pack

    key = (batch_size, seed, str(cifar10_pack(data)))
    if key not in _BATCHES:
        from onnxnet.bench.cifar10 import load_batch

        _BATCHES[key] = load_batch(batch_size, split="train", seed=seed, path=data)
    return _BATCHES[key]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch threads (``None``/0: leave as is), restoring the previous setting. Proxies of these
    small networks gain nothing from more threads, and on a busy machine spinning OpenMP threads made synflow
    15x slower."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


import importlib as _importlib  # noqa: E402
import pkgutil as _pkgutil  # noqa: E402

for _m in _pkgutil.iter_modules(__path__):
    if not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
