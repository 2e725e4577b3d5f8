"""Drive the real main window on a tiny demo project (2 embryos x 40 frames of 64x96)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtTest  # noqa: E402

from embryo_gui.gui import recovery  # noqa: E402
from embryo_gui.model import Project  # noqa: E402

from gui_helpers import copy_project, open_window, tiny_training, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
K = QtCore.Qt.Key
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
LEFT = QtCore.Qt.MouseButton.LeftButton
N_FRAMES = 40


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, N_FRAMES, 0, (64, 96, 3))


@pytest.fixture
def project_path(demo_dir, tmp_path):
    return copy_project(demo_dir, tmp_path)


def _window(qtbot, tmp_path, path=None):
    return open_window(qtbot, tmp_path, path)


@pytest.fixture
def win(qtbot, tmp_path, project_path):
    w = _window(qtbot, tmp_path, project_path)
    yield w
    w.ask = False


def test_keyboard_navigation(qtbot, win):
    assert win.embryo.name == "demo_00" and win.session.frame == 0
    qtbot.keyClick(win, K.Key_Right)
    assert win.session.frame == 1
    qtbot.keyClick(win, K.Key_Right, SHIFT)
    assert win.session.frame == 11
    qtbot.keyClick(win, K.Key_Left)
    assert win.session.frame == 10
    qtbot.keyClick(win, K.Key_PageDown)
    assert win.session.frame == N_FRAMES - 1
    qtbot.keyClick(win, K.Key_Home)
    assert win.session.frame == 0
    qtbot.keyClick(win, K.Key_End)
    assert win.session.frame == N_FRAMES - 1
    qtbot.keyClick(win, K.Key_Left, SHIFT)
    assert win.session.frame == N_FRAMES - 11
    # the frame shown is the project's frame
    assert np.array_equal(win.video.displayed(), win.embryo.frames[win.session.frame])
    qtbot.waitUntil(lambda: f"frame {N_FRAMES - 11} of 0-{N_FRAMES - 1}" in win.status_label.text(), timeout=2000)
    # no single unmodified key edits anything
    for key in (K.Key_Delete, K.Key_Backspace, K.Key_E, K.Key_X, K.Key_I, K.Key_T):
        qtbot.keyClick(win, key)
    assert len(win.session.steps()) == 0 and not win.modified


def test_space_plays_and_n_jumps_to_flags(qtbot, win):
    e = win.embryo
    flagged = np.zeros(N_FRAMES, bool)
    flagged[[7, 23]] = True
    from embryo_gui import edits
    assert win.push_edit(edits.SetFlags({"lossy": flagged}))
    win.session.set_frame(0)
    qtbot.keyClick(win, K.Key_N)
    first = int(np.flatnonzero(e.flags.any_of(["black", "red_artifact", "outlier", "cliff", "lossy",
                                                "excluded", "repaired"]))[0])
    assert win.session.frame == first
    win.session.set_frame(10)
    qtbot.keyClick(win, K.Key_N)
    assert win.session.frame == 23
    qtbot.keyClick(win, K.Key_N, SHIFT)
    assert win.session.frame == 7
    assert "LOSSY" in win.video.banner.text()
    win.playback_fps = 100.0
    qtbot.keyClick(win, K.Key_Space)
    assert win.play_timer.isActive()
    qtbot.waitUntil(lambda: win.session.frame >= 12, timeout=3000)
    qtbot.keyClick(win, K.Key_Space)
    assert not win.play_timer.isActive()


def test_timeline_click_seeks(qtbot, win):
    plot = win.timeline.plot
    QtCore.QCoreApplication.processEvents()
    qtbot.mouseClick(plot.viewport(), LEFT, pos=plot.frame_to_widget(27))
    assert abs(win.session.frame - 27) <= 1
    assert win.curve.cursor_line.value() == win.session.frame


def test_edit_point_exclude_range_undo_redo(qtbot, win):
    e = win.embryo
    orig = e.current.copy()
    # drag a point of the population curve (through the widget's signal)
    win.curve.pointDragged.emit(12, "population", 999.0)
    assert e.current[12, 7] == 999.0 and win.modified and "[*]" in win.windowTitle()
    # select frames 20..25 on the timeline with Shift+drag, then exclude with Ctrl+E
    vp = win.timeline.plot.viewport()
    a, b = win.timeline.plot.frame_to_widget(20), win.timeline.plot.frame_to_widget(25)
    QtTest.QTest.mousePress(vp, LEFT, SHIFT, a)
    for k in range(1, 6):
        QtTest.QTest.mouseMove(vp, QtCore.QPoint(a.x() + (b.x() - a.x()) * k // 5, a.y()))
    QtTest.QTest.mouseRelease(vp, LEFT, SHIFT, b)
    lo, hi = win.selection.range
    assert abs(lo - 20) <= 1 and abs(hi - 25) <= 1
    qtbot.keyClick(win, K.Key_E, CTRL)
    ex = e.flags.mask("excluded")
    assert ex[lo:hi + 1].all()
    assert win.timeline.plot.kind_items["excluded"].n_runs >= 1
    assert len(win.session.steps()) == 2
    qtbot.keyClick(win, K.Key_Z, CTRL)
    assert not e.flags.mask("excluded")[lo:hi + 1].any()
    qtbot.keyClick(win, K.Key_Z, CTRL)
    assert np.array_equal(e.current, orig, equal_nan=True) and not win.modified
    qtbot.keyClick(win, K.Key_Z, CTRL | SHIFT)
    qtbot.keyClick(win, K.Key_Z, CTRL | SHIFT)
    assert e.current[12, 7] == 999.0 and e.flags.mask("excluded")[lo:hi + 1].all()
    # set value / interpolate / truncate act on the selection and cursor
    win.select_range(30, 32)
    assert win.set_value(5.0) and (e.current[30:33, 7] == 5.0).all()
    win.clear_selection()
    win.session.set_frame(35)
    assert win.truncate() and e.flags.mask("excluded")[36:].all() and not e.flags.mask("excluded")[35]
    assert len(win.session.steps()) == 4
    assert win.history_texts()[4] == "demo_00: truncate after frame 35"  # the History names the step
    # a failing edit shows an error and leaves nothing behind
    assert not win.push_edit(__import__("embryo_gui").edits.SetValues([3], -5.0))
    assert len(win.session.steps()) == 4 and "negative" in win.last_error


def test_autoclean_one_undo_step_per_embryo(qtbot, win):
    before = [e.current.copy() for e in win.project.embryos]
    with qtbot.waitSignal(win.workFinished, timeout=30000) as sig:
        win.autoclean()
    assert sig.args == ["autoclean"]
    changed = [s for s in win.last_summary if s.get("changed", True)]
    assert len(changed) == 2
    # per embryo: "run detectors" then "auto-clean", so undoing the auto-clean keeps the detections
    assert len(win.session.steps()) == 4
    assert all("demo_0" in win.history_texts()[i + 1] for i in range(4))
    e1 = win.project.embryos[1]
    black1 = e1.flags.mask("black").copy()
    assert black1.sum() == win.last_summary[1]["black"]
    win.session.undo()
    assert np.array_equal(e1.current, before[1], equal_nan=True) and np.array_equal(e1.flags.mask("black"), black1)
    assert not e1.flags.mask("excluded").any()
    win.session.undo()
    win.session.undo()
    assert np.array_equal(win.project.embryos[0].current, before[0], equal_nan=True)
    assert win.project.embryos[0].flags.mask("black").sum() == win.last_summary[0]["black"]  # still detected
    win.session.redo()
    # the banner over a corrupt frame names the detector's reason
    e0 = win.project.embryos[0]
    reasons = e0.detections["corrupt"]["reasons"]
    assert reasons, "the demo injects corrupt frames"
    frame, reason = next(iter(reasons.items()))
    win.session.set_frame(int(frame))
    qtbot.waitUntil(lambda: reason in win.video.banner.text(), timeout=2000)


def test_training_to_completion_and_cancelled(qtbot, win):
    import sys

    from embryo_gui.gui.view_model import runs
    torch_before = "torch" in sys.modules
    # cancelled midway: nothing changes, and the cancel is honoured within about a second
    settings = tiny_training(win)
    w = win.start_training(settings)
    assert w is not None and win.trainer.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: win.trainer.progress.value() > 0 or not win.session.job, timeout=60000)
    t0 = time.monotonic()
    with qtbot.waitSignal(win.workFinished, timeout=10000) as sig:
        win.trainer.cancel_button.click()
    assert time.monotonic() - t0 < 2.5
    assert sig.args == ["train-cancelled"]
    assert len(win.session.steps()) == 0 and not any(e.training for e in win.project.embryos)
    assert win.trainer.start_button.isEnabled()
    # to completion: the lossy frames of each round reach the timeline while training still runs,
    # then one undo step per embryo with lossy flags and per-frame losses
    live = []

    def on_progress(kind, info):
        if "lossy" in info:
            item = win.timeline.plot.kind_items["lossy"]
            live.append((dict(info["lossy"]), win.work.busy, len(win.session.steps()),
                         [list(p) for p in zip(item.starts.tolist(), item.stops.tolist())]))

    win.jobProgress.connect(on_progress)  # emitted after the window's own handling
    with qtbot.waitSignal(win.workFinished, timeout=120000) as sig:
        w = win.start_training(settings)
    assert sig.args == ["train"], win.last_error
    r = win.last_result
    e = win.embryo
    assert len(live) == 1  # rounds=0: one marking round
    lossy, busy, count, shown = live[0]
    assert busy == "train" and count == 0  # training had not ended yet
    assert set(lossy) == {x.name for x in win.project.embryos}
    assert lossy[e.name] == np.flatnonzero(r.embryos[e.name].lossy).tolist() and lossy[e.name]
    live_mask = np.zeros(e.n_frames, bool)
    live_mask[lossy[e.name]] = True
    assert shown == runs(live_mask).tolist()
    assert len(win.session.steps()) == len(r.embryos) == 2
    assert np.array_equal(e.flags.mask("lossy"), r.embryos[e.name].lossy)
    assert win.timeline.plot.kind_items["lossy"].n_runs == len(runs(e.flags.mask("lossy")))
    assert win.trainer.frame_loss is not None and np.isfinite(win.trainer.frame_loss).sum() > 0
    assert win.trainer.progress.value() > 0
    assert r.timing["train_frames_per_s"] > 0
    if not torch_before:
        assert "torch" not in sys.modules  # the trainer ran in a child process


def test_save_reopen_and_export(qtbot, win, tmp_path, project_path):
    e = win.embryo
    win.curve.pointDragged.emit(5, "population", 77.0)
    win.select_range(10, 12)
    win.set_excluded(True)
    win.embryo_list.setCurrentRow(1)
    assert win.embryo.name == "demo_01"
    win.session.set_frame(3)
    before_42 = win.embryo.current[3, 7]
    assert before_42 != 42.0 and win.set_value(42.0)
    current = [x.current.copy() for x in win.project.embryos]
    bits = [x.flags.bits.copy() for x in win.project.embryos]
    qtbot.keyClick(win, K.Key_S, CTRL)
    assert not win.modified and not win.isWindowModified()
    win2 = _window(qtbot, tmp_path, project_path)
    for x, c, b in zip(win2.project.embryos, current, bits):
        assert np.array_equal(x.current, c, equal_nan=True) and np.array_equal(x.flags.bits, b)
    assert len(win2.session.steps()) == 3  # the saved history is undoable after reopening
    win2.session.undo()  # the last step of the project: demo_01's set value, undone exactly
    assert win2.session.embryo_name == "demo_01"
    e1 = win2.project.embryo("demo_01")
    assert np.array_equal(e1.current[3, 7], before_42, equal_nan=True)
    np.testing.assert_array_equal(e1.current[3], e1.original[3])  # the value set to 42 is back
    assert str(Path(project_path).resolve()) in win2.recent_files()
    out = tmp_path / "dataset.h5"
    with qtbot.waitSignal(win.workFinished, timeout=30000) as sig:
        win.export(out)
    assert sig.args == ["export"], win.last_error
    assert out.exists() and win.last_result is not None
    assert e.name == "demo_00"


def test_autosave_and_recovery(qtbot, win, tmp_path, project_path):
    assert win.autosave() is None  # nothing unsaved
    win.curve.pointDragged.emit(8, "population", 123.0)
    rec = win.autosave()
    assert rec is not None and rec.exists()
    pending = recovery.pending(tmp_path / "recovery")
    assert len(pending) == 1 and pending[0]["project"] == str(Path(project_path).resolve())
    p = recovery.restore(pending[0])
    assert p.embryo("demo_00").current[8, 7] == 123.0 and p.path == Path(project_path).resolve()
    win2 = _window(qtbot, tmp_path)
    win2.set_project(p, restored=True)
    assert win2.modified and win2.isWindowModified()
    assert win2.save()
    assert recovery.pending(tmp_path / "recovery") == []
    assert Project.open(project_path).embryo("demo_00").current[8, 7] == 123.0


def test_settings_and_layout_persist(qtbot, tmp_path, project_path):
    w = _window(qtbot, tmp_path, project_path)
    w.timeline.toggles["outlier"].setChecked(False)
    w.resize(1000, 700)
    w.close()
    w2 = _window(qtbot, tmp_path)
    assert not w2.timeline.toggles["outlier"].isChecked()
    assert w2.settings.value("window/geometry") is not None
    assert str(Path(project_path).resolve()) in w2.recent_files()
    assert w2.recent_menu.actions()[0].text() == str(Path(project_path).resolve())


def test_drop_project_opens_it(qtbot, tmp_path, project_path):
    w = _window(qtbot, tmp_path)
    w.handle_drop([str(project_path)])
    assert w.project is not None and w.project.names == ["demo_00", "demo_01"]


def test_app_main_version_and_smoke(capsys, qapp, project_path, tmp_path):
    from embryo_gui.gui.app import main
    assert main(["--version"]) == 0
    assert "project format version" in capsys.readouterr().out
    rc = main([str(project_path), "--quit-after", "0.3", "--settings", str(tmp_path / "s.ini"),
               "--recovery-dir", str(tmp_path / "rec")])
    assert rc == 0
