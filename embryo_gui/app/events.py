"""Plain-Python events (a small observer; no Qt, no dependency).

A :class:`Signal` holds callbacks; ``emit(payload)`` calls each with that one payload, in the
order they were connected, on the thread that emits.  A callback that raises does not stop the
others; the first exception is re-raised once all were called.  The GUI connects its views to
the Session's signals (g1's Qt job runner re-emits job progress on the GUI thread).

Payloads are small frozen dataclasses (below), so a subscriber knows what changed without asking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


class Signal:
    """``connect(fn)`` / ``disconnect(fn)`` / ``emit(payload)``; ``blocked()`` silences it."""

    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc
        self._slots: list[Callable[[Any], None]] = []
        self._blocked = 0

    def connect(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """Call ``fn(payload)`` on every emit; returns ``fn`` (usable as a decorator)."""
        if fn not in self._slots:
            self._slots.append(fn)
        return fn

    def disconnect(self, fn: Optional[Callable] = None) -> None:
        """Remove ``fn`` (every callback when None); unknown callbacks are ignored."""
        if fn is None:
            self._slots.clear()
        elif fn in self._slots:
            self._slots.remove(fn)

    def emit(self, payload: Any = None) -> None:
        if self._blocked:
            return
        first: Optional[BaseException] = None
        for fn in list(self._slots):
            try:
                fn(payload)
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the other slots ran
                first = first or exc
        if first is not None:
            raise first

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"Signal({self.name!r}, {len(self._slots)} slots)"


# --- payloads ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectChanged:
    """A project was opened, created, closed (``project`` None) or replaced; or saved (``saved``).
    ``reloaded``: the same file read again on the same embryo and frame (a read-only window
    following its holder's saves, or reopened for editing): views keep their zoom and selection."""
    project: Any
    path: Optional[str]
    saved: bool = False
    reloaded: bool = False


@dataclass(frozen=True)
class EmbryoChanged:
    """The current embryo changed (``name`` None: no embryo) or the embryo list changed (``list_changed``).
    ``reloaded``: see :class:`ProjectChanged`."""
    name: Optional[str]
    list_changed: bool = False
    reloaded: bool = False


@dataclass(frozen=True)
class FrameChanged:
    embryo: Optional[str]
    frame: int


@dataclass(frozen=True)
class HistoryChanged:
    """A step was pushed, undone or redone on embryo ``embryo``.

    ``frames``: the frames whose annotations or flags changed (sorted int64); ``detections``,
    ``scores``, ``training``: whether those changed too (they may concern every frame)."""
    action: str                 # "push" | "undo" | "redo"
    embryo: str
    label: str
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), compare=False)
    detections: bool = False
    scores: bool = False
    training: bool = False


@dataclass(frozen=True)
class JobEvent:
    """``job_started`` / ``job_progress`` (``info`` = the core's progress dict) / ``job_finished``
    (``job.state`` says done / failed / cancelled; ``job.error`` the one-line message)."""
    job: Any
    info: Optional[dict] = None


class SessionEvents:
    """The Session's signals (``session.events.NAME.connect(fn)``)."""

    def __init__(self) -> None:
        self.project_changed = Signal("project_changed", "ProjectChanged")
        self.embryo_changed = Signal("embryo_changed", "EmbryoChanged")
        self.frame_changed = Signal("frame_changed", "FrameChanged")
        self.history_changed = Signal("history_changed", "HistoryChanged")
        self.modified_changed = Signal("modified_changed", "bool: the project has unsaved changes")
        self.job_started = Signal("job_started", "JobEvent")
        self.job_progress = Signal("job_progress", "JobEvent (emitted on the computing thread)")
        self.job_finished = Signal("job_finished", "JobEvent")

    def all(self) -> list[Signal]:
        return [v for v in vars(self).values() if isinstance(v, Signal)]
