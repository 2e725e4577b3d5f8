"""Main-window editing commands: each turns the selection (or the cursor frame) and the edited
column into ONE core edit pushed through the undo controller; cliff decisions; lossy threshold."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtWidgets

from .. import edits
from ..errors import EmbryoError
from ..lineages import COLUMNS
from .curve_items import cliff_span, cliff_status


class EditCommandsMixin:
    """Edits on the current embryo of :class:`~embryo_gui.gui.main_window.MainWindow`."""

    def push_edit(self, edit: Any, embryo: Any = None) -> bool:
        """Apply one core edit through the undo stack; errors are shown, never raised."""
        e = embryo if embryo is not None else self.embryo
        if e is None or self._busy:
            return False
        try:
            return self.undo.push(e, edit)
        except (EmbryoError, ValueError, IndexError, KeyError) as exc:
            self._error(f"{e.name}: {edit.label}: {exc}")
            return False

    def _range(self) -> tuple[int, int]:
        """Selected frames as a half-open (start, stop); the cursor frame when nothing is selected."""
        a, b = self.cursor.target_frames()
        return a, b + 1

    def _column_changed(self, col: str) -> None:
        self.curve.active_column = col
        self.lineage_toggles[col].setChecked(True)

    def _point_dragged(self, frame: int, column: str, value: float) -> None:
        self.push_edit(edits.SetValues([frame], value, columns=[column]))

    def set_value_dialog(self) -> None:
        if self.embryo is None:
            return
        a, b = self._range()
        col = self.curve.active_column
        cur = self.embryo.current[a, COLUMNS.index(col)]
        v, ok = QtWidgets.QInputDialog.getDouble(self, "Set value", f"{col} on frames {a}-{b - 1}:",
                                                 float(cur) if np.isfinite(cur) else 0.0, 0.0, 1e6, 0)
        if ok:
            self.set_value(v)

    def set_value(self, value: float) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetValues((a, b), value, columns=[self.curve.active_column]))

    def interpolate(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.Interpolate(a, b, columns=[self.curve.active_column]))

    def refit(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.RefitMonotone(a, b, columns=[self.curve.active_column]))

    def set_excluded(self, excluded: bool) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetExcluded((a, b), excluded=excluded, reason="manual"))

    def truncate(self) -> bool:
        return self.push_edit(edits.Truncate(self.cursor.index))

    def decide_cliff(self, index: "int | list[int] | None", accept: bool) -> bool:
        """Accept or reject cliff detections (an index, a list, or None: all at the cursor);
        several become one undo step; detections already in that state are left alone."""
        if self.embryo is None:
            return False
        cliffs = self.embryo.detections.get("cliffs", [])
        if index is None:
            i = self.cursor.index
            hits = [k for k, c in enumerate(cliffs) if cliff_span(c)[0] <= i <= cliff_span(c)[1]]
            if not hits:
                self.statusBar().showMessage("no detected cliff at the cursor", 3000)
                return False
        else:
            hits = [int(index)] if np.isscalar(index) else [int(k) for k in index]
        target = "accepted" if accept else "rejected"
        todo = [k for k in hits if 0 <= k < len(cliffs) and cliff_status(cliffs[k]) != target]
        if not todo:
            self.statusBar().showMessage(f"cliff already {target}", 3000)
            return False
        make = edits.AcceptDetection if accept else edits.RejectDetection
        if len(todo) == 1:
            return self.push_edit(make(todo[0]))
        verb = "accept" if accept else "reject"
        return self.push_edit(edits.Batch([make(k) for k in todo], label=f"{verb} {len(todo)} cliffs"))

    def apply_loss_threshold(self, threshold: float) -> bool:
        if self.embryo is None or "loss" not in self.embryo.flags.scores:
            return False
        loss = self.embryo.flags.scores["loss"].astype(np.float64)
        lossy = np.isfinite(loss) & (loss >= threshold)
        return self.push_edit(edits.SetFlags({"lossy": lossy}, label=f"lossy: loss >= {threshold:.4g}"))
