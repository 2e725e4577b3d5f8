"""The triage queue dock: every pending detection and lossy frame of the current embryo, ranked
by score (:mod:`embryo_gui.app.triage`), filterable by kind.

Keys (while the queue has the focus): Space / Shift+Space go to the next / previous item (the
video, plot and timeline follow: the session's frame moves), A accepts it (the detector is
right: the frame is excluded, a spike or cliff repaired), R rejects it (the frame is fine: the
flag is cleared); the window's Ctrl+Z undoes.  Every decision is one undo step of the session.

The dock takes the :class:`~embryo_gui.app.session.Session` in its constructor, holds no copy of
its state (only the queue view of the current embryo, rebuilt when its history changes), and
starts the detectors (a session job) on an embryo that has not been run at the current settings
when ``auto_detect`` is on.
"""

from __future__ import annotations

from typing import Optional

from PySide6 import QtCore, QtGui, QtWidgets

from ..app.detecting import detection_edit, needs_detection
from ..app.triage import TRIAGE_KINDS, TriageQueue, review_state
from ..errors import EmbryoError
from .theme import readable_on_background
from .view_model import FLAG_COLOURS

K = QtCore.Qt.Key


class TriageDock(QtWidgets.QDockWidget):
    """A dock over ``session``; ``run_job(job)`` (optional) runs a session job the GUI's way."""

    itemShown = QtCore.Signal(int)  # frame of the item made current
    decided = QtCore.Signal(str)    # label of the decision pushed

    def __init__(self, session, parent: Optional[QtWidgets.QWidget] = None, run_job=None,
                 auto_detect: bool = False) -> None:
        super().__init__("Triage queue", parent)
        self.setObjectName("triageDock")
        self.session = session
        self.run_job = run_job
        self.auto_detect = auto_detect
        self.queue = TriageQueue()
        self._filling = False
        self.last_error: str | None = None

        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        self.state_label = QtWidgets.QLabel("no embryo")
        self.state_label.setObjectName("triageState")
        self.state_label.setWordWrap(True)
        lay.addWidget(self.state_label)
        self.kind_boxes: dict[str, QtWidgets.QCheckBox] = {}
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(2)
        for i, kind in enumerate(TRIAGE_KINDS):
            cb = QtWidgets.QCheckBox(kind.replace("_", " "))
            pm = QtGui.QPixmap(10, 10)
            pm.fill(QtGui.QColor(*FLAG_COLOURS.get(kind, (128, 128, 128))))
            cb.setIcon(QtGui.QIcon(pm))
            cb.setChecked(True)
            cb.setToolTip(f"List the pending '{kind.replace('_', ' ')}' detections")
            cb.toggled.connect(self._filter_changed)
            grid.addWidget(cb, i // 3, i % 3)
            self.kind_boxes[kind] = cb
        lay.addLayout(grid)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("triageList")
        self.list.setUniformItemSizes(True)
        self.list.currentRowChanged.connect(self._row_changed)
        lay.addWidget(self.list, 1)
        row = QtWidgets.QHBoxLayout()
        self.prev_button = QtWidgets.QPushButton("Previous")
        self.next_button = QtWidgets.QPushButton("Next")
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.reject_button = QtWidgets.QPushButton("Reject")
        self.prev_button.setToolTip("Previous detection (Shift+Space)")
        self.next_button.setToolTip("Next detection (Space)")
        self.accept_button.setToolTip("The detector is right: exclude the frame / repair it (A)")
        self.reject_button.setToolTip("The frame is fine: clear the flag (R)")
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.accept_button.clicked.connect(lambda: self.decide(True))
        self.reject_button.clicked.connect(lambda: self.decide(False))
        for b in (self.prev_button, self.next_button, self.accept_button, self.reject_button):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            row.addWidget(b)
        lay.addLayout(row)
        self.setWidget(body)

        # the keys are claimed while the queue has the focus (ShortcutOverride), so the window's
        # own Space (Play) and letter shortcuts do not fire there; Ctrl+Z stays the window's Undo
        self.keys = {(K.Key_Space, False): self.next, (K.Key_Space, True): self.previous,
                     (K.Key_A, False): lambda: self.decide(True), (K.Key_R, False): lambda: self.decide(False)}
        self.list.installEventFilter(self)

        ev = session.events
        ev.project_changed.connect(self._on_project)
        ev.embryo_changed.connect(self._on_embryo)
        ev.history_changed.connect(self._on_history)
        self._on_embryo(None)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt API)
        t = ev.type()
        if t in (QtCore.QEvent.Type.ShortcutOverride, QtCore.QEvent.Type.KeyPress):
            mods = ev.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
            if mods in (QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.KeyboardModifier.ShiftModifier):
                fn = self.keys.get((ev.key(), mods == QtCore.Qt.KeyboardModifier.ShiftModifier))
                if fn is not None:
                    ev.accept()
                    if t == QtCore.QEvent.Type.KeyPress:
                        fn()
                    return True
        return super().eventFilter(obj, ev)

    # -- session events ------------------------------------------------------------------------------
    def _on_project(self, _payload=None) -> None:
        self._on_embryo(None)

    def _on_embryo(self, _payload=None) -> None:
        self.queue.set_embryo(self.session.embryo)
        self._fill()
        self.maybe_detect()

    def _on_history(self, payload) -> None:
        e = self.session.embryo
        if e is None or getattr(payload, "embryo", e.name) != e.name:
            return
        self.queue.refresh()
        self._fill()

    # -- detection on open -----------------------------------------------------------------------------
    def maybe_detect(self) -> bool:
        """Start the detectors on the embryos that need them (when ``auto_detect`` and no job runs)."""
        s = self.session
        if not self.auto_detect or s.project is None or getattr(s, "job", None) is not None:
            return False
        names = [e.name for e in s.project.embryos if needs_detection(e)]
        if not names:
            return False
        job = s.detect_job(names)
        run = self.run_job or getattr(s, "run_job", None)
        run(job)
        self.state_label.setText(f"detecting on {len(names)} embryo{'s' if len(names) != 1 else ''}...")
        return True

    # -- view ------------------------------------------------------------------------------------------
    def _fill(self) -> None:
        q = self.queue
        counts = q.counts()
        for kind, cb in self.kind_boxes.items():
            n = counts.get(kind, 0)
            cb.setText(f"{kind.replace('_', ' ')} ({n})")
        e = self.session.embryo
        self.state_label.setText("no embryo" if e is None else f"{e.name}: {review_state(e)}")
        self._filling = True
        try:
            self.list.clear()
            for it in q.items:
                item = QtWidgets.QListWidgetItem(it.describe())
                item.setForeground(QtGui.QBrush(QtGui.QColor(*_readable(FLAG_COLOURS.get(it.kind, (128, 128, 128))))))
                self.list.addItem(item)
            if q.current is not None:
                self.list.setCurrentRow(q.position)
        finally:
            self._filling = False
        has = q.current is not None
        for b in (self.accept_button, self.reject_button):
            b.setEnabled(has)
        for b in (self.prev_button, self.next_button):
            b.setEnabled(len(q) > 0)

    def _filter_changed(self, _on=None) -> None:
        self.queue.set_kinds([k for k, cb in self.kind_boxes.items() if cb.isChecked()])
        self._fill()

    def _row_changed(self, row: int) -> None:
        if self._filling or row < 0:
            return
        self.queue.select(row)
        self._show_current()

    def _show_current(self) -> None:
        it = self.queue.current
        if it is None:
            return
        self._filling = True
        try:
            self.list.setCurrentRow(self.queue.position)
        finally:
            self._filling = False
        self.list.scrollToItem(self.list.currentItem())
        self.session.set_frame(it.frame)
        self.itemShown.emit(it.frame)

    # -- commands --------------------------------------------------------------------------------------
    def next(self) -> None:
        if self.queue.next() is not None:
            self._show_current()

    def previous(self) -> None:
        if self.queue.previous() is not None:
            self._show_current()

    def decide(self, accept: bool) -> bool:
        """Accept / reject the current item (one undo step); the next item becomes current."""
        edit = self.queue.decide(accept)
        if edit is None:
            return False
        try:
            changed = self.session.push(edit)
        except (EmbryoError, ValueError, IndexError) as exc:
            self.last_error = str(exc)
            self.state_label.setText(f"error: {exc}")
            return False
        self.queue.refresh()  # in case the session emitted nothing (an edit that changed nothing)
        self._fill()
        self._show_current()
        self.decided.emit(edit.label)
        return bool(changed)

    def undo(self) -> None:
        if self.session.can_undo:
            self.session.undo()


class _Signal:
    def __init__(self) -> None:
        self._slots: list = []

    def connect(self, fn) -> None:
        self._slots.append(fn)

    def emit(self, payload=None) -> None:
        for fn in list(self._slots):
            fn(payload)


class _Events:
    def __init__(self) -> None:
        self.project_changed, self.embryo_changed, self.history_changed = _Signal(), _Signal(), _Signal()


class _Changed:
    def __init__(self, embryo: str) -> None:
        self.embryo = embryo


class _DetectJob:
    """Compute the detectors' edits off the GUI thread (reads frames and the original annotations
    only); ``apply`` pushes each as one "run detectors" step, in the GUI thread."""

    name = "detect"

    def __init__(self, embryos) -> None:
        self.embryos = list(embryos)

    def compute(self, progress, cancel):
        return [(e, *detection_edit(e, progress=progress, cancel=cancel)) for e in self.embryos]


class WindowSession:
    """The part of the :class:`~embryo_gui.app.session.Session` interface the dock uses, over the
    main window as it is today (its undo stack, cursor and job runner).  A bridge: once the window
    is built on the Session, the dock is given the Session itself."""

    def __init__(self, win) -> None:
        self._win = win
        self.events = _Events()
        win.projectChanged.connect(lambda: self.events.project_changed.emit(None))
        win.embryoChanged.connect(lambda name: self.events.embryo_changed.emit(name))
        win.undo.changed.connect(lambda name: self.events.history_changed.emit(_Changed(name)))
        self.job = None

    @property
    def project(self):
        return self._win.project

    @property
    def embryo(self):
        return self._win.embryo

    def set_frame(self, i: int) -> int:
        return self._win.cursor.seek(int(i))

    def push(self, edit, embryo=None) -> bool:
        return self._win.undo.push(embryo if embryo is not None else self._win.embryo, edit)

    @property
    def can_undo(self) -> bool:
        return self._win.undo.stack.canUndo()

    def undo(self) -> None:
        self._win.undo.stack.undo()

    def detect_job(self, names) -> _DetectJob:
        return _DetectJob([self._win.project.embryo(n) for n in names])

    def run_job(self, job: _DetectJob) -> None:
        """Run the detectors in the window's job runner; their edits are pushed when they end."""
        self.job = job

        def done(results) -> None:
            self.job = None
            for e, edit, _notes in results:
                if self._win.project is not None and e in self._win.project.embryos and needs_detection(e):
                    self._win.undo.push(e, edit)
            self._win._refresh_embryo_list()
            self._win.detectionFinished.emit(len(results))

        def ended(*_a) -> None:
            self.job = None

        self._win.jobs.start(job, on_done=done, on_failed=ended, on_cancelled=ended)


def _readable(rgb) -> tuple[int, int, int]:
    """A list text colour: the kind's colour, lifted when it is too dark to read on a dark theme."""
    return readable_on_background(rgb)
