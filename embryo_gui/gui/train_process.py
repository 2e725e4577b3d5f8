"""Run the lossy-frame trainer in a child process (Qt-free: the child imports this module).

Training next to the GUI in the same process is slow and stalls the GUI: torch's import holds the
GIL for hundreds of milliseconds and the training loop needs the GIL between torch ops, so a
painting GUI thread and the trainer slow each other down.  :func:`train_in_subprocess` therefore
starts a "spawn" child that opens a temporary copy of the project (``Project.save_copy``: the
current in-memory state, same frames folder), runs :func:`embryo_gui.train.train_project` and
sends progress dicts and finally the :class:`~embryo_gui.train.TrainResult` (a picklable
dataclass of numpy arrays) back through a pipe.  The parent never imports torch.

Cancel: the parent sets a multiprocessing Event that the child's CancelToken reads (checked
before every batch); a child that has not ended ``grace_s`` seconds later (e.g. still importing
torch) is terminated, then killed.  Nothing the child does touches the user's project.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from ..errors import CancelledError, EmbryoError
from ..progress import CancelToken

# the trainer yields the CPU to the GUI when both want it (EMBRYO_GUI_TRAIN_NICE=0 turns it off)
CHILD_NICE = int(os.environ.get("EMBRYO_GUI_TRAIN_NICE", "5") or 0)
GRACE_S = 1.0           # after a cancel, how long the child may take to stop by itself
POLL_S = 0.05           # how often the parent looks at the pipe and the cancel token


class _EventToken(CancelToken):
    """A CancelToken over a multiprocessing Event (same ``set``/``is_set`` interface)."""

    def __init__(self, event: Any) -> None:  # noqa: D107 - deliberately not calling super()
        self._event = event


def _child_main(project_path: str, settings: dict, conn: Any, cancel_event: Any, nice: int) -> None:
    """Entry point of the training process: messages ``(kind, payload)`` go to ``conn``."""
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    project = None
    try:
        from ..model import Project
        from ..train import TrainSettings, train_project

        project = Project.open(project_path)
        result = train_project(project, TrainSettings.from_dict(settings),
                               progress=lambda info: conn.send(("progress", info)),
                               cancel=_EventToken(cancel_event))
        conn.send(("result", result))
    except CancelledError:
        conn.send(("cancelled", None))
    except EmbryoError as exc:
        conn.send(("error", (exc.problem, exc.path)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which shows it
        try:
            conn.send(("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        except Exception:  # noqa: BLE001 - the pipe itself is gone; nothing more to do
            pass
    finally:
        if project is not None:
            project.close()
        conn.close()


def _stop(proc: Any, wait_s: float = 1.0) -> None:
    """End a child that did not stop by itself: terminate, then kill."""
    if proc.is_alive():
        proc.terminate()
        proc.join(wait_s)
    if proc.is_alive():
        proc.kill()
        proc.join(wait_s)


def train_in_subprocess(project_copy: "str | os.PathLike[str]", settings: dict,
                        progress: Callable[[dict], None] | None = None, cancel: CancelToken | None = None,
                        grace_s: float = GRACE_S, nice: int = CHILD_NICE,
                        remove_dir: "str | os.PathLike[str] | None" = None,
                        display_path: "str | os.PathLike[str] | None" = None) -> Any:
    """Train on the saved project ``project_copy`` in a spawned child; returns its TrainResult.

    Blocks (run it in a worker thread).  ``progress`` gets the child's progress dicts in order;
    ``cancel`` stops the child within about ``grace_s`` seconds (then raises CancelledError).
    ``remove_dir`` (the temporary folder holding the copy) is deleted when the child is gone;
    errors naming the copy name ``display_path`` (the user's project) instead.
    Raises EmbryoError with the child's message on bad input, RuntimeError if the child crashed.
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    event = ctx.Event()
    proc = ctx.Process(target=_child_main, args=(str(project_copy), dict(settings), send, event, nice),
                       name="embryo-gui-trainer", daemon=True)
    try:
        proc.start()
        send.close()  # the parent's copy: recv then sees EOF when the child exits
        cancel_at: float | None = None
        while True:
            if cancel is not None and cancel.cancelled and cancel_at is None:
                event.set()
                cancel_at = time.monotonic()
            if cancel_at is not None and time.monotonic() - cancel_at > grace_s:
                _stop(proc)
                raise CancelledError("cancelled")
            if not recv.poll(POLL_S):
                continue
            try:
                kind, payload = recv.recv()
            except EOFError:
                proc.join(1.0)
                if cancel_at is not None:
                    raise CancelledError("cancelled") from None
                raise RuntimeError(f"the training process ended unexpectedly (exit code {proc.exitcode})") from None
            if kind == "progress":
                if progress is not None and cancel_at is None:
                    progress(payload)
            elif kind == "result":
                proc.join(5.0)
                if cancel_at is not None:
                    raise CancelledError("cancelled")
                return payload
            elif kind == "cancelled":
                raise CancelledError("cancelled")
            elif kind == "error":
                problem, path = payload
                if display_path is not None and path == os.fspath(project_copy):
                    path = display_path
                raise EmbryoError(problem, path)
            else:
                raise RuntimeError(f"training process: {payload}")
    finally:
        _stop(proc)
        recv.close()
        if remove_dir is not None:
            shutil.rmtree(remove_dir, ignore_errors=True)


def snapshot_project(project: Any) -> tuple[Path, Path]:
    """Save the project's current in-memory state to a temporary copy for the child; returns
    (copy path, temporary folder to remove afterwards)."""
    tmp = Path(tempfile.mkdtemp(prefix="embryo-gui-train-"))
    copy = tmp / "train.h5"
    try:
        project.save_copy(copy)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return copy, tmp


__all__ = ["train_in_subprocess", "snapshot_project"]
