"""Main-window layout: the central splitter (video + timeline over edit bar + plot), the docks
(embryos, trainer, history), the status-bar widgets, and the persisted geometry/dock state."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ..lineages import COLUMNS
from .curve_plot import LINEAGE_COLOURS, CurvePlot
from .embryo_list import EmbryoList
from .flow_layout import FlowLayout
from .timeline import Timeline, _swatch
from .trainer_panel import TrainerPanel
from .video_view import VideoView


class LayoutMixin:
    """Builds the widgets of :class:`~embryo_gui.gui.main_window.MainWindow` and restores/saves
    their layout in ``self.settings``."""

    def _build_widgets(self) -> None:
        self.video = VideoView()
        self.timeline = Timeline()
        self.curve = CurvePlot()
        self.timeline.frameRequested.connect(self.cursor.seek)
        self.curve.frameRequested.connect(self.cursor.seek)
        self.timeline.rangeSelected.connect(self.select_range)
        self.curve.rangeSelected.connect(self.select_range)
        self.curve.pointDragged.connect(self._point_dragged)
        self.curve.cliffDecision.connect(self.decide_cliff)
        for kind, cb in self.timeline.toggles.items():
            cb.toggled.connect(lambda on, k=kind: self.settings.setValue(f"timeline/show_{k}", on))

        top = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        tl.addWidget(self.video, 1)
        tl.addWidget(self.timeline)
        bottom = QtWidgets.QWidget()
        bl = QtWidgets.QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.setSpacing(2)
        bl.addWidget(self._build_edit_bar())
        bl.addWidget(self.curve, 1)
        for view in (self.video.graphics, self.timeline.plot, self.curve):
            # the views paint their whole background: Qt need not repaint the widgets behind them
            view.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([560, 340])
        self.setCentralWidget(self.splitter)

        self.embryo_list = EmbryoList()
        self.embryo_list.embryoSelected.connect(self.set_embryo)
        self.embryo_dock = self._dock("Embryos", self.embryo_list, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.trainer = TrainerPanel()
        self.trainer.startRequested.connect(self.start_training)
        self.trainer.cancelRequested.connect(self.cancel_work)
        self.trainer.thresholdApplied.connect(self.apply_loss_threshold)
        self.trainer_dock = self._dock("Trainer", self.trainer, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.undo_view = QtWidgets.QUndoView(self.undo.stack)
        self.undo_view.setEmptyLabel("<opened>")
        self.history_dock = self._dock("History", self.undo_view, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.trainer_dock, self.history_dock)
        self.trainer_dock.raise_()

        self.status_label = QtWidgets.QLabel("no project")
        self.statusBar().addPermanentWidget(self.status_label, 1)
        self.busy_bar = QtWidgets.QProgressBar()
        self.busy_bar.setMaximumWidth(180)
        self.busy_bar.setRange(0, 1000)
        self.busy_bar.hide()
        self.statusBar().addPermanentWidget(self.busy_bar)

    def history_texts(self) -> list[str]:
        """The lines the History dock shows, oldest first (the first is the opened state)."""
        m = self.undo_view.model()
        return [str(m.data(m.index(r, 0))) for r in range(m.rowCount())]

    def _dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_edit_bar(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QWidget()
        lay = FlowLayout(bar)  # wraps in a narrow window instead of widening it
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
        lay.addStretch(1)
        self.selection_label = QtWidgets.QLabel("")
        lay.addWidget(self.selection_label)
        return bar

    def _restore_layout(self) -> None:
        geo = self.settings.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
            self.resizeDocks([self.embryo_dock, self.trainer_dock], [160, 320], QtCore.Qt.Orientation.Horizontal)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        split = self.settings.value("window/splitter")
        if split is not None:
            self.splitter.restoreState(split)
        for kind, cb in self.timeline.toggles.items():
            v = self.settings.value(f"timeline/show_{kind}")
            if v is not None:
                cb.setChecked(str(v).lower() in ("true", "1"))
        fps = self.settings.value("playback/fps")
        self.playback_fps = float(fps) if fps is not None else 0.0  # 0 = the video's own fps

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()
