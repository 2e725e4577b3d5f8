"""Decisions made while the detectors run (detect-on-open is a background job) are never overwritten
by the detectors' result: the result is applied to the state it finds, every decision made
meanwhile is kept, and the kept decisions are reported (issue 10)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from embryo_gui import edits  # noqa: E402
from embryo_gui.app.session import Session  # noqa: E402
from embryo_gui.edits.review_edits import review_of  # noqa: E402
from embryo_gui.model import Project  # noqa: E402

from gui_helpers import copy_project, write_demo_dir  # noqa: E402

PER_FRAME = ("black", "red_artifact", "outlier", "spike")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 1, 60, 1, (64, 96, 3))


@pytest.fixture
def session(demo_dir, tmp_path):
    """A Session on a demo project whose detectors have run once (pending detections to decide)."""
    s = Session(Project.open(copy_project(demo_dir, tmp_path)))
    s.run_job(s.detect_job())
    yield s
    s.close()


def _pending(e, kind):
    return [int(i) for i in np.flatnonzero(e.flags.mask(kind)) if str(int(i)) not in review_of(e, kind)]


def _pick(e):
    """Two pending per-frame detections (to reject / accept), a cliff, a frame for a hand edit."""
    cands = [(k, f) for k in PER_FRAME for f in _pending(e, k)]
    assert len(cands) >= 2, "the demo embryo has pending per-frame detections"
    (k1, f1), (k2, f2) = cands[0], next(c for c in cands[1:] if c[1] != cands[0][1])
    assert e.cliffs, "the demo embryo has a cliff"
    busy = {f1, f2} | {f for c in e.cliffs for f in range(c.start, c.stop)}
    f3 = next(f for f in range(e.n_frames) if f not in busy and np.isfinite(e.current[f, 7]))
    return (k1, f1), (k2, f2), f3


def test_decisions_made_while_detection_runs_are_kept_and_reported(session):
    s = session
    e = s.embryo
    (k1, f1), (k2, f2), f3 = _pick(e)
    job = s.detect_job([e.name])   # the snapshot is taken here ...
    s.start_job(job)               # ... and the detectors run off this thread
    # meanwhile, on the session's thread: reject one detection, accept another, decide a cliff,
    # edit a value by hand, and clear a flag the detectors will find again
    assert s.push(edits.ReviewFrames(k1, [f1], "rejected"))
    assert s.push(edits.ReviewFrames(k2, [f2], "accepted"))
    cliff = 0
    c0 = e.cliffs[cliff]
    other = next(j for j, c in enumerate(e.cliffs) if c.stop <= c0.start or c.start >= c0.stop)
    assert s.push(edits.RejectDetection(cliff))
    assert s.push(edits.AcceptDetection(other))
    assert s.push(edits.SetValues([f3], 123.0, columns=["population"]))
    before = {"current": e.current.copy(), "excluded": e.flags.mask("excluded").copy(),
              "cliff": e.flags.mask("cliff").copy(), "statuses": [c.status for c in e.cliffs],
              "review": {k: review_of(e, k) for k in PER_FRAME}}
    notes = s.wait_job(job)
    assert job.state == "done"  # applied (an empty step when it found nothing new: not recorded)
    # every decision is kept
    assert not e.flags.mask(k1)[f1] and review_of(e, k1)[str(f1)] == "rejected"
    assert review_of(e, k2)[str(f2)] == "accepted"
    if k2 == "spike":
        assert e.flags.mask("repaired")[f2]
    else:
        assert e.flags.mask("excluded")[f2]
    assert e.cliffs[other].status == "accepted"
    assert e.cliffs[cliff].status == "rejected" and [c.status for c in e.cliffs] == before["statuses"]
    np.testing.assert_array_equal(e.flags.mask("cliff"), before["cliff"])
    assert e.current[f3, 7] == 123.0
    np.testing.assert_array_equal(e.current, before["current"])
    np.testing.assert_array_equal(e.flags.mask("excluded"), before["excluded"])
    assert {k: review_of(e, k) for k in PER_FRAME} == before["review"]
    # ... and reported, not merged silently
    report = " ".join(notes)
    assert f"{e.name}: 4 decisions made while the detectors ran were kept" in report, notes
    for phrase in (f"reject {k1.replace('_', ' ')} on frame {f1}", f"accept {k2.replace('_', ' ')} on frame {f2}",
                   f"reject cliff {c0.lineage} {c0.start}-{c0.stop - 1}", "accept cliff"):
        assert phrase in report, (phrase, report)
    # the decisions stay undoable, one by one (after the detectors' step, if it changed anything)
    if e.history.entries[-1].label == "run detectors":
        s.undo()
    s.undo()
    assert e.current[f3, 7] != 123.0
    s.undo()
    assert e.cliffs[other].status != "accepted"
    s.undo()
    assert e.cliffs[cliff].status != "rejected"


def test_a_decision_undone_while_detection_runs_is_not_resurrected(session):
    """Undo during the run: the result applies to the state it finds (the undone rejection is
    gone, so the detector's flag is back as pending), not to the state it started on."""
    s = session
    e = s.embryo
    (k1, f1), _, _ = _pick(e)
    assert s.push(edits.ReviewFrames(k1, [f1], "rejected"))
    job = s.detect_job([e.name])
    s.start_job(job)
    s.undo()
    assert e.flags.mask(k1)[f1] and str(f1) not in review_of(e, k1)
    notes = s.wait_job(job)
    assert e.flags.mask(k1)[f1] and str(f1) not in review_of(e, k1)
    assert f"undo the decision on {k1.replace('_', ' ')} frame {f1}" in " ".join(notes)


def test_no_report_when_nothing_changed_while_detection_ran(session):
    s = session
    notes = s.run_job(s.detect_job([s.embryo.name]))
    assert not any("while the detectors ran" in n for n in notes)


@pytest.mark.gui
def test_window_keeps_a_decision_made_while_detect_on_open_runs(qtbot, demo_dir, tmp_path):
    """The real window: detection on open runs in the background; meanwhile the user rejects the
    queue's first item (R in the triage dock) and edits a value (editing stays available); both
    are kept after the detectors' result is applied, and the status bar says so."""
    from PySide6 import QtCore, QtTest

    from gui_helpers import open_window
    path = copy_project(demo_dir, tmp_path)
    s = Session(Project.open(path))
    s.run_job(s.detect_job())                   # detections to review ...
    for e in s.project.embryos:                 # ... made with other detector settings: run again on open
        s.push(edits.SetFlags({}, detections={"detected_with": "older-detectors"}), e)
    s.save()
    s.close()
    win = open_window(qtbot, tmp_path, None, size=(1280, 800))
    win.enable_review()
    assert win.open_project(path)
    assert win.session.job is not None and win.session.job.name == "detect"  # running, not applied yet
    e = win.embryo
    dock = win.triage
    dock.raise_()
    dock.list.setFocus()
    assert len(dock.queue) > 0
    for _ in range(len(dock.queue)):            # Space walks the queue to a per-frame detection
        QtTest.QTest.keyClick(dock.list, QtCore.Qt.Key.Key_Space)
        item = dock.queue.current
        if item is not None and item.kind != "cliff":
            break
    assert item is not None and item.kind != "cliff" and win.session.frame == item.frame
    QtTest.QTest.keyClick(dock.list, QtCore.Qt.Key.Key_R)
    assert not e.flags.mask(item.kind)[item.frame]
    f3 = next(f for f in range(e.n_frames) if f != item.frame and not e.flags.mask("cliff")[f])
    assert win.push_edit(edits.SetValues([f3], 77.0, columns=["population"]))  # not refused
    assert win.act_undo.isEnabled() and win.act_save.isEnabled()
    with qtbot.waitSignal(win.detectionFinished, timeout=60000):
        pass
    assert win.session.job is None
    assert not e.flags.mask(item.kind)[item.frame]
    assert review_of(e, item.kind)[str(item.frame)] == "rejected"
    assert e.current[f3, 7] == 77.0
    assert e.detections["detected_with"] != "older-detectors"
    assert f"reject {item.kind.replace('_', ' ')} on frame {item.frame}" in win.statusBar().currentMessage()
    assert all(it.frame != item.frame or it.kind != item.kind for it in dock.queue.items)
    win.ask = False
