"""The frame view: the Session's current frame of its current embryo, with its flags.

A :class:`~embryo_gui.gui.video_view.VideoView` (which only draws) bound to the Session: it
follows ``frame_changed`` / ``embryo_changed`` / ``history_changed`` and reads the frame, the
flags and the detector's reason from the model each time; it keeps no copy of them.  The frame
cache (:mod:`.frame_cache`, with its read-ahead thread) only holds decoded pictures of the frame
file, which never change.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from .frame_cache import FrameCache
from .video_view import VideoView
from .view_model import Subscriptions, flags_of_frame


def corrupt_reason(embryo: Any, i: int) -> str:
    """The corrupt-frame detector's reason for frame ``i`` ("" when none)."""
    corrupt = (embryo.detections or {}).get("corrupt") if isinstance(embryo.detections, dict) else None
    if not corrupt:
        return ""
    reasons = corrupt.get("reasons") if isinstance(corrupt, dict) else getattr(corrupt, "reasons", None)
    if not reasons:
        return ""
    return str(reasons.get(str(i), reasons.get(i, "")) if isinstance(reasons, dict) else "")


class FrameView(VideoView):
    #: (frame) after a frame was handed to the image item
    frameShown = QtCore.Signal(int)

    def __init__(self, session: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.frame_cache: FrameCache | None = None
        self._cache_embryo: Any = None  # the embryo whose frame file the cache reads
        self.subs = Subscriptions()
        ev = session.events
        self.subs.connect(ev.frame_changed, lambda _e: self.refresh())
        self.subs.connect(ev.embryo_changed, lambda _e: self.refresh())
        self.subs.connect(ev.history_changed, self._on_history)
        self.destroyed.connect(self.subs.disconnect_all)
        self.refresh()

    def _on_history(self, ch) -> None:
        if ch.embryo == self.session.embryo_name:
            self.refresh()  # the frame's flags may have changed

    def _cache(self, e: Any) -> FrameCache | None:
        if e is not self._cache_embryo:
            if self.frame_cache is not None:
                self.frame_cache.close()  # stops its read-ahead thread
            self.frame_cache = FrameCache(e.frames, e.n_frames) if e is not None else None
            self._cache_embryo = e
        return self.frame_cache

    def refresh(self) -> None:
        e = self.session.embryo
        cache = self._cache(e)
        if e is None or e.n_frames == 0:
            self.show_frame(None)
            return
        i = self.session.frame
        frame = cache.get(i) if cache is not None else e.frames[i]
        flags = [f for f in flags_of_frame(e, i) if f != "edited"]
        self.show_frame(frame, flags, corrupt_reason(e, i))
        self.frameShown.emit(i)

    def close_cache(self) -> None:
        if self.frame_cache is not None:
            self.frame_cache.close()
        self.frame_cache, self._cache_embryo = None, None

    def detach(self) -> None:
        self.subs.disconnect_all()
        self.close_cache()
