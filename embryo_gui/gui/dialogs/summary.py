"""What auto-clean did, one row per embryo."""

from __future__ import annotations

from PySide6 import QtWidgets


def summary_rows(summary: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Column names and text rows of an auto-clean summary (list of dicts, one per embryo)."""
    cols: list[str] = []
    for row in summary:
        for k in row:
            if k not in cols:
                cols.append(k)
    rows = [[_fmt(row.get(c, "")) for c in cols] for row in summary]
    return cols, rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


class SummaryDialog(QtWidgets.QDialog):
    def __init__(self, summary: list[dict], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Auto-clean summary")
        cols, rows = summary_rows(summary)
        self.table = QtWidgets.QTableWidget(len(rows), len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        for i, r in enumerate(rows):
            for j, text in enumerate(r):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        note = QtWidgets.QLabel("Each embryo's changes are one undo step (Edit > Undo).")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(note)
        lay.addWidget(buttons)
        # wide enough for every column (no horizontal scrolling), within reason
        hh = self.table.horizontalHeader()
        hh.setStretchLastSection(True)
        width = (hh.length() + self.table.verticalHeader().sizeHint().width() + 2 * self.table.frameWidth()
                 + self.table.verticalScrollBar().sizeHint().width() + 40)
        self.resize(max(480, min(width, 1800)), 120 + 32 * max(len(rows), 3))
