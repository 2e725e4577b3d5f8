"""The embryo list (a dock): one row per embryo with its state (clean / flagged / unusable)."""

from __future__ import annotations

from typing import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

STATE_COLOURS = {"clean": (40, 160, 70), "flagged": (230, 150, 20), "unusable": (200, 40, 40)}


class EmbryoList(QtWidgets.QListWidget):
    embryoSelected = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.currentItemChanged.connect(self._changed)
        self._filling = False

    def set_embryos(self, rows: Sequence[tuple], current: str | None = None) -> None:
        """Rows of (name, state, n_frames) or (name, state, n_frames, n_annotated)."""
        self._filling = True
        try:
            self.clear()
            for row in rows:
                name = row[0]
                item = QtWidgets.QListWidgetItem()
                item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
                _describe(item, *row)
                self.addItem(item)
                if name == current:
                    self.setCurrentItem(item)
        finally:
            self._filling = False

    def update_state(self, name: str, state: str, n: int, n_annotated: int | None = None) -> None:
        for i in range(self.count()):
            item = self.item(i)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) == name:
                _describe(item, name, state, n, n_annotated)

    def select_name(self, name: str) -> None:
        """Highlight ``name`` without emitting embryoSelected."""
        for i in range(self.count()):
            item = self.item(i)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) == name and self.currentItem() is not item:
                self._filling = True
                try:
                    self.setCurrentItem(item)
                finally:
                    self._filling = False

    def names(self) -> list[str]:
        return [self.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def _changed(self, cur, _prev) -> None:
        if cur is not None and not self._filling:
            self.embryoSelected.emit(cur.data(QtCore.Qt.ItemDataRole.UserRole))


def _describe(item: QtWidgets.QListWidgetItem, name: str, state: str, n: int,
              n_annotated: int | None = None) -> None:
    """Text, colour and tooltip of one row; the tooltip says how many frames are annotated."""
    item.setText(f"{name}  ({state})")
    item.setForeground(QtGui.QBrush(QtGui.QColor(*STATE_COLOURS.get(state, (0, 0, 0)))))
    ann = "" if n_annotated is None or n_annotated == n else f" ({n_annotated} annotated)"
    item.setToolTip(f"{name}: {state}, {n} frames{ann}")
