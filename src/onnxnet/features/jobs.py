"""Running a feature computation over many graphs: worker processes that stop with their parent, SIGTERM turned
into an interrupt (so what was computed is flushed before the process ends), and a progress bar.

* ``map_chunks(fn, chunks, jobs, take)`` applies ``fn`` to every chunk, in-process or in ``jobs`` spawned
  workers, and hands each result to ``take`` as it arrives. On any exception, an interrupt included, the workers
  are terminated and joined before it propagates; a worker also exits by itself when its parent dies (even by
  SIGKILL), so no orphan keeps computing.
* ``sigterm_interrupts()``: while active (main thread only), SIGTERM raises ``Interrupted`` (a
  ``KeyboardInterrupt``) like Ctrl-C does, so ``finally`` blocks run: the feature cache flushes its new rows.
* ``progress_bar(total, desc)``: networks done, rate and ETA on stderr, when ``set_progress(True)`` (the CLI,
  unless ``--quiet``) or when the caller asks for it.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

#: Whether feature computations show a progress bar when their caller did not ask (set by the CLI).
_PROGRESS = False


class Interrupted(KeyboardInterrupt):
    """The process received SIGTERM while ``sigterm_interrupts`` was active."""


def set_progress(on: bool) -> None:
    """Show (``True``) or hide progress bars of every feature computation in this process."""
    global _PROGRESS
    _PROGRESS = bool(on)


def progress_bar(total: int, desc: str, progress: bool = False) -> Any:
    """A tqdm bar on stderr (count, rate, ETA) when ``progress`` or ``set_progress(True)``, else ``None``."""
    if not (progress or _PROGRESS):
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="net", file=sys.stderr, mininterval=0.5, dynamic_ncols=True)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises ``Interrupted`` inside this block (a second one during the clean-up is ignored); outside
    the main thread, or where SIGTERM is already handled by Python code, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    if callable(before):  # an outer block (or the application) already turns SIGTERM into an exception
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
        raise Interrupted("terminated by SIGTERM")

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _watch_parent(parent: int) -> None:
    """In a worker: ignore Ctrl-C (the parent handles it and stops the pool), and exit when the parent is gone."""
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def map_chunks(fn: Callable[[Any], Any], chunks: Sequence[Any], jobs: int, take: Callable[[Any], None]) -> None:
    """``take(fn(chunk))`` for every chunk, in ``jobs`` spawned processes when ``jobs`` > 1 (results in the order
    they finish), else in this process. ``fn`` must be picklable (a module-level function or a ``partial``)."""
    if jobs <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            take(fn(chunk))
        return
    import multiprocessing as mp

    pool = mp.get_context("spawn").Pool(min(jobs, len(chunks)), initializer=_watch_parent, initargs=(os.getpid(),))
    try:
        for result in pool.imap_unordered(fn, chunks):
            take(result)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
