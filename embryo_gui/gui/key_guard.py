"""Keep the window's single-key shortcuts away from widgets the user is typing in.

Qt asks the focus widget first (a ``ShortcutOverride`` event) whether it wants a key; a spin
box's line edit claims Left/Right/Home/End/Space and letters, but not PageUp/PageDown, which it
uses to step its value: without this guard PageUp/PageDown in the trainer's spin boxes jumped
100 frames instead.  :func:`guard_typing` makes every spin box under a widget claim the
navigation keys too, so they edit the box, never the frame.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

K = QtCore.Qt.Key
#: keys a text box uses itself (with no modifier or Shift); shortcuts on them must not fire there
TYPING_KEYS = frozenset({K.Key_Left, K.Key_Right, K.Key_Up, K.Key_Down, K.Key_Home, K.Key_End,
                         K.Key_PageUp, K.Key_PageDown, K.Key_Space, K.Key_Escape, K.Key_Backspace,
                         K.Key_Delete})


class TypingKeyGuard(QtCore.QObject):
    """Event filter: a watched widget claims :data:`TYPING_KEYS` (bare or with Shift) before the
    window's shortcuts see them; the key then reaches the widget's own ``keyPressEvent``."""

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 (Qt API)
        if ev.type() == QtCore.QEvent.Type.ShortcutOverride:
            mods = ev.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
            if ev.key() in TYPING_KEYS and mods in (QtCore.Qt.KeyboardModifier.NoModifier,
                                                   QtCore.Qt.KeyboardModifier.ShiftModifier):
                ev.accept()
                return True
        return False


def guard_typing(root: QtWidgets.QWidget, guard: TypingKeyGuard) -> int:
    """Install ``guard`` on every spin box and line edit under ``root``; returns how many."""
    n = 0
    for w in root.findChildren(QtWidgets.QAbstractSpinBox) + root.findChildren(QtWidgets.QLineEdit):
        w.installEventFilter(guard)
        n += 1
    return n
