"""The embryo list (a dock): one row per embryo with its state (clean / flagged / unusable), its
review state ("not yet reviewed" until a person decided a detection, "N to review", "reviewed")
and the pending detections per kind (see :func:`list_row`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..app.triage import pending_counts, review_state

STATE_COLOURS = {"clean": (40, 160, 70), "flagged": (230, 150, 20), "unusable": (200, 40, 40)}


class EmbryoList(QtWidgets.QListWidget):
    embryoSelected = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.currentItemChanged.connect(self._changed)
        self._filling = False

    def set_embryos(self, rows: Sequence[tuple], current: str | None = None) -> None:
        """Rows of (name, state, n_frames[, n_annotated[, review, pending-per-kind]]) (:func:`list_row`)."""
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

    def update_state(self, name: str, state: str, n: int, n_annotated: int | None = None,
                     review: str | None = None, pending: dict | None = None) -> None:
        for i in range(self.count()):
            item = self.item(i)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) == name:
                _describe(item, name, state, n, n_annotated, review, pending)

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


def list_row(e) -> tuple:
    """(name, state, frames, annotated frames, review state, pending detections per kind) of an
    embryo for the list."""
    pending = pending_counts(e)
    return (e.name, e.state(), e.n_frames, int(np.isfinite(e.current[:, -1]).sum()), review_state(e, pending),
            pending)


def _short(kind: str) -> str:
    return {"red_artifact": "red", "outlier": "outl.", "out_of_order": "order"}.get(kind, kind.replace("_", " "))


def _describe(item: QtWidgets.QListWidgetItem, name: str, state: str, n: int,
              n_annotated: int | None = None, review: str | None = None, pending: dict | None = None) -> None:
    """Text, colour and tooltip of one row; the tooltip says how many frames are annotated and
    how many detections of each kind wait for review."""
    text = f"{name}  ({state})"
    if review:
        text += f"\n  {review}"
    if pending:
        text += "\n  " + ", ".join(f"{v} {_short(k)}" for k, v in pending.items())
    item.setText(text)
    item.setForeground(QtGui.QBrush(QtGui.QColor(*STATE_COLOURS.get(state, (0, 0, 0)))))
    ann = "" if n_annotated is None or n_annotated == n else f" ({n_annotated} annotated)"
    tip = f"{name}: {state}, {n} frames{ann}"
    if review:
        tip += f"; {review}"
    if pending:
        tip += "\npending detections: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in pending.items())
    item.setToolTip(tip)
