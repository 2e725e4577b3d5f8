"""A small read-ahead cache of decoded frames for the video view (no Qt).

Frames come from the project's frame file (``embryo.frames[i]``: one ``read_direct_chunk`` and a
Blosc decompression, a fraction of a millisecond for a 752x512 frame).  Every :meth:`FrameCache.get`
tells a background thread which way the user is going (the sign of the last step), and the thread
decodes the next ``ahead`` frames in that direction before they are asked for, so holding a key or
playing finds them ready.  The decompression runs outside the GIL, so the GUI thread is not held up.
A frame being read ahead when the view asks for it is waited for, never read twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Optional

import numpy as np


class FrameCache:
    def __init__(self, frames: Any, n_frames: int, capacity: int = 48, ahead: int = 8,
                 background: bool = True) -> None:
        self.frames, self.n_frames, self.capacity = frames, int(n_frames), int(capacity)
        self.ahead = max(0, min(int(ahead), self.capacity // 2))
        self._data: OrderedDict[int, np.ndarray] = OrderedDict()
        self.hits = self.misses = self.read_ahead = 0
        self.direction = 1
        self._last: Optional[int] = None
        self._want: list[int] = []
        self._reading: Optional[int] = None
        self._closed = False
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._background = bool(background) and self.ahead > 0

    # -- the view's side -------------------------------------------------------------------------
    def get(self, i: int) -> np.ndarray:
        """Frame ``i`` (from the cache, the read-ahead in progress, or read now), and schedule the
        next frames in the direction of travel."""
        i = int(i)
        with self._cond:
            while self._reading == i:          # the read-ahead is on it: wait, do not read twice
                self._cond.wait()
            f = self._data.get(i)
            if f is not None:
                self._data.move_to_end(i)
                self.hits += 1
        if f is None:
            self.misses += 1
            f = self.frames[i]
            with self._cond:
                self._store(i, f)
        self._schedule(i)
        return f

    def prefetch(self, i: int) -> bool:
        """Read frame ``i`` into the cache now if it is missing, in range and not already being read
        ahead; True if it read one."""
        with self._cond:
            if not 0 <= i < self.n_frames or i in self._data or i == self._reading or i in self._want:
                return False
        f = self.frames[i]
        with self._cond:
            self._store(i, f)
        return True

    def __contains__(self, i: int) -> bool:
        with self._cond:
            return i in self._data

    def close(self) -> None:
        """Stop the read-ahead thread (the cache still answers :meth:`get`, reading on demand)."""
        with self._cond:
            self._closed = True
            self._want = []
            self._cond.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until the read-ahead has nothing left to do (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._want and self._reading is None, timeout)

    # -- read-ahead ------------------------------------------------------------------------------
    def _schedule(self, i: int) -> None:
        if self._last is not None and i != self._last:
            self.direction = 1 if i > self._last else -1
        self._last = i
        if not self._background:
            return
        d = self.direction
        with self._cond:
            if self._closed:
                return
            self._want = [j for j in (i + k * d for k in range(1, self.ahead + 1))
                          if 0 <= j < self.n_frames and j not in self._data]
            if self._want:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="frame-read-ahead", daemon=True)
                    self._thread.start()
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._want and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                j = self._want.pop(0)
                if j in self._data:
                    continue
                self._reading = j
            try:
                f = self.frames[j]
            except Exception:  # a failing read surfaces when the view asks for that frame
                f = None
            with self._cond:
                self._reading = None
                if f is not None:
                    self._store(j, f)
                    self.read_ahead += 1
                self._cond.notify_all()

    def _store(self, i: int, f: np.ndarray) -> None:
        """Insert under the lock, evicting the least recently used frames beyond ``capacity``
        (never the ones just read ahead for the current position)."""
        self._data[i] = f
        self._data.move_to_end(i)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)
