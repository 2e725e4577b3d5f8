"""A min/max pyramid of a per-frame series, for drawing very long curves fast (Qt-free).

Level ``k >= 1`` holds, for every bin of ``2**k`` consecutive frames, the smallest and the largest
finite value (NaN when the whole bin is NaN); level 0 is the series itself.  It is built once per
data change in O(n).  For a view of ``x0..x1`` over ``pixels`` pixel columns, :meth:`view` picks
the finest level whose bins are at least one pixel wide (at most 2 points per pixel) and returns only
the bins in view, so drawing costs O(pixels) whatever the length of the series -- unlike
re-clipping and re-downsampling all the points on every zoom or pan.
"""

from __future__ import annotations

import math

import numpy as np


class MinMaxPyramid:
    """Per-level bin minima and maxima of ``y`` (float64 (n,), NaN = gap)."""

    def __init__(self, y: np.ndarray) -> None:
        self.y = np.asarray(y, np.float64)
        self.n = len(self.y)
        self.mins: list[np.ndarray] = [self.y]
        self.maxs: list[np.ndarray] = [self.y]
        mn = mx = self.y
        with np.errstate(invalid="ignore"):
            while len(mn) > 1:
                if len(mn) % 2:
                    mn = np.append(mn, np.nan)
                    mx = np.append(mx, np.nan)
                mn = np.fmin(mn[0::2], mn[1::2])  # fmin/fmax ignore NaN unless both are NaN
                mx = np.fmax(mx[0::2], mx[1::2])
                self.mins.append(mn)
                self.maxs.append(mx)
        finite = np.isfinite(self.mins[-1]) if self.n else np.zeros(0, bool)
        self.bounds: tuple[float, float] | None = (
            (float(self.mins[-1][0]), float(self.maxs[-1][0])) if finite.any() else None)

    @property
    def levels(self) -> int:
        return len(self.mins)

    def level_for(self, frames_per_pixel: float) -> int:
        """The finest level whose bins are at least ``frames_per_pixel`` frames wide (at most one
        bin, i.e. two points, per pixel column); 0 (the frames) when a frame is wider than 1/2 px."""
        if not frames_per_pixel > 2.0:
            return 0
        return min(int(math.ceil(math.log2(frames_per_pixel) - 1e-9)), self.levels - 1)

    def view(self, x0: float, x1: float, pixels: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(x, y, level)`` to draw frames ``x0..x1`` on ``pixels`` columns (one bin of margin on
        each side so the line leaves the view instead of stopping at its edge).  At level 0 the
        points are the frames themselves; above, each bin gives two points (its min and max) at
        the bin's centre."""
        if self.n == 0:
            return np.zeros(0), np.zeros(0), 0
        lo, hi = (x0, x1) if x0 <= x1 else (x1, x0)
        k = self.level_for((hi - lo) / max(int(pixels), 1))
        size = 1 << k
        nb = len(self.mins[k])
        b0 = max(int(math.floor(lo / size)) - 1, 0)
        b1 = min(int(math.ceil(hi / size)) + 2, nb)
        if b1 <= b0:
            return np.zeros(0), np.zeros(0), k
        if k == 0:
            return np.arange(b0, b1, dtype=np.float64), self.y[b0:b1], 0
        centres = np.arange(b0, b1, dtype=np.float64) * size + (size - 1) / 2.0
        centres = np.minimum(centres, self.n - 1)
        x = np.repeat(centres, 2)
        y = np.empty(2 * (b1 - b0))
        y[0::2] = self.mins[k][b0:b1]
        y[1::2] = self.maxs[k][b0:b1]
        return x, y, k


__all__ = ["MinMaxPyramid"]
