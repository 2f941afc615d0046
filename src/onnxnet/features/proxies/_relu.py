"""Forward-only proxies that read every ReLU's output: one shared forward pass computes several of them.

A ``ReluStatistic`` observes the output of each ReLU-like module (in forward order) and then gives a score.
``relu_scores(net, inputs, {"nwot": ..., "swap": ...})`` runs the network once, feeding every statistic, so
scoring several forward-only proxies costs one forward pass instead of one each.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

#: Forward-only proxies by name -> factory ``(batch_size) -> ReluStatistic`` (filled by the proxy modules).
RELU_STATISTICS: dict[str, Callable[[int], Any]] = {}


class ReluStatistic:
    """Base class: ``observe`` each ReLU output (a detached tensor), then ``score``."""

    def observe(self, output: Any) -> None:
        raise NotImplementedError

    def score(self) -> float:
        raise NotImplementedError


def relu_scores(net: Any, inputs: Any, stats: Mapping[str, ReluStatistic]) -> dict[str, float]:
    """One no-grad forward of ``net`` on ``inputs``; every statistic sees every ReLU output. NaN if no ReLU."""
    import torch

    def hook(module: Any, args: Any, output: Any) -> None:
        out = output.detach()
        for s in stats.values():
            s.observe(out)

    handles = [m.register_forward_hook(hook) for m in net.modules() if "ReLU" in type(m).__name__]
    try:
        with torch.no_grad():
            net(inputs)
    finally:
        for h in handles:
            h.remove()
    if not handles:
        return {name: float("nan") for name in stats}
    return {name: s.score() for name, s in stats.items()}


def relu_proxy(name: str, make: Callable[[int], ReluStatistic]) -> Callable[[Any, Any, Any], float]:
    """Register ``make`` as forward-only proxy ``name``; returns the plain proxy function."""
    from onnxnet.features.proxies import PROXIES

    RELU_STATISTICS[name] = make

    def proxy(net: Any, inputs: Any, targets: Any) -> float:
        return relu_scores(net, inputs, {name: make(int(inputs.shape[0]))})[name]

    proxy.__name__ = name
    PROXIES.register(name)(proxy)
    return proxy
