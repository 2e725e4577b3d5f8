"""Per-embryo edit history with exact undo / redo.

The project's :class:`~embryo_gui.model.undo.UndoStack` listens to every embryo's history and keeps
the one order of steps across embryos; undo and redo go through that stack (or the Session)."""

from __future__ import annotations

from typing import Callable

from .edit import Edit


class History:
    def __init__(self, embryo, entries: list[Edit] | None = None, position: int | None = None):
        self._embryo = embryo
        self.entries: list[Edit] = list(entries or [])
        self.position = len(self.entries) if position is None else int(position)
        if not 0 <= self.position <= len(self.entries):
            raise ValueError(f"history position {self.position} outside 0..{len(self.entries)}")
        self._listeners: list[Callable[[str, Edit], None]] = []
        #: bumped by every push / undo / redo: the embryo's state changed
        self.version = 0

    def add_listener(self, fn: Callable[[str, Edit], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self, what: str, edit: Edit) -> None:
        self.version += 1
        for fn in list(self._listeners):
            fn(what, edit)

    def push(self, edit: Edit) -> Edit:
        """Apply ``edit`` and record it (dropping the redo tail).  An edit that changes nothing is
        not recorded (so a second auto-clean adds no step)."""
        edit.apply(self._embryo)
        if edit.is_empty:
            return edit
        del self.entries[self.position:]
        self.entries.append(edit)
        self.position += 1
        self._notify("push", edit)
        return edit

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.entries)

    def undo(self) -> Edit:
        if not self.can_undo:
            raise IndexError("nothing to undo")
        self.position -= 1
        edit = self.entries[self.position]
        edit.revert(self._embryo)
        self._notify("undo", edit)
        return edit

    def redo(self) -> Edit:
        if not self.can_redo:
            raise IndexError("nothing to redo")
        edit = self.entries[self.position]
        edit.apply(self._embryo)
        self.position += 1
        self._notify("redo", edit)
        return edit

    def drop_redo(self) -> list[Edit]:
        """Forget the undone steps (the redo tail); returns them.  The project's undo stack calls
        this when a step on another embryo ends the redo tail of the whole project."""
        dropped = self.entries[self.position:]
        del self.entries[self.position:]
        if dropped:
            self._notify("drop", dropped[-1])
        return dropped

    @property
    def top(self) -> Edit | None:
        """The last applied edit (None when nothing is applied)."""
        return self.entries[self.position - 1] if self.position else None

    def __len__(self) -> int:
        return len(self.entries)
