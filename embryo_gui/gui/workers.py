"""Long work off the GUI thread: a job object in a QThread that only emits signals.

The wrapped function follows the core convention ``fn(*args, progress=..., cancel=..., **kw)``.
A :class:`Worker` lives in the GUI thread; its private job lives in the worker thread and its
signals are connected signal-to-signal to the Worker's, so Qt queues every one of them to the GUI
thread: whatever a caller connects to ``Worker.progress`` / ``finished`` / ... (plain Python
functions included) runs in the GUI thread and may touch widgets.  ``cancel()`` sets the
:class:`~embryo_gui.progress.CancelToken` the function checks.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6 import QtCore

from ..errors import CancelledError, EmbryoError
from ..progress import CancelToken


class _Job(QtCore.QObject):
    """Runs in the worker thread; never touches a widget."""

    progress = QtCore.Signal(object)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    done = QtCore.Signal()

    def __init__(self, fn: Callable[..., Any], args, kwargs, token: CancelToken) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs, self.token = fn, args, kwargs, token

    @QtCore.Slot()
    def run(self) -> None:
        try:
            result = self.fn(*self.args, progress=self.progress.emit, cancel=self.token, **self.kwargs)
        except CancelledError:
            self.cancelled.emit()
        except EmbryoError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        else:
            if self.token.cancelled:
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        self.done.emit()


class Worker(QtCore.QObject):
    """Create in the GUI thread; its signals are delivered in the GUI thread."""

    progress = QtCore.Signal(object)   # dict from the core
    finished = QtCore.Signal(object)   # the function's result
    failed = QtCore.Signal(str)        # one-line message (EmbryoError) or a traceback
    cancelled = QtCore.Signal()
    done = QtCore.Signal()             # after any of the three above

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.token = CancelToken()
        self.job = _Job(fn, args, kwargs, self.token)
        for name in ("progress", "finished", "failed", "cancelled", "done"):
            getattr(self.job, name).connect(getattr(self, name))  # queued: receiver is in the GUI thread
        self.thread: QtCore.QThread | None = None

    def cancel(self) -> None:
        self.token.cancel()

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()


_RUNNING: set[Worker] = set()


class _Reaper(QtCore.QObject):
    """Lives in the GUI thread; drops a worker once its thread has really ended."""

    @QtCore.Slot()
    def reap(self) -> None:
        for w in [w for w in _RUNNING if w.thread is not None and w.thread.isFinished()]:
            w.thread.wait()
            _RUNNING.discard(w)


_REAPER: _Reaper | None = None


def start(worker: Worker) -> Worker:
    """Run ``worker`` in a new QThread; the thread quits and is cleaned up when it is done."""
    global _REAPER
    if _REAPER is None:
        _REAPER = _Reaper()
    thread = QtCore.QThread()
    worker.thread = thread
    worker.job.moveToThread(thread)
    thread.started.connect(worker.job.run)
    worker.job.done.connect(thread.quit, QtCore.Qt.ConnectionType.DirectConnection)  # thread-safe; no GUI loop needed
    thread.finished.connect(_REAPER.reap, QtCore.Qt.ConnectionType.QueuedConnection)
    _RUNNING.add(worker)
    thread.start()
    return worker


def running() -> int:
    return len(_RUNNING)


def wait_all(timeout_ms: int = 10000) -> bool:
    """Cancel every worker and block until their threads have finished (when the window closes)."""
    ok = True
    for w in list(_RUNNING):
        w.cancel()
        if w.thread is not None:
            ok &= w.thread.wait(timeout_ms)
    return ok
