"""Main-window display of the current embryo: the frame (with read-ahead), the timeline marks,
the curves, the embryo list, refreshed after every edit / undo / redo."""

from __future__ import annotations

import numpy as np

from .frame_cache import FrameCache
from .view_model import FLAG_KINDS, flags_at, unannotated_mask


class EmbryoDisplayMixin:
    """Shows ``self.embryo`` in the widgets of :class:`~embryo_gui.gui.main_window.MainWindow`."""

    def set_embryo(self, name: str) -> None:
        if self.project is None:
            return
        e = self.project.embryo(name)
        if e is self.embryo:
            return
        self.stop_play()
        self.embryo = e
        if self.frame_cache is not None:
            self.frame_cache.close()  # stops its read-ahead thread
        self.frame_cache = FrameCache(e.frames, e.n_frames)
        self.cursor.reset(e.n_frames, 0)
        self.timeline.set_length(e.n_frames)
        self._refresh_masks()
        self.curve.set_data(e.current, e.original, self._masks.get("excluded"),
                            e.detections.get("cliffs", []))
        self.clear_selection()
        loss = e.flags.scores.get("loss")
        self.trainer.set_frame_loss(loss)
        self._show_frame(self.cursor.index)
        self.embryo_list.select_name(name)

    def _show_empty(self) -> None:
        self.cursor.reset(0)
        self.video.show_frame(None)
        self.timeline.set_length(0)
        self.timeline.set_marks({k: np.zeros(0, bool) for k in FLAG_KINDS})
        self.timeline.set_unannotated(None)
        self.curve.set_data(None)
        self.status_label.setText("no project" if self.project is None else "project has no embryos")

    def _refresh_masks(self) -> None:
        e = self.embryo
        self._masks = {k: e.flags.mask(k) for k in FLAG_KINDS}
        self.timeline.set_marks(self._masks)
        self.timeline.set_unannotated(unannotated_mask(e.current))
        self._show_live_lossy()

    def _refresh_embryo_list(self) -> None:
        if self.project is None:
            return
        cur = self.embryo.name if self.embryo is not None else None
        self.embryo_list.set_embryos([_list_row(e) for e in self.project.embryos], cur)

    def _on_embryo_changed(self, name: str) -> None:
        """After a push / undo / redo on embryo ``name``."""
        if self.project is None:
            return
        try:
            e = self.project.embryo(name)
        except KeyError:
            return
        self.embryo_list.update_state(*_list_row(e))
        if e is self.embryo:
            self._refresh_masks()
            self.curve.set_data(e.current, e.original, self._masks.get("excluded"),
                                e.detections.get("cliffs", []), keep_view=True)
            if "loss" in e.flags.scores:
                self.trainer.set_frame_loss(e.flags.scores["loss"])
            self._show_frame(self.cursor.index)
        self._update_title()

    def _on_cursor(self, i: int) -> None:
        if self.embryo is not None:
            self._direction = 1 if i >= getattr(self, "_last_shown", -1) else -1
            self._show_frame(i)
            self.prefetch_timer.start()

    def _prefetch(self) -> None:
        """Idle time: read the next frame in the direction of travel (and one step of 10)."""
        if self.frame_cache is None:
            return
        i, d = self.cursor.index, self._direction
        for j in (i + d, i + 10 * d):
            if self.frame_cache.prefetch(j):
                self.prefetch_timer.start(0)  # one read per idle slot keeps the loop responsive
                return

    def _show_frame(self, i: int) -> None:
        e = self.embryo
        flags = flags_at(self._masks, i)
        frame = self.frame_cache.get(i) if self.frame_cache is not None else e.frames[i]
        self._last_shown = i
        reason = ((e.detections.get("corrupt") or {}).get("reasons") or {}).get(str(i), "")
        self.video.show_frame(frame, [f for f in flags if f not in ("edited",)], reason)
        self.timeline.set_cursor(i)
        self.curve.set_cursor(i)
        if not self.status_timer.isActive():
            self.status_timer.start()  # the status text follows right after the frame is painted
        self.frameShown.emit(i)

    def _show_live_lossy(self) -> None:
        """Show the frames the running trainer marked so far (with the saved lossy flags)."""
        live = self.live_lossy
        if self.embryo is None or self.embryo.name not in live:
            return
        saved = self._masks.get("lossy")
        m = live[self.embryo.name]
        self.timeline.set_marks({"lossy": m | saved if saved is not None and len(saved) == len(m) else m})


def _list_row(e) -> tuple[str, str, int, int]:
    """(name, state, frames, annotated frames) of an embryo for the embryo list."""
    return e.name, e.state(), e.n_frames, int((~unannotated_mask(e.current)).sum())
