"""Progress reporting and cancellation for long-running work (no Qt)."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

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
