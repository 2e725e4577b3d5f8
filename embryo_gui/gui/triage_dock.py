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

from ..app.detecting import needs_detection
from ..app.triage import TRIAGE_KINDS, TriageQueue, review_state
from ..errors import EmbryoError
from .theme import readable_on_background
from .view_model import FLAG_COLOURS

K = QtCore.Qt.Key


class _QueueModel(QtCore.QAbstractListModel):
    """The queue's items for a list view: rows are produced only when the view shows them, so a
    queue of thousands of detections costs nothing per decision but a model reset."""

    def __init__(self, queue: TriageQueue) -> None:
        super().__init__()
        self.queue = queue
        self._colours: dict[str, QtGui.QBrush] = {}

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.queue.items)

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):  # noqa: D102 (Qt API)
        if not index.isValid() or not 0 <= index.row() < len(self.queue.items):
            return None
        it = self.queue.items[index.row()]
        if role in (QtCore.Qt.ItemDataRole.DisplayRole, QtCore.Qt.ItemDataRole.ToolTipRole):
            return it.describe()   # the tooltip shows a long entry whole (a narrow dock cuts it)
        if role == QtCore.Qt.ItemDataRole.ForegroundRole:
            b = self._colours.get(it.kind)
            if b is None:
                b = self._colours[it.kind] = QtGui.QBrush(QtGui.QColor(
                    *_readable(FLAG_COLOURS.get(it.kind, (128, 128, 128)))))
            return b
        return None

    def reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()


class _QueueView(QtWidgets.QListView):
    def count(self) -> int:
        return self.model().rowCount()

    def setCurrentRow(self, row: int) -> None:  # noqa: N802 (QListWidget's name)
        self.setCurrentIndex(self.model().index(row, 0))

    def currentRow(self) -> int:  # noqa: N802
        return self.currentIndex().row()


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
        self._fills = 0
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
        self.model = _QueueModel(self.queue)
        self.list = _QueueView()
        self.list.setObjectName("triageList")
        self.list.setUniformItemSizes(True)
        self.list.setModel(self.model)
        self.list.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._row_changed(cur.row()))
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
        if getattr(s, "read_only", False):  # its result could not be recorded
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
        self._fills += 1
        q = self.queue
        counts = q.counts()
        for kind, cb in self.kind_boxes.items():
            n = counts.get(kind, 0)
            cb.setText(f"{kind.replace('_', ' ')} ({n})")
        e = self.session.embryo
        self.state_label.setText("no embryo" if e is None else f"{e.name}: {review_state(e, counts)}")
        self._filling = True
        try:
            self.model.reset()
            if q.current is not None:
                self.list.setCurrentRow(q.position)
        finally:
            self._filling = False
        self._buttons()

    def _buttons(self) -> None:
        q = self.queue
        for b in (self.accept_button, self.reject_button):
            b.setEnabled(q.current is not None)
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
        self.list.scrollTo(self.list.currentIndex())
        self._buttons()
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
        why = self.session.editing_refusal("decide")  # the Session's rule, as the window's edits
        if why is not None:
            self.last_error = why
            self.state_label.setText(why)
            win = self.window()
            if isinstance(win, QtWidgets.QMainWindow):   # and the window's status bar, as its edits
                win.statusBar().showMessage(why, 10000)
            return False
        edit = self.queue.decide(accept)
        if edit is None:
            return False
        before = self._fills
        try:
            changed = self.session.push(edit)
        except (EmbryoError, ValueError, IndexError) as exc:
            self.last_error = str(exc)
            self.state_label.setText(f"error: {exc}")
            return False
        if self._fills == before:  # the session told nothing (an edit that changed nothing)
            self.queue.refresh()
            self._fill()
        self._show_current()
        self.decided.emit(edit.label)
        return bool(changed)


def _readable(rgb) -> tuple[int, int, int]:
    """A list text colour: the kind's colour, lifted when it is too dark to read on a dark theme."""
    return readable_on_background(rgb)
