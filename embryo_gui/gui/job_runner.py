"""The Qt runner of the Qt-free jobs (:class:`embryo_gui.app.jobs.Job`): compute in a worker
thread, apply in the GUI thread.

``runner.start(job)`` registers the job with the Session (``session.begin_job``: one job at a
time), runs ``job.compute`` in a worker thread, relays its progress to ``session.report_progress``
and, when compute is over, applies the result here with ``session.end_job`` (the Session's
``job_started`` / ``job_progress`` / ``job_finished`` events all fire in the GUI thread).  Jobs
outside the Session (``with_session=False``: e.g. the benchmark's in-process trainer) are finished
with ``job.finish()`` in the GUI thread too.

Rules that keep Qt objects alive in their own thread (their breach crashed ``bench_gui.py``'s
thread mode, see :mod:`.gc_guard`):

* the worker thread is a plain :class:`threading.Thread` that touches **no** Qt object: it gets
  the job's compute and a :class:`queue.SimpleQueue`, nothing else (not the handle, whose
  callbacks hold widgets), so nothing the GUI owns can lose its last reference there;
* its messages (progress dicts, the end) go through that queue; a GUI-thread timer drains it and
  calls the Session and the callbacks in order, in the GUI thread;
* while any job runs, Python's cyclic garbage collector runs only in the GUI thread
  (:func:`.gc_guard.hold`), so a collection triggered by the job's allocations cannot destroy
  a Qt object there either.

Cancel sets the job's token; a job cancelled before its apply changes nothing.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from typing import Any, Callable

from PySide6 import QtCore

from ..app.jobs import Job
from . import gc_guard

POLL_MS = 10


def function_job(name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Job:
    """A Job from a function of the core convention ``fn(*args, progress=..., cancel=..., **kw)``
    that returns a value and changes nothing (e.g. the trainer's compute).  ``name`` and ``fn`` are
    positional-only: ``fn`` may take a ``name=`` keyword of its own."""
    return Job(name, lambda progress, cancel: fn(*args, progress=progress, cancel=cancel, **kwargs))


def _thread_main(compute: Callable[..., Any], q: "queue.SimpleQueue") -> None:
    """The worker thread: Qt-free.  ``Job.compute`` records its own outcome and never raises."""
    try:
        compute(lambda info: q.put(("progress", info)))
    finally:
        q.put(("end", None))


class JobHandle:
    """One running job, seen from the GUI thread."""

    def __init__(self, job: Job, with_session: bool, on_progress=None, on_done=None, on_failed=None,
                 on_cancelled=None) -> None:
        self.job = job
        self.name = job.name
        self.with_session = with_session
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.on_progress, self.on_done, self.on_failed, self.on_cancelled = (
            on_progress, on_done, on_failed, on_cancelled)
        self.outcome: str | None = None   # "done", "failed", "cancelled" once ended
        self.value: Any = None            # what apply returned (or the error message)
        self.thread = threading.Thread(target=_thread_main, args=(job.compute, self.queue),
                                       name=f"job-{job.name}", daemon=True)

    def cancel(self) -> None:
        self.job.cancel()

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def is_running(self) -> bool:
        return self.outcome is None


class JobRunner(QtCore.QObject):
    """Starts jobs and delivers their messages in the GUI thread (create it in the GUI thread)."""

    #: (handle) after a job ended, whichever way, once its callbacks ran
    jobEnded = QtCore.Signal(object)

    def __init__(self, session: Any = None, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._active: list[JobHandle] = []   # started, messages not all delivered yet
        self._closing: list[JobHandle] = []  # ended; waiting for the thread to exit
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._drain)

    # -- starting and stopping ------------------------------------------------------------------
    def start(self, job: Job, on_progress: Callable[[dict], None] | None = None,
              on_done: Callable[[Any], None] | None = None, on_failed: Callable[[str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None, with_session: bool = True) -> JobHandle:
        """Run ``job``; EmbryoError (from ``session.begin_job``) when the Session runs another."""
        with_session = bool(with_session and self.session is not None)
        if with_session:
            self.session.begin_job(job)
        h = JobHandle(job, with_session, on_progress, on_done, on_failed, on_cancelled)
        if not self._active and not self._closing:
            gc_guard.hold()
        self._active.append(h)
        h.thread.start()
        if not self._timer.isActive():
            self._timer.start()
        return h

    def running(self) -> list[JobHandle]:
        return [h for h in self._active if not h.ended]

    def busy(self) -> bool:
        return bool(self._active or self._closing)

    def cancel_all(self) -> None:
        for h in self._active:
            h.cancel()

    def wait_all(self, timeout_s: float = 10.0, cancel: bool = True) -> bool:
        """Block until every job's thread has ended (cancelling them first unless ``cancel`` is
        False), delivering their outcomes; True if all ended in time."""
        if cancel:
            self.cancel_all()
        t_end = time.monotonic() + timeout_s
        for h in list(self._active) + list(self._closing):
            h.thread.join(max(0.0, t_end - time.monotonic()))
        self._drain()
        return not self.busy()

    # -- the GUI-thread side ---------------------------------------------------------------------
    @QtCore.Slot()
    def _drain(self) -> None:
        for h in list(self._active):
            while True:
                try:
                    kind, info = h.queue.get_nowait()
                except queue.Empty:
                    break
                if kind == "progress":
                    if not h.job.cancelled:
                        if h.with_session:
                            self._call(self.session.report_progress, h.job, info)
                        if h.on_progress is not None:
                            self._call(h.on_progress, info)
                    continue
                self._active.remove(h)
                self._closing.append(h)
                self._end(h)
                break
        for h in list(self._closing):
            if not h.thread.is_alive():
                h.thread.join()
                self._closing.remove(h)
        if not self._active and not self._closing:
            self._timer.stop()
            gc_guard.release()

    def _end(self, h: JobHandle) -> None:
        job = h.job
        try:
            value = self.session.end_job(job) if h.with_session else job.finish()
        except Exception:  # noqa: BLE001 - a subscriber of job_finished failed; the job itself ended
            value = job.outcome
            sys.excepthook(*sys.exc_info())
        if job.state == "done":
            h.outcome, h.value = "done", value
            if h.on_done is not None:
                self._call(h.on_done, value)
        elif job.state == "cancelled":
            h.outcome = "cancelled"
            if h.on_cancelled is not None:
                self._call(h.on_cancelled)
        else:
            msg = job.error or f"{job.label} failed"
            if job.traceback:
                msg = f"{msg}\n{job.traceback}"
            h.outcome, h.value = "failed", msg
            if h.on_failed is not None:
                self._call(h.on_failed, msg)
        self.jobEnded.emit(h)

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a broken callback must not stall the other jobs
            sys.excepthook(*sys.exc_info())  # reported (pytest-qt turns it into a failure)


__all__ = ["function_job", "JobHandle", "JobRunner"]
