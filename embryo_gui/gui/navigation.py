"""Main-window navigation: frame selection, jumps to flagged frames, go to frame, playback.
None of these changes data."""

from __future__ import annotations

from PySide6 import QtWidgets

from .icons import icon
from .view_model import any_flag_mask, next_flagged


class NavigationMixin:
    """Moves ``self.cursor`` of :class:`~embryo_gui.gui.main_window.MainWindow`."""

    def select_range(self, a: int, b: int) -> None:
        sel = self.cursor.select(a, b)
        self.timeline.set_selection(sel)
        self.curve.set_selection(sel)
        self.selection_label.setText(f"selected frames {sel[0]}-{sel[1]} ({sel[1] - sel[0] + 1})")

    def clear_selection(self) -> None:
        self.cursor.clear_selection()
        self.timeline.set_selection(None)
        self.curve.set_selection(None)
        self.selection_label.setText("")

    def jump_flag(self, forward: bool) -> None:
        if self.embryo is None:
            return
        kinds = [k for k in self.timeline.visible_kinds() if k != "edited"]
        mask = any_flag_mask(self._masks, kinds)
        if mask is None:
            return
        j = next_flagged(mask, self.cursor.index, forward)
        if j is not None:
            self.cursor.seek(j)
        else:
            self.statusBar().showMessage("no more flagged frames " + ("after" if forward else "before") +
                                         " this one", 2000)

    def goto_dialog(self) -> None:
        if self.embryo is None:
            return
        n = self.embryo.n_frames
        i, ok = QtWidgets.QInputDialog.getInt(self, "Go to frame", f"Frame (0-{n - 1}):", self.cursor.index, 0, n - 1)
        if ok:
            self.goto(i)

    def goto(self, frame: int) -> int:
        """Go to frame ``frame`` (0-based, the plot's and the timeline's numbers)."""
        return self.cursor.seek(int(frame))

    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.stop_play()
        elif self.embryo is not None:
            fps = self.playback_fps or float(self.embryo.source.get("fps") or 0.0) or 7.0
            self.play_timer.start(max(1, int(round(1000.0 / fps))))
            self._show_playing(True)

    def stop_play(self) -> None:
        if hasattr(self, "play_timer") and self.play_timer.isActive():
            self.play_timer.stop()
            self._show_playing(False)

    def _show_playing(self, playing: bool) -> None:
        """Play turns into Pause while playing (icon, text, tooltip)."""
        a = self.act_play
        a.setIcon(icon("pause" if playing else "play"))
        a.setIconText("Pause" if playing else "Play")
        a.setText("Pause" if playing else "Play")
        a.setToolTip(("Pause" if playing else "Play") + " (Space)")

    def _play_tick(self) -> None:
        if self.cursor.index >= self.cursor.n_frames - 1:
            self.stop_play()
        else:
            self.cursor.step(1)
