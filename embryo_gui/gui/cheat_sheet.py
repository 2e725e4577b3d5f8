"""The keyboard cheat sheet (F1): every action of the window with its shortcuts, read from the
actions themselves (so it cannot drift from them), plus the mouse gestures."""

from __future__ import annotations

import html
from typing import Iterable

from PySide6 import QtCore, QtGui, QtWidgets

MOUSE = (
    ("Seek", "click or drag on the timeline or the plot; drag the plot's cursor line"),
    ("Select frames", "Shift+drag on the timeline or the plot (Esc clears)"),
    ("Change one value", "drag a point of the edited curve up or down"),
    ("Accept / reject a cliff", "right-click its shaded band"),
    ("Zoom / pan the frame", "mouse wheel / drag on the picture; Fit (Ctrl+0)"),
    ("Zoom / pan the plot", "mouse wheel / drag on the plot"),
)


def shortcut_text(action: QtGui.QAction) -> str:
    """The action's shortcuts as the user types them, e.g. ``Ctrl+Shift+Z / Ctrl+Y``."""
    return " / ".join(k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())


def plain(text: str) -> str:
    """Menu text without its mnemonic ampersand and trailing dots."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".").strip()


def sheet_html(groups: Iterable[tuple[str, Iterable[QtGui.QAction]]]) -> str:
    parts = []
    for title, actions in groups:
        rows = [(plain(a.text()), shortcut_text(a)) for a in actions if a is not None and a.shortcuts()]
        if not rows:
            continue
        parts.append(f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='2'>")
        parts += [f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(t)}</td></tr>" for t, k in rows]
        parts.append("</table>")
    parts.append("<h3>Mouse</h3><table cellspacing='0' cellpadding='2'>")
    parts += [f"<tr><td><b>{html.escape(t)}</b>&nbsp;&nbsp;</td><td>{html.escape(d)}</td></tr>" for t, d in MOUSE]
    parts.append("</table><p>No single unmodified key changes data. Frames are numbered from 0.</p>")
    return "".join(parts)


class CheatSheet(QtWidgets.QDialog):
    """A non-modal window listing the shortcuts; F1 (or Esc) closes it again."""

    def __init__(self, groups, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setModal(False)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setHtml(sheet_html(groups))
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(close)
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_F1), self, self.close)
        self.resize(520, 560)

    def text(self) -> str:
        return self.browser.toPlainText()
