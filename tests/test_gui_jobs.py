"""The GUI's job runner: compute in a worker thread, apply and every callback in the GUI thread,
and no Qt object ever destroyed outside the GUI thread (the crash of bench_gui.py's thread mode)."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6 import QtCore  # noqa: E402

from embryo_gui.errors import EmbryoError  # noqa: E402
from embryo_gui.gui import gc_guard  # noqa: E402
from embryo_gui.app.jobs import Job  # noqa: E402
from embryo_gui.gui.job_runner import JobRunner, function_job  # noqa: E402

from gui_helpers import copy_project, open_window, tiny_training, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui


def _wait_ended(qtbot, runner, timeout=20000):
    qtbot.waitUntil(lambda: not runner.busy(), timeout=timeout)


def _recording_job(n, seen):
    def compute(progress, cancel):
        seen["compute"] = threading.get_ident()
        for i in range(n):
            progress({"done": i + 1, "total": n})
        return n * 2

    def apply(result):
        seen["apply"] = threading.get_ident()
        return result + 1

    return Job("recording", compute, apply)


def test_compute_off_thread_apply_and_callbacks_in_gui_thread(qtbot):
    gui = threading.get_ident()
    runner = JobRunner()
    seen = {}
    job = _recording_job(5, seen)
    got, done = [], []
    h = runner.start(job, on_progress=lambda info: got.append((info["done"], threading.get_ident())),
                     on_done=lambda v: done.append((v, threading.get_ident())))
    _wait_ended(qtbot, runner)
    assert seen["compute"] != gui and seen["apply"] == gui
    assert [d for d, _ in got] == [1, 2, 3, 4, 5] and all(t == gui for _, t in got)
    assert done == [(11, gui)] and h.outcome == "done" and h.value == 11
    assert not h.thread.is_alive()
    assert gc_guard.held() == 0 and gc.isenabled()


def test_cancel_failure_and_cancel_after_compute_apply_nothing(qtbot):
    runner = JobRunner()
    started = threading.Event()

    def slow(progress=None, cancel=None):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.005)

    ends = []
    h = runner.start(function_job("slow", slow), on_cancelled=lambda: ends.append("cancelled"))
    assert started.wait(5)
    h.cancel()
    _wait_ended(qtbot, runner)
    assert ends == ["cancelled"] and h.outcome == "cancelled"

    def bad(progress=None, cancel=None):
        raise EmbryoError("frame count lies", "movie.avi")

    h = runner.start(function_job("bad", bad), on_failed=ends.append)
    _wait_ended(qtbot, runner)
    assert h.outcome == "failed" and ends[-1].startswith("movie.avi") and "frame count lies" in ends[-1]
    assert "\n" not in ends[-1]  # one line, no traceback

    # cancelled after compute returned but before the GUI applied it: apply never runs
    release = threading.Event()

    applied = []

    def late(progress, cancel):
        release.wait(5)
        return 1

    h = runner.start(Job("late", late, applied.append))
    h.cancel()
    release.set()
    _wait_ended(qtbot, runner)
    assert h.outcome == "cancelled" and applied == []


def _qt_garbage(where: list) -> None:
    """A started QTimer in a reference cycle (garbage only the cyclic collector frees), like a
    closed dialog or a dropped pyqtgraph widget; records the thread its destructor runs in."""
    t = QtCore.QTimer()
    t.start(1000)
    t.cycle = t
    weakref.finalize(t, lambda: where.append(threading.get_ident()))


def _allocating(progress=None, cancel=None):
    """Allocates like an import of torch does: enough container objects for automatic collections."""
    junk = [[] for _ in range(300_000)]
    return len(junk)


def test_qt_garbage_is_never_collected_in_a_job_thread(qtbot):
    """Before the fix, the job thread's allocations ran the collector there, which destroyed the
    GUI's garbage timer in that thread ("Timers cannot be stopped from another thread"), the
    mechanism of bench_gui's segfault / "pure virtual method called" / hang."""
    gui = threading.get_ident()
    runner = JobRunner()
    where: list = []
    gc.collect()
    old = gc.get_threshold()
    gc.set_threshold(100_000, 10, 10)  # the garbage stays uncollected until the job allocates
    try:
        _qt_garbage(where)
        h = runner.start(function_job("alloc", _allocating))
        _wait_ended(qtbot, runner)
    finally:
        gc.set_threshold(*old)
    gc.collect()
    assert h.outcome == "done" and h.value == 300_000
    assert where == [gui]


# -------------------------------------------------------------------- back to back, both modes
@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, 30, 0, (64, 96, 3))


def test_training_back_to_back_in_both_modes(qtbot, tmp_path, demo_dir):
    """The benchmark's sequence that crashed 3 runs of 3: training in the child process (the
    app's way), then in a job thread of this process (the old way, imports torch here), then the
    child again, with Qt garbage left around before each."""
    from embryo_gui.train import TrainSettings, train_project
    gui = threading.get_ident()
    win = open_window(qtbot, tmp_path, copy_project(demo_dir, tmp_path))
    settings = tiny_training(win)
    where: list = []
    outcomes = []
    for mode in ("subprocess", "thread", "subprocess"):
        for _ in range(20):
            _qt_garbage(where)
        if mode == "subprocess":
            with qtbot.waitSignal(win.workFinished, timeout=120000) as sig:
                assert win.start_training(settings) is not None
            outcomes.append(sig.args[0])
        else:
            res = []
            win.jobs.start(function_job("train-thread", train_project, win.project, TrainSettings(**settings)),
                           on_done=res.append, on_failed=res.append, with_session=False)
            _wait_ended(qtbot, win.jobs, timeout=120000)
            outcomes.append("train" if res and hasattr(res[0], "embryos") else f"failed: {res}")
        qtbot.waitUntil(lambda: not win.jobs.busy(), timeout=5000)
    gc.collect()
    assert outcomes == ["train"] * 3, win.last_error
    assert len(where) == 60 and set(where) == {gui}
    assert np.isfinite(win.embryo.flags.scores["loss"]).any()
    assert not win.jobs.busy()
    win.ask = False
    win.close()  # the window held the GUI-thread collection while it lived; the runner's hold is gone too
    assert gc_guard.held() == 0 and gc.isenabled()
