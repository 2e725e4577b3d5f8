"""Repaint pyqtgraph widgets a few thousand times (PySide6 6.12.0 aborts with "deallocating None"
after a few thousand repaints on Python 3.11; this must keep passing on the pinned version)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

import PySide6  # noqa: E402
from embryo_gui.gui.timeline import Timeline  # noqa: E402
from embryo_gui.gui.video_view import VideoView  # noqa: E402

pytestmark = pytest.mark.gui


def test_pinned_pyside_is_not_the_broken_release():
    assert PySide6.__version__ != "6.12.0"


def test_thousands_of_repaints(qtbot):
    v = VideoView()
    tl = Timeline()
    for w in (v, tl):
        qtbot.addWidget(w)
        w.resize(300, 200)
        w.show()
    tl.set_length(500)
    painted = [0]
    orig = v.image.paint

    def counting_paint(*a):
        painted[0] += 1
        return orig(*a)

    v.image.paint = counting_paint
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (8, 24, 32, 3), dtype=np.uint8)
    n = 3000
    for k in range(n):
        v.show_frame(frames[k % 8], ["lossy"] if k % 3 == 0 else [])
        tl.set_cursor(k % 500)
        QtWidgets.QApplication.processEvents()
    assert v.paint_count == n
    assert painted[0] >= n * 0.9  # (nearly) every frame really painted
    assert tl.plot.cursor_line.value() == (n - 1) % 500
