"""Ray as an execution engine: join (or start) a cluster and map a function over tasks as Ray tasks.

Used by ``onnxnet bench build --executor ray`` (one task per chunk) and by the labelling pipeline's Ray executor.
Ray is optional: importing this module does not import it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from onnxnet.errors import OnnxNetError


def init_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """The ``ray`` module, connected: to ``address`` (``auto``, ``ray://host:10001``) or a new local Ray."""
    try:
        import ray
    except ImportError:
        raise OnnxNetError("the Ray executor needs Ray: pip install 'ray[default]'") from None
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kw["address"] = address
        elif num_cpus:
            kw["num_cpus"] = num_cpus
        try:
            ray.init(**kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f" at {address}" if address else ""
            raise OnnxNetError(f"cannot start or join Ray{where}: {e}") from None
    return ray


def map_ray(fn: Callable[[Any], Any], tasks: Sequence[Any], done: Callable[[Any], None], *,
            address: str | None = None, num_cpus: int | None = None, max_in_flight: int = 256) -> None:
    """Run ``fn(task)`` as one Ray task each (1 CPU), calling ``done(result)`` in completion order.

    A task whose worker died raises ``OnnxNetError`` after the others finished, naming how many were lost
    (each task commits its own output, so a rerun resumes).
    """
    ray = init_ray(address, num_cpus)
    remote = ray.remote(fn).options(num_cpus=1, max_retries=1)
    queue = list(tasks)
    running: dict[Any, Any] = {}
    lost = 0
    while queue or running:
        while queue and len(running) < max_in_flight:
            t = queue.pop(0)
            running[remote.remote(t)] = t
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            running.pop(ref)
            try:
                done(ray.get(ref))
            except ray.exceptions.RayError:
                lost += 1
    if lost:
        raise OnnxNetError(f"{lost} Ray tasks were lost (worker or node died); everything finished is stored: "
                           "rerun the same command to resume")
