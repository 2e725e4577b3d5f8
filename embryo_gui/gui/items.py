"""Small pyqtgraph graphics items shared by the plots."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .view_model import runs


def device_spans(starts: np.ndarray, stops: np.ndarray, scale: float, offset: float,
                 lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel columns ``[x0, x1)`` covered by frame runs ``[start, stop)`` under ``x_px = x*scale +
    offset`` (frame ``f`` spans ``f - 0.5 .. f + 0.5``), each at least one pixel wide, clipped to
    ``[lo, hi]`` and merged where they touch, so the number of rectangles drawn never exceeds the
    widget's width whatever the number of runs."""
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = (np.asarray(starts, np.float64) - 0.5) * scale + offset
    b = (np.asarray(stops, np.float64) - 0.5) * scale + offset
    if scale < 0:
        a, b = b[::-1], a[::-1]
    x0 = np.floor(np.clip(a, lo, hi)).astype(np.int64)
    x1 = np.maximum(np.ceil(np.clip(b, lo, hi)).astype(np.int64), x0 + 1)
    keep = (b >= lo) & (a <= hi)
    x0, x1 = x0[keep], x1[keep]
    if x0.size == 0:
        return x0, x1
    reach = np.maximum.accumulate(x1)
    new = np.ones(x0.size, bool)
    new[1:] = x0[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, x0.size - 1)
    return x0[first], reach[last]


class RunsItem(pg.GraphicsObject):
    """Filled bands over the runs of True of a per-frame mask: one item for all the marks of a kind.

    ``y0``/``y1`` give the band in data coordinates.  Painting happens in device pixels: runs
    are mapped to pixel columns and merged, so a thousand marks (or a million frames) cost a few
    ``fillRect`` calls, and a one-frame run stays one pixel wide however far the view is zoomed out.
    """

    def __init__(self, colour, y0: float = 0.0, y1: float = 1.0, alpha: int = 255,
                 outline: bool = True) -> None:
        super().__init__()
        c = QtGui.QColor(*colour)
        c.setAlpha(alpha)
        self._colour = c
        self.y0, self.y1 = float(y0), float(y1)
        self.starts = np.zeros(0, np.int64)
        self.stops = np.zeros(0, np.int64)
        self._rect = QtCore.QRectF()
        self.n_runs = 0

    def set_mask(self, mask: np.ndarray | None) -> None:
        r = runs(mask) if mask is not None else np.zeros((0, 2), np.int64)
        self.set_runs(r[:, 0], r[:, 1])

    def set_runs(self, starts: np.ndarray, stops: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.starts = np.asarray(starts, np.int64)
        self.stops = np.asarray(stops, np.int64)
        self.n_runs = len(self.starts)
        if self.n_runs:
            a, b = float(self.starts.min()) - 0.5, float(self.stops.max()) - 0.5
            self._rect = QtCore.QRectF(a, min(self.y0, self.y1), b - a, abs(self.y1 - self.y0))
        else:
            self._rect = QtCore.QRectF()
        self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt API)
        return self._rect

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self.n_runs == 0:
            return
        t = p.transform()
        dev = p.device()
        w, h = (dev.width(), dev.height()) if dev is not None else (1 << 15, 1 << 15)
        x0, x1 = device_spans(self.starts, self.stops, t.m11(), t.m31(), -2.0, w + 2.0)
        if x0.size == 0:
            return
        ya, yb = sorted((self.y0 * t.m22() + t.m32(), self.y1 * t.m22() + t.m32()))
        ya, yb = max(ya, -2.0), min(yb, h + 2.0)
        if yb <= ya:
            return
        p.save()
        p.resetTransform()
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(self._colour)
        hgt = yb - ya
        p.drawRects([QtCore.QRectF(float(a), ya, float(b - a), hgt) for a, b in zip(x0.tolist(), x1.tolist())])
        p.restore()


def cache_axes(plot_item: pg.PlotItem) -> None:
    """Cache each axis (and its grid) as a device pixmap: moving a cursor line over a plot with a
    grid otherwise replays every axis label on each repaint (several ms per axis)."""
    for name in ("left", "bottom", "right", "top"):
        ax = plot_item.getAxis(name)
        ax.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
