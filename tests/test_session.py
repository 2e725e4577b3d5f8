"""The Session drives a whole job headless (no Qt): open -> detect -> edit -> undo across embryos ->
save -> reopen, with its events, its one undo stack and its jobs (compute off-thread, apply here)."""

import threading

import h5py
import numpy as np
import pytest

from conftest import demo_project_fixtures
from embryo_gui import edits
from embryo_gui.app.autoclean import AutocleanPolicy
from embryo_gui.app.jobs import Job
from embryo_gui.app.session import Session
from embryo_gui.errors import CancelledError, EmbryoError
from embryo_gui.jsoncodec import dumps, loads
from embryo_gui.model import Project


demo_file, demo = demo_project_fixtures(2, 40, 5, (64, 96, 3))


class Recorder:
    """Every event of a session, in order, as (signal name, payload)."""

    def __init__(self, session):
        self.log = []
        for sig in session.events.all():
            sig.connect(lambda payload, _n=sig.name: self.log.append((_n, payload)))

    def names(self):
        return [n for n, _ in self.log]

    def of(self, name):
        return [p for n, p in self.log if n == name]

    def clear(self):
        self.log.clear()


def test_whole_session_open_detect_edit_undo_across_embryos_save_reopen(demo):
    s = Session()
    rec = Recorder(s)
    s.open(demo)
    assert len(s.embryos) == 2
    a, b = s.embryos
    assert s.embryo_name == a and s.frame == 0
    assert rec.names()[:3] == ["project_changed", "embryo_changed", "frame_changed"]

    # detect: compute on the pool, apply here; one step per embryo
    rec.clear()
    notes = s.run_job(s.detect_job())
    assert isinstance(notes, list)
    assert rec.names()[0] == "job_started" and rec.names()[-1] == "job_finished"
    pushed = [h for h in rec.of("history_changed") if h.action == "push"]
    assert [h.embryo for h in pushed] == [a, b] and all(h.label == "run detectors" for h in pushed)
    assert all(h.detections and h.scores for h in pushed)
    job = rec.of("job_finished")[0].job
    assert job.state == "done" and job.compute_thread != threading.current_thread().name
    assert job.apply_thread == threading.current_thread().name

    # edits on both embryos, interleaved
    s.select_embryo(a)
    assert s.push(edits.SetValues([5], 99.0))
    s.push(edits.SetExcluded((10, 12)), embryo=b)
    s.set_frame(7)
    s.push(edits.SetValues([7], 42.0))
    assert s.steps()[-3:] == [(a, "set population = 99", True), (b, "exclude frames", True),
                              (a, "set population = 42", True)]
    assert s.undo_text == f"{a}: set population = 42"
    h = rec.of("history_changed")[-1]
    assert (h.action, h.embryo, h.frames.tolist()) == ("push", a, [7])

    # undo crosses embryos in the order the steps were made
    assert s.undo() == (a, s.project.embryo(a).history.entries[-1])
    assert s.project.embryo(a).current[7, -1] != 42.0
    name, _ = s.undo()
    assert name == b and s.embryo_name == b  # the embryo that changed is shown
    assert not s.project.embryo(b).flags.mask("excluded")[10:12].any()
    assert s.can_redo and s.redo_text == f"{b}: exclude frames"
    s.redo()
    assert s.project.embryo(b).flags.mask("excluded")[10:12].all()
    # now: a: detect, 99 | b: detect, exclude | (a: 42 undone)
    state = {n: (s.project.embryo(n).current.copy(), s.project.embryo(n).flags.bits.copy()) for n in s.embryos}
    steps = s.steps()
    assert s.modified
    s.save()
    assert not s.modified and rec.of("modified_changed")[-1] is False
    s.close()

    # reopen: the same state, the same undo order, the redo step still there
    s2 = Session()
    s2.open(demo)
    assert s2.steps() == steps
    for n, (cur, bits) in state.items():
        e = s2.project.embryo(n)
        np.testing.assert_array_equal(e.current, cur)
        np.testing.assert_array_equal(e.flags.bits, bits)
    assert s2.redo_text == f"{a}: set population = 42"
    assert s2.undo()[0] == b and s2.undo()[0] == a and s2.undo()[0] == b
    assert s2.project.embryo(a).current[5, -1] != 99.0
    assert [s2.redo()[0] for _ in range(3)] == [b, a, b]
    assert s2.project.embryo(a).current[5, -1] == 99.0 and s2.project.embryo(b).flags.mask("excluded")[10]
    # a new step drops the redo tail of the whole project, other embryos' undone steps included
    s2.push(edits.SetValues([1], 3.0), embryo=a)
    assert not s2.can_redo and [x[:2] for x in s2.steps()][-1] == (a, "set population = 3")
    assert len(s2.project.embryo(a).history) == 3 and len(s2.project.embryo(b).history) == 2
    s2.close()


def test_undo_order_is_not_rebuilt_from_edit_times(demo):
    """Edits whose wall-clock times run backwards (a clock change) keep the order they were made in."""
    s = Session(Project.open(demo))
    a, b = s.embryos
    e1 = edits.SetValues([1], 11.0)
    e2 = edits.SetValues([2], 22.0)
    s.push(e1, a)
    s.push(e2, b)
    e1.time, e2.time = 2000.0, 1000.0   # b's edit "older" than a's
    s.save()
    s.close()
    s = Session(Project.open(demo))
    assert [n for n, _, _ in s.steps()] == [a, b]
    assert s.undo()[0] == b
    s.close()


def test_file_without_undo_order_falls_back_to_edit_times(demo):
    s = Session(Project.open(demo))
    a, b = s.embryos
    s.push(edits.SetValues([1], 11.0), a)
    s.push(edits.SetValues([2], 22.0), b)
    s.push(edits.SetValues([3], 33.0), a)
    s.save()
    s.close()
    with h5py.File(demo, "a") as f:   # as an older version wrote it
        del f["undo_order"]
    s = Session(Project.open(demo))
    assert [n for n, _, _ in s.steps()] == [a, b, a]
    s.close()
    with h5py.File(demo, "a") as f:   # an order that does not match the histories is not trusted
        f.create_dataset("undo_order", data=dumps({"order": [a], "position": 1}))
    p = Project.open(demo)
    assert p.undo_stack.to_dict()["position"] == 3 and len(p.undo_stack) == 3
    p.close()


def test_history_changed_on_direct_history_push_and_off_thread_push_is_refused(tiny_project):
    s = Session(tiny_project)
    rec = Recorder(s)
    e = s.embryo
    e.history.push(edits.SetValues([3, 4], 1.0))   # straight on the history: still one ordered step
    assert [(h.action, h.frames.tolist()) for h in rec.of("history_changed")] == [("push", [3, 4])]
    assert s.steps()[-1][0] == e.name
    errors = []

    def worker():
        try:
            e.history.push(edits.SetValues([6], 2.0))
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert errors and "off the session's thread" in errors[0]
    with pytest.raises(RuntimeError, match="only on the thread that created it"):
        th_err = []
        t = threading.Thread(target=lambda: th_err.append(_call(s.set_frame, 3)))
        t.start()
        t.join()
        raise th_err[0]


def _call(fn, *a):
    try:
        fn(*a)
    except RuntimeError as exc:
        return exc
    return None


def test_autoclean_job_computes_off_thread_without_touching_the_model(demo):
    """While auto-clean's compute runs, the embryos are unchanged (no detector in Edit.apply);
    apply pushes one Batch step per embryo."""
    s = Session(Project.open(demo))
    before = {n: (s.project.embryo(n).current.copy(), s.project.embryo(n).flags.bits.copy(),
                  dumps(s.project.embryo(n).detections)) for n in s.embryos}
    seen = []

    def watch(ev):
        if ev.info and ev.info.get("stage") == "autoclean":
            seen.append({n: (np.array_equal(s.project.embryo(n).current, before[n][0]),
                             np.array_equal(s.project.embryo(n).flags.bits, before[n][1]),
                             dumps(s.project.embryo(n).detections) == before[n][2]) for n in s.embryos})

    s.events.job_progress.connect(watch)
    summary = s.run_job(s.autoclean_job(AutocleanPolicy()))
    assert seen and all(all(all(v) for v in snap.values()) for snap in seen)
    assert [x["name"] for x in summary] == s.embryos
    for n in s.embryos:
        h = s.project.embryo(n).history
        assert [x.label for x in h.entries] == ["run detectors", "auto-clean"]
        assert h.top.type == "autoclean" and isinstance(h.top, edits.Batch)
        assert s.project.embryo(n).detections["autoclean"]["policy"]["unusable_fraction"] == 0.4
    # a second run changes nothing, and adds no step
    n_steps = len(s.steps())
    again = s.run_job(s.autoclean_job())
    assert not any(x["changed"] for x in again) and len(s.steps()) == n_steps
    # undoing the auto-clean keeps the detections; undoing everything restores the embryos
    s.undo()
    assert s.project.embryo(s.embryos[-1]).history.top.label == "run detectors"
    while s.can_undo:
        s.undo()
    for n in s.embryos:
        np.testing.assert_array_equal(s.project.embryo(n).current, before[n][0])
        np.testing.assert_array_equal(s.project.embryo(n).flags.bits, before[n][1])
    s.close()


def test_autoclean_replans_when_the_embryo_changed_while_it_ran(demo):
    """A cliff the user rejects while the detectors run is not repaired by the job."""
    s = Session(Project.open(demo))
    s.run_job(s.detect_job())
    e = next((x for x in s.project.embryos if x.cliffs), None)
    if e is None:
        pytest.skip("demo has no cliff")  # pragma: no cover - seed 5 has cliffs
    job = s.autoclean_job()
    s.begin_job(job)
    job.compute()                       # as a runner would, before the edit lands
    # the Session refuses edits while auto-clean runs (test_session_read_only.py); a script that
    # changes the model behind it still gets a re-planned auto-clean
    e.history.push(edits.RejectDetection(0))
    summary = s.end_job(job)
    assert e.cliffs[0].status == "rejected"
    assert {x["name"]: x for x in summary}[e.name]["changed"]
    s.close()


def test_cancelled_job_changes_nothing_and_a_second_job_waits(demo):
    s = Session(Project.open(demo))
    gate = threading.Event()

    def compute(progress, cancel):
        gate.wait(5)
        cancel.raise_if_cancelled()
        return 1

    applied = []
    job = Job("slow", compute, lambda r: applied.append(r), label="slow thing")
    s.start_job(job)
    with pytest.raises(EmbryoError, match="slow thing is already running"):
        s.start_job(Job("other", lambda p, c: None))
    with pytest.raises(EmbryoError, match="cannot open a project while slow thing is running"):
        s.open(demo)
    job.cancel()
    gate.set()
    with pytest.raises(CancelledError):
        s.wait_job(job)
    assert job.state == "cancelled" and applied == [] and s.job is None
    s.close()


def test_failed_job_reports_one_line_and_discards(tmp_path, tiny_project):
    s = Session(tiny_project)
    bad = tmp_path / "missing.mp4"
    job = s.import_job(bad)
    reserved = set(tiny_project.pending_frames)
    assert len(reserved) == 1
    with pytest.raises(EmbryoError, match="missing.mp4"):
        s.run_job(job)
    assert job.state == "failed" and "\n" not in job.error and str(bad) in job.error
    assert tiny_project.pending_frames == frozenset()
    assert not any((tiny_project.frames_dir / n).exists() for n in reserved)


def test_import_job_adds_and_selects_the_embryo(tmp_path):
    import cv2

    from conftest import make_frames
    src = tmp_path / "imgs"
    src.mkdir()
    for i, f in enumerate(make_frames(6)):
        cv2.imwrite(str(src / f"f{i:03d}.png"), f)
    s = Session()
    rec = Recorder(s)
    s.create(tmp_path / "new.h5")
    assert s.embryos == [] and s.embryo is None
    embryo, messages = s.run_job(s.import_job(src, name="first"))
    assert s.embryos == ["first"] and s.embryo_name == "first" and embryo.n_frames == 6
    assert any(n == "embryo_changed" and p.list_changed for n, p in rec.log[-6:])
    assert s.modified
    s.save()
    assert Project.open(tmp_path / "new.h5").names == ["first"]
    s.close()


def test_export_job_writes_off_thread(demo, tmp_path):
    s = Session(Project.open(demo))
    out = tmp_path / "out.h5"
    report = s.run_job(s.export_job(out, size=(48, 32)))
    assert report["n_frames"] > 0
    with h5py.File(out, "r") as f:
        assert f["frames"].shape[1:] == (32, 48, 3)
    s.close()


def test_poll_applies_on_the_calling_thread(tiny_project):
    s = Session(tiny_project)
    job = Job("x", lambda p, c: (p({"done": 1}), threading.current_thread().name)[1],
              lambda r: threading.current_thread().name)
    got = []
    s.events.job_progress.connect(lambda ev: got.append(threading.current_thread().name))
    s.start_job(job)
    out = None
    for _ in range(200):
        out = s.poll()
        if out is not None:
            break
        threading.Event().wait(0.01)
    assert out == threading.current_thread().name          # applied here
    assert job.result == job.compute_thread != out           # computed on the pool
    assert job.compute_thread != threading.current_thread().name
    assert got == [threading.current_thread().name]


def test_events_keep_running_after_a_failing_slot():
    from embryo_gui.app.events import Signal
    sig = Signal("x")
    calls = []

    def bad(p):
        raise ValueError("boom")

    sig.connect(bad)
    sig.connect(calls.append)
    with pytest.raises(ValueError, match="boom"):
        sig.emit(1)
    assert calls == [1]
    sig.disconnect(bad)
    sig.emit(2)
    assert calls == [1, 2]


def test_undo_order_is_saved_in_the_file(tiny_project):
    s = Session(tiny_project)
    a, b = s.embryos
    s.push(edits.SetValues([1], 5.0), b)
    s.push(edits.SetValues([1], 6.0), a)
    s.undo()
    s.save()
    with h5py.File(tiny_project.path, "r") as f:
        d = loads(f["undo_order"][()])
    uid = {e.name: e.uid for e in tiny_project.embryos}
    assert d == {"order": [uid[b], uid[a]], "position": 1}
