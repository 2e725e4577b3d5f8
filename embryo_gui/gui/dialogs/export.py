"""Export options: output folder, frame size, grey, CSV."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets


class ExportDialog(QtWidgets.QDialog):
    def __init__(self, default_out: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export cleaned dataset")
        self.out = QtWidgets.QLineEdit(str(default_out))
        browse = QtWidgets.QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        self.resize_check = QtWidgets.QCheckBox("Resize frames to")
        self.width = QtWidgets.QSpinBox(minimum=16, maximum=4096, value=376, suffix=" px wide")
        self.height = QtWidgets.QSpinBox(minimum=16, maximum=4096, value=256, suffix=" px high")
        srow = QtWidgets.QHBoxLayout()
        srow.addWidget(self.resize_check)
        for w in (self.width, self.height):
            w.setEnabled(False)
            self.resize_check.toggled.connect(w.setEnabled)
            srow.addWidget(w)
        srow.addStretch(1)
        self.gray = QtWidgets.QCheckBox("Greyscale frames")
        form = QtWidgets.QFormLayout(self)
        form.addRow("Output", row)
        form.addRow("", srow)
        form.addRow("", self.gray)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export to", self.out.text())
        if path:
            self.out.setText(path)

    def values(self) -> dict:
        return {"out_path": self.out.text(), "size": ((self.width.value(), self.height.value()) if self.resize_check.isChecked() else None),
                "gray": self.gray.isChecked()}
