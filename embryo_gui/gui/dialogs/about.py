"""About dialog: version, project format version, licences (from embryo_gui.about)."""

from __future__ import annotations

from PySide6 import QtWidgets

from ... import __version__
from ...model import FORMAT_VERSION


def about_plain_text() -> str:
    try:
        from ...about import about_text
        return about_text()
    except Exception:  # noqa: BLE001 - never fail to show the About box
        return f"embryo-gui {__version__}\nproject format version {FORMAT_VERSION}"


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About embryo-gui")
        self.text = QtWidgets.QPlainTextEdit(about_plain_text())
        self.text.setReadOnly(True)
        copy = QtWidgets.QPushButton("Copy")
        copy.clicked.connect(lambda: QtWidgets.QApplication.clipboard().setText(self.text.toPlainText()))
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        buttons.addButton(copy, QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        self.resize(560, 420)
