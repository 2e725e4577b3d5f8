"""Helpers shared by the benchmark scripts (run them from the repository root or anywhere)."""

from __future__ import annotations

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
