"""Editing commands of the window: each turns the selection (or the current frame) and the
edited column into ONE core edit pushed on the Session (one undo step); cliff decisions; the
lossy threshold.  Errors are reported, never raised."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6 import QtWidgets

from .. import edits
from ..errors import EmbryoError
from ..lineages import COLUMNS
from .curve_items import cliff_span, cliff_status
from .view_model import Selection


class EditCommands:
    def __init__(self, session: Any, selection: Selection, notifier: Any, column: Callable[[], str],
                 parent: QtWidgets.QWidget | None = None) -> None:
        self.session, self.selection, self.notifier, self.column = session, selection, notifier, column
        self.parent = parent

    def push_edit(self, edit: Any, embryo: Any = None) -> bool:
        """Push one core edit on the Session (the current embryo unless named); False when it
        changed nothing or failed (the error is shown)."""
        s = self.session
        e = embryo if embryo is not None else s.embryo
        if e is None:
            return False
        why = s.editing_refusal("edit")     # read-only, or a job that holds editing
        if why is not None:
            self.notifier.error(why)
            return False
        try:
            return s.push(edit, e)
        except (EmbryoError, ValueError, IndexError, KeyError) as exc:
            name = e if isinstance(e, str) else e.name
            self.notifier.error(f"{name}: {edit.label}: {exc}")
            return False

    def _range(self) -> tuple[int, int]:
        """Selected frames as a half-open (start, stop); the current frame when nothing is selected."""
        a, b = self.selection.target_frames(self.session.frame)
        return a, b + 1

    def point_dragged(self, frame: int, column: str, value: float) -> bool:
        return self.push_edit(edits.SetValues([frame], value, columns=[column]))

    def set_value_dialog(self) -> None:
        e = self.session.embryo
        if e is None:
            return
        a, b = self._range()
        col = self.column()
        cur = e.current[a, COLUMNS.index(col)]
        v, ok = QtWidgets.QInputDialog.getDouble(self.parent, "Set value", f"{col} on frames {a}-{b - 1}:",
                                                 float(cur) if np.isfinite(cur) else 0.0, 0.0, 1e6, 0)
        if ok:
            self.set_value(v)

    def set_value(self, value: float) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetValues((a, b), value, columns=[self.column()]))

    def interpolate(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.Interpolate(a, b, columns=[self.column()]))

    def refit(self) -> bool:
        a, b = self._range()
        return self.push_edit(edits.RefitMonotone(a, b, columns=[self.column()]))

    def set_excluded(self, excluded: bool) -> bool:
        a, b = self._range()
        return self.push_edit(edits.SetExcluded((a, b), excluded=excluded, reason="manual"))

    def truncate(self) -> bool:
        return self.push_edit(edits.Truncate(self.session.frame))

    def decide_cliff(self, index: "int | list[int] | None", accept: bool) -> bool:
        """Accept or reject cliff detections (an index, a list, or None: all at the current frame);
        several become one undo step; detections already in that state are left alone."""
        e = self.session.embryo
        if e is None:
            return False
        cliffs = (e.detections or {}).get("cliffs", []) or []
        if index is None:
            i = self.session.frame
            hits = [k for k, c in enumerate(cliffs) if cliff_span(c)[0] <= i <= cliff_span(c)[1]]
            if not hits:
                self.notifier.message("no detected cliff at the cursor", 3000)
                return False
        else:
            hits = [int(index)] if np.isscalar(index) else [int(k) for k in index]
        target = "accepted" if accept else "rejected"
        todo = [k for k in hits if 0 <= k < len(cliffs) and cliff_status(cliffs[k]) != target]
        if not todo:
            self.notifier.message(f"cliff already {target}", 3000)
            return False
        make = edits.AcceptDetection if accept else edits.RejectDetection
        if len(todo) == 1:
            return self.push_edit(make(todo[0]))
        verb = "accept" if accept else "reject"
        return self.push_edit(edits.Batch([make(k) for k in todo], label=f"{verb} {len(todo)} cliffs"))

    def apply_loss_threshold(self, threshold: float) -> bool:
        e = self.session.embryo
        if e is None or "loss" not in e.flags.scores:
            return False
        loss = e.flags.scores["loss"].astype(np.float64)
        lossy = np.isfinite(loss) & (loss >= threshold)
        return self.push_edit(edits.SetFlags({"lossy": lossy}, label=f"lossy: loss >= {threshold:.4g}"))
