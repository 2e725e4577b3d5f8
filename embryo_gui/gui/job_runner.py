"""The Qt runner of the Qt-free jobs: compute in a worker thread, apply in the GUI thread.

A job is any object with ``compute(progress, cancel) -> result`` (pure: it never changes the
project, see :mod:`embryo_gui.app.jobs`) and, optionally, ``apply(result)``, which runs in the GUI
thread and returns what the caller's ``on_done`` receives (e.g. the edits it pushed).

Rules that keep Qt objects alive in their own thread (their breach crashed ``bench_gui.py``'s
thread mode, see :mod:`.gc_guard`):

* the worker thread is a plain :class:`threading.Thread` that touches **no** Qt object: it gets
  the compute function, a :class:`queue.SimpleQueue` and the cancel token, nothing else (not the
  handle, whose callbacks hold widgets), so nothing the GUI owns can lose its last reference there;
* its messages (progress dicts, the result, the error) go through that queue; a GUI-thread timer
  drains it and calls the callbacks in order, in the GUI thread;
* while any job runs, Python's cyclic garbage collector runs only in the GUI thread
  (:func:`.gc_guard.hold`), so a collection triggered by the job's allocations cannot destroy
  a Qt object there either.

Cancel sets the job's :class:`~embryo_gui.progress.CancelToken`; a job cancelled before its
apply changes nothing.
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from typing import Any, Callable

from PySide6 import QtCore

from ..errors import CancelledError, EmbryoError
from ..progress import CancelToken
from . import gc_guard

POLL_MS = 10


class FunctionJob:
    """A job from a function of the core convention ``fn(*args, progress=..., cancel=..., **kw)``
    (for work that returns a value and changes nothing, e.g. an export writing its own file)."""

    def __init__(self, name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        # positional-only: fn may take a ``name=`` keyword of its own (import_embryo does)
        self.name, self.fn, self.args, self.kwargs = name, fn, args, kwargs

    def compute(self, progress, cancel) -> Any:
        return self.fn(*self.args, progress=progress, cancel=cancel, **self.kwargs)


def _thread_main(compute: Callable[..., Any], q: "queue.SimpleQueue", token: CancelToken) -> None:
    """The worker thread: Qt-free; every outcome ends with exactly one ("end", kind, payload)."""
    def progress(info: Any) -> None:
        q.put(("progress", info))

    try:
        result = compute(progress, token)
    except CancelledError:
        q.put(("end", "cancelled", None))
    except EmbryoError as exc:
        q.put(("end", "failed", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
        q.put(("end", "failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    else:
        q.put(("end", "cancelled", None) if token.cancelled else ("end", "result", result))


class JobHandle:
    """One running job, seen from the GUI thread."""

    def __init__(self, job: Any, on_progress=None, on_done=None, on_failed=None, on_cancelled=None) -> None:
        self.job = job
        self.name = str(getattr(job, "name", type(job).__name__))
        self.token = CancelToken()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.on_progress, self.on_done, self.on_failed, self.on_cancelled = (
            on_progress, on_done, on_failed, on_cancelled)
        self.outcome: str | None = None   # "done", "failed", "cancelled" once ended
        self.value: Any = None            # what apply returned (or the error message)
        self.thread = threading.Thread(target=_thread_main, args=(job.compute, self.queue, self.token),
                                       name=f"job-{self.name}", daemon=True)

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def is_running(self) -> bool:
        return self.outcome is None


class JobRunner(QtCore.QObject):
    """Starts jobs and delivers their messages in the GUI thread (create it in the GUI thread)."""

    #: (handle) after a job ended, whichever way, once its callbacks ran
    jobEnded = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._active: list[JobHandle] = []   # started, messages not all delivered yet
        self._closing: list[JobHandle] = []  # ended; waiting for the thread to exit
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._drain)

    # -- starting and stopping ------------------------------------------------------------------
    def start(self, job: Any, on_progress: Callable[[Any], None] | None = None,
              on_done: Callable[[Any], None] | None = None, on_failed: Callable[[str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None) -> JobHandle:
        h = JobHandle(job, on_progress, on_done, on_failed, on_cancelled)
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
        import time
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
                    msg = h.queue.get_nowait()
                except queue.Empty:
                    break
                if msg[0] == "progress":
                    if h.on_progress is not None and not h.token.cancelled:
                        self._call(h, h.on_progress, msg[1])
                    continue
                self._active.remove(h)
                self._closing.append(h)
                self._end(h, msg[1], msg[2])
                break
        for h in list(self._closing):
            if not h.thread.is_alive():
                h.thread.join()
                self._closing.remove(h)
        if not self._active and not self._closing:
            self._timer.stop()
            gc_guard.release()

    def _end(self, h: JobHandle, kind: str, payload: Any) -> None:
        if kind == "result" and h.token.cancelled:
            kind = "cancelled"  # cancelled after compute: nothing is applied
        if kind == "result":
            apply = getattr(h.job, "apply", None)
            try:
                value = apply(payload) if apply is not None else payload
            except EmbryoError as exc:
                kind, payload = "failed", str(exc)
            except Exception as exc:  # noqa: BLE001
                kind, payload = "failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            else:
                h.outcome, h.value = "done", value
                if h.on_done is not None:
                    self._call(h, h.on_done, value)
        if kind == "failed":
            h.outcome, h.value = "failed", payload
            if h.on_failed is not None:
                self._call(h, h.on_failed, payload)
        elif kind == "cancelled":
            h.outcome = "cancelled"
            if h.on_cancelled is not None:
                self._call(h, h.on_cancelled)
        self.jobEnded.emit(h)

    @staticmethod
    def _call(h: JobHandle, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a broken callback must not stall the other jobs
            sys.excepthook(*sys.exc_info())  # reported (pytest-qt turns it into a failure)


__all__ = ["FunctionJob", "JobHandle", "JobRunner"]
