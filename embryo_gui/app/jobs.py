"""A Qt-free job: *compute* off the caller's thread, *apply* on it.

``compute(progress, cancel)`` is pure: it reads arrays / frame files and settings, returns a typed
result and never changes the project (the model is only changed on the thread that owns it).
``apply(result)`` runs on the caller's thread (the GUI thread, or the CLI's) and pushes the edits
the result asks for; ``discard(result)`` (caller's thread too; result None when compute failed)
cleans up after a job that applies nothing (a frame file written by an import that was cancelled).

Runners: :meth:`embryo_gui.app.session.Session.run_job` / ``start_job`` (a plain thread pool, for
the CLI and tests) and the GUI's Qt runner run the same Job objects::

    session.begin_job(job)                    # caller's thread: job_started
    job.compute(progress=...)                 # any thread; never raises, records the outcome
    session.end_job(job)                      # caller's thread: apply (or discard), job_finished
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable, Optional

from ..errors import CancelledError, EmbryoError
from ..progress import CancelToken

#: job states: pending -> running -> computed -> done | failed | cancelled
STATES = ("pending", "running", "computed", "done", "failed", "cancelled")


class Job:
    def __init__(self, name: str, compute: Callable[[Any, CancelToken], Any],
                 apply: Optional[Callable[[Any], Any]] = None, *, label: Optional[str] = None,
                 discard: Optional[Callable[[Any], None]] = None) -> None:
        self.name = name
        self.label = label or name
        self._compute, self._apply, self._discard = compute, apply, discard
        self.token = CancelToken()
        self.state = "pending"
        self.result: Any = None       # what compute returned
        self.outcome: Any = None      # what apply returned (e.g. a summary)
        self.error: Optional[str] = None        # one-line message when failed
        self.exception: Optional[BaseException] = None
        self.traceback: Optional[str] = None    # for an unexpected exception (a bug), else None
        self.compute_thread: Optional[str] = None
        self.apply_thread: Optional[str] = None
        self.on_progress: Optional[Callable[[dict], None]] = None

    # --- control ----------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask compute to stop (it checks the token); a computed result is then discarded."""
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    # --- the two halves ---------------------------------------------------------------------------
    def compute(self, progress: Optional[Callable[[dict], None]] = None) -> None:
        """Run compute on this thread; records result / error / cancellation, never raises."""
        if self.state != "pending":
            raise RuntimeError(f"job {self.name!r} already {self.state}")
        self.state = "running"
        self.compute_thread = threading.current_thread().name
        report = progress or self.on_progress
        try:
            self.result = self._compute(report, self.token)
        except CancelledError as exc:
            self._fail("cancelled", exc, "cancelled; nothing was changed")
        except EmbryoError as exc:
            self._fail("failed", exc, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug: kept with its traceback, shown to the user
            self._fail("failed", exc, f"{type(exc).__name__}: {exc}")
            self.traceback = traceback.format_exc()
        except BaseException as exc:  # KeyboardInterrupt / SystemExit on this thread: re-raised by raise_for_state
            self._fail("failed", exc, f"interrupted ({type(exc).__name__}); nothing was changed")
        else:
            self.state = "cancelled" if self.token.cancelled else "computed"
            if self.state == "cancelled":
                self._fail("cancelled", CancelledError(), "cancelled; nothing was changed")

    def finish(self) -> Any:
        """Apply a computed result on this (the caller's) thread; returns apply's outcome.
        A job that failed or was cancelled applies nothing; ``discard(result)`` (result may be
        None) cleans up after it, here on the caller's thread."""
        if self.state == "computed" and self.token.cancelled:
            self._fail("cancelled", CancelledError(), "cancelled; nothing was changed")
        if self.state in ("failed", "cancelled"):
            self._discard_result()
        if self.state != "computed":
            return None
        self.apply_thread = threading.current_thread().name
        try:
            self.outcome = self._apply(self.result) if self._apply is not None else self.result
        except EmbryoError as exc:
            self._fail("failed", exc, str(exc))
            self._discard_result()
        except Exception as exc:  # noqa: BLE001
            self._fail("failed", exc, f"{type(exc).__name__}: {exc}")
            self.traceback = traceback.format_exc()
            self._discard_result()
        else:
            self.state = "done"
        return self.outcome

    def raise_for_state(self) -> None:
        """Re-raise what made the job fail or stop (CancelledError / EmbryoError / the bug)."""
        if self.state in ("failed", "cancelled") and self.exception is not None:
            raise self.exception

    # --- internals --------------------------------------------------------------------------------
    def _fail(self, state: str, exc: BaseException, message: str) -> None:
        self.state, self.exception, self.error = state, exc, message

    def _discard_result(self) -> None:
        discard, self._discard = self._discard, None   # once
        if discard is not None:
            try:
                discard(self.result)
            finally:
                self.result = None

    def __repr__(self) -> str:
        return f"Job({self.name!r}, {self.state})"
