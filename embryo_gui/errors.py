"""User-facing errors.

Every problem caused by bad input is raised as :class:`EmbryoError` whose message is one line
naming the file and the problem.  The CLI and the GUI print that line; they never show a traceback
for it.
"""

from __future__ import annotations

import os


class EmbryoError(Exception):
    """A problem with the user's input, explained in one line."""

    def __init__(self, message: str, path: "str | os.PathLike[str] | None" = None):
        self.path = os.fspath(path) if path is not None else None
        self.problem = " ".join(str(message).split())
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        super().__init__(text)


class CancelledError(Exception):
    """Raised inside a worker when its cancel flag is set; the worker leaves no change behind."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (at most ``limit`` characters), or its type's
    name when it has none: what a one-line error shows of a library's exception."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
