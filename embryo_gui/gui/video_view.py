"""The video view: one frame as a pyqtgraph ImageItem (fixed 0-255 levels), zoom/pan, channel
toggles and a banner listing the frame's flags over the image."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

CHANNELS = ("both", "green", "red")


def channel_view(frame: np.ndarray, channel: str) -> np.ndarray:
    """The frame as shown for a channel choice: ``both`` unchanged, ``green``/``red`` only that
    channel (the others zeroed).  Grey frames (H, W) pass through."""
    if channel == "both" or frame.ndim != 3:
        return frame
    out = np.zeros_like(frame)
    c = 1 if channel == "green" else 0
    out[..., c] = frame[..., c]
    return out


class VideoView(QtWidgets.QWidget):
    """Shows frames given as uint8 RGB arrays; never decodes video itself."""

    channelChanged = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsView(self)
        self.graphics.setBackground("k")
        self.viewbox = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.graphics.setCentralItem(self.viewbox)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(False)
        self.viewbox.addItem(self.image)
        self.channel = "both"
        self._raw: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        self.paint_count = 0  # frames pushed to the image item (benchmarks read it)

        self.banner = QtWidgets.QLabel(self.graphics)
        self.banner.setObjectName("flagBanner")
        self.banner.setStyleSheet(
            "QLabel#flagBanner { background: rgba(180, 30, 30, 200); color: white;"
            " font-weight: bold; padding: 3px 8px; border-radius: 3px; }")
        self.banner.move(8, 8)
        self.banner.hide()

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QtWidgets.QLabel("Channel:"))
        self.channel_buttons: dict[str, QtWidgets.QToolButton] = {}
        group = QtWidgets.QButtonGroup(self)
        group.setExclusive(True)
        for ch in CHANNELS:
            b = QtWidgets.QToolButton()
            b.setText(ch)
            b.setCheckable(True)
            b.setToolTip(f"Show {'both channels' if ch == 'both' else 'the ' + ch + ' channel only'}")
            b.clicked.connect(lambda _=False, c=ch: self.set_channel(c))
            group.addButton(b)
            bar.addWidget(b)
            self.channel_buttons[ch] = b
        self.channel_buttons["both"].setChecked(True)
        fit = QtWidgets.QToolButton()
        fit.setText("fit")
        fit.setToolTip("Zoom to fit the whole frame")
        fit.clicked.connect(self.fit)
        bar.addWidget(fit)
        bar.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)

    def set_channel(self, channel: str) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        self.channel = channel
        self.channel_buttons[channel].setChecked(True)
        if self._raw is not None:
            self._push(self._raw)
        self.channelChanged.emit(channel)

    def show_frame(self, frame: np.ndarray | None, flags: Sequence[str] = (), reason: str = "") -> None:
        """Display a frame (uint8 RGB), its flags and the detector's reason; ``None`` clears the view."""
        if frame is None:
            self._raw = None
            self.image.clear()
            self.banner.hide()
            return
        self._raw = frame
        self._push(frame)
        if tuple(frame.shape) != self._shape:
            self._shape = tuple(frame.shape)
            self.fit()
        self.set_banner(flags, reason)

    def set_banner(self, flags: Sequence[str], reason: str = "") -> None:
        if flags:
            text = "  ·  ".join(f.replace("_", " ").upper() for f in flags)
            self.banner.setText(text + (f"  —  {reason}" if reason else ""))
            self.banner.adjustSize()
            self.banner.show()
            self.banner.raise_()
        else:
            self.banner.hide()

    def displayed(self) -> np.ndarray | None:
        """The array currently in the image item (after the channel choice)."""
        return self.image.image

    def fit(self) -> None:
        if self._shape is not None:
            h, w = self._shape[:2]
            self.viewbox.setRange(QtCore.QRectF(0, 0, w, h), padding=0)

    def _push(self, frame: np.ndarray) -> None:
        img = channel_view(frame, self.channel)
        # Levels are fixed at 0-255, never automatic.  For uint8 that is the identity, which
        # pyqtgraph applies fastest with levels=None (no per-pixel rescale: ~3 ms less a frame).
        self.image.setImage(img, autoLevels=False, levels=None if img.dtype == np.uint8 else (0, 255))
        self.paint_count += 1
