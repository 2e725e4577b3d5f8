"""The main window: a composition of views over ONE :class:`~embryo_gui.app.session.Session`.

No mixins, no copy of the Session's state.  The window creates:

* the **views** (each takes the Session in its constructor and reads the model when it draws):
  :class:`~.frame_view.FrameView` (the frame and its flags), :class:`~.session_views.TimelineView`,
  :class:`~.session_views.CurveView`, :class:`~.session_views.EmbryoListView`,
  :class:`~.session_views.HistoryView` (the one undo stack across embryos),
  :class:`~.session_views.TrainerView`, :class:`~.status_bar.StatusView`, :class:`~.status_bar.BusyBar`;
* the **commands** (plain objects over the Session, no widgets of their own):
  :class:`~.edit_commands.EditCommands`, :class:`~.navigation.Navigation`,
  :class:`~.file_ops.FileOps`, :class:`~.long_jobs.LongJobs` (jobs through the Qt
  :class:`~.job_runner.JobRunner`: compute off the GUI thread, apply on it);
* the layout (:mod:`.window_layout`) and the actions, toolbar and menus (:mod:`.window_actions`).

View state that is not the application's (the selected frame range, the edited column, visible
curves, zoom) stays in the views.  The methods below are thin delegations kept as the window's
public commands (tests, the app, the benchmarks drive them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..app.session import Session
from ..policy import READ_ONLY_POLL_SECONDS
from . import gc_guard, window_actions, window_layout
from .edit_commands import EditCommands
from .file_ops import AUTOSAVE_MS, FileOps, default_recovery_dir, kind_of
from .frame_view import FrameView
from .icons import app_icon
from .job_runner import JobHandle, JobRunner
from .key_guard import TypingKeyGuard, guard_typing
from .long_jobs import LongJobs
from .navigation import Navigation
from .session_views import CurveView, EmbryoListView, HistoryView, TimelineView, TrainerView
from .status_bar import BusyBar, Notifier, StatusView
from .triage_dock import TriageDock
from .view_model import Selection


class MainWindow(QtWidgets.QMainWindow):
    """The embryo-gui main window."""

    projectChanged = QtCore.Signal()
    frameShown = QtCore.Signal(int)
    workFinished = QtCore.Signal(str)  # "train", "train-cancelled", "autoclean", "export", "import", "...-failed"
    jobProgress = QtCore.Signal(str, object)  # (job name, progress dict), after the window's own handling
    importPreviewShown = QtCore.Signal(int)  # frame of an import in progress shown (gui/long_jobs.py)
    embryoChanged = QtCore.Signal(str)        # the embryo shown changed (its name)
    detectionFinished = QtCore.Signal(int)    # the detectors ran on open (number of embryos)
    draftChanged = QtCore.Signal()            # an auto-clean draft was computed, applied or discarded
    #: run the detectors when a project is opened (off the GUI thread; the app turns it on)
    auto_detect = False

    def __init__(self, settings: QtCore.QSettings | None = None, recovery_dir: Path | None = None,
                 autosave_ms: int = AUTOSAVE_MS, ask: bool = True, session: Session | None = None) -> None:
        super().__init__()
        # the frame cache's read-ahead thread and the job threads must never run the cyclic
        # collector (it would destroy Qt objects there): collect in this thread while the window lives
        gc_guard.hold()
        self._gc_held = True
        self.session = session if session is not None else Session()
        self.settings = settings if settings is not None else QtCore.QSettings("embryo-gui", "embryo-gui")
        self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else default_recovery_dir()
        self.notifier = Notifier(self, ask)
        self.selection = Selection()
        self.jobs = JobRunner(self.session, self)
        s = self.session

        # views
        self.video = FrameView(s)
        self.video.frameShown.connect(self.frameShown)
        self.timeline = TimelineView(s, self.selection)
        self.curve = CurveView(s, self.selection)
        self.edit_bar = window_layout.EditBar(self.curve, self.selection)
        self.embryo_list = EmbryoListView(s)
        self.embryo_list.itemDoubleClicked.connect(lambda _item: self.embryo_properties_dialog())
        self.trainer = TrainerView(s)
        self.history = HistoryView(s)
        self.status_label = StatusView(s)
        self.read_only_label = QtWidgets.QLabel()     # "read-only (held by ...)" beside the status line
        self.read_only_label.setObjectName("read_only_label")
        self.read_only_label.setStyleSheet("QLabel { color: #b8860b; font-weight: bold; padding: 0 6px; }")
        self.read_only_label.hide()
        self.busy_bar = BusyBar(s, self.statusBar())
        self.views = [self.video, self.timeline, self.curve, self.embryo_list, self.trainer, self.history,
                      self.status_label, self.busy_bar]

        # commands
        self.files = FileOps(s, self.notifier, self.settings, self.recovery_dir, self)
        self.edits = EditCommands(s, self.selection, self.notifier, self.edit_bar.column, self)
        self.nav = Navigation(s, self.notifier, self.timeline.visible_kinds, self,
                              window_layout.playback_fps(self.settings))
        self.work = LongJobs(s, self.jobs, self.notifier, self.trainer, self.timeline, self.video, self)
        self.work.workFinished.connect(self.workFinished)
        self.work.importPreviewShown.connect(self.importPreviewShown)
        self.work.detectionFinished.connect(self.detectionFinished)
        self.work.draftChanged.connect(self.draftChanged)
        self.work.curve = self.curve
        # the triage queue (g2's dock) over the same Session; its detections run as our jobs
        self.triage = TriageDock(s, self, run_job=self.work.run_detection, auto_detect=self.auto_detect)
        self.work.jobProgress.connect(self.jobProgress)
        self.curve.pointDragged.connect(self.edits.point_dragged)
        self.curve.cliffDecision.connect(self.edits.decide_cliff)
        self.trainer.startRequested.connect(self.start_training)
        self.trainer.cancelRequested.connect(self.cancel_work)
        self.trainer.thresholdApplied.connect(self.edits.apply_loss_threshold)

        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        window_layout.build(self)
        self.key_guard = TypingKeyGuard(self)
        guard_typing(self, self.key_guard)  # keys typed in a spin box never move the frame
        window_actions.build(self)
        window_layout.restore(self)
        self.statusBar().addPermanentWidget(self.read_only_label)

        ev = s.events
        ev.project_changed.connect(self._on_project)
        ev.embryo_changed.connect(self._on_embryo)
        ev.modified_changed.connect(self._on_modified)
        ev.history_changed.connect(self._on_history)
        for sig in (ev.job_started, ev.job_finished):
            sig.connect(self._on_state)
        self._update_title()
        window_actions.update_enabled(self)

        # a read-only window follows its holder's saves and notices when it lets go
        self.read_only_timer = QtCore.QTimer(self)
        self.read_only_timer.setInterval(int(READ_ONLY_POLL_SECONDS * 1000))
        self.read_only_timer.timeout.connect(self.watch_read_only)

        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(int(autosave_ms))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # -- Session events -------------------------------------------------------------------------
    def _on_project(self, ev) -> None:
        if ev is None or not ev.reloaded:   # (a reload of the same file keeps playing and the selection)
            self.nav.stop_play()
            self.selection.clear()
        self.files.read_only_free = False
        if self.session.read_only:
            self.read_only_timer.start()
        else:
            self.read_only_timer.stop()
        self._on_state()
        self.projectChanged.emit()

    def _on_embryo(self, ev) -> None:
        if ev is None or not ev.reloaded:
            self.nav.stop_play()
            self.selection.clear()
        self.work.show_draft()
        self._on_state()
        if ev is not None and ev.name is not None:
            self.embryoChanged.emit(ev.name)

    def _on_history(self, _ev) -> None:
        self.work.discard_draft()  # a shown auto-clean draft is stale after any edit
        self._on_state()

    def _on_modified(self, _m) -> None:
        self._update_title()

    def _on_state(self, *_a) -> None:
        self._update_title()
        window_actions.update_enabled(self)

    def _update_title(self) -> None:
        s = self.session
        p = s.project
        name = p.path.name if p is not None else "no project"
        ro = ""
        if s.read_only:
            held = f"held by {s.read_only_holder}" if s.read_only_holder else ""
            if self.files.read_only_free:
                held = "free now"
            ro = " (read-only" + (f", {held}" if held else "") + ")"
            self.read_only_label.setText("read-only" + (f": {held}" if held else ""))
            self.read_only_label.setToolTip(f"{name} is open read-only" + (f", {held}" if held else "") + ": "
                                            "nothing can be changed or saved. It follows its holder's "
                                            "saves; File > Reopen for editing changes it once it is free.")
        self.read_only_label.setVisible(s.read_only)
        self.setWindowTitle(f"{name}[*]{ro} — embryo-gui {__version__}")
        self.setWindowModified(self.files.modified)

    # -- what the window shows (read from the Session) --------------------------------------------
    @property
    def project(self):
        return self.session.project

    @property
    def embryo(self):
        return self.session.embryo

    @property
    def modified(self) -> bool:
        return self.files.modified

    @property
    def ask(self) -> bool:
        return self.notifier.ask

    @ask.setter
    def ask(self, value: bool) -> None:
        self.notifier.ask = bool(value)

    @property
    def last_error(self) -> str | None:
        return self.notifier.last_error

    @property
    def last_result(self) -> Any:
        return self.work.last_result

    @property
    def last_summary(self) -> list | None:
        return self.work.last_summary

    @property
    def draft(self) -> dict | None:
        return self.work.draft

    @property
    def autoclean_draft(self) -> bool:
        return self.work.autoclean_draft

    def enable_review(self, on: bool = True) -> None:
        """The review workflow of the app: the detectors run when a project is opened (off the GUI
        thread, on the embryos not yet run at the current settings) and Auto-clean shows a draft
        first.  Off by default so that scripted windows (tests) stay deterministic."""
        self.auto_detect = self.work.autoclean_draft = bool(on)
        self.triage.auto_detect = bool(on)
        if on:
            self.triage.raise_()  # the first view says what was found
            self.triage.maybe_detect()

    def apply_draft(self) -> list[dict]:
        return self.work.apply_draft()

    def discard_draft(self) -> None:
        self.work.discard_draft()

    @property
    def frame_cache(self):
        return self.video.frame_cache

    @property
    def play_timer(self) -> QtCore.QTimer:
        return self.nav.play_timer

    @property
    def playback_fps(self) -> float:
        return self.nav.playback_fps

    @playback_fps.setter
    def playback_fps(self, fps: float) -> None:
        self.nav.playback_fps = float(fps)

    def history_texts(self) -> list[str]:
        """The lines the History dock shows, oldest first (the first is the opened state)."""
        return self.history.texts()

    def update_status(self) -> None:
        self.status_label.refresh()

    # -- commands (thin delegations) --------------------------------------------------------------
    def set_project(self, project, restored: bool = False) -> None:
        self.files.set_project(project, restored)

    def watch_read_only(self) -> str:
        """One look at a read-only project (:meth:`FileOps.watch_read_only`), then the title, label
        and actions follow."""
        if QtWidgets.QApplication.activeModalWidget() is not None:
            return ""   # (an open dialog, e.g. the export's, shows the project it was opened on)
        done = self.files.watch_read_only()
        self._on_state()
        return done

    def open_project(self, path, read_only: bool = False) -> bool:
        return self.files.open_project(path, read_only)

    def save(self) -> bool:
        return self.files.save()   # refused (one line) when read-only or while a job holds editing

    def autosave(self):
        return self.files.autosave()

    def maybe_save(self) -> bool:
        return self.files.maybe_save()

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    def _refused(self, what: str) -> bool:
        """Report, in one status-bar line, why the Session refuses ``what`` now (True), else False."""
        why = self.session.editing_refusal(what)
        if why is not None:
            self.notifier.error(why)
        return why is not None

    def undo(self) -> bool:
        if self._refused("undo") or not self.session.can_undo:
            return False
        self.session.undo()
        return True

    def redo(self) -> bool:
        if self._refused("redo") or not self.session.can_redo:
            return False
        self.session.redo()
        return True

    def push_edit(self, edit, embryo=None) -> bool:
        return self.edits.push_edit(edit, embryo)   # refused by the Session's rule (one line)

    def set_embryo(self, name: str) -> None:
        self.session.select_embryo(name)

    def select_range(self, a: int, b: int):
        e = self.session.embryo
        return self.selection.set(a, b, e.n_frames if e is not None else 0)

    def clear_selection(self) -> None:
        self.selection.clear()

    def set_value(self, value: float) -> bool:
        return self.edits.set_value(value)

    def interpolate(self) -> bool:
        return self.edits.interpolate()

    def refit(self) -> bool:
        return self.edits.refit()

    def set_excluded(self, excluded: bool) -> bool:
        return self.edits.set_excluded(excluded)

    def truncate(self) -> bool:
        return self.edits.truncate()

    def decide_cliff(self, index, accept: bool) -> bool:
        return self.edits.decide_cliff(index, accept)

    def apply_loss_threshold(self, threshold: float) -> bool:
        return self.edits.apply_loss_threshold(threshold)

    def goto(self, frame: int) -> int:
        return self.nav.goto(frame)

    def toggle_play(self) -> None:
        self.nav.toggle_play()

    def stop_play(self) -> None:
        self.nav.stop_play()

    def jump_flag(self, forward: bool) -> None:
        self.nav.jump_flag(forward)

    def autoclean(self) -> JobHandle | None:
        return self.work.autoclean()

    def detect(self) -> JobHandle | None:
        return self.work.detect()

    def start_training(self, settings: dict) -> JobHandle | None:
        return self.work.start_training(settings)

    def cancel_work(self) -> None:
        self.work.cancel()

    def export(self, out_path, **options) -> JobHandle | None:
        return self.work.export(out_path, **options)

    def import_video(self, project_path, video, **options) -> JobHandle | None:
        return self.work.import_video(project_path, video, maybe_save=self.files.maybe_save, **options)

    def import_preview_active(self) -> bool:
        return self.work.import_preview_active()

    def export_dialog(self) -> None:
        p = self.session.project
        if p is None:
            return
        from ..app.exporting import default_output, plan_export
        from .dialogs.export import ExportDialog
        dlg = ExportDialog(default_output(p.path), self, plan=plan_export(p), ask=self.ask)
        if dlg.exec():
            self.export(**dlg.values(), overwrite=dlg.overwrite)

    def new_project_dialog(self, video: str | None = None, annotations: str | None = None) -> None:
        from ..app.importing import project_frame_codec
        from .dialogs.new_project import NewProjectDialog
        p = self.session.project
        dlg = NewProjectDialog(self, video=video, annotations=annotations,
                               project_path=str(p.path) if p is not None else None,
                               frame_codec=project_frame_codec(p))
        if dlg.exec():
            self.import_video(**dlg.values())

    def embryo_properties_dialog(self) -> None:
        """The current embryo's source, annotations, alignment and its check against the pixels
        (non-modal; its re-import button re-imports with the mapping the pixels fit)."""
        e = self.session.embryo
        if e is None:
            return
        from .dialogs.alignment import EmbryoPropertiesDialog
        old = getattr(self, "properties_dialog", None)
        if old is not None:
            old.close()
        dlg = EmbryoPropertiesDialog(e, self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.reimportRequested.connect(self.work.reimport)
        dlg.finished.connect(lambda _c, d=dlg: setattr(self, "properties_dialog", None)
                             if getattr(self, "properties_dialog", None) is d else None)
        self.properties_dialog = dlg
        dlg.show()

    def show_cheat_sheet(self) -> None:
        """F1: the keyboard cheat sheet (non-modal; F1 again or Esc closes it)."""
        from .cheat_sheet import CheatSheet
        sheet = getattr(self, "cheat_sheet", None)
        if sheet is not None and sheet.isVisible():
            sheet.close()
            return
        self.cheat_sheet = CheatSheet(self.menus, self)
        self.cheat_sheet.show()

    def about_dialog(self) -> None:
        from .dialogs.about import AboutDialog
        AboutDialog(self).exec()

    def handle_drop(self, paths: list[str]) -> None:
        kinds = {p: kind_of(p) for p in paths}
        projects = [p for p, k in kinds.items() if k == "project"]
        if projects:
            self.open_project(projects[0])
            return
        videos = [p for p, k in kinds.items() if k == "video"]
        csvs = [p for p, k in kinds.items() if k == "annotations"]
        if videos or csvs:
            self.new_project_dialog(video=videos[0] if videos else None, annotations=csvs[0] if csvs else None)

    def save_layout(self) -> None:
        window_layout.save(self)

    # -- Qt events --------------------------------------------------------------------------------
    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if ev.mimeData().hasUrls() and any(kind_of(u.toLocalFile()) for u in ev.mimeData().urls()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        self.handle_drop([u.toLocalFile() for u in ev.mimeData().urls()])
        ev.acceptProposedAction()

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if not self.files.maybe_save():
            ev.ignore()
            return
        self.nav.stop_play()
        self.autosave_timer.stop()
        self.jobs.wait_all(15.0)
        self.files.discard_recovery()
        self.save_layout()
        for v in self.views:
            v.subs.disconnect_all()
        self.video.close_cache()
        for sig, fn in ((self.session.events.project_changed, self._on_project),
                        (self.session.events.embryo_changed, self._on_embryo),
                        (self.session.events.history_changed, self._on_history),
                        (self.session.events.job_started, self._on_state),
                        (self.session.events.job_finished, self._on_state)):
            sig.disconnect(fn)
        self.session.events.modified_changed.disconnect(self._on_modified)
        if self.session.project is not None:
            self.session.project.release()  # the window lets go of the project's write lock (model/lock.py)
        if getattr(self, "_gc_held", False):
            self._gc_held = False
            gc_guard.release()
        ev.accept()


__all__ = ["MainWindow"]
