"""What auto-clean did (or, for a draft, will do), one row per embryo, in words.

Fixed, named columns (never the summary's raw keys), a width that fits the screen (at most 900 px),
and no work at show time beyond filling a small table.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

#: (header, tooltip, how to get the value from one embryo's summary dict)
COLUMNS = (
    ("Embryo", "Embryo name", lambda s: s.get("name", "")),
    ("State", "clean / flagged / unusable after auto-clean", lambda s: str(s.get("state", ""))),
    ("Corrupt", "Corrupt frames found (black, red artifact, outlier); they are excluded",
     lambda s: int(s.get("black", 0)) + int(s.get("red_artifact", 0)) + int(s.get("outlier", 0))),
    ("Cliffs repaired", "Cliffs (annotation drops) filled in from their neighbours",
     lambda s: int(s.get("cliffs_repaired", 0))),
    ("Cliff frames excluded", "Frames of cliffs that could not be repaired (e.g. to the end)",
     lambda s: int(s.get("cliff_frames_excluded", 0))),
    ("Spikes repaired", "Isolated mislabelled frames interpolated",
     lambda s: f"{int(s.get('spikes_repaired', 0))} of {int(s.get('spikes', 0))}"),
    ("Excluded", "Frames left out of an export, of all frames",
     lambda s: f"{int(s.get('excluded', 0))} of {int(s.get('n_frames', 0))}"),
    ("For review", "Cliffs left pending because you edited values in them by hand",
     lambda s: int(s.get("cliffs_left_for_review", 0))),
)
MAX_WIDTH = 900


def summary_rows(summary: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Column headers and text rows of an auto-clean summary (list of dicts, one per embryo)."""
    cols = [c[0] for c in COLUMNS]
    rows = [[str(get(s)) for _, _, get in COLUMNS] for s in summary]
    return cols, rows


def headline(summary: list[dict], draft: bool = False) -> str:
    n = len(summary)
    ex = sum(int(s.get("excluded", 0)) for s in summary)
    rep = sum(int(s.get("cliffs_repaired", 0)) for s in summary)
    sp = sum(int(s.get("spikes_repaired", 0)) for s in summary)
    bad = [s.get("name", "") for s in summary if s.get("unusable")]
    verb = "Auto-clean will" if draft else "Auto-clean did"
    text = (f"{verb}: {n} embryo{'s' if n != 1 else ''}, {ex} frames excluded, {rep} cliffs repaired, "
            f"{sp} spike frames repaired.")
    if bad:
        text += f" Unusable (too many frames lost): {', '.join(bad)}."
    return text


class SummaryDialog(QtWidgets.QDialog):
    def __init__(self, summary: list[dict], parent: QtWidgets.QWidget | None = None, draft: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Auto-clean draft" if draft else "Auto-clean summary")
        cols, rows = summary_rows(summary)
        self.headline = QtWidgets.QLabel(headline(summary, draft))
        self.headline.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(len(rows), len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        for j, (_, tip, _) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(j).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        for i, (r, s) in enumerate(zip(rows, summary)):
            notes = "; ".join(s.get("notes", []) or [])
            for j, text in enumerate(r):
                item = QtWidgets.QTableWidgetItem(text)
                if j > 1:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                if notes:
                    item.setToolTip(notes)
                if s.get("unusable") and j == 1:
                    item.setForeground(QtGui.QBrush(QtGui.QColor(200, 40, 40)))
                self.table.setItem(i, j, item)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        note = QtWidgets.QLabel(("Nothing is changed until you apply it; " if draft else "")
                                + "each embryo's auto-clean is one undo step (Edit > Undo), and undoing it "
                                "keeps the detections.")
        note.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.headline)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        screen = QtGui.QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1280, 800)
        width = min(MAX_WIDTH, int(avail.width() * 0.9))
        height = min(int(avail.height() * 0.8), 150 + 30 * max(len(rows), 3))
        self.resize(width, height)
        self.setMaximumWidth(max(width, 480))
