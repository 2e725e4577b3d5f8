"""A small progress bar on stderr, shown only on a terminal."""

from __future__ import annotations

import contextlib
import sys
import time


class ProgressBar:
    def __init__(self, label: str, stream=None, enabled: bool | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last = 0.0
        self._shown = False

    def __call__(self, info: dict) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        done, total = info.get("done", 0), info.get("total")
        stage = info.get("stage", self.label)
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            text = f"\r{stage:>10} [{bar:<30}] {done}/{total}"
        else:
            text = f"\r{stage:>10} {done}"
        extra = info.get("message")
        if extra:
            text += f"  {extra}"
        self.stream.write(text[:120].ljust(80))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
            self._shown = False


@contextlib.contextmanager
def progress_bar(label: str):
    """A :class:`ProgressBar` that is cleared from the terminal however the block ends."""
    bar = ProgressBar(label)
    try:
        yield bar
    finally:
        bar.close()
