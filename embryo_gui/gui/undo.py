"""The bridge between Qt's QUndoStack and the core's per-embryo edit histories.

Each QUndoCommand wraps ONE core edit of one embryo; its ``redo``/``undo`` call that embryo's
``history.redo()``/``history.undo()``.  Edits are first pushed through the core (so an edit that
fails or changes nothing never reaches the stack) and then recorded on the stack as already
applied.  Because every change goes through the stack, the stack order and the per-embryo
history orders always agree.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui


class EditCommand(QtGui.QUndoCommand):
    """One core edit of one embryo, already applied when it is pushed."""

    def __init__(self, embryo: Any, edit: Any) -> None:
        super().__init__(f"{embryo.name}: {edit.label}")
        self.embryo, self.edit = embryo, edit
        self._skip_first_redo = True

    def redo(self) -> None:
        if self._skip_first_redo:  # QUndoStack.push calls redo(); the edit is already applied
            self._skip_first_redo = False
            return
        h = self.embryo.history
        if not h.can_redo or h.entries[h.position] is not self.edit:
            raise RuntimeError(f"history of {self.embryo.name} is out of step with the undo stack")
        h.redo()

    def undo(self) -> None:
        h = self.embryo.history
        if not h.can_undo or h.entries[h.position - 1] is not self.edit:
            raise RuntimeError(f"history of {self.embryo.name} is out of step with the undo stack")
        h.undo()


class UndoController(QtCore.QObject):
    """Owns the QUndoStack of a project; the only way the GUI changes an embryo."""

    #: (embryo name) after any push / undo / redo that changed it
    changed = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QtGui.QUndoStack(self)
        self.stack.indexChanged.connect(self._index_changed)
        self._last_embryo: str | None = None

    def clear(self) -> None:
        self.stack.clear()

    def push(self, embryo: Any, edit: Any) -> bool:
        """Apply ``edit`` to ``embryo`` through its history and record it on the stack.

        Returns False (and records nothing) when the edit changed nothing.  Errors raised by the
        edit propagate (the core leaves the embryo unchanged).
        """
        before = embryo.history.position, len(embryo.history.entries)
        embryo.history.push(edit)
        h = embryo.history
        if (h.position, len(h.entries)) == before and (not h.entries or h.entries[h.position - 1] is not edit):
            return False
        self.record_applied(embryo, edit)
        return True

    def record_applied(self, embryo: Any, edit: Any) -> None:
        """Put an edit that the core already pushed (auto-clean, trainer) on the stack."""
        self._last_embryo = embryo.name
        self.stack.push(EditCommand(embryo, edit))
        self.changed.emit(embryo.name)

    def adopt_history(self, embryos) -> int:
        """After opening a project, put the saved history entries (up to each embryo's position)
        on the stack in time order so they can be undone; returns how many."""
        items = []
        for e in embryos:
            for k in range(e.history.position):
                items.append((float(getattr(e.history.entries[k], "time", 0.0)), e, e.history.entries[k]))
        items.sort(key=lambda t: t[0])
        self.stack.blockSignals(True)
        try:
            for _, e, edit in items:
                self.stack.push(EditCommand(e, edit))
            self.stack.setClean()
        finally:
            self.stack.blockSignals(False)
        return len(items)

    def _index_changed(self, _index: int) -> None:
        # undo/redo: tell the window which embryo changed
        idx = self.stack.index()
        cmd = None
        if 0 < idx <= self.stack.count():
            cmd = self.stack.command(idx - 1)
        nxt = self.stack.command(idx) if idx < self.stack.count() else None
        for c in (cmd, nxt):
            if isinstance(c, EditCommand):
                self.changed.emit(c.embryo.name)
