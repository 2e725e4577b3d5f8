"""The video view: one frame as a pyqtgraph ImageItem, zoom and pan, brightness / contrast, red
and green channel toggles, and a banner listing the frame's flags over the image.

Display settings only change what is drawn, never the data.  With brightness 0 and contrast 1
the levels are the fixed 0-255 identity (never automatic), drawn by pyqtgraph's fastest path.
Contrast multiplies the intensities from black (black stays black, dim nuclei get brighter),
brightness adds an offset: ``shown = frame * contrast + brightness * 2.55``, clipped to 0-255.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

CHANNELS = ("both", "green", "red")
ZOOM_STEP = 1.25
MAX_ZOOM = 32.0  # at most 32 screen pixels per frame pixel


def channel_view(frame: np.ndarray, channel: str) -> np.ndarray:
    """The frame as shown for a channel choice: ``both`` unchanged, ``green``/``red`` only that
    channel (the others zeroed).  Grey frames (H, W) pass through."""
    if channel == "both" or frame.ndim != 3:
        return frame
    out = np.zeros_like(frame)
    c = 1 if channel == "green" else 0
    out[..., c] = frame[..., c]
    return out


def display_levels(brightness: float, contrast: float) -> tuple[float, float] | None:
    """ImageItem levels (lo, hi) for ``shown = frame * contrast + brightness * 2.55``; None for
    the identity (brightness 0, contrast 1)."""
    c = max(float(contrast), 1e-3)
    b = float(brightness) * 2.55
    if b == 0.0 and c == 1.0:
        return None
    lo = -b / c
    return lo, lo + 255.0 / c


class FlagBanner(QtWidgets.QWidget):
    """The frame's flags over the picture (white bold text on translucent red, rounded).

    It lies over the video's viewport, so it is repainted with every new frame under it.  The
    text is rendered once into a pixmap (when it changes) and each repaint blits it: a styled
    QLabel re-ran its style sheet and text layout on every frame (~0.2 ms a frame on an embryo
    flagged at every frame)."""

    PAD_X, PAD_Y, RADIUS = 8, 3, 3
    BACKGROUND = (180, 30, 30, 200)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flagBanner")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        f = self.font()
        f.setBold(True)
        self.setFont(f)
        self._text = ""
        self._pixmap: QtGui.QPixmap | None = None
        self.renders = 0  # pixmaps made (tests: one per text, not one per frame)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        if text != self._text:
            self._text = text
            self._pixmap = None
            self.updateGeometry()
            self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt API)
        fm = QtGui.QFontMetrics(self.font())
        return QtCore.QSize(fm.horizontalAdvance(self._text) + 2 * self.PAD_X, fm.height() + 2 * self.PAD_Y)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        self._pixmap = None
        super().resizeEvent(ev)

    def _render(self) -> QtGui.QPixmap:
        dpr = self.devicePixelRatioF()
        pm = QtGui.QPixmap(QtCore.QSize(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr))))
        pm.setDevicePixelRatio(dpr)
        pm.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(pm)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(*self.BACKGROUND))
        p.drawRoundedRect(QtCore.QRectF(0, 0, self.width(), self.height()), self.RADIUS, self.RADIUS)
        p.setPen(QtGui.QColor("white"))
        p.setFont(self.font())
        p.drawText(self.rect().adjusted(self.PAD_X, self.PAD_Y, -self.PAD_X, -self.PAD_Y),
                   int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft), self._text)
        p.end()
        self.renders += 1
        return pm

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt API)
        if self._pixmap is None:
            self._pixmap = self._render()
        p = QtGui.QPainter(self)
        p.drawPixmap(0, 0, self._pixmap)
        p.end()


class VideoView(QtWidgets.QWidget):
    """Shows frames given as uint8 RGB arrays; never decodes video itself."""

    channelChanged = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsView(self)
        self.graphics.setBackground("k")
        self.viewbox = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.viewbox.setMouseMode(pg.ViewBox.PanMode)  # drag pans, the wheel zooms at the mouse
        self.graphics.setCentralItem(self.viewbox)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(False)
        self.viewbox.addItem(self.image)
        self._raw: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        self.paint_count = 0  # frames pushed to the image item (benchmarks read it)

        self.banner = FlagBanner(self.graphics)
        self.banner.move(8, 8)
        self.banner.hide()

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(3)

        def tool(text: str, tip: str, slot=None, checkable: bool = False) -> QtWidgets.QToolButton:
            b = QtWidgets.QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(checkable)
            b.setAutoRaise(True)
            if slot is not None:
                b.clicked.connect(slot)
            bar.addWidget(b)
            return b

        self.red_button = tool("Red", "Show the red channel (untick Green to see red alone: red artifacts)",
                               checkable=True)
        self.green_button = tool("Green", "Show the green channel (the nuclei)", checkable=True)
        for b in (self.red_button, self.green_button):
            b.setChecked(True)
            b.toggled.connect(self._channel_toggled)
        bar.addSpacing(6)
        bar.addWidget(QtWidgets.QLabel("Bright"))
        self.brightness = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.brightness.setRange(-100, 100)
        self.brightness.setToolTip("Brightness (display only)")
        self.brightness.setMaximumWidth(80)
        bar.addWidget(self.brightness)
        bar.addWidget(QtWidgets.QLabel("Contrast"))
        self.contrast = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.contrast.setRange(-100, 200)  # contrast = 2 ** (value / 50): x0.25 .. x16
        self.contrast.setToolTip("Contrast (display only)")
        self.contrast.setMaximumWidth(80)
        bar.addWidget(self.contrast)
        for s in (self.brightness, self.contrast):
            s.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # arrows keep stepping through frames
            s.valueChanged.connect(self._levels_changed)
        tool("Reset", "Brightness 0, contrast 1, both channels", self.reset_display)
        bar.addSpacing(6)
        tool("−", "Zoom out (Ctrl+-; or the mouse wheel)", lambda: self.zoom_by(1.0 / ZOOM_STEP))
        tool("+", "Zoom in (Ctrl++; or the mouse wheel; drag to pan)", lambda: self.zoom_by(ZOOM_STEP))
        tool("Fit", "Zoom to fit the whole frame (Ctrl+0)", self.fit)
        bar.addStretch(1)
        for b in self.findChildren(QtWidgets.QToolButton):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)

    # -- display settings ---------------------------------------------------------------------
    @property
    def channel(self) -> str:
        r, g = self.red_button.isChecked(), self.green_button.isChecked()
        return "both" if r == g else ("red" if r else "green")

    def set_channel(self, channel: str) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        for b, on in ((self.red_button, channel in ("both", "red")), (self.green_button, channel in ("both", "green"))):
            b.blockSignals(True)
            b.setChecked(on)
            b.blockSignals(False)
        self._refresh()
        self.channelChanged.emit(channel)

    def _channel_toggled(self, on: bool) -> None:
        if not self.red_button.isChecked() and not self.green_button.isChecked():
            # never both off (a black picture): unticking one channel shows the other alone
            other = self.green_button if self.sender() is self.red_button else self.red_button
            other.blockSignals(True)
            other.setChecked(True)
            other.blockSignals(False)
        self._refresh()
        self.channelChanged.emit(self.channel)

    def contrast_factor(self) -> float:
        return float(2.0 ** (self.contrast.value() / 50.0))

    def set_display(self, brightness: float | None = None, contrast: float | None = None) -> None:
        """Brightness in -100..100, contrast as a factor (0.25..16)."""
        if brightness is not None:
            self.brightness.setValue(int(round(brightness)))
        if contrast is not None:
            self.contrast.setValue(int(round(50.0 * np.log2(max(float(contrast), 1e-3)))))

    def levels(self) -> tuple[float, float] | None:
        return display_levels(self.brightness.value(), self.contrast_factor())

    def reset_display(self) -> None:
        for s in (self.brightness, self.contrast):
            s.blockSignals(True)
            s.setValue(0)
            s.blockSignals(False)
        self.set_channel("both")

    def _levels_changed(self, _v: int) -> None:
        self._refresh()

    def _refresh(self) -> None:
        if self._raw is not None:
            self._push(self._raw)

    # -- frames ---------------------------------------------------------------------------------
    def show_frame(self, frame: np.ndarray | None, flags: Sequence[str] = (), reason: str = "") -> None:
        """Display a frame (uint8 RGB), its flags and the detector's reason; ``None`` clears the view."""
        if frame is None:
            self._raw = None
            self._shape = None
            self.image.clear()
            self.banner.hide()
            return
        self._raw = frame
        self._push(frame)
        if tuple(frame.shape) != self._shape:
            self._shape = tuple(frame.shape)
            h, w = self._shape[:2]
            # never lost: the view stays over the frame, from 32 px per pixel to the whole frame x4
            self.viewbox.setLimits(xMin=-w, xMax=2 * w, yMin=-h, yMax=2 * h,
                                   minXRange=w / MAX_ZOOM, minYRange=h / MAX_ZOOM, maxXRange=3 * w, maxYRange=3 * h)
            self.fit()
        self.set_banner(flags, reason)

    def set_banner(self, flags: Sequence[str], reason: str = "") -> None:
        if flags:
            text = "  ·  ".join(f.replace("_", " ").upper() for f in flags)
            text += f"  —  {reason}" if reason else ""
            if text != self.banner.text() or not self.banner.isVisible():
                self.banner.setText(text)
                self.banner.adjustSize()
                self.banner.show()
                self.banner.raise_()
        else:
            self.banner.hide()

    def displayed(self) -> np.ndarray | None:
        """The array currently in the image item (after the channel choice)."""
        return self.image.image

    # -- zoom and pan ---------------------------------------------------------------------------
    def fit(self) -> None:
        if self._shape is not None:
            h, w = self._shape[:2]
            self.viewbox.setRange(QtCore.QRectF(0, 0, w, h), padding=0)

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor > 1) or out around the centre of the view."""
        if self._shape is None:
            return
        s = 1.0 / float(factor)
        self.viewbox.scaleBy((s, s))

    def zoom(self) -> float:
        """Screen pixels per frame pixel (horizontal)."""
        (x0, x1), _ = self.viewbox.viewRange()
        return float(self.viewbox.width() / max(x1 - x0, 1e-9))

    def _push(self, frame: np.ndarray) -> None:
        img = channel_view(frame, self.channel)
        lv = self.levels()
        # For uint8 with the identity, pyqtgraph draws fastest with levels=None (no per-pixel
        # rescale: ~3 ms less a frame); any other setting is applied as levels.
        if lv is None:
            lv = None if img.dtype == np.uint8 else (0, 255)
        self.image.setImage(img, autoLevels=False, levels=lv)
        self.paint_count += 1
