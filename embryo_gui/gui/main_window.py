"""The main window: video view, timeline, population plot, docks (embryos, trainer, history).

It wires widgets to the core; it holds no repair logic.  Every change to an embryo is one core edit
pushed through :class:`~embryo_gui.gui.undo.UndoController`; long work runs in
:mod:`~embryo_gui.gui.workers`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__, edits
from ..errors import EmbryoError
from ..lineages import COLUMNS
from ..model import Project
from . import recovery, workers
from .curve_plot import LINEAGE_COLOURS, CurvePlot, cliff_span, cliff_status
from .embryo_list import EmbryoList
from .frame_cache import FrameCache
from .icons import app_icon, icon
from .timeline import Timeline, _swatch
from .trainer_panel import TrainerPanel
from .undo import UndoController
from .video_view import VideoView
from .view_model import FLAG_KINDS, FrameCursor, any_flag_mask, next_flagged, status_text

PROJECT_SUFFIXES = (".h5", ".hdf5")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".tif", ".tiff", ".m4v", ".wmv")
ANNOTATION_SUFFIXES = (".csv", ".txt")
MAX_RECENT = 8
AUTOSAVE_MS = 60_000


class MainWindow(QtWidgets.QMainWindow):
    """The embryo-gui main window."""

    projectChanged = QtCore.Signal()
    frameShown = QtCore.Signal(int)
    workFinished = QtCore.Signal(str)  # "train", "train-cancelled", "autoclean", "export", "import", "...-failed"

    def __init__(self, settings: QtCore.QSettings | None = None, recovery_dir: Path | None = None,
                 autosave_ms: int = AUTOSAVE_MS, ask: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QtCore.QSettings("embryo-gui", "embryo-gui")
        self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else _default_recovery_dir()
        self.ask = ask  # False in tests: never block on a modal question
        self.project: Project | None = None
        self.embryo: Any = None
        self.cursor = FrameCursor()
        self.cursor.add_listener(self._on_cursor)
        self.undo = UndoController(self)
        self.undo.changed.connect(self._on_embryo_changed)
        self.undo.stack.cleanChanged.connect(self._on_stack_changed)
        self.undo.stack.indexChanged.connect(self._on_stack_changed)
        self._masks: dict[str, np.ndarray] = {}
        self._restored_dirty = False
        self._busy: str | None = None
        self.worker: workers.Worker | None = None
        self.last_result: Any = None
        self.last_summary: list | None = None
        self.last_error: str | None = None
        self.live_lossy: dict[str, np.ndarray] = {}  # frames the running trainer marked so far

        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._restore_layout()
        self._update_title()
        self._update_enabled()

        self.status_timer = QtCore.QTimer(self, singleShot=True, interval=40)
        self.status_timer.timeout.connect(self.update_status)
        self.frame_cache: FrameCache | None = None
        self._direction = 1
        self.prefetch_timer = QtCore.QTimer(self, singleShot=True, interval=3)  # after the paint
        self.prefetch_timer.timeout.connect(self._prefetch)
        self.play_timer = QtCore.QTimer(self)
        self.play_timer.timeout.connect(self._play_tick)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(int(autosave_ms))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ------------------------------------------------------------------ construction
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

    def _dock(self, title: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_edit_bar(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(bar)
        lay.setContentsMargins(4, 0, 4, 0)
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

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon_name: str | None = None,
                auto_repeat: bool = False) -> QtGui.QAction:
        a = QtGui.QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            a.setShortcuts([QtGui.QKeySequence(k) for k in keys])
            a.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        a.setAutoRepeat(auto_repeat)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        if icon_name:
            a.setIcon(icon(icon_name))
        a.triggered.connect(lambda _=False: slot())
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        K = QtCore.Qt.Key
        M = QtCore.Qt.KeyboardModifier
        self.act_new = A("&New project from video...", self.new_project_dialog, QtGui.QKeySequence.StandardKey.New)
        self.act_open = A("&Open project...", self.open_dialog, QtGui.QKeySequence.StandardKey.Open,
                          icon_name="open")
        self.act_save = A("&Save", self.save, "Ctrl+S", "Save the project (atomic)", "save")
        self.act_export = A("&Export cleaned dataset...", self.export_dialog, "Ctrl+Shift+E",
                            icon_name="export")
        self.act_quit = A("&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)
        self.act_undo = A("&Undo", self.undo.stack.undo, "Ctrl+Z", icon_name="undo")
        self.act_redo = A("&Redo", self.undo.stack.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], icon_name="redo")
        self.act_set_value = A("Set &value...", self.set_value_dialog, "Ctrl+Shift+V",
                               "Set the edited column on the selected frames")
        self.act_interpolate = A("&Interpolate", self.interpolate, "Ctrl+I",
                                 "Interpolate the selected frames from their annotated neighbours", "interpolate")
        self.act_refit = A("Refit &monotone", self.refit, "Ctrl+M",
                           "Refit the selected frames non-decreasing", "refit")
        self.act_exclude = A("E&xclude", lambda: self.set_excluded(True), "Ctrl+E",
                             "Exclude the selected frames from the dataset", "exclude")
        self.act_include = A("In&clude", lambda: self.set_excluded(False), "Ctrl+Shift+I",
                             "Include the selected frames again", "include")
        self.act_truncate = A("&Truncate after cursor", self.truncate, "Ctrl+Shift+T",
                              "Exclude every frame after the current one", "truncate")
        self.act_accept = A("&Accept cliff at cursor", lambda: self.decide_cliff(None, True), "Ctrl+Shift+A")
        self.act_reject = A("&Reject cliff at cursor", lambda: self.decide_cliff(None, False), "Ctrl+Shift+R")
        self.act_autoclean = A("Auto-&clean", self.autoclean, "Ctrl+Shift+C",
                               "Detect and repair corrupt frames and cliffs (one undo step per embryo)",
                               "autoclean")
        self.act_train = A("Start &training", lambda: self.start_training(self.trainer.settings()), None,
                           "Train the lossy-frame CNN", "train")
        # navigation (none of these changes data)
        self.act_next = A("Next frame", lambda: self.cursor.step(1), K.Key_Right, auto_repeat=True)
        self.act_prev = A("Previous frame", lambda: self.cursor.step(-1), K.Key_Left, auto_repeat=True)
        self.act_next10 = A("Forward 10 frames", lambda: self.cursor.step(10),
                            QtGui.QKeySequence(M.ShiftModifier | K.Key_Right), auto_repeat=True)
        self.act_prev10 = A("Back 10 frames", lambda: self.cursor.step(-10),
                            QtGui.QKeySequence(M.ShiftModifier | K.Key_Left), auto_repeat=True)
        self.act_next100 = A("Forward 100 frames", lambda: self.cursor.step(100), K.Key_PageDown,
                             auto_repeat=True)
        self.act_prev100 = A("Back 100 frames", lambda: self.cursor.step(-100), K.Key_PageUp, auto_repeat=True)
        self.act_first = A("First frame", lambda: self.cursor.seek(0), K.Key_Home)
        self.act_last = A("Last frame", lambda: self.cursor.seek(self.cursor.n_frames - 1), K.Key_End)
        self.act_play = A("Play / pause", self.toggle_play, K.Key_Space, icon_name="play")
        self.act_next_flag = A("Next flagged frame", lambda: self.jump_flag(True), K.Key_N, icon_name="next-flag")
        self.act_prev_flag = A("Previous flagged frame", lambda: self.jump_flag(False),
                               QtGui.QKeySequence(M.ShiftModifier | K.Key_N), icon_name="previous-flag")
        self.act_goto = A("&Go to frame...", self.goto_dialog, "Ctrl+G")
        self.act_clear_sel = A("Clear selection", self.clear_selection, K.Key_Escape)
        self.act_fit = A("Fit frame", self.video.fit, "Ctrl+0", icon_name="zoom-fit")
        self.act_about = A("&About embryo-gui", self.about_dialog)
        self.undo.stack.canUndoChanged.connect(self.act_undo.setEnabled)
        self.undo.stack.canRedoChanged.connect(self.act_redo.setEnabled)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)

        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a, short in ((self.act_open, "Open"), (self.act_prev_flag, "Prev flag"), (self.act_next_flag, "Next flag"),
                         (self.act_play, "Play"), (self.act_refit, "Refit"), (self.act_truncate, "Truncate"),
                         (self.act_train, "Train"), (self.act_export, "Export"), (self.act_autoclean, "Auto-clean")):
            a.setIconText(short)
        for a in (self.act_open, self.act_save, None, self.act_undo, self.act_redo, None, self.act_prev_flag,
                  self.act_play, self.act_next_flag, None, self.act_interpolate, self.act_refit, self.act_exclude,
                  self.act_include, self.act_truncate, None, self.act_autoclean, self.act_train, self.act_export):
            tb.addSeparator() if a is None else tb.addAction(a)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for a in (self.act_new, self.act_open):
            f.addAction(a)
        self.recent_menu = f.addMenu("Open &recent")
        self._fill_recent()
        for a in (None, self.act_save, self.act_export, None, self.act_quit):
            f.addSeparator() if a is None else f.addAction(a)
        e = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, None, self.act_set_value, self.act_interpolate, self.act_refit,
                  self.act_exclude, self.act_include, self.act_truncate, None, self.act_accept, self.act_reject,
                  None, self.act_autoclean, self.act_train):
            e.addSeparator() if a is None else e.addAction(a)
        v = mb.addMenu("&View")
        for a in (self.act_goto, self.act_next, self.act_prev, self.act_next10, self.act_prev10, self.act_next100,
                  self.act_prev100, self.act_first, self.act_last, self.act_play, self.act_next_flag,
                  self.act_prev_flag, self.act_clear_sel, self.act_fit, None):
            v.addSeparator() if a is None else v.addAction(a)
        for d in (self.embryo_dock, self.trainer_dock, self.history_dock):
            v.addAction(d.toggleViewAction())
        h = mb.addMenu("&Help")
        h.addAction(self.act_about)

    # ------------------------------------------------------------------ settings / layout
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

    def recent_files(self) -> list[str]:
        v = self.settings.value("recent/files")
        if v is None:
            return []
        return [str(x) for x in (v if isinstance(v, list) else [v])]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent/files", files[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for f in self.recent_files():
            a = self.recent_menu.addAction(f)
            a.triggered.connect(lambda _=False, p=f: self.open_project(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # ------------------------------------------------------------------ project
    @property
    def modified(self) -> bool:
        return self.project is not None and (self.project.modified or self._restored_dirty)

    def set_project(self, project: Project | None, restored: bool = False) -> None:
        """Show ``project`` (replacing the current one without asking)."""
        self.stop_play()
        if self.project is not None and self.project is not project:
            self.project.close()
        self.project = project
        self._restored_dirty = restored
        self.undo.clear()
        self.embryo = None
        if project is not None:
            self.undo.adopt_history(project.embryos)
            self._refresh_embryo_list()
            if project.embryos:
                self.set_embryo(project.embryos[0].name)
        else:
            self.embryo_list.clear()
        if self.embryo is None:
            self._show_empty()
        self._update_title()
        self._update_enabled()
        self.projectChanged.emit()

    def open_project(self, path: "str | os.PathLike[str]") -> bool:
        if not self.maybe_save():
            return False
        try:
            p = Project.open(path)
        except EmbryoError as exc:
            self._error(str(exc))
            return False
        self.set_project(p)
        self._add_recent(p.path)
        return True

    def save(self) -> bool:
        if self.project is None:
            return False
        if self._busy:
            self._error(f"cannot save while {self._busy} is running; wait or cancel it")
            return False
        try:
            self.project.save()
        except EmbryoError as exc:
            self._error(str(exc))
            return False
        self._restored_dirty = False
        self.undo.stack.setClean()
        recovery.discard(self.recovery_dir, self.project.path)
        self._add_recent(self.project.path)
        self._update_title()
        self.statusBar().showMessage(f"saved {self.project.path}", 4000)
        return True

    def autosave(self) -> Path | None:
        """Write a recovery copy when there are unsaved changes (called every minute)."""
        if self.project is None or not self.modified or self._busy:
            return None
        try:
            return recovery.write(self.project, self.recovery_dir)
        except (EmbryoError, OSError) as exc:
            self.statusBar().showMessage(f"autosave failed: {exc}", 6000)
            return None

    def maybe_save(self) -> bool:
        """Ask before dropping unsaved work; False means the user cancelled."""
        if not self.modified:
            return True
        if not self.ask:
            return True
        r = QtWidgets.QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.project.path.name}?",
            QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel)
        if r == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save()
        return r == QtWidgets.QMessageBox.StandardButton.Discard

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if not self.maybe_save():
            ev.ignore()
            return
        self.stop_play()
        workers.wait_all(15000)
        if self.project is not None:
            recovery.discard(self.recovery_dir, self.project.path)
        self.save_layout()
        ev.accept()

    # ------------------------------------------------------------------ embryo display
    def set_embryo(self, name: str) -> None:
        if self.project is None:
            return
        e = self.project.embryo(name)
        if e is self.embryo:
            return
        self.stop_play()
        self.embryo = e
        self.frame_cache = FrameCache(e.frames, e.n_frames)
        self.cursor.reset(e.n_frames, 0)
        self.timeline.set_length(e.n_frames)
        self._refresh_masks()
        self.curve.set_data(e.current, e.original, self._masks.get("excluded"),
                            e.detections.get("cliffs", []))
        self.clear_selection()
        loss = e.flags.scores.get("loss")
        self.trainer.set_frame_loss(loss)
        self._show_frame(self.cursor.index)
        self.embryo_list.select_name(name)

    def _show_empty(self) -> None:
        self.cursor.reset(0)
        self.video.show_frame(None)
        self.timeline.set_length(0)
        self.timeline.set_marks({k: np.zeros(0, bool) for k in FLAG_KINDS})
        self.curve.set_data(None)
        self.status_label.setText("no project" if self.project is None else "project has no embryos")

    def _refresh_masks(self) -> None:
        e = self.embryo
        self._masks = {k: e.flags.mask(k) for k in FLAG_KINDS}
        self.timeline.set_marks(self._masks)
        self._show_live_lossy()

    def _refresh_embryo_list(self) -> None:
        if self.project is None:
            return
        cur = self.embryo.name if self.embryo is not None else None
        self.embryo_list.set_embryos([(e.name, e.state(), e.n_frames) for e in self.project.embryos], cur)

    def _on_embryo_changed(self, name: str) -> None:
        """After a push / undo / redo on embryo ``name``."""
        if self.project is None:
            return
        try:
            e = self.project.embryo(name)
        except KeyError:
            return
        self.embryo_list.update_state(e.name, e.state(), e.n_frames)
        if e is self.embryo:
            self._refresh_masks()
            self.curve.set_data(e.current, e.original, self._masks.get("excluded"),
                                e.detections.get("cliffs", []), keep_view=True)
            if "loss" in e.flags.scores:
                self.trainer.set_frame_loss(e.flags.scores["loss"])
            self._show_frame(self.cursor.index)
        self._update_title()

    def _on_cursor(self, i: int) -> None:
        if self.embryo is not None:
            self._direction = 1 if i >= getattr(self, "_last_shown", -1) else -1
            self._show_frame(i)
            self.prefetch_timer.start()

    def _prefetch(self) -> None:
        """Idle time: read the next frame in the direction of travel (and one step of 10)."""
        if self.frame_cache is None:
            return
        i, d = self.cursor.index, self._direction
        for j in (i + d, i + 10 * d):
            if self.frame_cache.prefetch(j):
                self.prefetch_timer.start(0)  # one read per idle slot keeps the loop responsive
                return

    def _show_frame(self, i: int) -> None:
        e = self.embryo
        flags = [k for k in FLAG_KINDS if self._masks.get(k) is not None and self._masks[k][i]]
        frame = self.frame_cache.get(i) if self.frame_cache is not None else e.frames[i]
        self._last_shown = i
        self.video.show_frame(frame, [f for f in flags if f not in ("edited",)])
        self.timeline.set_cursor(i)
        self.curve.set_cursor(i)
        if not self.status_timer.isActive():
            self.status_timer.start()  # the status text follows right after the frame is painted
        self.frameShown.emit(i)

    def update_status(self) -> None:
        e = self.embryo
        if e is None:
            return
        i = self.cursor.index
        fps = float(e.source.get("fps") or 0.0) if isinstance(e.source, dict) else 0.0
        flags = [k for k in FLAG_KINDS if self._masks.get(k) is not None and self._masks[k][i]]
        self.status_label.setText(f"{e.name}   |   " + status_text(i, e.n_frames, fps or None, e.current,
                                                                      COLUMNS, flags))

    @QtCore.Slot()
    def _on_stack_changed(self, *_args) -> None:
        self._update_title()

    def _update_title(self) -> None:
        name = self.project.path.name if self.project is not None else "no project"
        self.setWindowTitle(f"{name}[*] — embryo-gui {__version__}")
        self.setWindowModified(self.modified)

    def _update_enabled(self) -> None:
        has = self.embryo is not None
        idle = self._busy is None
        for a in (self.act_set_value, self.act_interpolate, self.act_refit, self.act_exclude, self.act_include,
                  self.act_truncate, self.act_accept, self.act_reject):
            a.setEnabled(has and idle)
        for a in (self.act_autoclean, self.act_train, self.act_export):
            a.setEnabled(self.project is not None and bool(self.project.embryos) and idle)
        self.act_save.setEnabled(self.project is not None and idle)
        self.trainer.start_button.setEnabled(self.project is not None and idle)
        self.undo_view.setEnabled(idle)
        if not idle:
            self.act_undo.setEnabled(False)
            self.act_redo.setEnabled(False)
        else:
            self.act_undo.setEnabled(self.undo.stack.canUndo())
            self.act_redo.setEnabled(self.undo.stack.canRedo())

    # ------------------------------------------------------------------ navigation
    def select_range(self, a: int, b: int) -> None:
        sel = self.cursor.select(a, b)
        self.timeline.set_selection(sel)
        self.curve.set_selection(sel)
        self.selection_label.setText(f"selected frames {sel[0]}-{sel[1]} ({sel[1] - sel[0] + 1})")

    def clear_selection(self) -> None:
        self.cursor.clear_selection()
        self.timeline.set_selection(None)
        self.curve.set_selection(None)
        self.selection_label.setText("")

    def jump_flag(self, forward: bool) -> None:
        if self.embryo is None:
            return
        kinds = [k for k in self.timeline.visible_kinds() if k != "edited"]
        mask = any_flag_mask(self._masks, kinds)
        if mask is None:
            return
        j = next_flagged(mask, self.cursor.index, forward)
        if j is not None:
            self.cursor.seek(j)
        else:
            self.statusBar().showMessage("no more flagged frames " + ("after" if forward else "before") +
                                         " this one", 2000)

    def goto_dialog(self) -> None:
        if self.embryo is None:
            return
        i, ok = QtWidgets.QInputDialog.getInt(self, "Go to frame", f"Frame (1-{self.embryo.n_frames}):",
                                              self.cursor.index + 1, 1, self.embryo.n_frames)
        if ok:
            self.cursor.seek(i - 1)

    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.stop_play()
        elif self.embryo is not None:
            fps = self.playback_fps or float(self.embryo.source.get("fps") or 0.0) or 7.0
            self.play_timer.start(max(1, int(round(1000.0 / fps))))
            self.act_play.setIcon(icon("pause"))

    def stop_play(self) -> None:
        if hasattr(self, "play_timer") and self.play_timer.isActive():
            self.play_timer.stop()
            self.act_play.setIcon(icon("play"))

    def _play_tick(self) -> None:
        if self.cursor.index >= self.cursor.n_frames - 1:
            self.stop_play()
        else:
            self.cursor.step(1)

    # ------------------------------------------------------------------ edits
    def push_edit(self, edit: Any, embryo: Any = None) -> bool:
        """Apply one core edit through the undo stack; errors are shown, never raised."""
        e = embryo if embryo is not None else self.embryo
        if e is None or self._busy:
            return False
        try:
            return self.undo.push(e, edit)
        except (EmbryoError, ValueError, IndexError, KeyError) as exc:
            self._error(f"{e.name}: {edit.label}: {exc}")
            return False

    def _range(self) -> tuple[int, int]:
        """Selected frames as a half-open (start, stop); the cursor frame when nothing is selected."""
        a, b = self.cursor.target_frames()
        return a, b + 1

    def _column_changed(self, col: str) -> None:
        self.curve.active_column = col
        self.lineage_toggles[col].setChecked(True)

    def _point_dragged(self, frame: int, column: str, value: float) -> None:
        self.push_edit(edits.SetValues([frame], value, columns=[column]))

    def set_value_dialog(self) -> None:
        if self.embryo is None:
            return
        a, b = self._range()
        col = self.curve.active_column
        cur = self.embryo.current[a, COLUMNS.index(col)]
        v, ok = QtWidgets.QInputDialog.getDouble(self, "Set value", f"{col} on frames {a}-{b - 1}:",
                                                 float(cur) if np.isfinite(cur) else 0.0, 0.0, 1e6, 0)
        if ok:
            self.set_value(v)

    def set_value(self, value: float) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetValues((a, b), value, columns=[self.curve.active_column]))

    def interpolate(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.Interpolate(a, b, columns=[self.curve.active_column]))

    def refit(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.RefitMonotone(a, b, columns=[self.curve.active_column]))

    def set_excluded(self, excluded: bool) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetExcluded((a, b), excluded=excluded, reason="manual"))

    def truncate(self) -> bool:
        return self.push_edit(edits.Truncate(self.cursor.index))

    def decide_cliff(self, index: "int | list[int] | None", accept: bool) -> bool:
        """Accept or reject cliff detections (an index, a list, or None: all at the cursor);
        several become one undo step; detections already in that state are left alone."""
        if self.embryo is None:
            return False
        cliffs = self.embryo.detections.get("cliffs", [])
        if index is None:
            i = self.cursor.index
            hits = [k for k, c in enumerate(cliffs) if cliff_span(c)[0] <= i <= cliff_span(c)[1]]
            if not hits:
                self.statusBar().showMessage("no detected cliff at the cursor", 3000)
                return False
        else:
            hits = [int(index)] if np.isscalar(index) else [int(k) for k in index]
        target = "accepted" if accept else "rejected"
        todo = [k for k in hits if 0 <= k < len(cliffs) and cliff_status(cliffs[k]) != target]
        if not todo:
            self.statusBar().showMessage(f"cliff already {target}", 3000)
            return False
        make = edits.AcceptDetection if accept else edits.RejectDetection
        if len(todo) == 1:
            return self.push_edit(make(todo[0]))
        verb = "accept" if accept else "reject"
        return self.push_edit(edits.Batch([make(k) for k in todo], label=f"{verb} {len(todo)} cliffs"))

    def apply_loss_threshold(self, threshold: float) -> bool:
        if self.embryo is None or "loss" not in self.embryo.flags.scores:
            return False
        loss = self.embryo.flags.scores["loss"].astype(np.float64)
        lossy = np.isfinite(loss) & (loss >= threshold)
        return self.push_edit(edits.SetFlags({"lossy": lossy}, label=f"lossy: loss >= {threshold:.4g}"))

    # ------------------------------------------------------------------ long work
    def _run(self, kind: str, fn, *args, on_done=None, on_progress=None, **kwargs) -> workers.Worker | None:
        if self._busy:
            self._error(f"{self._busy} is already running")
            return None
        self.stop_play()
        self._busy = kind
        self._update_enabled()
        self.busy_bar.setValue(0)
        self.busy_bar.show()
        w = workers.Worker(fn, *args, **kwargs)
        self.worker = w

        def progress(info: dict) -> None:
            frac = info.get("fraction")
            if frac is None and info.get("total"):
                frac = float(info.get("done", 0)) / float(info["total"])
            if frac is not None:
                self.busy_bar.setValue(int(1000 * min(max(float(frac), 0.0), 1.0)))
            if info.get("message"):
                self.statusBar().showMessage(f"{kind}: {info['message']}")
            if on_progress is not None:
                on_progress(info)

        def finished(result) -> None:
            self._end_work()
            if on_done is not None:
                on_done(result)
            self.workFinished.emit(kind)

        def failed(msg: str) -> None:
            self._end_work()
            self.last_error = msg
            if kind == "train":
                self.trainer.finish("failed")
            self._error(msg.splitlines()[0] if msg else f"{kind} failed", detail=msg)
            self.workFinished.emit(f"{kind}-failed")

        def cancelled() -> None:
            self._end_work()
            if kind == "train":
                self.trainer.finish("cancelled; nothing was changed")
            self.statusBar().showMessage(f"{kind} cancelled; nothing was changed", 5000)
            self.workFinished.emit(f"{kind}-cancelled")

        w.progress.connect(progress)
        w.finished.connect(finished)
        w.failed.connect(failed)
        w.cancelled.connect(cancelled)
        workers.start(w)
        return w

    def _end_work(self) -> None:
        self._busy = None
        self.worker = None
        if self.live_lossy:
            self.live_lossy = {}
            if self.embryo is not None:
                self._refresh_masks()
        self.busy_bar.hide()
        self.statusBar().clearMessage()
        self._update_enabled()

    def cancel_work(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _record_new_entries(self, before: dict[str, int]) -> None:
        """Put the history entries the core pushed during a worker run on the undo stack."""
        for e in self.project.embryos:
            for k in range(before.get(e.uid, e.history.position), e.history.position):
                self.undo.record_applied(e, e.history.entries[k])

    def _positions(self) -> dict[str, int]:
        return {e.uid: e.history.position for e in self.project.embryos}

    def autoclean(self) -> workers.Worker | None:
        if self.project is None:
            return None
        from ..autoclean import autoclean_project
        before = self._positions()

        def done(summary) -> None:
            self._record_new_entries(before)
            self.last_summary = summary
            self._refresh_embryo_list()
            if self.ask:
                from .dialogs.summary import SummaryDialog
                SummaryDialog(summary, self).exec()
            else:
                self.statusBar().showMessage(f"auto-clean done on {len(summary)} embryos", 5000)

        return self._run("autoclean", autoclean_project, self.project, on_done=done)

    def start_training(self, settings: dict) -> workers.Worker | None:
        """Train in a child process (see :mod:`~embryo_gui.gui.train_process`) on a copy of the
        current state; the result is applied here, one undo step per embryo.  This process never
        imports torch."""
        if self.project is None:
            return None
        if self._busy:
            self._error(f"{self._busy} is already running")
            return None
        from ..train import TrainSettings, apply_training_result  # torch-free
        from .train_process import snapshot_project, train_in_subprocess
        try:
            ts = TrainSettings(**{k: v for k, v in settings.items()})
            copy, tmp = snapshot_project(self.project)
        except (EmbryoError, TypeError) as exc:
            self._error(str(exc))
            return None
        self.trainer.set_running(True)
        self.live_lossy = {}

        def on_progress(info: dict) -> None:
            self.trainer.on_progress(info)
            lossy = info.get("lossy")
            if isinstance(lossy, dict):
                for name, frames in lossy.items():
                    try:
                        n = self.project.embryo(name).n_frames
                    except KeyError:
                        continue
                    m = np.zeros(n, bool)
                    idx = np.asarray(frames, np.int64)
                    m[idx[(idx >= 0) & (idx < n)]] = True
                    self.live_lossy[name] = m
                self._show_live_lossy()

        def done(result) -> None:
            self.last_result = result
            self.live_lossy = {}
            before = self._positions()
            try:
                apply_training_result(self.project, result)
            except EmbryoError as exc:
                self._error(str(exc))
            self._record_new_entries(before)
            self._refresh_embryo_list()
            if self.embryo is not None and "loss" in self.embryo.flags.scores:
                self.trainer.set_frame_loss(self.embryo.flags.scores["loss"], ts.drop)
            fps = result.timing.get("train_frames_per_s", 0.0)
            self.trainer.finish(f"done: {result.n_lossy} lossy frames; population error "
                                f"{result.val_error_before:.2f} -> {result.val_error_after:.2f} cells"
                                + (f"; {fps:.0f} frames/s" if fps else ""))

        w = self._run("train", train_in_subprocess, copy, ts.to_dict(), remove_dir=tmp,
                      display_path=self.project.path, on_done=done, on_progress=on_progress)
        if w is None:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
            self.trainer.set_running(False)
        return w

    def _show_live_lossy(self) -> None:
        """Show the frames the running trainer marked so far (with the saved lossy flags)."""
        live = self.live_lossy
        if self.embryo is None or self.embryo.name not in live:
            return
        saved = self._masks.get("lossy")
        m = live[self.embryo.name]
        self.timeline.set_marks({"lossy": m | saved if saved is not None and len(saved) == len(m) else m})

    def export_dialog(self) -> None:
        if self.project is None:
            return
        from .dialogs.export import ExportDialog
        dlg = ExportDialog(self.project.path.with_name(self.project.path.stem + "_dataset"), self)
        if dlg.exec():
            self.export(**dlg.values())

    def export(self, out_path, size: tuple[int, int] | None = None, gray: bool = False,
               csv_path=None) -> workers.Worker | None:
        """Export the cleaned dataset in a worker (``size`` is (width, height) or None)."""
        if self.project is None:
            return None
        from ..export import export_dataset

        def done(result) -> None:
            self.last_result = result
            self.statusBar().showMessage(f"exported to {out_path}", 6000)

        return self._run("export", export_dataset, self.project, out_path, size=size, gray=gray, csv_path=csv_path,
                         on_done=done)

    def new_project_dialog(self, video: str | None = None, annotations: str | None = None) -> None:
        from .dialogs.new_project import NewProjectDialog
        dlg = NewProjectDialog(self, video=video, annotations=annotations,
                               project_path=str(self.project.path) if self.project is not None else None)
        if dlg.exec():
            self.import_video(**dlg.values())

    def import_video(self, project_path, video, annotations=None, name=None, time_offset: int = 0,
                     frames_per_timepoint: float = 1.0) -> workers.Worker | None:
        """Add an embryo from a video (+ annotations) to the open project, or to a new one at
        ``project_path``; decoding runs in a worker."""
        from ..importer import import_embryo
        project_path = Path(project_path)
        if self.project is None or Path(self.project.path).resolve() != project_path.resolve():
            if not self.maybe_save():
                return None
            try:
                p = Project.open(project_path) if project_path.exists() else Project.create(project_path)
            except EmbryoError as exc:
                self._error(str(exc))
                return None
            self.set_project(p)
            self._add_recent(p.path)

        def done(result) -> None:
            embryo, messages = result
            self._refresh_embryo_list()
            self.set_embryo(embryo.name)
            self._update_enabled()
            self._update_title()
            if messages:
                self.statusBar().showMessage(" ".join(messages), 10000)

        return self._run("import", import_embryo, self.project, video, annotations, name=name,
                         time_offset=time_offset, frames_per_timepoint=frames_per_timepoint, on_done=done)

    # ------------------------------------------------------------------ dialogs
    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open project", "", "embryo-gui projects (*.h5 *.hdf5)")
        if path:
            self.open_project(path)

    def about_dialog(self) -> None:
        from .dialogs.about import AboutDialog
        AboutDialog(self).exec()

    def _error(self, msg: str, detail: str | None = None) -> None:
        self.last_error = msg
        self.statusBar().showMessage(msg, 10000)
        if self.ask:
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "embryo-gui", msg,
                                        QtWidgets.QMessageBox.StandardButton.Ok, self)
            if detail and detail != msg:
                box.setDetailedText(detail)
            box.exec()

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if ev.mimeData().hasUrls() and any(_kind_of(u.toLocalFile()) for u in ev.mimeData().urls()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        self.handle_drop([u.toLocalFile() for u in ev.mimeData().urls()])
        ev.acceptProposedAction()

    def handle_drop(self, paths: list[str]) -> None:
        kinds = {p: _kind_of(p) for p in paths}
        projects = [p for p, k in kinds.items() if k == "project"]
        if projects:
            self.open_project(projects[0])
            return
        videos = [p for p, k in kinds.items() if k == "video"]
        csvs = [p for p, k in kinds.items() if k == "annotations"]
        if videos or csvs:
            self.new_project_dialog(video=videos[0] if videos else None, annotations=csvs[0] if csvs else None)


def _kind_of(path: str) -> str | None:
    p = Path(path)
    suf = p.suffix.lower()
    if suf in PROJECT_SUFFIXES:
        return "project"
    if suf in VIDEO_SUFFIXES or p.is_dir():
        return "video"
    if suf in ANNOTATION_SUFFIXES:
        return "annotations"
    return None


def _default_recovery_dir() -> Path:
    env = os.environ.get("EMBRYO_GUI_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".embryo-gui") / "recovery"


__all__ = ["MainWindow"]
