"""Timeline scrubber: the current frame and one row of typed marks per flag kind.

Each flag kind is drawn as ONE :class:`~embryo_gui.gui.items.RunsItem` (a single painter path),
never one item per mark; each row is labelled on the left axis.  Click or drag to seek;
Shift+drag selects a frame range, and Shift+click (a short Shift+drag) selects from the cursor to
the frame clicked.  :func:`link_x` gives the timeline and the population plot one x axis (same
left-axis width, linked zoom and pan), so frame k is at the same pixel column in both.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .flow_layout import FlowLayout
from .items import RunsItem, screen_geometry, cache_axes, show_selection
from .theme import flag_colour
from .view_model import FLAG_KINDS

#: width in px of the left axis of the timeline and of the population plot (they line up)
LEFT_AXIS_WIDTH = 78

#: frames without an annotation: a hatched band behind all rows (colour, alpha, pattern)
UNANNOTATED_STYLE = ((110, 140, 200), 140, QtCore.Qt.BrushStyle.FDiagPattern)

ROW_HEIGHT = 0.8
#: rows on which an auto-clean draft is shown (what it would do), hatched
DRAFT_KINDS = ("excluded", "repaired")


class _TimelineViewBox(pg.ViewBox):
    """A ViewBox whose mouse seeks/selects instead of panning; the wheel zooms along x."""

    def __init__(self, owner: "TimelinePlot") -> None:
        super().__init__(enableMenu=False)
        self._owner = owner
        self.setMouseEnabled(x=True, y=False)
        self._drag_origin: float | None = None

    def screenGeometry(self):  # noqa: N802 (pyqtgraph API): lines linked views up right
        return screen_geometry(self)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            x = self.mapSceneToView(ev.scenePos()).x()
            # a Shift+drag shorter than the drag distance arrives as a click: it selects too
            self._owner._click(x, bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        x = self.mapSceneToView(ev.scenePos()).x()
        shift = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if ev.isStart():
            self._drag_origin = self.mapSceneToView(ev.buttonDownScenePos()).x()
        if shift and self._drag_origin is not None:
            self._owner._select(self._drag_origin, x, final=ev.isFinish())
        else:
            self._owner._seek(x)


class TimelinePlot(pg.PlotWidget):
    """The scrubber itself (see :class:`Timeline` for the widget with its legend)."""

    frameRequested = QtCore.Signal(int)
    rangeSelected = QtCore.Signal(int, int)  # inclusive

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        self._vb = _TimelineViewBox(self)
        super().__init__(parent, viewBox=self._vb)
        self.n_frames = 0
        self.setMenuEnabled(False)
        self.hideButtons()
        pi = self.getPlotItem()
        pi.showGrid(x=True, y=False, alpha=0.2)
        n = len(FLAG_KINDS)
        left = pi.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setTicks([[(n - 1 - row + ROW_HEIGHT / 2, kind.replace("_", " ")) for row, kind in enumerate(FLAG_KINDS)],
                       []])
        left.setStyle(tickLength=0, tickFont=_small_font())
        cache_axes(pi)
        self.setMinimumHeight(128)  # ~12 px per labelled row
        self.setMaximumHeight(190)
        self.kind_items: dict[str, RunsItem] = {}
        for row, kind in enumerate(FLAG_KINDS):
            y0 = n - 1 - row  # first kind on top
            item = RunsItem(flag_colour(kind), y0, y0 + ROW_HEIGHT)
            item.setZValue(5)
            self.addItem(item)
            self.kind_items[kind] = item
        # an auto-clean draft: what it would exclude / repair, hatched over those rows
        self.draft_items: dict[str, RunsItem] = {}
        for kind in DRAFT_KINDS:
            y0 = n - 1 - FLAG_KINDS.index(kind)
            item = RunsItem(flag_colour(kind), y0 - 0.05, y0 + ROW_HEIGHT + 0.05, alpha=255,
                            pattern=QtCore.Qt.BrushStyle.Dense4Pattern)
            item.setZValue(6)
            self.addItem(item)
            self.draft_items[kind] = item
        rgb, alpha, pattern = UNANNOTATED_STYLE
        self.unannotated_item = RunsItem(rgb, -0.2, n, alpha=alpha, pattern=pattern)
        self.unannotated_item.setZValue(0)
        self.addItem(self.unannotated_item, ignoreBounds=True)
        self.selection_item = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(80, 140, 255, 50))
        self.selection_item.setZValue(1)
        self.selection_item.hide()
        self.addItem(self.selection_item, ignoreBounds=True)
        self.cursor_line = pg.InfiniteLine(0, angle=90, movable=False, pen=pg.mkPen((255, 200, 0), width=2))
        self.cursor_line.setZValue(10)
        self.addItem(self.cursor_line, ignoreBounds=True)
        self._vb.setLimits(yMin=-0.2, yMax=n)
        self._vb.setYRange(-0.1, n, padding=0)

    # -- data ---------------------------------------------------------------------------------
    def set_length(self, n_frames: int) -> None:
        self.n_frames = int(n_frames)
        hi = max(self.n_frames - 0.5, 0.5)
        self._vb.setLimits(xMin=-0.5, xMax=hi, minXRange=min(10, hi + 0.5))
        self._vb.setXRange(-0.5, hi, padding=0)

    def set_marks(self, masks: Mapping[str, np.ndarray]) -> None:
        """Replace the marks of the kinds present in ``masks`` (bool per frame)."""
        for kind, mask in masks.items():
            item = self.kind_items.get(kind)
            if item is not None:
                item.set_mask(mask)

    def set_unannotated(self, mask: np.ndarray | None) -> None:
        """Hatch the frames without an annotation (bool per frame; None clears)."""
        self.unannotated_item.set_mask(mask)

    def set_kind_visible(self, kind: str, visible: bool) -> None:
        self.kind_items[kind].setVisible(bool(visible))

    def set_draft(self, masks: Mapping[str, np.ndarray] | None) -> None:
        """Show an auto-clean draft (``{"excluded": mask, "repaired": mask}``; None clears it)."""
        for kind, item in self.draft_items.items():
            item.set_mask(None if masks is None else masks.get(kind))

    def set_cursor(self, i: int) -> None:
        self.cursor_line.setValue(int(i))

    def set_selection(self, sel: tuple[int, int] | None) -> None:
        show_selection(self.selection_item, sel)

    # -- geometry helpers (tests click at computed positions) ---------------------------------
    def frame_to_widget(self, frame: float, row: float = 0.4) -> QtCore.QPoint:
        scene = self._vb.mapViewToScene(QtCore.QPointF(frame, row))
        return self.mapFromScene(scene)

    # -- mouse --------------------------------------------------------------------------------
    def _frame_at(self, x: float) -> int:
        return int(min(max(round(x), 0), max(self.n_frames - 1, 0)))

    def _click(self, x: float, shift: bool) -> None:
        if not self.n_frames:
            return
        if shift:
            self._select(float(self.cursor_line.value()), x, final=True)
        else:
            self.frameRequested.emit(self._frame_at(x))

    def _seek(self, x: float) -> None:
        if self.n_frames:
            self.frameRequested.emit(self._frame_at(x))

    def _select(self, x0: float, x1: float, final: bool) -> None:
        if not self.n_frames:
            return
        a, b = sorted((self._frame_at(x0), self._frame_at(x1)))
        self.set_selection((a, b))
        if final:
            self.rangeSelected.emit(a, b)


def _small_font() -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPixelSize(9)
    return f


def link_x(timeline: "Timeline | TimelinePlot", plot: pg.PlotWidget) -> None:
    """One x axis for the timeline and the population plot: the same left-axis width (frame k at
    the same pixel column in both) and linked x ranges (zoom and pan together)."""
    tl = timeline.plot if isinstance(timeline, Timeline) else timeline
    plot.getPlotItem().getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    tl.getPlotItem().getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    tl.getPlotItem().setXLink(plot.getPlotItem())


def _swatch(colour) -> QtGui.QIcon:
    pm = QtGui.QPixmap(12, 12)
    pm.fill(QtGui.QColor(*colour))
    return QtGui.QIcon(pm)


def _hatch_swatch(colour, alpha: int, pattern) -> QtGui.QPixmap:
    pm = QtGui.QPixmap(12, 12)
    pm.fill(QtGui.QColor(0, 0, 0, 0))
    p = QtGui.QPainter(pm)
    c = QtGui.QColor(*colour)
    c.setAlpha(255)
    p.fillRect(0, 0, 12, 12, QtGui.QBrush(c, pattern))
    p.setPen(c)
    p.drawRect(0, 0, 11, 11)
    p.end()
    return pm


class Timeline(QtWidgets.QWidget):
    """The scrubber plus a legend whose check boxes toggle each kind's visibility."""

    frameRequested = QtCore.Signal(int)
    rangeSelected = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = TimelinePlot(self)
        self.plot.frameRequested.connect(self.frameRequested)
        self.plot.rangeSelected.connect(self.rangeSelected)
        legend = FlowLayout()  # wraps in a narrow window instead of widening it
        legend.setContentsMargins(4, 0, 4, 0)
        legend.setSpacing(10)
        self.toggles: dict[str, QtWidgets.QCheckBox] = {}
        for kind in FLAG_KINDS:
            cb = QtWidgets.QCheckBox(kind.replace("_", " "))
            cb.setIcon(_swatch(flag_colour(kind)))
            cb.setChecked(True)
            cb.setToolTip(f"Show the '{kind}' marks on the timeline")
            cb.toggled.connect(lambda on, k=kind: self.plot.set_kind_visible(k, on))
            legend.addWidget(cb)
            self.toggles[kind] = cb
        self.unannotated_legend = QtWidgets.QLabel()
        self.unannotated_legend.setPixmap(_hatch_swatch(*UNANNOTATED_STYLE))
        self.unannotated_text = QtWidgets.QLabel("not annotated")
        self.unannotated_text.setToolTip("Hatched: frames without an annotation (e.g. after the last "
                                         "timepoint of the lineage file)")
        legend.addWidget(self.unannotated_legend)
        legend.addWidget(self.unannotated_text)
        legend.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.plot)
        lay.addLayout(legend)

    # thin delegation so callers need not know about the inner plot
    def set_length(self, n: int) -> None:
        self.plot.set_length(n)

    def set_marks(self, masks: Mapping[str, np.ndarray]) -> None:
        self.plot.set_marks(masks)

    def set_cursor(self, i: int) -> None:
        self.plot.set_cursor(i)

    def set_unannotated(self, mask: np.ndarray | None) -> None:
        self.plot.set_unannotated(mask)

    def set_selection(self, sel) -> None:
        self.plot.set_selection(sel)

    def set_draft(self, masks) -> None:
        self.plot.set_draft(masks)

    def visible_kinds(self) -> list[str]:
        return [k for k, cb in self.toggles.items() if cb.isChecked()]
