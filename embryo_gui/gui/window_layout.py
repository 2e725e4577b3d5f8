"""The window's layout: the central splitter (frame + timeline over the edit bar + plot), the
docks (embryos, trainer, history), the status-bar widgets, and the persisted geometry/dock state.

:class:`EditBar` is view state only (which curve the edits change, which curves are shown, the
selection's text); the Session holds no such thing.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from ..lineages import COLUMNS
from .curve_plot import LINEAGE_COLOURS
from .flow_layout import FlowLayout
from .timeline import _swatch, link_x
from .view_model import Selection


class EditBar(QtWidgets.QWidget):
    """*Edit:* the column that dragging and the range edits change; *Show:* the visible curves;
    the selected frames.  Wraps instead of widening the window."""

    def __init__(self, curve: Any, selection: Selection, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.curve = curve
        lay = FlowLayout(self)
        lay.addWidget(QtWidgets.QLabel("Edit:"))
        self.column_combo = QtWidgets.QComboBox()
        self.column_combo.addItems(list(COLUMNS))
        self.column_combo.setCurrentText("population")
        self.column_combo.setToolTip("The curve that dragging and the range edits change")
        self.column_combo.currentTextChanged.connect(self._column_changed)
        lay.addWidget(self.column_combo)
        lay.addSpacing(12)
        lay.addWidget(QtWidgets.QLabel("Show:"))
        self.lineage_toggles: dict[str, QtWidgets.QCheckBox] = {}
        for col in COLUMNS:
            cb = QtWidgets.QCheckBox("pop" if col == "population" else col)
            if col != "population":
                cb.setIcon(_swatch(LINEAGE_COLOURS[col]))
            cb.setToolTip(f"Show the {col} curve")
            cb.setChecked(col == "population")
            cb.toggled.connect(lambda on, c=col: self.curve.set_column_visible(c, on))
            lay.addWidget(cb)
            self.lineage_toggles[col] = cb
        self.selection_label = QtWidgets.QLabel("")
        lay.addWidget(self.selection_label)
        selection.add_listener(self._selection_changed)

    def column(self) -> str:
        return self.curve.active_column

    def _column_changed(self, col: str) -> None:
        self.curve.active_column = col
        self.lineage_toggles[col].setChecked(True)

    def _selection_changed(self, sel) -> None:
        self.selection_label.setText("" if sel is None else
                                     f"selected frames {sel[0]}-{sel[1]} ({sel[1] - sel[0] + 1})")


def build(win: Any) -> None:
    """Lay out the window's views (already created) in the central splitter and the docks."""
    link_x(win.timeline, win.curve)  # one x axis: frame k at the same pixel column in both
    top = QtWidgets.QWidget()
    tl = QtWidgets.QVBoxLayout(top)
    tl.setContentsMargins(0, 0, 0, 0)
    tl.setSpacing(2)
    tl.addWidget(win.video, 1)
    tl.addWidget(win.timeline)
    bottom = QtWidgets.QWidget()
    bl = QtWidgets.QVBoxLayout(bottom)
    bl.setContentsMargins(0, 0, 0, 0)
    bl.setSpacing(2)
    bl.addWidget(win.edit_bar)
    bl.addWidget(win.curve, 1)
    for view in (win.video.graphics, win.timeline.plot, win.curve):
        # the views paint their whole background: Qt need not repaint the widgets behind them
        view.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
    win.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
    win.splitter.addWidget(top)
    win.splitter.addWidget(bottom)
    win.splitter.setStretchFactor(0, 3)
    win.splitter.setStretchFactor(1, 2)
    win.splitter.setSizes([560, 340])
    win.setCentralWidget(win.splitter)

    win.embryo_dock = dock(win, "Embryos", win.embryo_list, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
    win.trainer_dock = dock(win, "Trainer", win.trainer, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
    win.history_dock = dock(win, "History", win.history, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
    win.tabifyDockWidget(win.trainer_dock, win.history_dock)
    # the triage queue: every pending detection, ranked (Space / Shift+Space, A / R)
    win.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, win.triage)
    win.tabifyDockWidget(win.history_dock, win.triage)
    win.trainer_dock.raise_()
    # a normal widget, not a permanent one: a message (an error, "saved", a detection run's notes)
    # replaces it while it shows; beside a permanent stretched one it got no room and was never seen
    win.statusBar().addWidget(win.status_label, 1)
    win.statusBar().addPermanentWidget(win.busy_bar)


def dock(win: QtWidgets.QMainWindow, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
    """A dock named ``dock_<title>`` (its state persists); other engineers' docks (the triage
    queue) are added the same way."""
    d = QtWidgets.QDockWidget(title, win)
    d.setObjectName(f"dock_{title.lower()}")
    d.setWidget(widget)
    win.addDockWidget(area, d)
    return d


def restore(win: Any) -> None:
    s = win.settings
    geo = s.value("window/geometry")
    if geo is not None:
        win.restoreGeometry(geo)
    else:
        win.resize(1400, 900)
        # wide enough for an embryo row ("demo_00 (clean) · not yet reviewed") without clipping
        win.resizeDocks([win.embryo_dock, win.trainer_dock], [240, 320], QtCore.Qt.Orientation.Horizontal)
    state = s.value("window/state")
    if state is not None:
        win.restoreState(state)
    split = s.value("window/splitter")
    if split is not None:
        win.splitter.restoreState(split)
    for kind, cb in win.timeline.toggles.items():
        v = s.value(f"timeline/show_{kind}")
        if v is not None:
            cb.setChecked(str(v).lower() in ("true", "1"))
        cb.toggled.connect(lambda on, k=kind: s.setValue(f"timeline/show_{k}", on))


def playback_fps(settings: QtCore.QSettings) -> float:
    fps = settings.value("playback/fps")
    return float(fps) if fps is not None else 0.0  # 0 = the video's own fps


def save(win: Any) -> None:
    s = win.settings
    s.setValue("window/geometry", win.saveGeometry())
    s.setValue("window/state", win.saveState())
    s.setValue("window/splitter", win.splitter.saveState())
    s.sync()
