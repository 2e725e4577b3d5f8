"""Main-window status: the status-bar line for the cursor frame, the window title (with the
unsaved-changes mark), and error reporting (status bar + message box when interactive)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .. import __version__
from ..lineages import COLUMNS
from .view_model import flags_at, status_text


class StatusMixin:
    """Status bar, title and errors of :class:`~embryo_gui.gui.main_window.MainWindow`."""

    def update_status(self) -> None:
        e = self.embryo
        if e is None:
            return
        i = self.cursor.index
        fps = float(e.source.get("fps") or 0.0) if isinstance(e.source, dict) else 0.0
        flags = flags_at(self._masks, i)
        self.status_label.setText(f"{e.name}   |   " + status_text(i, e.n_frames, fps or None, e.current,
                                                                      COLUMNS, flags))

    @QtCore.Slot()
    def _on_stack_changed(self, *_args) -> None:
        self._update_title()

    def _update_title(self) -> None:
        name = self.project.path.name if self.project is not None else "no project"
        self.setWindowTitle(f"{name}[*] — embryo-gui {__version__}")
        self.setWindowModified(self.modified)

    def _error(self, msg: str, detail: str | None = None) -> None:
        self.last_error = msg
        self.statusBar().showMessage(msg, 10000)
        if self.ask:
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "embryo-gui", msg,
                                        QtWidgets.QMessageBox.StandardButton.Ok, self)
            if detail and detail != msg:
                box.setDetailedText(detail)
            box.exec()
