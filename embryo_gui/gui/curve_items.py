"""Graphics items of the population plot: :class:`PyramidCurve` (a curve that holds only what
the view shows) and :class:`CliffBands` (all cliff detections as one light item), with the
helpers that read a cliff detection dict (:func:`cliff_status`, :func:`cliff_span`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from .items import CachedBand
from .pyramid import MinMaxPyramid
from .view_model import merge_spans

B = QtCore.Qt.BrushStyle
P = QtCore.Qt.PenStyle
#: status -> (RGBA, fill pattern or None, edge pen style); light enough to read the curve through
CLIFF_STYLES = {
    "accepted": ((220, 40, 40, 30), B.SolidPattern, P.NoPen),
    "pending": ((235, 130, 0, 60), B.BDiagPattern, P.DashLine),
    "rejected": ((130, 130, 130, 70), None, P.DotLine),
}


def cliff_status(det: dict) -> str:
    """``accepted`` / ``rejected`` / ``pending`` from a cliff detection dict."""
    st = det.get("status")
    if st in ("accepted", "rejected", "pending"):
        return st
    if det.get("accepted") is True:
        return "accepted"
    if det.get("accepted") is False or det.get("rejected") is True:
        return "rejected"
    return "pending"


def cliff_span(det: dict) -> tuple[int, int]:
    """First and last frame (inclusive) a cliff detection covers."""
    for a, b in (("start", "stop"), ("first", "last"), ("frame_start", "frame_stop")):
        if a in det and b in det:
            lo, hi = int(det[a]), int(det[b])
            return (lo, hi - 1 if a == "start" and hi > lo else hi)
    f = int(det.get("frame", det.get("drop_frame", 0)))
    return (f, f)



class PyramidCurve(pg.PlotDataItem):
    """A curve over frames ``0..n-1`` that holds only what the view shows: on every view change it
    takes the visible bins of a :class:`~embryo_gui.gui.pyramid.MinMaxPyramid` at ~2 points per
    pixel (O(pixels), not O(n)); pyqtgraph's own clipping/downsampling stays off.  Its data
    bounds are those of the whole series, so auto-range fits the whole curve as before."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pyramid: MinMaxPyramid | None = None
        self._key: tuple | None = None
        self._refreshing = False
        self.shown_level = 0

    def set_series(self, y: np.ndarray | None) -> None:
        """Show ``y`` (float (n,), NaN = gap) at x = frame index; None empties the curve."""
        self.pyramid = MinMaxPyramid(y) if y is not None and len(y) else None
        self._key = None
        self.refresh()

    def refresh(self) -> None:
        if self._refreshing:
            return
        self._refreshing = True
        try:
            if self.pyramid is None:
                if self._key != ():
                    self._key = ()
                    super().setData([], [])
                return
            vb = self.getViewBox()
            if vb is None or vb.width() < 2:
                x0, x1, px = 0.0, float(self.pyramid.n), 2000
            else:
                (x0, x1), px = vb.viewRange()[0], int(vb.width())
            x, y, k = self.pyramid.view(x0, x1, px)
            key = (k, float(x[0]) if len(x) else None, float(x[-1]) if len(x) else None, len(x))
            if key != self._key:
                self._key = key
                self.shown_level = k
                super().setData(x, y)
        finally:
            self._refreshing = False

    def viewRangeChanged(self, vb=None, ranges=None, changed=None) -> None:  # noqa: N802 (pyqtgraph API)
        self.refresh()

    def viewTransformChanged(self) -> None:  # noqa: N802 (Qt/pyqtgraph API): resize
        super().viewTransformChanged()
        self.refresh()

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 (pyqtgraph API)
        if self.pyramid is None:
            return (None, None)
        if ax == 0:
            return (0.0, float(self.pyramid.n - 1))
        return self.pyramid.bounds if self.pyramid.bounds is not None else (None, None)



class CliffBands(CachedBand):
    """All cliff detections of an embryo as one item: the spans of each status are merged (the
    detector reports the same drop for the population and each lineage) and drawn light, so the
    curve stays readable: accepted = translucent red fill, pending = orange hatching with dashed
    edges, rejected = grey dotted edges only.  Painted in device pixels over the full height."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: dict[str, list[tuple[int, int]]] = {s: [] for s in CLIFF_STYLES}
        self.setZValue(-10)

    def set_detections(self, spans: Sequence[tuple[int, int]], statuses: Sequence[str]) -> None:
        self.spans = {st: merge_spans([sp for sp, s in zip(spans, statuses) if s == st]) for st in CLIFF_STYLES}
        every = [sp for v in self.spans.values() for sp in v]
        if every:
            lo, hi = min(a for a, _ in every) - 0.5, max(b for _, b in every) + 0.5
            self.set_bounds(QtCore.QRectF(lo, -1e7, hi - lo, 2e7))
        else:
            self.set_bounds(QtCore.QRectF())

    def paint(self, p: QtGui.QPainter, *args) -> None:
        t = p.transform()
        dev = p.device()
        h = float(dev.height()) if dev is not None else 1e5
        p.save()
        p.resetTransform()
        for status in ("accepted", "pending", "rejected"):
            rgba, pattern, pen_style = CLIFF_STYLES[status]
            colour = QtGui.QColor(*rgba)
            brush = QtGui.QBrush(colour, pattern) if pattern is not None else QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush)
            edge = QtGui.QColor(*rgba[:3], min(255, rgba[3] * 3))
            pen = QtGui.QPen(edge, 1.0, pen_style)
            pen.setCosmetic(True)
            for lo, hi in self.spans[status]:
                x0 = (lo - 0.5) * t.m11() + t.m31()
                x1 = (hi + 0.5) * t.m11() + t.m31()
                x0, x1 = min(x0, x1), max(x0, x1)
                if x1 - x0 < 2.0:
                    x1 = x0 + 2.0
                if pattern is not None:
                    p.fillRect(QtCore.QRectF(x0, 0.0, x1 - x0, h), brush)
                if pen_style != QtCore.Qt.PenStyle.NoPen:
                    p.setPen(pen)
                    p.drawLine(QtCore.QPointF(x0, 0.0), QtCore.QPointF(x0, h))
                    p.drawLine(QtCore.QPointF(x1, 0.0), QtCore.QPointF(x1, h))
        p.restore()
