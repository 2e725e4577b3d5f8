"""A small read-ahead cache of decoded frames for the video view (no Qt).

Frames come from the project's frame file (``embryo.frames[i]``, a few ms for a 752x512 LZF
chunk).  While the user steps through a video the window asks the cache to read the next frame in
the direction of travel during idle time, so the key press that follows finds it ready.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np


class FrameCache:
    def __init__(self, frames: Any, n_frames: int, capacity: int = 48) -> None:
        self.frames, self.n_frames, self.capacity = frames, int(n_frames), int(capacity)
        self._data: OrderedDict[int, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, i: int) -> np.ndarray:
        f = self._data.get(i)
        if f is not None:
            self._data.move_to_end(i)
            self.hits += 1
            return f
        self.misses += 1
        return self._put(i)

    def prefetch(self, i: int) -> bool:
        """Read frame ``i`` into the cache if it is missing and in range; True if it read one."""
        if 0 <= i < self.n_frames and i not in self._data:
            self._put(i)
            return True
        return False

    def __contains__(self, i: int) -> bool:
        return i in self._data

    def _put(self, i: int) -> np.ndarray:
        f = self.frames[i]
        self._data[i] = f
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)
        return f
