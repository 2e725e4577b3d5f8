"""Export options: output folder, frame size, grey, CSV; what the export drops (the policy of
:mod:`embryo_gui.app.exporting` in words) and a confirmation before replacing existing files."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from ...app.exporting import describe_plan, existing_outputs


def confirm_overwrite(parent, paths, ask: bool = True) -> bool:
    """Ask before replacing existing output files; True when there are none or the user agrees."""
    paths = [Path(p) for p in paths]
    if not paths:
        return True
    if not ask:
        return False
    names = "\n".join(str(p) for p in paths)
    r = QtWidgets.QMessageBox.question(
        parent, "Replace existing files?", f"These files already exist and will be replaced:\n{names}",
        QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel,
        QtWidgets.QMessageBox.StandardButton.Cancel)
    return r == QtWidgets.QMessageBox.StandardButton.Yes


class ExportDialog(QtWidgets.QDialog):
    """``plan`` (from :func:`embryo_gui.app.exporting.plan_export`) is shown as what will be dropped."""

    def __init__(self, default_out: Path, parent: QtWidgets.QWidget | None = None, plan: dict | None = None,
                 ask: bool = True) -> None:
        super().__init__(parent)
        self.ask = ask
        self.overwrite = False
        self.setWindowTitle("Export cleaned dataset")
        default_out = Path(default_out)
        if default_out.suffix.lower() not in (".h5", ".hdf5"):
            default_out = default_out.with_name(default_out.name + ".h5")
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
        self.csv = QtWidgets.QCheckBox("Also write the counts as a CSV file next to it")
        note = QtWidgets.QLabel(
            "One HDF5 file with the kept frames of every embryo and their cleaned counts "
            "(population and lineages). Excluded, lossy (unless you cleared them) and unannotated "
            "frames are left out; the project itself is not changed.")
        note.setWordWrap(True)
        self.plan_label = QtWidgets.QLabel(self._plan_text(plan))
        self.plan_label.setObjectName("exportPlan")
        self.plan_label.setWordWrap(True)
        form = QtWidgets.QFormLayout(self)
        form.addRow(note)
        form.addRow("This export", self.plan_label)
        form.addRow("Output file", row)
        form.addRow("", srow)
        form.addRow("", self.gray)
        form.addRow("", self.csv)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(min(600, 900))

    @staticmethod
    def _plan_text(plan: dict | None) -> str:
        if not plan:
            return ""
        return f"keeps {plan['n_frames']} frames; " + "; ".join(describe_plan(plan))

    def accept(self) -> None:  # noqa: D401 - Qt API
        """Ask before replacing existing files; stay open when the user says no."""
        v = self.values()
        existing = existing_outputs(v["out_path"], v["csv_path"])
        if existing:
            if not confirm_overwrite(self, existing, self.ask):
                return
            self.overwrite = True
        super().accept()

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export to", self.out.text())
        if path:
            self.out.setText(path)

    def values(self) -> dict:
        return {"out_path": self.out.text(), "size": ((self.width.value(), self.height.value()) if self.resize_check.isChecked() else None),
                "gray": self.gray.isChecked(),
                "csv_path": str(Path(self.out.text()).with_suffix(".csv")) if self.csv.isChecked() else None}
