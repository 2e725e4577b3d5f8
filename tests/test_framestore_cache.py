"""The video view's read-ahead cache (Qt-free part) and export's chunk copy."""

from __future__ import annotations

import threading
import time

import numpy as np

from embryo_gui.gui.frame_cache import FrameCache


class CountingFrames:
    """A frame source that counts reads, optionally slow, optionally blocking on an event."""

    def __init__(self, n, delay=0.0):
        self.n, self.delay, self.reads = n, delay, []
        self.lock = threading.Lock()

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        time.sleep(self.delay)
        with self.lock:
            self.reads.append(int(i))
        return np.full((4, 4, 3), i % 256, np.uint8)


def test_read_ahead_follows_the_direction_of_travel():
    src = CountingFrames(100)
    c = FrameCache(src, 100, capacity=32, ahead=5)
    c.get(50)
    assert c.wait_idle()
    assert all(j in c for j in range(51, 56)) and 56 not in c and 49 not in c
    c.get(51)
    assert c.hits == 1                 # read before it was asked for
    c.get(40)                          # a step back: now read ahead downwards
    assert c.wait_idle()
    assert all(j in c for j in range(35, 40)) and c.direction == -1
    for j in range(39, 34, -1):
        c.get(j)
    assert c.hits == 6 and c.misses == 2
    assert sorted(src.reads) == sorted(set(src.reads))  # no frame was read twice
    c.close()


def test_get_waits_for_a_frame_being_read_ahead_instead_of_reading_it_again():
    src = CountingFrames(20, delay=0.05)
    c = FrameCache(src, 20, capacity=16, ahead=3)
    c.get(0)
    time.sleep(0.01)                   # the thread is now reading frame 1
    f = c.get(1)
    assert f[0, 0, 0] == 1
    assert src.reads.count(1) == 1
    c.close()


def test_ends_of_the_movie_and_close():
    src = CountingFrames(10)
    c = FrameCache(src, 10, capacity=8, ahead=4)
    c.get(9)
    assert c.wait_idle()
    assert set(src.reads) == {9}       # nothing beyond the end
    c.get(8)
    assert c.wait_idle()
    assert {4, 5, 6, 7} <= set(src.reads)
    c.close()
    n = len(src.reads)
    c.get(0)
    time.sleep(0.05)
    assert len(src.reads) == n + 1     # after close, only what is asked for
    assert c._thread is not None and not c._thread.is_alive()


def test_capacity_bounds_memory():
    src = CountingFrames(200)
    c = FrameCache(src, 200, capacity=10, ahead=4)
    for i in range(0, 100):
        c.get(i)
    c.wait_idle()
    assert len(c._data) <= 10
    c.close()
