"""Where trainings run: a registry of executors (``local``: a process pool, the default; ``ray``: one Ray task per
network). Both take ``Job`` s and call ``on_result`` with each ``TrainResult`` as it finishes, in completion order.

Several small networks share one GPU: ``per_gpu`` processes (local) or fractional ``num_gpus`` (Ray) per device.
On CPU each worker trains with one torch thread, so results are deterministic and the same on both executors for
the same seeds. A worker that dies (killed, out of memory) loses only its unfinished jobs; nothing is recorded
for them, so a resumed run trains them again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from onnxnet.errors import TrainingError
from onnxnet.label.recipe import Recipe
from onnxnet.label.train import Network, NetworkError, TrainResult
from onnxnet.registry import Registry


@dataclass(frozen=True)
class Job:
    """One training: the network, the recipe, and an optional absolute deadline (``time.time()``)."""

    net: Network
    recipe: Recipe
    deadline: Optional[float] = None


@dataclass
class DataSource:
    """Where workers read CIFAR-10 (a pack file / folder or ``cifar-10-batches-py``) and cache the decoded arrays."""

    cifar10: Optional[str] = None
    cache_dir: Optional[str] = None


class Executor(ABC):
    """Runs jobs and reports each result (``on_result``) as it finishes; ``lost`` lists the jobs whose worker died
    (nothing was recorded for them: a resumed run trains them again)."""

    lost: list[Job]
    #: Why the last lost job was lost (when the engine says).
    lost_reason: str = ""

    @abstractmethod
    def run(self, jobs: Iterable[Job], on_result: Callable[[Job, TrainResult], None]) -> None:
        """Train every job; results in completion order. Stops early only on ``KeyboardInterrupt``."""


#: Executors by name (``local``, ``ray``); register a new one with ``@EXECUTORS.register("name")``.
EXECUTORS: Registry[type[Executor]] = Registry("executor")


def make_executor(name: str, **options: Any) -> Executor:
    return EXECUTORS.get(name)(**options)


# --------------------------------------------------------------------------------------------- worker side

_STATE: dict[str, Any] = {}


def _init_worker(source: DataSource, device: str, threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
    _STATE.update(source=source, device=device, data={})
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
        torch.cuda.set_device(torch.device(device))


def run_job(job: Job, source: DataSource | None = None, device: str | None = None) -> TrainResult:
    """Train one job in this process (data loaded once per process and recipe subset, then reused)."""
    from onnxnet.label.data import load_cifar10
    from onnxnet.label.train import DeviceData, train_network

    if source is not None and "source" not in _STATE:
        _STATE.update(source=source, data={})
    src: DataSource = _STATE.get("source") or DataSource()
    dev = device or _STATE.get("device") or job.recipe.resolve_device()
    key = (dev, job.recipe.train_images, job.recipe.val_images, job.recipe.test_images, job.recipe.batch_size)
    cache = _STATE.setdefault("data", {})
    if key not in cache:
        cache.clear()  # one split on the device at a time; only the images the recipe uses are read
        r = job.recipe
        arrays = load_cifar10(src.cifar10, src.cache_dir, r.train_images, r.val_images, r.test_images)
        cache[key] = DeviceData.make(arrays, r, dev)
    try:
        return train_network(job.net, cache[key], job.recipe, deadline=job.deadline)
    except NetworkError as e:
        return TrainResult(id=job.net.id, status="failed", epochs=job.recipe.epochs, recipe_hash=job.recipe.hash,
                           seed=job.recipe.seed, error=f"NetworkError: {e}"[:500])


def _devices(device: str, per_gpu: int) -> list[str]:
    """One entry per worker: ``per_gpu`` workers on each visible GPU, or CPU workers."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise TrainingError(f"device {device!r} asked for, but torch sees no CUDA GPU; use --device cpu")
        gpus = [device] if ":" in device else [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        return [g for g in gpus for _ in range(max(1, per_gpu))]
    return []


@EXECUTORS.register("inline")
class InlineExecutor(Executor):
    """Trains in this process, one job after another (debugging, tests, notebooks)."""

    def __init__(self, device: str = "auto", source: DataSource | None = None, threads: int = 1, **_: Any) -> None:
        self.device, self.threads, self.source = device, threads, source or DataSource()
        self.lost: list[Job] = []

    def run(self, jobs: Iterable[Job], on_result: Callable[[Job, TrainResult], None]) -> None:
        import torch

        before = torch.get_num_threads()
        _init_worker(self.source, Recipe(device=self.device).resolve_device(), self.threads)
        try:
            for job in jobs:
                on_result(job, run_job(job))
        finally:
            torch.set_num_threads(before)
            _STATE.clear()


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """A pool of worker processes on this machine: ``jobs`` CPU workers, or ``per_gpu`` workers per GPU.

    Workers start on first use and stay (with their data on the device) until ``close()`` / the ``with`` block
    ends, so repeated ``run`` calls pay the start-up once. ``active`` limits how many workers get jobs.
    """

    def __init__(self, jobs: int = 1, per_gpu: int = 1, device: str = "auto", source: DataSource | None = None,
                 threads: int = 1) -> None:
        self.jobs, self.per_gpu, self.device, self.threads = max(1, jobs), max(1, per_gpu), device, threads
        self.source = source or DataSource()
        self.active: int | None = None
        self.lost: list[Job] = []
        self._pools: dict[int, Any] = {}
        self._devs: list[str] = []

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _pool(self, w: int) -> Any:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        if w not in self._pools:  # one single-process pool per worker: each keeps its device and its data
            self._pools[w] = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                                 initargs=(self.source, self._devs[w], self.threads))
        return self._pools[w]

    @property
    def workers(self) -> int:
        if not self._devs:
            device = Recipe(device=self.device).resolve_device()
            self._devs = _devices(device, self.per_gpu) or ["cpu"] * self.jobs
        return len(self._devs)

    def run(self, jobs: Iterable[Job], on_result: Callable[[Job, TrainResult], None]) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        n = min(self.workers, self.active or self.workers)
        todo = iter(jobs)
        running: dict[Any, tuple[int, Job]] = {}
        free = list(range(n))
        while True:
            while free:
                job = next(todo, None)
                if job is None:
                    break
                w = free.pop(0)
                running[self._pool(w).submit(run_job, job)] = (w, job)
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: running[f][0]):
                w, job = running.pop(fut)
                free.append(w)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    # the worker died (killed / out of memory): nothing recorded, a resumed run retries the job
                    self._pools.pop(w).shutdown(wait=False, cancel_futures=True)
                    self.lost.append(job)
                    self.lost_reason = "a worker process died (killed, or out of memory)"
                    continue
                on_result(job, res)
            free.sort()

    def close(self) -> None:
        """Stop the workers now (a training still running is abandoned: nothing of it was recorded)."""
        for p in self._pools.values():
            procs = list((getattr(p, "_processes", None) or {}).values())
            p.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
        self._pools.clear()


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """One Ray task per network, with ``num_cpus`` / ``num_gpus`` (``1 / per_gpu``) resources each.

    ``address`` joins an existing cluster (``ray://host:10001`` or ``auto``); without it a local Ray starts.
    Every node needs the CIFAR-10 source at the same path (or a shared file system).
    """

    def __init__(self, address: str | None = None, per_gpu: int = 1, device: str = "auto",
                 source: DataSource | None = None, threads: int = 1, num_cpus: int | None = None,
                 max_in_flight: int = 256) -> None:
        self.address, self.per_gpu, self.device, self.threads = address, max(1, per_gpu), device, threads
        self.source = source or DataSource()
        self.num_cpus, self.max_in_flight = num_cpus, max_in_flight
        self.lost: list[Job] = []

    def run(self, jobs: Iterable[Job], on_result: Callable[[Job, TrainResult], None]) -> None:
        from onnxnet.bench.ray_tasks import init_ray

        ray = init_ray(self.address, self.num_cpus)
        gpu = self.device.startswith("cuda") or (self.device == "auto" and
                                                 ray.cluster_resources().get("GPU", 0) > 0)
        remote = ray.remote(_ray_task).options(num_cpus=self.threads,
                                               num_gpus=(1.0 / self.per_gpu) if gpu else 0, max_retries=0)
        todo = iter(jobs)
        running: dict[Any, Job] = {}
        while True:
            while len(running) < self.max_in_flight:
                job = next(todo, None)
                if job is None:
                    break
                running[remote.remote(job, self.source, "cuda" if gpu else "cpu", self.threads)] = job
            if not running:
                break
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                job = running.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayError as e:
                    # worker lost (killed, out of memory): nothing recorded, a resumed run retries the network
                    self.lost.append(job)
                    self.lost_reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                    continue
                on_result(job, res)


def _ray_task(job: Job, source: DataSource, device: str, threads: int) -> TrainResult:
    """A Ray task: the worker process keeps its decoded data between tasks."""
    import torch

    if _STATE.get("device") != device:
        _init_worker(source, device, threads)
    torch.set_num_threads(max(1, threads))
    return run_job(job)

