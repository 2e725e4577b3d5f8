"""The window's status: the status-bar line for the Session's current frame, the busy bar of the
running job, and the one way the window reports errors and messages (:class:`Notifier`)."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from ..lineages import COLUMNS
from .session_views import bind
from .view_model import flags_of_frame, status_text


class StatusView(QtWidgets.QLabel):
    """frame (0-based), time, population and lineages at the cursor, the frame's flags; updated
    40 ms after the frame (the picture is painted first)."""

    def __init__(self, session: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("no project", parent)
        subs = bind(self, session)
        self.timer = QtCore.QTimer(self, singleShot=True, interval=40)
        self.timer.timeout.connect(self.refresh)
        subs.connect(session.events.frame_changed, lambda _e: self._soon())
        subs.connect(session.events.embryo_changed, lambda _e: self.refresh())
        subs.connect(session.events.project_changed, lambda _e: self.refresh())
        subs.connect(session.events.history_changed, lambda _e: self._soon())
        self.refresh()

    def _soon(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def refresh(self) -> None:
        s = self.session
        e = s.embryo
        if e is None:
            self.setText("no project" if s.project is None else "project has no embryos")
            return
        i = s.frame
        fps = float(e.source.get("fps") or 0.0) if isinstance(e.source, dict) else 0.0
        self.setText(f"{e.name}   |   " + status_text(i, e.n_frames, fps or None, e.current, COLUMNS,
                                                      flags_of_frame(e, i)))


class BusyBar(QtWidgets.QProgressBar):
    """Progress of the Session's running job (hidden when none runs)."""

    def __init__(self, session: Any, status_bar: QtWidgets.QStatusBar, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        subs = bind(self, session)
        self.status_bar = status_bar
        self.setMaximumWidth(180)
        self.setRange(0, 1000)
        self.hide()
        subs.connect(session.events.job_started, self._started)
        subs.connect(session.events.job_progress, self._progress)
        subs.connect(session.events.job_finished, self._finished)

    def _started(self, ev) -> None:
        self.setValue(0)
        self.show()

    def _progress(self, ev) -> None:
        info = ev.info or {}
        frac = info.get("fraction")
        if frac is None and info.get("total"):
            frac = float(info.get("done", 0)) / float(info["total"])
        if frac is not None:
            self.setValue(int(1000 * min(max(float(frac), 0.0), 1.0)))
        if info.get("message"):
            self.status_bar.showMessage(f"{ev.job.label}: {info['message']}")

    def _finished(self, ev) -> None:
        self.hide()
        self.status_bar.clearMessage()


class Notifier:
    """Errors and messages of the window: the status bar, and a message box when interactive
    (``ask``; tests and ``--quit-after`` never block on one).  ``last_error`` is the last one."""

    def __init__(self, window: QtWidgets.QMainWindow, ask: bool = True) -> None:
        self.window, self.ask = window, ask
        self.last_error: str | None = None
        # a message longer than the status bar is cut there: hovering it shows the whole line
        bar = window.statusBar()
        bar.messageChanged.connect(lambda text: bar.setToolTip(text))

    def message(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def error(self, msg: str, detail: str | None = None) -> None:
        self.last_error = msg
        self.window.statusBar().showMessage(msg, 10000)
        if self.ask:
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "embryo-gui", msg,
                                        QtWidgets.QMessageBox.StandardButton.Ok, self.window)
            if detail and detail != msg:
                box.setDetailedText(detail)
            box.exec()

    def info(self, title: str, text: str) -> None:
        self.message(text, 15000)
        if self.ask:
            QtWidgets.QMessageBox.information(self.window, title, text)
