"""The population plot: current and original annotation curves, lineage curves, cursor line,
excluded frames greyed, cliffs shaded; drag a point or Shift+drag a range to edit.

The widget only emits requests (``pointDragged``, ``rangeSelected``, ``cliffDecision``...); the
main window turns them into core edits.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .items import RunsItem, cache_axes

COLUMNS = ("A", "E", "M", "P", "C", "D", "Z", "population")
LINEAGE_COLOURS = {
    "A": (230, 80, 80), "E": (80, 180, 80), "M": (80, 120, 230), "P": (220, 160, 30),
    "C": (170, 90, 200), "D": (40, 180, 180), "Z": (200, 110, 60), "population": (30, 30, 30),
}
CLIFF_COLOURS = {"pending": (240, 150, 20, 45), "accepted": (220, 40, 40, 35), "rejected": (140, 140, 140, 30)}
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


class _CliffRegion(pg.LinearRegionItem):
    def __init__(self, owner: "CurvePlot", index: int, span, status: str) -> None:
        c = CLIFF_COLOURS[status]
        super().__init__(values=(span[0] - 0.5, span[1] + 0.5), movable=False,
                         brush=pg.mkBrush(*c), pen=pg.mkPen(c[:3]))
        self._owner, self.index, self.status = owner, index, status
        self.setToolTip(f"cliff {index + 1}: {status} (right-click to accept or reject)")

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.RightButton:
            ev.accept()
            self._owner._cliff_menu(self.index, ev.screenPos())
        else:
            ev.ignore()


class CurvePlot(pg.PlotWidget):
    """Population / lineage curves of one embryo."""

    frameRequested = QtCore.Signal(int)
    rangeSelected = QtCore.Signal(int, int)       # inclusive
    pointDragged = QtCore.Signal(int, str, float)  # frame, column, new value
    cliffDecision = QtCore.Signal(int, bool)       # detection index, accept?

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self._vb = _CurveViewBox(self)
        super().__init__(parent, viewBox=self._vb)
        self.setMenuEnabled(False)
        pi = self.getPlotItem()
        pi.showGrid(x=True, y=True, alpha=0.15)
        pi.setLabel("left", "cells")
        pi.setLabel("bottom", "frame")
        cache_axes(pi)
        self.active_column = "population"
        self.current: np.ndarray | None = None
        self.original: np.ndarray | None = None
        self.x: np.ndarray | None = None
        self.visible_columns: set[str] = {"population"}

        self.excluded_item = RunsItem((120, 120, 120), -1e6, 1e6, alpha=70, outline=True)
        self.excluded_item.setZValue(-20)
        self.addItem(self.excluded_item, ignoreBounds=True)
        self.selection_item = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(80, 140, 255, 50))
        self.selection_item.setZValue(-15)
        self.selection_item.hide()
        self.addItem(self.selection_item, ignoreBounds=True)
        self.cliff_items: list[_CliffRegion] = []

        self.curves: dict[str, pg.PlotDataItem] = {}
        self.original_curves: dict[str, pg.PlotDataItem] = {}
        fg = pg.mkColor(pg.getConfigOption("foreground"))
        for col in COLUMNS:
            rgb = LINEAGE_COLOURS[col] if col != "population" else (fg.red(), fg.green(), fg.blue())
            # Thin pens: Qt strokes wide polylines far slower (a dense 10,000-point curve took
            # ~2 s with a 4.5 px pen); the original is a 1 px translucent line behind the current.
            width = 1.5 if col == "population" else 1.0
            orig = pg.PlotDataItem(pen=pg.mkPen(rgb + (90,), width=1), connect="finite",
                                   autoDownsampleFactor=1.0)
            cur = pg.PlotDataItem(pen=pg.mkPen(rgb, width=width), connect="finite", autoDownsampleFactor=1.0,
                                  name=("population" if col == "population" else f"lineage {col}"))
            orig.setZValue(-5)
            cur.setZValue(5 if col == "population" else 2)
            self.addItem(orig)
            self.addItem(cur)
            for item in (orig, cur):
                # after addItem: set before, pyqtgraph 0.14 never downsamples or clips the curve
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
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
            self._load_column(col, original=False)
        if excluded is not None:
            self.excluded_item.set_mask(excluded)

    def set_cliffs(self, cliffs: Sequence[dict]) -> None:
        for it in self.cliff_items:
            self.removeItem(it)
        self.cliff_items = []
        for i, det in enumerate(cliffs):
            it = _CliffRegion(self, i, cliff_span(det), cliff_status(det))
            it.setZValue(-10)
            self.addItem(it, ignoreBounds=True)
            self.cliff_items.append(it)

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
        if show:
            self.curves[col].setData(self.x, self.current[:, j])
        else:
            self.curves[col].setData([], [])
        if original:
            if show and self.original is not None:
                self.original_curves[col].setData(self.x, self.original[:, j])
            else:
                self.original_curves[col].setData([], [])

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

    def _cliff_menu(self, index: int, screen_pos) -> None:
        menu = QtWidgets.QMenu(self)
        acc = menu.addAction("Accept cliff (exclude / repair its frames)")
        rej = menu.addAction("Reject cliff (annotation is right)")
        chosen = menu.exec(QtCore.QPoint(int(screen_pos.x()), int(screen_pos.y())))
        if chosen is acc:
            self.cliffDecision.emit(index, True)
        elif chosen is rej:
            self.cliffDecision.emit(index, False)
