"""Python's cyclic garbage collector runs only in the GUI thread while other threads run.

Why: the collector runs in whichever thread happens to allocate when a generation's threshold is
crossed.  A job thread that allocates a lot (importing torch, training, detecting) therefore also
frees *any* unreachable reference cycle of the process, including cycles that hold Qt objects of
the GUI (a closed dialog, a widget dropped by a view, a timer): their C++ destructors then run in
the job thread.  Qt objects must be destroyed in their own thread; destroying a timer or a widget
elsewhere prints ``QBasicTimer::stop: Failed. Possibly trying to stop from a different thread``
and then crashes (segmentation fault, "pure virtual method called") or deadlocks.  That was the
crash of ``benchmarks/bench_gui.py``'s thread mode after its other measures had left such garbage.

:func:`hold` / :func:`release` (counted) switch automatic collection off while any thread of ours
runs and collect from a GUI-thread timer instead (the remedy of pyqtgraph's
``util.garbage_collector.GarbageCollector``, kept in step with our threads); the last release
collects once in the GUI thread and restores the collector's previous state.  Call them only from
the GUI thread.
"""

from __future__ import annotations

import gc

from PySide6 import QtCore

INTERVAL_MS = 500

_holds = 0
_was_enabled = True
_timer: QtCore.QTimer | None = None


def _check() -> None:
    """Collect the generations whose thresholds were crossed (what automatic collection does)."""
    t0, t1, t2 = gc.get_threshold()
    c0, c1, c2 = gc.get_count()
    if c0 > t0:
        gen = 2 if (c1 > t1 and c2 > t2) else 1 if c1 > t1 else 0
        gc.collect(gen)


def hold() -> None:
    """Keep collections in the GUI thread until the matching :func:`release`."""
    global _holds, _was_enabled, _timer
    if _holds == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
        if _timer is None:
            _timer = QtCore.QTimer()
            _timer.setInterval(INTERVAL_MS)
            _timer.timeout.connect(_check)
        _timer.start()
    _holds += 1


def release() -> None:
    global _holds
    if _holds <= 0:
        return
    _holds -= 1
    if _holds == 0:
        if _timer is not None:
            _timer.stop()
        gc.collect()  # here, in the GUI thread, before anything else may collect
        if _was_enabled:
            gc.enable()


def held() -> int:
    return _holds
