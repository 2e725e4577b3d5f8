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

from ..lineages import COLUMNS
from ..model.detections import cliff_remarks
from .curve_items import CliffBands, PyramidCurve, cliff_span, cliff_status
from .items import RunsItem, screen_geometry, XGridItem, cache_axes, show_selection
from .view_model import detections_at, unannotated_mask

LINEAGE_COLOURS = {
    "A": (230, 80, 80), "E": (80, 180, 80), "M": (80, 120, 230), "P": (220, 160, 30),
    "C": (170, 90, 200), "D": (40, 180, 180), "Z": (200, 110, 60), "population": (30, 30, 30),
}
HIT_PIXELS = 10.0
#: frames without an annotation (NaN population): blue-grey hatching, unlike excluded (grey fill)
#: and pending cliffs (orange hatching the other way)
UNANNOTATED_STYLE = ((110, 140, 200), 110, QtCore.Qt.BrushStyle.FDiagPattern)


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


class _CurveViewBox(pg.ViewBox):
    def __init__(self, owner: "CurvePlot") -> None:
        super().__init__(enableMenu=False)
        self._owner = owner
        self._mode: str | None = None
        self._origin = 0.0

    def screenGeometry(self):  # noqa: N802 (pyqtgraph API): lines linked views up right
        return screen_geometry(self)

    def itemBoundsChanged(self, item) -> None:  # noqa: N802 (pyqtgraph API)
        # pyqtgraph queues an auto-range -- and repaints the whole plot -- whenever ANY item moves,
        # even one added with ignoreBounds (the cursor line: every frame step); only the items
        # whose bounds count for the range (``addedItems``) can change it
        if item in self.addedItems:
            super().itemBoundsChanged(item)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            x = self.mapSceneToView(ev.scenePos()).x()
            if ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier:
                # a Shift+drag shorter than the drag distance arrives as a click: select from the cursor
                self._owner._select(float(self._owner.cursor_line.value()), x, True)
            else:
                self._owner._seek(x)
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
        rgb, alpha, pattern = UNANNOTATED_STYLE
        self.unannotated_item = RunsItem(rgb, -1e6, 1e6, alpha=alpha, pattern=pattern)
        self.unannotated_item.setZValue(-25)
        self.addItem(self.unannotated_item, ignoreBounds=True)
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
        # an auto-clean draft: the planned population curve (dashed) and the frames it would exclude
        self.draft_curve = PyramidCurve(pen=pg.mkPen((230, 120, 0), width=1, style=QtCore.Qt.PenStyle.DashLine),
                                        connect="finite", name="auto-clean draft")
        self.draft_curve.setZValue(6)
        self.addItem(self.draft_curve)
        self.draft_excluded = RunsItem((230, 120, 0), -1e6, 1e6, alpha=70, pattern=QtCore.Qt.BrushStyle.Dense6Pattern)
        self.draft_excluded.setZValue(-19)
        self.addItem(self.draft_excluded, ignoreBounds=True)
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
            self.unannotated_item.set_mask(None)
            self.set_cliffs(())
            return
        n = current.shape[0]
        if self.x is None or len(self.x) != n:
            self.x = np.arange(n, dtype=np.float64)
        for col in COLUMNS:
            self._load_column(col)
        self.excluded_item.set_mask(excluded)
        self.unannotated_item.set_mask(unannotated_mask(current))
        self.set_cliffs(cliffs)
        if not keep_view:
            # x: the frames exactly, like the timeline it is linked with (timeline.link_x); y: auto
            self._vb.setLimits(xMin=-0.5, xMax=max(n - 0.5, 0.5))
            self._vb.setXRange(-0.5, max(n - 0.5, 0.5), padding=0)
            self._vb.enableAutoRange(axis=pg.ViewBox.YAxis)

    def update_column_curves(self, current: np.ndarray, excluded: np.ndarray | None = None) -> None:
        """Refresh the current curves after an edit, keeping the zoom."""
        self.current = current
        for col in COLUMNS:
            self._load_column(col)
        self.unannotated_item.set_mask(unannotated_mask(current))
        if excluded is not None:
            self.excluded_item.set_mask(excluded)

    def set_draft(self, current: np.ndarray | None, excluded: np.ndarray | None = None) -> None:
        """Show an auto-clean draft: its planned counts (population, dashed, where they differ
        from now) and the frames it would exclude (hatched); ``None`` clears it."""
        if current is None or self.current is None:
            self.draft_curve.set_series(None)
            self.draft_excluded.set_mask(None)
            return
        self.draft_curve.set_series(original_where_changed(current[:, -1], self.current[:, -1]))
        self.draft_excluded.set_mask(excluded)

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
        """Move the cursor line to frame ``i``; when zoomed in and ``i`` is out of view, pan so it
        is in view again (the linked timeline follows)."""
        self._setting_cursor = True
        try:
            self.cursor_line.setValue(int(i))
        finally:
            self._setting_cursor = False
        self.keep_in_view(int(i))

    def keep_in_view(self, i: int) -> None:
        n = self._n()
        if not n:
            return
        (x0, x1), _ = self._vb.viewRange()
        if x0 - 0.5 <= i <= x1 + 0.5 or x1 - x0 >= n:
            return
        w = x1 - x0
        lo = min(max(i - w / 2.0, -0.5), max(n - 0.5 - w, -0.5))
        self._vb.setXRange(lo, lo + w, padding=0)

    def set_selection(self, sel: tuple[int, int] | None) -> None:
        show_selection(self.selection_item, sel)

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
            said = "".join(f", {r}" for r in cliff_remarks(c, kept_prefix=""))   # app.detecting.carry_decisions
            title = (f"Cliff {k + 1}: {c.get('lineage', 'population')}, frames {lo}-{hi}"
                     f" ({cliff_status(c)}{said})")
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
