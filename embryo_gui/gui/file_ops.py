"""Main-window file operations: open / save / autosave (recovery copies) / ask before
dropping changes / recent files / drag and drop of projects, videos and annotation files."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from ..errors import EmbryoError
from ..model import Project
from . import gc_guard, recovery

PROJECT_SUFFIXES = (".h5", ".hdf5")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".tif", ".tiff", ".m4v", ".wmv")
ANNOTATION_SUFFIXES = (".csv", ".txt")
MAX_RECENT = 8
AUTOSAVE_MS = 60_000


class FileOpsMixin:
    """Project files of :class:`~embryo_gui.gui.main_window.MainWindow`."""

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
            self.undo_view.setStack(self.undo.stack)  # the view missed the (silent) adoption: History shows it now
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
            # the app holds the project for writing while it is open (model/lock.py); another
            # writer (a CLI run, a second window) gets a one-line refusal naming the app, and so do we
            p = Project.open(path, write=True, wait=1.0)
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
        self.jobs.wait_all(15.0)
        if self.project is not None:
            recovery.discard(self.recovery_dir, self.project.path)
        self.save_layout()
        if self.frame_cache is not None:
            self.frame_cache.close()
        if getattr(self, "_gc_held", False):
            self._gc_held = False
            gc_guard.release()
        ev.accept()

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open project", "", "embryo-gui projects (*.h5 *.hdf5)")
        if path:
            self.open_project(path)

    def new_project_dialog(self, video: str | None = None, annotations: str | None = None) -> None:
        from .dialogs.new_project import NewProjectDialog
        dlg = NewProjectDialog(self, video=video, annotations=annotations,
                               project_path=str(self.project.path) if self.project is not None else None)
        if dlg.exec():
            self.import_video(**dlg.values())

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
