"""Keyboard focus: after a click on the plot or the timeline the arrow keys and Space still
navigate; keys typed in the trainer's spin boxes edit the box, never the frame."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402

K = QtCore.Qt.Key
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier
LEFT = QtCore.Qt.MouseButton.LeftButton
N_FRAMES = 40


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 1, N_FRAMES, 0, (64, 96, 3))


@pytest.fixture
def win(qtbot, tmp_path, demo_dir):
    path = copy_project(demo_dir, tmp_path)
    w = open_window(qtbot, tmp_path)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    assert w.open_project(path)
    QtCore.QCoreApplication.processEvents()
    yield w
    w.stop_play()


def _key(qtbot, key, mod=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key where the user's key would go: the focus widget."""
    qtbot.keyClick(QtWidgets.QApplication.focusWidget(), key, mod)


def test_arrows_and_space_after_clicking_the_timeline(qtbot, win):
    plot = win.timeline.plot
    qtbot.mouseClick(plot.viewport(), LEFT, pos=plot.frame_to_widget(20))
    assert QtWidgets.QApplication.focusWidget() is plot  # the click took the focus
    start = win.session.frame
    assert abs(start - 20) <= 1
    _key(qtbot, K.Key_Right)
    _key(qtbot, K.Key_Right)
    assert win.session.frame == start + 2
    _key(qtbot, K.Key_Left)
    assert win.session.frame == start + 1
    _key(qtbot, K.Key_Space)
    assert win.play_timer.isActive()
    _key(qtbot, K.Key_Space)
    assert not win.play_timer.isActive()


def test_arrows_and_space_after_clicking_the_plot(qtbot, win):
    curve = win.curve
    qtbot.mouseClick(curve.viewport(), LEFT, pos=curve.data_to_widget(10, 1))
    assert QtWidgets.QApplication.focusWidget() is curve
    start = win.session.frame
    assert abs(start - 10) <= 1
    _key(qtbot, K.Key_Right)
    assert win.session.frame == start + 1
    _key(qtbot, K.Key_Right, SHIFT)
    assert win.session.frame == start + 11
    _key(qtbot, K.Key_Space)
    assert win.play_timer.isActive()
    _key(qtbot, K.Key_Space)
    assert not win.play_timer.isActive()


@pytest.mark.parametrize("box_name", ["epochs", "drop"])
def test_keys_typed_in_a_trainer_spin_box_stay_in_the_box(qtbot, win, box_name):
    win.session.set_frame(15)
    box = getattr(win.trainer, box_name)
    edit = box.lineEdit()
    qtbot.mouseClick(edit, LEFT)
    assert box.hasFocus()
    edit.selectAll()
    _key(qtbot, K.Key_2)
    _key(qtbot, K.Key_5)
    assert box.text().startswith("25")
    pos = edit.cursorPosition()
    _key(qtbot, K.Key_Left)
    assert edit.cursorPosition() == pos - 1 and win.session.frame == 15
    _key(qtbot, K.Key_Right)
    assert edit.cursorPosition() == pos and win.session.frame == 15
    _key(qtbot, K.Key_Home)
    assert edit.cursorPosition() == 0 and win.session.frame == 15
    _key(qtbot, K.Key_Right, SHIFT)
    assert edit.selectedText() == "2" and win.session.frame == 15
    _key(qtbot, K.Key_Space)
    assert not win.play_timer.isActive()
    _key(qtbot, K.Key_N)
    assert win.session.frame == 15
    # PageUp/PageDown step the box (a spin box's own keys), they do not jump 100 frames
    box.setValue(25)
    _key(qtbot, K.Key_PageUp)
    assert win.session.frame == 15
    assert box.value() == 25 + 10 * box.singleStep()
    _key(qtbot, K.Key_PageDown)
    assert win.session.frame == 15 and box.value() == 25


def test_arrows_work_again_after_leaving_the_spin_box(qtbot, win):
    qtbot.mouseClick(win.trainer.epochs.lineEdit(), LEFT)
    _key(qtbot, K.Key_Left)
    assert win.session.frame == 0 and win.trainer.epochs.hasFocus()
    plot = win.timeline.plot
    qtbot.mouseClick(plot.viewport(), LEFT, pos=plot.frame_to_widget(5))
    start = win.session.frame
    _key(qtbot, K.Key_Right)
    assert win.session.frame == start + 1
