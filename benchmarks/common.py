"""Helpers shared by the benchmark scripts (run them from the repository root or anywhere)."""

from __future__ import annotations

import os
import time

import cv2


def plain_decode(path) -> tuple[int, float]:
    """Frames decoded by a plain sequential OpenCV read of ``path``, and the seconds it took."""
    t = time.perf_counter()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n, time.perf_counter() - t


#: bytes :func:`back_memory` touches before each timed step that writes (0: off, ``--no-back-memory``)
BACK_BYTES = 2 << 30


def back_memory(nbytes: int | None = None) -> float:
    """Touch ``nbytes`` of fresh memory once and free it at once; return the seconds it took.

    Why: these benchmark machines are virtual (Firecracker guests) whose balloon driver hands every
    page left free for ~2 s back to the host ("free page reporting"), so the next first touch of it,
    by a page-cache write as much as by an allocation, costs the host a fault: measured here, 760 MB
    written to a new file took 1.19 s on such pages and 0.15 s right after this touch, and touching
    4 GB took 7.4 s after a 5 s pause against 0.6 s at once.  A desktop's RAM has no such cost, so
    the timed steps that write start on memory the host has backed.  The kernel hands out the pages
    just freed first; they stay backed for the step's first seconds.  :func:`page_backing` measures
    the effect on the machine that runs the benchmark."""
    import numpy as np
    n = BACK_BYTES if nbytes is None else int(nbytes)
    if n <= 0:
        return 0.0
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        n = min(n, avail // 3)
    except (ValueError, OSError, AttributeError):
        pass
    t = time.perf_counter()
    a = np.ones(n, np.uint8)
    del a
    return time.perf_counter() - t


def page_backing(folder, mb: int = 512, pause: float = 5.0) -> tuple[float, float]:
    """(seconds to write ``mb`` MB to a new file in ``folder`` after ``pause`` s idle, the same right
    after :func:`back_memory`): how much this machine's page backing costs a write (see there)."""
    import numpy as np
    buf = np.random.default_rng(0).integers(0, 255, 1 << 20, dtype=np.uint8).tobytes()
    out = []
    for back in (False, True):
        time.sleep(pause)
        if back:
            back_memory(max(BACK_BYTES, 2 * mb << 20))
        path = os.path.join(str(folder), f"backing-{int(back)}.bin")
        t = time.perf_counter()
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(buf)
        out.append(time.perf_counter() - t)
        os.unlink(path)
    return out[0], out[1]
