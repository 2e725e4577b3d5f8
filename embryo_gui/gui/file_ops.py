"""File operations of the window: open / save / autosave (recovery copies) / ask before dropping
changes / recent files / drag and drop of projects, videos and annotation files.  The project
itself is the Session's; this keeps only what the window adds (recent files, whether the shown
project came from a recovery file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from ..errors import EmbryoError
from ..model.lock import ProjectLockedError
from ..policy import GUI_LOCK_WAIT_SECONDS
from . import recovery

PROJECT_SUFFIXES = (".h5", ".hdf5")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".tif", ".tiff", ".m4v", ".wmv")
ANNOTATION_SUFFIXES = (".csv", ".txt")
MAX_RECENT = 8
AUTOSAVE_MS = 60_000


class FileOps(QtCore.QObject):
    #: after the recent-files list changed
    recentChanged = QtCore.Signal()

    def __init__(self, session: Any, notifier: Any, settings: QtCore.QSettings, recovery_dir: Path,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.notifier, self.settings = session, notifier, settings
        self.recovery_dir = Path(recovery_dir)
        self.parent_widget = parent
        self.restored = False  # the shown project came from a recovery file: unsaved until saved
        self.read_only_free = False  # the last look found the read-only project's write lock free

    # -- recent files ---------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        v = self.settings.value("recent/files")
        if v is None:
            return []
        return [str(x) for x in (v if isinstance(v, list) else [v])]

    def add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent/files", files[:MAX_RECENT])
        self.recentChanged.emit()

    # -- the project ----------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        """Unsaved changes that closing would drop (never in a read-only window: it changes nothing)."""
        s = self.session
        return s.project is not None and not s.read_only and (s.modified or self.restored)

    def set_project(self, project: Any, restored: bool = False) -> None:
        """Show ``project`` (replacing the current one without asking)."""
        self.restored = bool(restored)
        self.session.set_project(project)

    def open_project(self, path: "str | os.PathLike[str]", read_only: bool = False) -> bool:
        """Open ``path`` for editing (or, with ``read_only``, as a reader: no lock, nothing can be
        changed).  When another process holds it, the refusal names the holder and, in an
        interactive window, offers to open it read-only (Cancel is the default)."""
        if not self.maybe_save():
            return False
        return self._open(path, read_only)

    def _open(self, path: "str | os.PathLike[str]", read_only: bool) -> bool:
        try:
            # a short wait on the GUI thread: covers another process's save (milliseconds), and a
            # project another window or script keeps open is refused at once, naming the holder,
            # instead of freezing the window for the writers' LOCK_WAIT_SECONDS
            self.session.open(path, wait=GUI_LOCK_WAIT_SECONDS, read_only=read_only)
        except ProjectLockedError as exc:
            if not self.offer_read_only(str(exc)):
                return False
            return self._open(path, read_only=True)   # (unsaved changes were asked about once)
        except EmbryoError as exc:
            self.notifier.error(str(exc))
            return False
        self.restored = False
        self.add_recent(self.session.path)
        if self.session.read_only:
            held = self.session.read_only_holder
            self.notifier.message(f"opened {self.session.path.name} read-only"
                                  + (f" (held by {held})" if held else "") + ": nothing can be changed", 10000)
        return True

    def watch_read_only(self) -> str:
        """One look at a project open read-only (the window's timer): reload it when its file
        changed (its holder saved: same embryo and frame), and say once when nobody holds it any
        more.  Returns "reloaded", "failed" (the new file cannot be read: the shown one stays) or ""."""
        s = self.session
        st = s.read_only_status()
        if st is None or s.job is not None:   # (a running export keeps the project it started on)
            return ""
        done = ""
        if st.changed:
            held = s.read_only_holder
            try:
                s.reload()
            except EmbryoError as exc:
                self.notifier.message(f"could not reload {s.path.name}, showing it as it was: {exc}", 15000)
                return "failed"
            self.notifier.message(f"reloaded {s.path.name}: {held or 'another process'} saved it", 8000)
            done = "reloaded"
        if st.free and not self.read_only_free:
            self.notifier.message(f"{s.path.name} is free now: File > Reopen for editing to change it", 15000)
        self.read_only_free = st.free
        return done

    def reopen_for_editing(self) -> bool:
        """Open the read-only project for editing, on the same embryo and frame; a one-line refusal
        naming the holder while somebody holds it."""
        s = self.session
        try:
            s.reopen_for_editing(wait=GUI_LOCK_WAIT_SECONDS)
        except EmbryoError as exc:   # (ProjectLockedError included)
            self.notifier.error(str(exc))
            return False
        self.read_only_free = False
        self.notifier.message(f"opened {s.path.name} for editing", 8000)
        return True

    def offer_read_only(self, msg: str) -> bool:
        """Show the lock refusal; True when the user chose "Open read-only" (a scripted window,
        ``ask`` off, only reports it)."""
        self.notifier.last_error = msg
        self.notifier.window.statusBar().showMessage(msg, 10000)
        if not self.notifier.ask:
            return False
        B = QtWidgets.QMessageBox.StandardButton
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Project in use", msg, B.Cancel,
                                    self.parent_widget)
        box.setInformativeText("You can open it read-only to look at it: nothing can be changed or saved.")
        ro = box.addButton("Open read-only", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        ro.setObjectName("open_read_only")
        cancel = box.button(B.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.exec()
        return box.clickedButton() is ro

    def save(self) -> bool:
        s = self.session
        if s.project is None:
            return False
        try:
            s.save()    # refused (one line) when read-only or while a job holds editing: the Session's rule
        except EmbryoError as exc:
            self.notifier.error(str(exc))
            return False
        self.restored = False
        recovery.discard(self.recovery_dir, s.path)
        self.add_recent(s.path)
        self.notifier.message(f"saved {s.path}", 4000)
        return True

    def autosave(self) -> Path | None:
        """Write a recovery copy when there are unsaved changes (called every minute)."""
        p = self.session.project
        if p is None or not self.modified:
            return None
        try:
            return recovery.write(p, self.recovery_dir)
        except (EmbryoError, OSError) as exc:
            self.notifier.message(f"autosave failed: {exc}", 6000)
            return None

    def maybe_save(self) -> bool:
        """Ask before dropping unsaved work; False means the user cancelled."""
        if not self.modified or not self.notifier.ask:
            return True
        B = QtWidgets.QMessageBox.StandardButton
        r = QtWidgets.QMessageBox.question(self.parent_widget, "Unsaved changes",
                                           f"Save the changes to {self.session.path.name}?",
                                           B.Save | B.Discard | B.Cancel)
        if r == B.Save:
            return self.save()
        return r == B.Discard

    def discard_recovery(self) -> None:
        if self.session.project is not None:
            recovery.discard(self.recovery_dir, self.session.path)

    # -- dialogs and drops ----------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.parent_widget, "Open project", "",
                                                        "embryo-gui projects (*.h5 *.hdf5)")
        if path:
            self.open_project(path)

    def open_read_only_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.parent_widget, "Open project read-only", "",
                                                        "embryo-gui projects (*.h5 *.hdf5)")
        if path:
            self.open_project(path, read_only=True)


def kind_of(path: str) -> str | None:
    """What a dropped file is: "project", "video" (or a folder of frames), "annotations"."""
    p = Path(path)
    suf = p.suffix.lower()
    if suf in PROJECT_SUFFIXES:
        return "project"
    if suf in VIDEO_SUFFIXES or p.is_dir():
        return "video"
    if suf in ANNOTATION_SUFFIXES:
        return "annotations"
    return None


def default_recovery_dir() -> Path:
    env = os.environ.get("EMBRYO_GUI_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".embryo-gui") / "recovery"
