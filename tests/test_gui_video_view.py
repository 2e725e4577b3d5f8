"""The video view (issue 10): zoom and pan, brightness / contrast, red and green channel toggles."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from embryo_gui.gui.video_view import VideoView, display_levels  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def view(qtbot):
    v = VideoView()
    qtbot.addWidget(v)
    v.resize(500, 380)
    v.show()
    qtbot.waitExposed(v)
    f = np.zeros((64, 96, 3), np.uint8)
    f[..., 0], f[..., 1], f[..., 2] = 40, 100, 7
    f[10:20, 10:20, 0] = 200  # a red patch
    v.show_frame(f, [])
    return v


def _pixel(v, x, y):
    v.image.render()
    c = v.image.qimage.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_red_and_green_toggles(view):
    assert _pixel(view, 40, 40) == (40, 100, 7)
    view.green_button.click()  # red alone: judge a red artifact
    assert view.channel == "red"
    assert _pixel(view, 15, 15) == (200, 0, 0) and _pixel(view, 40, 40) == (40, 0, 0)
    view.red_button.click()  # unticking the last channel shows the other one alone
    assert view.channel == "green" and view.green_button.isChecked() and not view.red_button.isChecked()
    assert _pixel(view, 15, 15) == (0, 100, 0)
    view.red_button.click()
    assert view.channel == "both" and _pixel(view, 15, 15) == (200, 100, 7)


def test_brightness_and_contrast_change_the_picture_not_the_data(view):
    raw = view._raw.copy()
    assert display_levels(0, 1.0) is None
    view.set_display(contrast=2.0)
    assert abs(view.contrast_factor() - 2.0) < 1e-9
    r, g, b = _pixel(view, 40, 40)
    assert abs(r - 80) <= 1 and abs(g - 200) <= 1 and abs(b - 14) <= 1
    view.set_display(brightness=20)  # + 51 on top of x2
    r, g, b = _pixel(view, 40, 40)
    assert abs(g - 251) <= 1 and abs(r - 131) <= 1
    assert np.array_equal(view._raw, raw)  # display only
    view.reset_display()
    assert view.levels() is None and _pixel(view, 40, 40) == (40, 100, 7)


def test_zoom_buttons_wheel_and_pan(qtbot, view):
    z0 = view.zoom()
    view.zoom_by(2.0)
    assert view.zoom() == pytest.approx(2 * z0, rel=0.05)
    view.fit()
    assert view.zoom() == pytest.approx(z0, rel=0.05)
    # the mouse wheel zooms in where the mouse is
    vp = view.graphics.viewport()
    pos = QtCore.QPointF(vp.width() / 2, vp.height() / 2)
    ev = QtGui.QWheelEvent(pos, vp.mapToGlobal(pos), QtCore.QPoint(0, 0), QtCore.QPoint(0, 240),
                           QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
                           QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(vp, ev)
    assert view.zoom() > 1.3 * z0
    # a drag pans
    (x0, _), _ = view.viewbox.viewRange()
    a = QtCore.QPoint(vp.width() // 2, vp.height() // 2)
    b = a + QtCore.QPoint(60, 0)
    qtbot.mousePress(vp, QtCore.Qt.MouseButton.LeftButton, pos=a)
    for k in range(1, 7):
        qtbot.mouseMove(vp, a + QtCore.QPoint(10 * k, 0))
    qtbot.mouseRelease(vp, QtCore.Qt.MouseButton.LeftButton, pos=b)
    (x1, _), _ = view.viewbox.viewRange()
    assert x1 < x0 - 5  # dragged right: the picture moved right, the view's left edge went left
