"""Progress reporting and cancellation for long-running work (no Qt)."""

from __future__ import annotations

import contextlib
import sys
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


#: the interpreter's thread switch interval while a frame pipeline runs (Python's default: 5 ms)
PIPELINE_SWITCH_INTERVAL = 0.0005

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved: Optional[float] = None


@contextlib.contextmanager
def quick_gil_handover(interval: float = PIPELINE_SWITCH_INTERVAL) -> Iterator[None]:
    """Run the block with a short thread switch interval (``sys.setswitchinterval``), restored after.

    In a frame pipeline one thread calls a native function that releases the GIL (decoding a
    frame, writing a chunk: ~0.1-0.5 ms) while others run Python and numpy code between their own
    native calls.  When the call returns, the thread waits for the GIL until the holder lets go, and
    with the default 5 ms interval that wait is often longer than the call itself: on 2 cores, 600
    chunk writes beside one busy Python thread took 2.3 s at 5 ms and 0.67 s at 0.5 ms, and the
    default import was faster in 4 of 4 alternating runs (docs/BENCHMARKS.md, latest run).  0.2 ms was
    slower again (more switches).  Nested and concurrent uses are counted; the last one out
    restores the interval found by the first."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, float(interval)))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0 and _switch_saved is not None:
                sys.setswitchinterval(_switch_saved)
                _switch_saved = None


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
        with quick_gil_handover():
            for item in items:
                pending.append(ex.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
