"""One undo order across all the embryos of a project.

Each embryo keeps its own :class:`~embryo_gui.model.history.History` (its edits with their deltas,
saved per embryo as before); the :class:`UndoStack` holds the *order* of those steps across the
project: ``order[k]`` is the uid of the embryo whose history holds step ``k``, ``position`` the
number of steps applied.  It is the one source of truth for undo order: it is saved in the project
file (``/undo_order``) and read back, never rebuilt from wall-clock edit times (except for a file
written before it existed, see docs/FORMAT.md).

The stack listens to every embryo's history, so an edit pushed on ``embryo.history`` directly is
still ordered; a push drops the redo tail of the *whole* project (linear undo), including other
embryos' undone steps.  ``undo()`` undoes the last step whichever embryo it belongs to.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Iterator, Optional

from .edit import Edit

#: listener(action, embryo, edit): action is "push" | "undo" | "redo"
Listener = Callable[[str, object, Edit], None]


class UndoStack:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.position = 0
        self._embryos: dict[str, object] = {}
        self._hooks: dict[str, Callable] = {}
        self._listeners: list[Listener] = []

    # --- embryos --------------------------------------------------------------------------------
    def attach(self, embryo) -> None:
        """Follow ``embryo.history`` (its applied steps are appended when the embryo is new to the stack)."""
        uid = embryo.uid
        if uid in self._embryos:
            self.detach(embryo)
        self._embryos[uid] = embryo

        def hook(what: str, edit: Edit, _uid=uid) -> None:
            self._on_history(_uid, what, edit)

        self._hooks[uid] = hook
        embryo.history.add_listener(hook)

    def detach(self, embryo) -> None:
        """Stop following an embryo (removed from the project): its steps leave the order."""
        uid = embryo.uid
        hook = self._hooks.pop(uid, None)
        if hook is not None:
            embryo.history.remove_listener(hook)
        self._embryos.pop(uid, None)
        before = self.order[:self.position].count(uid)
        self.order = [u for u in self.order if u != uid]
        self.position -= before

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    # --- undo / redo ----------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.order)

    def undo(self) -> tuple[object, Edit]:
        """Undo the last step of the project; returns ``(embryo, edit)``."""
        if not self.can_undo:
            raise IndexError("nothing to undo")
        embryo = self._embryos[self.order[self.position - 1]]
        return embryo, embryo.history.undo()  # the history's event moves self.position

    def redo(self) -> tuple[object, Edit]:
        if not self.can_redo:
            raise IndexError("nothing to redo")
        embryo = self._embryos[self.order[self.position]]
        return embryo, embryo.history.redo()

    def next_undo(self) -> Optional[tuple[object, Edit]]:
        """``(embryo, edit)`` that :meth:`undo` would revert, or None."""
        return self.steps()[self.position - 1] if self.can_undo else None

    def next_redo(self) -> Optional[tuple[object, Edit]]:
        return self.steps()[self.position] if self.can_redo else None

    def steps(self) -> list[tuple[object, Edit]]:
        """Every step in order, ``(embryo, edit)``; the first :attr:`position` are applied."""
        seen: Counter = Counter()
        out = []
        for uid in self.order:
            e = self._embryos[uid]
            out.append((e, e.history.entries[seen[uid]]))
            seen[uid] += 1
        return out

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[tuple[object, Edit]]:
        return iter(self.steps())

    # --- following the histories -----------------------------------------------------------------
    def _on_history(self, uid: str, what: str, edit: Edit) -> None:
        if what == "push":
            # linear undo: a new step ends the redo tail of the whole project
            for other in set(self.order[self.position:]) - {uid}:
                self._embryos[other].history.drop_redo()
            del self.order[self.position:]
            self.order.append(uid)
            self.position += 1
        elif what == "undo":
            # normally the last applied step; an undo made on the history directly moves that
            # embryo's last applied step to the end of the applied part first
            i = max(k for k in range(self.position) if self.order[k] == uid)
            self.order.insert(self.position - 1, self.order.pop(i))
            self.position -= 1
        elif what == "redo":
            i = min(k for k in range(self.position, len(self.order)) if self.order[k] == uid)
            self.order.insert(self.position, self.order.pop(i))
            self.position += 1
        elif what == "drop":   # the embryo forgot its undone steps
            self.order = self.order[:self.position] + [u for u in self.order[self.position:] if u != uid]
            return
        else:
            return
        embryo = self._embryos[uid]
        for fn in list(self._listeners):
            fn(what, embryo, edit)

    # --- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"order": list(self.order), "position": int(self.position)}

    def consistent_with(self, order: list[str], position: int) -> bool:
        """Whether ``order``/``position`` (read from a file) agree with the embryos' histories:
        each embryo appears once per history entry, and as often before ``position`` as its
        history has applied steps."""
        if not isinstance(order, list) or not isinstance(position, int) or not 0 <= position <= len(order):
            return False
        total, applied = Counter(order), Counter(order[:position])
        if set(total) - set(self._embryos):
            return False
        for uid, e in self._embryos.items():
            if total[uid] != len(e.history.entries) or applied[uid] != e.history.position:
                return False
        # linear undo: the redo part holds only steps undone after everything applied
        return True

    def restore(self, data: Optional[dict]) -> bool:
        """Take the order saved in a project file; when it is missing or does not agree with the
        histories (a file from an older version, or one edited by an older version), fall back to
        :meth:`rebuild`.  Returns True when the saved order was used."""
        order = (data or {}).get("order") if isinstance(data, dict) else None
        position = (data or {}).get("position") if isinstance(data, dict) else None
        if order is not None and self.consistent_with(list(order), position):
            self.order, self.position = [str(u) for u in order], int(position)
            return True
        self.rebuild()
        return False

    def rebuild(self) -> None:
        """An order for histories that have none (files written before the undo order was saved):
        applied steps by edit time, then the undone ones by edit time."""
        applied, undone = [], []
        for uid, e in self._embryos.items():
            for k, x in enumerate(e.history.entries):
                (applied if k < e.history.position else undone).append((float(getattr(x, "time", 0.0)), k, uid))
        applied.sort()
        undone.sort()
        self.order = [u for _, _, u in applied] + [u for _, _, u in undone]
        self.position = len(applied)
