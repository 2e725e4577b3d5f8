"""The population plot: current and original annotation curves, lineage curves, cursor line,
excluded frames greyed, cliffs shaded; drag a point or Shift+drag a range to edit.

The widget only emits requests (``pointDragged``, ``rangeSelected``, ``cliffDecision``...); the
main window turns them into core edits.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .items import RunsItem, XGridItem, cache_axes
from .pyramid import MinMaxPyramid
from .view_model import detections_at, merge_spans

COLUMNS = ("A", "E", "M", "P", "C", "D", "Z", "population")
LINEAGE_COLOURS = {
    "A": (230, 80, 80), "E": (80, 180, 80), "M": (80, 120, 230), "P": (220, 160, 30),
    "C": (170, 90, 200), "D": (40, 180, 180), "Z": (200, 110, 60), "population": (30, 30, 30),
}
B = QtCore.Qt.BrushStyle
P = QtCore.Qt.PenStyle
#: status -> (RGBA, fill pattern or None, edge pen style); light enough to read the curve through
CLIFF_STYLES = {
    "accepted": ((220, 40, 40, 30), B.SolidPattern, P.NoPen),
    "pending": ((235, 130, 0, 60), B.BDiagPattern, P.DashLine),
    "rejected": ((130, 130, 130, 70), None, P.DotLine),
}
HIT_PIXELS = 10.0


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


def original_where_changed(original: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The original annotation where it differs from the current one (and one frame either side,
    so the faint line joins the current curve); NaN elsewhere, where the current curve drawn on
    top would hide it anyway -- drawing it there only costs time on long embryos."""
    o, c = np.asarray(original, np.float64), np.asarray(current, np.float64)
    diff = ~((o == c) | (np.isnan(o) & np.isnan(c)))
    keep = diff.copy()
    keep[1:] |= diff[:-1]
    keep[:-1] |= diff[1:]
    return np.where(keep, o, np.nan)


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


class _CurveViewBox(pg.ViewBox):
    def __init__(self, owner: "CurvePlot") -> None:
        super().__init__(enableMenu=False)
        self._owner = owner
        self._mode: str | None = None
        self._origin = 0.0

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self._owner._seek(self.mapSceneToView(ev.scenePos()).x())
        elif ev.button() == QtCore.Qt.MouseButton.RightButton and self._owner._context_menu(
                self.mapSceneToView(ev.scenePos()).x(), ev.screenPos()):
            ev.accept()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            down = ev.buttonDownScenePos()
            self._origin = self.mapSceneToView(down).x()
            if ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier:
                self._mode = "select"
            elif self._owner._hit(down) is not None:
                self._mode = "point"
                self._owner._drag_begin(self._owner._hit(down))
            else:
                self._mode = "pan"
        if self._mode == "select":
            ev.accept()
            self._owner._select(self._origin, self.mapSceneToView(ev.scenePos()).x(), ev.isFinish())
        elif self._mode == "point":
            ev.accept()
            self._owner._drag_move(self.mapSceneToView(ev.scenePos()).y(), ev.isFinish())
        else:
            super().mouseDragEvent(ev, axis)
        if ev.isFinish():
            self._mode = None


class CliffBands(pg.GraphicsObject):
    """All cliff detections of an embryo as one item: the spans of each status are merged (the
    detector reports the same drop for the population and each lineage) and drawn light, so the
    curve stays readable: accepted = translucent red fill, pending = orange hatching with dashed
    edges, rejected = grey dotted edges only.  Painted in device pixels over the full height."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: dict[str, list[tuple[int, int]]] = {s: [] for s in CLIFF_STYLES}
        self._rect = QtCore.QRectF()
        self.setZValue(-10)

    def set_detections(self, spans: Sequence[tuple[int, int]], statuses: Sequence[str]) -> None:
        self.prepareGeometryChange()
        self.spans = {st: merge_spans([sp for sp, s in zip(spans, statuses) if s == st]) for st in CLIFF_STYLES}
        every = [sp for v in self.spans.values() for sp in v]
        if every:
            lo, hi = min(a for a, _ in every) - 0.5, max(b for _, b in every) + 0.5
            self._rect = QtCore.QRectF(lo, -1e7, hi - lo, 2e7)
        else:
            self._rect = QtCore.QRectF()
        self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt API)
        return self._rect

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


class CurvePlot(pg.PlotWidget):
    """Population / lineage curves of one embryo."""

    frameRequested = QtCore.Signal(int)
    rangeSelected = QtCore.Signal(int, int)       # inclusive
    pointDragged = QtCore.Signal(int, str, float)  # frame, column, new value
    cliffDecision = QtCore.Signal(object, bool)    # list of detection indices, accept?

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self._vb = _CurveViewBox(self)
        super().__init__(parent, viewBox=self._vb)
        self.setMenuEnabled(False)
        pi = self.getPlotItem()
        pi.showGrid(x=False, y=True, alpha=0.15)  # vertical lines: XGridItem (cheaper on pan/zoom)
        pi.setLabel("left", "cells")
        pi.setLabel("bottom", "frame")
        cache_axes(pi)
        self.active_column = "population"
        self.current: np.ndarray | None = None
        self.original: np.ndarray | None = None
        self.x: np.ndarray | None = None
        self.visible_columns: set[str] = {"population"}

        self.x_grid = XGridItem(pi.getAxis("bottom"))
        self.addItem(self.x_grid, ignoreBounds=True)
        self.excluded_item = RunsItem((120, 120, 120), -1e6, 1e6, alpha=50, outline=True)
        self.excluded_item.setZValue(-20)
        self.addItem(self.excluded_item, ignoreBounds=True)
        self.selection_item = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(80, 140, 255, 50))
        self.selection_item.setZValue(-15)
        self.selection_item.hide()
        self.addItem(self.selection_item, ignoreBounds=True)
        self.cliffs: list[dict] = []
        self.cliff_bands = CliffBands()
        self.addItem(self.cliff_bands, ignoreBounds=True)

        self.curves: dict[str, pg.PlotDataItem] = {}
        self.original_curves: dict[str, pg.PlotDataItem] = {}
        fg = pg.mkColor(pg.getConfigOption("foreground"))
        for col in COLUMNS:
            rgb = LINEAGE_COLOURS[col] if col != "population" else (fg.red(), fg.green(), fg.blue())
            # Thin pens: Qt strokes wide polylines far slower (a dense 10,000-point curve took
            # ~2 s with a 4.5 px pen); the original is a 1 px translucent line behind the current.
            width = 1.0  # wider pens go through Qt's stroker: 7 ms instead of 1 ms per 2,000 points
            orig = PyramidCurve(pen=pg.mkPen(rgb + (90,), width=1), connect="finite")
            cur = PyramidCurve(pen=pg.mkPen(rgb, width=width), connect="finite",
                               name=("population" if col == "population" else f"lineage {col}"))
            orig.setZValue(-5)
            cur.setZValue(5 if col == "population" else 2)
            self.addItem(orig)
            self.addItem(cur)
            self.curves[col], self.original_curves[col] = cur, orig
            if col != "population":
                cur.hide()
                orig.hide()
        self.drag_marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(255, 200, 0), pen=pg.mkPen("k"))
        self.drag_marker.setZValue(20)
        self.addItem(self.drag_marker, ignoreBounds=True)
        self._drag_frame: int | None = None
        self.cursor_line = pg.InfiniteLine(0, angle=90, movable=True, pen=pg.mkPen((230, 160, 0), width=2),
                                           hoverPen=pg.mkPen((255, 120, 0), width=3))
        self.cursor_line.setZValue(30)
        self.addItem(self.cursor_line, ignoreBounds=True)
        self.cursor_line.sigPositionChanged.connect(self._cursor_moved)
        self._setting_cursor = False

    # -- data ---------------------------------------------------------------------------------
    def set_data(self, current: np.ndarray | None, original: np.ndarray | None = None,
                 excluded: np.ndarray | None = None, cliffs: Sequence[dict] = (),
                 keep_view: bool = False) -> None:
        """Show an embryo's ``(T, 8)`` counts; ``keep_view`` keeps the zoom after an edit."""
        self.current, self.original = current, original
        if current is None:
            for c in list(self.curves.values()) + list(self.original_curves.values()):
                c.setData([], [])
            self.excluded_item.set_mask(None)
            self.set_cliffs(())
            return
        n = current.shape[0]
        if self.x is None or len(self.x) != n:
            self.x = np.arange(n, dtype=np.float64)
        for col in COLUMNS:
            self._load_column(col)
        self.excluded_item.set_mask(excluded)
        self.set_cliffs(cliffs)
        if not keep_view:
            self.getPlotItem().enableAutoRange()
            self._vb.setLimits(xMin=-0.5 - 0.02 * n, xMax=n - 0.5 + 0.02 * n)

    def update_column_curves(self, current: np.ndarray, excluded: np.ndarray | None = None) -> None:
        """Refresh the current curves after an edit, keeping the zoom."""
        self.current = current
        for col in COLUMNS:
            self._load_column(col)
        if excluded is not None:
            self.excluded_item.set_mask(excluded)

    def set_cliffs(self, cliffs: Sequence[dict]) -> None:
        self.cliffs = [dict(c) for c in cliffs]
        self.cliff_bands.set_detections([cliff_span(c) for c in self.cliffs], [cliff_status(c) for c in self.cliffs])

    def cliffs_at(self, frame: int) -> list[int]:
        """Indices of the cliff detections covering ``frame``."""
        return detections_at([cliff_span(c) for c in self.cliffs], int(frame))

    def set_column_visible(self, col: str, visible: bool) -> None:
        if visible:
            self.visible_columns.add(col)
        else:
            self.visible_columns.discard(col)
        self.curves[col].setVisible(visible)
        self.original_curves[col].setVisible(visible)
        self._load_column(col)

    def _load_column(self, col: str, original: bool = True) -> None:
        """Give a curve its data only while it is shown: a hidden curve holding a million points
        would still be clipped and downsampled on every pan and zoom."""
        j = COLUMNS.index(col)
        show = col in self.visible_columns and self.current is not None
        self.curves[col].set_series(self.current[:, j] if show else None)
        if original:
            self.original_curves[col].set_series(
                original_where_changed(self.original[:, j], self.current[:, j])
                if show and self.original is not None else None)

    def set_cursor(self, i: int) -> None:
        self._setting_cursor = True
        try:
            self.cursor_line.setValue(int(i))
        finally:
            self._setting_cursor = False

    def set_selection(self, sel: tuple[int, int] | None) -> None:
        if sel is None:
            self.selection_item.hide()
        else:
            self.selection_item.setRegion((sel[0] - 0.5, sel[1] + 0.5))
            self.selection_item.show()

    def data_to_widget(self, x: float, y: float) -> QtCore.QPoint:
        return self.mapFromScene(self._vb.mapViewToScene(QtCore.QPointF(x, y)))

    # -- interaction --------------------------------------------------------------------------
    def _n(self) -> int:
        return 0 if self.current is None else self.current.shape[0]

    def _frame_at(self, x: float) -> int:
        return int(min(max(round(x), 0), max(self._n() - 1, 0)))

    def _cursor_moved(self) -> None:
        if self._setting_cursor or not self._n():
            return
        i = self._frame_at(self.cursor_line.value())
        self.frameRequested.emit(i)

    def _seek(self, x: float) -> None:
        if self._n():
            self.frameRequested.emit(self._frame_at(x))

    def _select(self, x0: float, x1: float, final: bool) -> None:
        if not self._n():
            return
        a, b = sorted((self._frame_at(x0), self._frame_at(x1)))
        self.set_selection((a, b))
        if final:
            self.rangeSelected.emit(a, b)

    def _hit(self, scene_pos) -> int | None:
        """The frame whose active-column point lies within HIT_PIXELS of a scene position."""
        if not self._n() or not self.curves[self.active_column].isVisible():
            return None
        col = COLUMNS.index(self.active_column)
        f = self._frame_at(self._vb.mapSceneToView(scene_pos).x())
        best, best_d = None, HIT_PIXELS
        for g in (f - 1, f, f + 1):
            if 0 <= g < self._n() and np.isfinite(self.current[g, col]):
                p = self._vb.mapViewToScene(QtCore.QPointF(g, self.current[g, col]))
                d = float(np.hypot(p.x() - scene_pos.x(), p.y() - scene_pos.y()))
                if d <= best_d:
                    best, best_d = g, d
        return best

    def _drag_begin(self, frame: int) -> None:
        self._drag_frame = frame
        col = COLUMNS.index(self.active_column)
        self.drag_marker.setData([frame], [self.current[frame, col]])

    def _drag_move(self, y: float, final: bool) -> None:
        if self._drag_frame is None:
            return
        value = float(max(round(y), 0))
        self.drag_marker.setData([self._drag_frame], [value])
        if final:
            frame, self._drag_frame = self._drag_frame, None
            self.drag_marker.setData([], [])
            self.pointDragged.emit(frame, self.active_column, value)

    def cliff_menu(self, frame: int) -> QtWidgets.QMenu | None:
        """The context menu for the cliffs covering ``frame`` (None when there are none): one
        submenu per detection (Accept / Reject) and, for several, Accept all / Reject all.
        Its actions emit :attr:`cliffDecision`."""
        hits = self.cliffs_at(frame)
        if not hits:
            return None
        menu = QtWidgets.QMenu(self)
        if len(hits) > 1:
            menu.addAction(f"Accept all {len(hits)} cliffs here (exclude / repair their frames)").triggered.connect(
                lambda _=False, h=list(hits): self.cliffDecision.emit(h, True))
            menu.addAction(f"Reject all {len(hits)} cliffs here (annotation is right)").triggered.connect(
                lambda _=False, h=list(hits): self.cliffDecision.emit(h, False))
            menu.addSeparator()
        for k in hits:
            c = self.cliffs[k]
            lo, hi = cliff_span(c)
            title = (f"Cliff {k + 1}: {c.get('lineage', 'population')}, frames {lo}-{hi}"
                     f" ({cliff_status(c)})")
            sub = menu.addMenu(title) if len(hits) > 1 else menu
            if len(hits) == 1:
                head = menu.addAction(title)
                head.setEnabled(False)
            acc = sub.addAction("Accept (exclude / repair its frames)")
            rej = sub.addAction("Reject (annotation is right)")
            acc.setCheckable(True)
            rej.setCheckable(True)
            acc.setChecked(cliff_status(c) == "accepted")
            rej.setChecked(cliff_status(c) == "rejected")
            acc.triggered.connect(lambda _=False, i=k: self.cliffDecision.emit([i], True))
            rej.triggered.connect(lambda _=False, i=k: self.cliffDecision.emit([i], False))
        return menu

    def _context_menu(self, x: float, screen_pos) -> bool:
        if not self._n():
            return False
        menu = self.cliff_menu(self._frame_at(x))
        if menu is None:
            return False
        menu.exec(QtCore.QPoint(int(screen_pos.x()), int(screen_pos.y())))
        menu.deleteLater()
        return True
