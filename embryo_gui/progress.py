"""Progress reporting and cancellation for long-running work (no Qt)."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Optional

from .errors import CancelledError

ProgressCallback = Callable[[dict], None]


class CancelToken:
    """A thread-safe cancel flag.  Workers call :meth:`raise_if_cancelled` often."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled")


def check(cancel: Optional[CancelToken]) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled()


class Throttle:
    """Calls ``progress`` at most every ``interval`` seconds (and always for ``force=True``)."""

    def __init__(self, progress: Optional[ProgressCallback], interval: float = 0.1):
        self.progress = progress
        self.interval = interval
        self._last = 0.0

    def __call__(self, info: dict, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.progress(info)


def ordered_map(fn: Callable, items: Iterable, workers: int, ahead: int, name: str = "work") -> Iterator:
    """``fn(item)`` of every item, in order, computed in a pool of ``workers`` threads at most
    ``ahead`` items ahead of the consumer (memory stays bounded; ``workers`` 1: on the caller's
    thread).  For per-item work that releases the GIL (OpenCV, Blosc).  Stopping early cancels
    what was not started and waits for the rest."""
    workers = max(1, int(workers))
    if workers == 1:
        for item in items:
            yield fn(item)
        return
    ahead = max(1, int(ahead))
    ex = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    pending: deque = deque()
    try:
        for item in items:
            pending.append(ex.submit(fn, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
