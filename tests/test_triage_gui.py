"""Issue 10's review workflow in the real window (offscreen): detections on open, the triage queue
walked and decided with the keyboard (with undo), the auto-clean draft, export dropping lossy frames."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore  # noqa: E402

from embryo_gui import edits  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
K = QtCore.Qt.Key
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, 60, 0, (64, 96, 3))


@pytest.fixture
def win(qtbot, tmp_path, demo_dir):
    w = open_window(qtbot, tmp_path, None, size=(1280, 800))
    w.enable_review()
    with qtbot.waitSignal(w.detectionFinished, timeout=60000):
        assert w.open_project(copy_project(demo_dir, tmp_path))
    yield w
    w.ask = False


def test_opening_the_demo_shows_detections(qtbot, win):
    e = win.embryo
    assert e.history.entries[-1].label == "run detectors"
    # the timeline shows the marks, the list says what waits for review
    shown = {k: it.n_runs for k, it in win.timeline.plot.kind_items.items()}
    assert sum(shown[k] for k in ("black", "red_artifact", "outlier", "cliff", "spike")) > 0
    text = win.embryo_list.item(0).text()
    assert "not yet reviewed" in text and "(clean)" not in text
    assert win.triage.list.count() == len(win.triage.queue) > 0
    assert "not yet reviewed" in win.triage.state_label.text()
    # the detection is not run again on reopening or on selecting another embryo
    n = len(e.history)
    win.embryo_list.setCurrentRow(1)
    win.embryo_list.setCurrentRow(0)
    assert len(e.history) == n and win.triage.auto_detect


def test_queue_walks_and_decides_with_keys_and_undo(qtbot, win):
    dock = win.triage
    dock.raise_()
    dock.list.setFocus()
    q = dock.queue
    assert len(q) >= 3
    qtbot.keyClick(dock.list, K.Key_Space)
    walked = [q.position]
    assert win.session.frame == q.current.frame
    for _ in range(2):
        qtbot.keyClick(dock.list, K.Key_Space)
        walked.append(q.position)
        assert win.session.frame == q.current.frame  # the video, plot and timeline follow
    assert walked[1] == walked[0] + 1 and walked[2] == walked[1] + 1  # in rank order
    qtbot.keyClick(dock.list, K.Key_Space, SHIFT)
    assert q.position == walked[1] and win.session.frame == q.current.frame
    assert not win.play_timer.isActive()  # Space in the queue walks it, never plays
    first = q.current
    n_items, n_steps = len(q), len(win.session.steps())
    qtbot.keyClick(dock.list, K.Key_A)  # accept: the detector is right
    assert len(q) == n_items - 1 and len(win.session.steps()) == n_steps + 1
    assert first.key not in {it.key for it in q.items}
    e = win.embryo
    if first.kind == "cliff":
        assert e.detections["cliffs"][first.cliff]["status"] == "accepted"
    else:
        assert e.detections["review"][first.kind][str(first.frame)] == "accepted"
    assert "1 " not in win.triage.state_label.text() or "to review" in win.triage.state_label.text()
    assert "not yet reviewed" not in win.embryo_list.item(0).text()
    qtbot.keyClick(dock.list, K.Key_Z, CTRL)  # undo puts it back in the queue
    assert len(q) == n_items and first.key in {it.key for it in q.items}
    # reject a per-frame detection: its flag goes
    q.select(next(i for i, it in enumerate(q.items) if it.kind != "cliff"))
    target = q.current
    qtbot.keyClick(dock.list, K.Key_R)
    assert not e.flags.mask(target.kind)[target.frame]
    assert e.detections["review"][target.kind][str(target.frame)] == "rejected"
    # filter by kind
    for kind, cb in dock.kind_boxes.items():
        cb.setChecked(kind == target.kind)
    assert all(it.kind == target.kind for it in q.items)


def test_autoclean_is_a_draft_until_applied_and_undo_keeps_detections(qtbot, win):
    e = win.embryo
    before = (e.current.copy(), e.flags.bits.copy(), len(win.session.steps()))
    with qtbot.waitSignal(win.draftChanged, timeout=60000):
        qtbot.keyClick(win, K.Key_C, CTRL | SHIFT)
    assert win.draft is not None and win.draft[e.name].n_changes > 0
    assert np.array_equal(e.current, before[0], equal_nan=True) and np.array_equal(e.flags.bits, before[1])
    assert len(win.session.steps()) == before[2]
    # shown on the curve and the timeline
    assert win.timeline.plot.draft_items["excluded"].n_runs + win.timeline.plot.draft_items["repaired"].n_runs > 0
    assert win.curve.draft_curve.pyramid is not None or win.curve.draft_excluded.n_runs > 0
    detected = e.flags.any_of(["black", "red_artifact", "outlier", "cliff", "spike"]).copy()
    qtbot.keyClick(win, K.Key_C, CTRL | SHIFT)  # the same key applies it all
    assert win.draft is None and win.timeline.plot.draft_items["excluded"].n_runs == 0
    assert len(win.session.steps()) == before[2] + len(win.project.embryos)
    assert e.history.entries[-1].label == "auto-clean"
    assert (e.flags.any_of(["excluded", "repaired"]) != 0).any()
    win.session.undo()
    win.session.undo()
    assert np.array_equal(e.current, before[0], equal_nan=True)
    assert np.array_equal(e.flags.any_of(["black", "red_artifact", "outlier", "cliff", "spike"]), detected)


def test_export_from_the_window_drops_lossy_frames(qtbot, win, tmp_path):
    e = win.embryo
    lossy = np.zeros(e.n_frames, bool)
    lossy[[5, 6, 7]] = True
    win.push_edit(edits.RecordTraining([{"round": 0}], lossy=lossy, loss=lossy.astype(np.float32)))
    out, out_csv = tmp_path / "d.h5", tmp_path / "d.csv"
    with qtbot.waitSignal(win.workFinished, timeout=60000) as sig:
        win.export(out, csv_path=out_csv)
    assert sig.args == ["export"], win.last_error
    assert win.last_result["dropped"]["lossy"] == 3
    assert "3 lossy" in win.statusBar().currentMessage()
    with open(out_csv, newline="") as fh:
        frames = {int(r["source_frame"]) for r in csv.DictReader(fh) if r["embryo"] == e.name}
    assert not frames & {5, 6, 7}


def test_dock_over_the_qt_free_session(qtbot, tmp_path, demo_dir):
    """The dock takes the app layer's Session: detection on open runs as its job, decisions are
    its undo steps, the session's frame follows the queue."""
    from embryo_gui.app.session import Session
    from embryo_gui.gui.triage_dock import TriageDock
    from embryo_gui.model import Project
    s = Session(Project.open(copy_project(demo_dir, tmp_path)))
    dock = TriageDock(s, run_job=s.run_job, auto_detect=True)  # run_job: compute off-thread, apply here
    qtbot.addWidget(dock)
    assert all(x.history.entries[-1].label == "run detectors" for x in s.project.embryos)
    assert len(dock.queue) > 0 and dock.list.count() == len(dock.queue)
    dock.next()
    item = dock.queue.current
    assert s.frame == item.frame
    n = len(dock.queue)
    assert dock.decide(False)
    assert len(dock.queue) == n - 1 and s.can_undo
    s.undo()
    assert len(dock.queue) == n
    s.select_embryo(s.embryos[1])
    assert dock.queue.embryo is s.embryo
    s.close()


def test_detectors_run_on_an_imported_embryo(qtbot, tmp_path, demo_dir):
    import cv2

    from conftest import make_frames
    from embryo_gui.app.session import Session
    from embryo_gui.gui.triage_dock import TriageDock
    from embryo_gui.model import Project
    s = Session(Project.open(copy_project(demo_dir, tmp_path)))
    dock = TriageDock(s, run_job=s.run_job, auto_detect=True)
    qtbot.addWidget(dock)
    src = tmp_path / "imgs"
    src.mkdir()
    for i, f in enumerate(make_frames(12, shape=(64, 96, 3))):
        cv2.imwrite(str(src / f"f{i:03d}.png"), f)
    ann = tmp_path / "a.csv"
    ann.write_text("frame,population\n" + "".join(f"{i},{4 + i // 3}\n" for i in range(1, 13)))
    s.run_job(s.import_job(src, ann, name="new"))  # frames 1..12 of a 12-frame movie: 1-based, detected
    e = s.project.embryo("new")
    assert e.alignment.get("frame_base") == 1 and e.original[0, 7] == 4
    assert e.history.entries and e.history.entries[-1].label == "run detectors"
    s.close()


def test_queue_decisions_wait_like_every_edit_while_autoclean_runs(qtbot, win):
    """Auto-clean (here its draft) holds edits until it ends; the queue's A / R keys follow the
    same rule as the window's edit tools (they pushed on the Session behind the window's back)."""
    dock = win.triage
    dock.raise_()
    dock.list.setFocus()
    dock.next()
    item = dock.queue.current
    assert item is not None
    n = len(win.session.steps())
    with qtbot.waitSignal(win.draftChanged, timeout=60000):
        qtbot.keyClick(win, K.Key_C, CTRL | SHIFT)    # the draft's compute runs as a job ...
        assert win.session.job is not None
        qtbot.keyClick(dock.list, K.Key_A)             # ... a decision meanwhile is refused, said so
        assert len(win.session.steps()) == n and "wait for" in dock.state_label.text()
    assert win.session.job is None
    qtbot.keyClick(dock.list, K.Key_A)                 # afterwards it is taken
    assert len(win.session.steps()) == n + 1
