"""Navigation of the window: steps, go to frame, jumps to flagged frames, playback.  None of these
changes data; they move the Session's current frame."""

from __future__ import annotations

from typing import Any, Callable

from PySide6 import QtCore, QtWidgets

from .view_model import any_flag_mask, flag_masks, next_flagged


class Navigation(QtCore.QObject):
    #: (playing) when playback starts or stops
    playingChanged = QtCore.Signal(bool)

    def __init__(self, session: Any, notifier: Any, visible_kinds: Callable[[], list[str]],
                 parent: QtWidgets.QWidget | None = None, playback_fps: float = 0.0) -> None:
        super().__init__(parent)
        self.session, self.notifier, self.visible_kinds = session, notifier, visible_kinds
        self.parent_widget = parent
        self.playback_fps = float(playback_fps)  # 0 = the video's own fps
        self.play_timer = QtCore.QTimer(self)
        self.play_timer.timeout.connect(self._tick)

    def step(self, delta: int) -> int:
        return self.session.set_frame(self.session.frame + int(delta))

    def goto(self, frame: int) -> int:
        """Go to frame ``frame`` (0-based, the plot's and the timeline's numbers)."""
        return self.session.set_frame(int(frame))

    def last(self) -> int:
        e = self.session.embryo
        return self.goto(e.n_frames - 1) if e is not None else 0

    def goto_dialog(self) -> None:
        e = self.session.embryo
        if e is None:
            return
        n = e.n_frames
        i, ok = QtWidgets.QInputDialog.getInt(self.parent_widget, "Go to frame", f"Frame (0-{n - 1}):",
                                              self.session.frame, 0, n - 1)
        if ok:
            self.goto(i)

    def jump_flag(self, forward: bool) -> None:
        e = self.session.embryo
        if e is None:
            return
        kinds = [k for k in self.visible_kinds() if k != "edited"]
        mask = any_flag_mask(flag_masks(e), kinds)
        if mask is None:
            return
        j = next_flagged(mask, self.session.frame, forward)
        if j is not None:
            self.goto(j)
        else:
            self.notifier.message("no more flagged frames " + ("after" if forward else "before") + " this one", 2000)

    # -- playback -------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.play_timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.stop_play()
            return
        e = self.session.embryo
        if e is None:
            return
        src = e.source if isinstance(e.source, dict) else {}
        fps = self.playback_fps or float(src.get("fps") or 0.0) or 7.0
        self.play_timer.start(max(1, int(round(1000.0 / fps))))
        self.playingChanged.emit(True)

    def stop_play(self) -> None:
        if self.play_timer.isActive():
            self.play_timer.stop()
            self.playingChanged.emit(False)

    def _tick(self) -> None:
        e = self.session.embryo
        if e is None or self.session.frame >= e.n_frames - 1:
            self.stop_play()
        else:
            self.step(1)
