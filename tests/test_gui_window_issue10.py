"""Window-level first-run defects of issue 10, each driven on the real window (offscreen)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
K = QtCore.Qt.Key
N_FRAMES = 80


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, N_FRAMES, 0, (64, 96, 3))


@pytest.fixture
def project_path(demo_dir, tmp_path):
    return copy_project(demo_dir, tmp_path)


@pytest.fixture
def win(qtbot, tmp_path, project_path):
    w = open_window(qtbot, tmp_path, project_path)
    yield w
    w.ask = False
    w.stop_play()


def _inside(widget, win) -> bool:
    """The widget is shown and lies wholly inside the window."""
    if not widget.isVisible():
        return False
    tl = widget.mapTo(win, QtCore.QPoint(0, 0))
    r = QtCore.QRect(tl, widget.size())
    return win.rect().contains(r)


@pytest.mark.parametrize("size", [(1024, 700), (1280, 800)])
def test_window_fits_a_small_screen_with_nothing_cut_off(qtbot, win, size):
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size, timeout=2000)
    assert win.minimumSizeHint().width() <= 1024 and win.minimumSizeHint().height() <= 700
    QtWidgets.QApplication.processEvents()
    tb = win.toolbar
    for a in (win.act_autoclean, win.act_train, win.act_export, win.act_open, win.act_save, win.act_play):
        button = tb.widgetForAction(a)
        assert button is not None and _inside(button, win), a.text()
        assert button.toolButtonStyle() == QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    # every other toolbar action is on screen too (nothing behind the toolbar's >> menu)
    for a in tb.actions():
        if not a.isSeparator():
            assert _inside(tb.widgetForAction(a), win), a.toolTip()
    # the docks and their tabs (Trainer | History) are inside the window
    for dock in (win.embryo_dock, win.trainer_dock):
        assert _inside(dock, win)
    bars = [b for b in win.findChildren(QtWidgets.QTabBar) if b.isVisible() and b.count() >= 2]
    texts = {b.tabText(i): b for b in bars for i in range(b.count())}
    assert "History" in texts and _inside(texts["History"], win)
    # the trainer's buttons are not clipped
    for b in (win.trainer.start_button, win.trainer.cancel_button):
        assert _inside(b, win) and b.width() >= b.minimumSizeHint().width()


def test_status_bar_and_go_to_are_0_based(qtbot, win):
    win.session.set_frame(0)
    qtbot.waitUntil(lambda: "frame 0 of 0-79" in win.status_label.text(), timeout=2000)

    def answer():
        dlg = next(w for w in QtWidgets.QApplication.topLevelWidgets()
                   if isinstance(w, QtWidgets.QInputDialog) and w.isVisible())
        assert "0-79" in dlg.labelText()
        dlg.setIntValue(60)
        dlg.accept()

    QtCore.QTimer.singleShot(200, answer)
    qtbot.keyClick(win, K.Key_G, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert win.session.frame == 60
    assert win.curve.cursor_line.value() == 60  # "Go to frame 60" lands on plot frame 60
    assert win.timeline.plot.cursor_line.value() == 60
    qtbot.waitUntil(lambda: "frame 60 of 0-79" in win.status_label.text(), timeout=2000)
    win.goto(0)
    assert win.session.frame == 0 and win.curve.cursor_line.value() == 0


def test_play_turns_into_pause_while_playing(qtbot, win):
    button = win.toolbar.widgetForAction(win.act_play)
    assert button.text() == "Play"
    win.playback_fps = 20.0
    qtbot.keyClick(win, K.Key_Space)
    assert win.play_timer.isActive() and button.text() == "Pause" and "Pause" in win.act_play.toolTip()
    qtbot.keyClick(win, K.Key_Space)
    assert not win.play_timer.isActive() and button.text() == "Play"
    # playing to the end turns it back too
    win.session.set_frame(N_FRAMES - 2)
    qtbot.keyClick(win, K.Key_Space)
    qtbot.waitUntil(lambda: not win.play_timer.isActive(), timeout=3000)
    assert button.text() == "Play"


def test_f1_cheat_sheet_and_shortcuts_in_tooltips(qtbot, win):
    assert "Ctrl+I" in win.act_interpolate.toolTip()
    assert "Ctrl+Shift+C" in win.act_autoclean.toolTip()
    assert "Ctrl+Z" in win.act_undo.toolTip() and "Space" in win.act_play.toolTip()
    for a in win.toolbar.actions():
        if not a.isSeparator() and a.shortcuts():
            assert a.shortcuts()[0].toString() in a.toolTip(), a.text()
    qtbot.keyClick(win, K.Key_F1)
    sheet = win.cheat_sheet
    assert sheet.isVisible() and not sheet.isModal()
    text = sheet.text()
    for needle in ("Interpolate", "Ctrl+I", "Next flagged frame", "Go to frame", "Ctrl+G", "Shift+drag", "F1"):
        assert needle in text, needle
    qtbot.keyClick(sheet, K.Key_F1)
    assert not sheet.isVisible()


def test_history_lists_the_project_history_right_after_reopening(qtbot, win, tmp_path, project_path):
    win.curve.pointDragged.emit(5, "population", 77.0)
    win.select_range(10, 12)
    win.set_excluded(True)
    assert win.save()
    lines = win.history_texts()
    assert len(lines) == 3  # the opened state + 2 steps
    win.ask = False
    win.close()
    w2 = open_window(qtbot, tmp_path, project_path)
    reopened = w2.history_texts()
    assert len(reopened) == 3 and reopened[1:] == lines[1:]  # shown at once, not after a Ctrl+Z
    w2.ask = False
    assert np.isfinite(w2.embryo.current[5, 7])
