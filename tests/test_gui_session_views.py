"""The window as views over one Session (issue 9): the views follow the Session whoever changes
it, the History is the project's one undo stack across embryos, and (issue 10) editing, saving
and undo stay available while the trainer runs, its result applied to the state it started on
with the conflicts reported."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6 import QtCore  # noqa: E402

from embryo_gui import edits  # noqa: E402

from gui_helpers import copy_project, open_window, tiny_training, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
N_FRAMES = 40


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, N_FRAMES, 0, (64, 96, 3))


@pytest.fixture
def win(qtbot, tmp_path, demo_dir):
    w = open_window(qtbot, tmp_path, copy_project(demo_dir, tmp_path))
    yield w
    w.ask = False


def test_views_follow_the_session_whoever_changes_it(qtbot, win):
    s = win.session
    s.set_frame(7)  # not through the window: the views follow the Session's events
    assert win.curve.cursor_line.value() == 7 and win.timeline.plot.cursor_line.value() == 7
    assert np.array_equal(win.video.displayed(), s.embryo.frames[7])
    qtbot.waitUntil(lambda: "frame 7 of" in win.status_label.text(), timeout=2000)
    s.push(edits.SetValues([7], 321.0, columns=["population"]))
    qtbot.waitUntil(lambda: "population 321" in win.status_label.text(), timeout=2000)
    assert win.history_texts()[-1].startswith("demo_00:")
    s.select_embryo("demo_01")
    assert win.embryo_list.currentItem().data(QtCore.Qt.ItemDataRole.UserRole) == "demo_01"
    assert np.array_equal(win.video.displayed(), s.embryo.frames[s.frame])
    # no view keeps its own embryo or frame
    for v in win.views:
        assert not any(a in vars(v) for a in ("embryo", "project", "frame", "cursor", "index", "_masks")), v


def test_history_is_one_undo_stack_across_embryos(qtbot, win):
    s = win.session
    assert win.select_range(3, 5) and win.set_excluded(True)
    s.select_embryo("demo_01")
    assert win.set_value(42.0)
    s.select_embryo("demo_00")
    lines = win.history_texts()
    assert lines[0] == "<opened>" and lines[1].startswith("demo_00:") and lines[2].startswith("demo_01:")
    # Ctrl+Z undoes the last step of the project, whichever embryo it belongs to, and shows that embryo
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert s.embryo_name == "demo_01" and s.can_redo
    assert win.history.currentRow() == 1
    # a click on "<opened>" goes back to the opened state (both embryos); on the last line, forward again
    win.history.go_to(0)
    assert not s.can_undo and not s.project.embryo("demo_00").flags.mask("excluded")[3:6].any()
    win.history.go_to(2)
    assert s.project.embryo("demo_00").flags.mask("excluded")[3:6].all()
    assert s.project.embryo("demo_01").current[s.frame, 7] == 42.0


def test_edit_save_and_undo_while_training_and_conflicts_reported(qtbot, win):
    s = win.session
    e = s.embryo
    lossy_before = e.flags.mask("lossy").copy()
    with qtbot.waitSignal(win.workFinished, timeout=120000) as sig:
        assert win.start_training(tiny_training(win)) is not None
        assert s.job is not None and s.job.name == "train"
        # the user keeps working: edit tools, save and undo are enabled and work
        for a in (win.act_interpolate, win.act_exclude, win.act_save, win.act_set_value):
            assert a.isEnabled(), a.text()
        assert not win.act_autoclean.isEnabled() and not win.act_export.isEnabled()
        assert win.select_range(5, 8) and win.set_value(123.0)
        assert win.act_undo.isEnabled()
        assert win.select_range(20, 21) and win.set_excluded(True)
        win.undo()  # the exclusion is undone: frames 20-21 are as they were at the start
        assert not e.flags.mask("excluded")[20:22].any()
        assert win.save() and not win.modified
    assert sig.args == ["train"], win.last_error
    report = win.work.last_training
    assert list(report.conflicts) == ["demo_00"]
    assert report.conflicts["demo_00"].tolist() == [5, 6, 7, 8]  # the undone exclusion is no conflict
    # the conflicting frames kept what the user made of them; their stale losses were not kept
    assert np.array_equal(e.flags.mask("lossy")[5:9], lossy_before[5:9])
    assert np.isnan(e.flags.scores["loss"][5:9]).all()
    assert np.isfinite(e.flags.scores["loss"][:5]).any() or np.isfinite(e.flags.scores["loss"][9:]).any()
    assert (e.current[5:9, 7] == 123.0).all()
    assert "5-8" in report.message() and "demo_00" in report.message()
    assert "changed while training" in win.statusBar().currentMessage()
    # the trainer's steps are on the one undo stack after the user's
    texts = win.history_texts()
    assert texts[1].startswith("demo_00: set") and texts[-1].startswith("demo_0") and "trainer" in texts[-1]


def test_shift_drag_on_the_windows_timeline_selects_a_range(qtbot, win):
    """The window's timeline (a view over the Session) selects with a Shift-drag like the bare widget,
    and the range lands in the window's shared selection."""
    from PySide6 import QtTest
    left, shift = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.ShiftModifier
    tl = win.timeline
    vp = tl.plot.viewport()
    a, b = tl.plot.frame_to_widget(5), tl.plot.frame_to_widget(15)
    QtTest.QTest.mousePress(vp, left, shift, a)
    for k in range(1, 11):
        QtTest.QTest.mouseMove(vp, QtCore.QPoint(a.x() + (b.x() - a.x()) * k // 10, a.y()))
    QtTest.QTest.mouseRelease(vp, left, shift, b)
    lo, hi = win.selection.range
    assert abs(lo - 5) <= 1 and abs(hi - 15) <= 1
