"""One writer per project: an OS advisory lock (``fcntl.flock``) on a lock file beside it.

``NAME.h5.lock`` is created by the writer that takes the lock and holds, as one JSON line, who holds
it: ``holder`` (the command, e.g. ``embryo-repair import``, or ``embryo-gui app``), ``pid``,
``host`` and ``since`` (ISO 8601 UTC).  The kernel drops a ``flock`` when its process dies, however
it dies (``kill -9`` included), so a lock left by a killed process is recovered by construction:
the next writer takes it at once and overwrites the stale holder line.  A clean release deletes the
lock file.

Readers take no lock and never wait: a project file is only ever replaced whole (``os.replace``).

Deleting a lock file while another process waits on it is the classic ``flock`` race; it is closed
the usual way: after taking the lock a writer checks that the file it locked is still the one at the
path (same inode), and retries otherwise.

Within one process the lock is re-entrant (a count per lock file): the app and a job it runs may
both hold the same project; saves still refuse to overwrite a file that changed since it was read
(see :meth:`Project.save`).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from ..errors import EmbryoError

try:  # POSIX; on Windows the lock degrades to the holder file alone (msvcrt has no shared flock)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from ..policy import LOCK_WAIT_SECONDS  # noqa: E402  (how long a second writer waits; env EMBRYO_GUI_LOCK_WAIT)
LOCK_SUFFIX = ".lock"

_default_holder = ""
_registry_guard = threading.Lock()
_held: dict[str, "_Held"] = {}  # lock file (absolute) -> what this process holds


class ProjectLockedError(EmbryoError):
    """Another live process holds the project for writing."""

    def __init__(self, path, holder: Optional[dict], waited: float):
        self.holder = holder or {}
        super().__init__(f"is being changed by {describe_holder(self.holder)}; waited {waited:g} s, nothing was "
                         "changed (try again when it has finished)", path)


class _Held:
    def __init__(self, fd: int, info: dict):
        self.fd = fd
        self.info = info
        self.count = 0


def set_default_holder(name: str) -> None:
    """Name written as ``holder`` by locks taken in this process (e.g. ``"embryo-repair import"``)."""
    global _default_holder
    _default_holder = str(name)


def default_holder() -> str:
    if _default_holder:
        return _default_holder
    return " ".join([os.path.basename(sys.argv[0] or "python")] + sys.argv[1:2])[:80]


def lock_wait_seconds() -> float:
    env = os.environ.get("EMBRYO_GUI_LOCK_WAIT")
    if env:
        try:
            v = float(env)
            if v >= 0:
                return v
        except ValueError:
            pass
    return LOCK_WAIT_SECONDS


def lock_path(target: "str | os.PathLike[str]") -> Path:
    """The lock file of a project (or export) path: ``NAME.h5.lock`` beside the real file (a
    symlinked project is locked where its target lives, so two links to one file share a lock)."""
    p = Path(os.path.realpath(os.fspath(target)))
    return p.with_name(p.name + LOCK_SUFFIX)


def describe_holder(info: dict) -> str:
    if not info:
        return "another process (holder unknown)"
    who = str(info.get("holder") or "another process")
    bits = [f"pid {info['pid']}" if info.get("pid") is not None else None,
            f"on {info['host']}" if info.get("host") else None,
            f"since {info['since']}" if info.get("since") else None]
    extra = " ".join(b for b in bits if b)
    return f"{who} ({extra})" if extra else who


def read_holder(target: "str | os.PathLike[str]") -> Optional[dict]:
    """Who holds (or last held, if it died) the lock of ``target``: the holder line, or None.  A
    missing, empty, half-written or garbled lock file gives None, never an exception."""
    try:
        with open(lock_path(target), "rb") as fh:
            text = fh.read(4096)
    except OSError:
        return None
    try:
        info = json.loads(text.decode("utf-8").splitlines()[0])
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return info if isinstance(info, dict) else None


def is_locked(target: "str | os.PathLike[str]") -> bool:
    """True when a live process holds the lock of ``target`` (this process included)."""
    lp = lock_path(target)
    with _registry_guard:
        if str(lp) in _held:
            return True
    if fcntl is None:
        return False
    try:
        fd = os.open(lp, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def held_here(target: "str | os.PathLike[str]") -> bool:
    with _registry_guard:
        return str(lock_path(target)) in _held


class ProjectLock:
    """The write lock of one project path; :meth:`acquire` / :meth:`release` (re-entrant per process)."""

    def __init__(self, target: "str | os.PathLike[str]", holder: Optional[str] = None):
        self.target = Path(target)
        self.path = lock_path(target)
        self.holder = holder
        self._mine = False

    @property
    def held(self) -> bool:
        return self._mine

    def acquire(self, wait: Optional[float] = None) -> dict:
        """Take the lock, waiting up to ``wait`` seconds (default :func:`lock_wait_seconds`); returns
        the holder info written.  Raises :class:`ProjectLockedError` naming the holder when another
        process keeps it, or :class:`EmbryoError` when the folder cannot hold a lock file."""
        if self._mine:
            return _held[str(self.path)].info
        key = str(self.path)
        with _registry_guard:
            h = _held.get(key)
            if h is not None:
                h.count += 1
                self._mine = True
                return h.info
        wait = lock_wait_seconds() if wait is None else max(0.0, float(wait))
        info = {"holder": self.holder or default_holder(), "pid": os.getpid(), "host": socket.gethostname(),
                "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "project": str(self.target)}
        fd = self._take(wait)
        try:
            line = (json.dumps(info) + "\n").encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, line, 0)
        except OSError:
            pass  # the holder line is informative only; the flock is what excludes
        with _registry_guard:
            h = _Held(fd, info)
            h.count = 1
            _held[key] = h
        self._mine = True
        return info

    def _take(self, wait: float) -> int:
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    why = ("does not exist" if not self.path.parent.is_dir() else "cannot hold files")
                    raise EmbryoError(f"cannot write: folder {self.path.parent} {why}", self.target) from None
                raise EmbryoError(_write_problem(exc, "cannot take the write lock"), self.target) from None
            if fcntl is None:  # pragma: no cover
                return fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise EmbryoError(_write_problem(exc, "cannot take the write lock"), self.target) from None
                if time.monotonic() >= deadline:
                    raise ProjectLockedError(self.target, read_holder(self.target), wait) from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.25)
                continue
            # the file may have been deleted (released) between our open and our flock: retry
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except OSError:
                same = False
            if same:
                return fd
            os.close(fd)

    def release(self) -> None:
        if not self._mine:
            return
        self._mine = False
        key = str(self.path)
        with _registry_guard:
            h = _held.get(key)
            if h is None:
                return
            h.count -= 1
            if h.count > 0:
                return
            del _held[key]
        try:
            os.unlink(self.path)  # while still locked: a waiter then sees another inode and retries
        except OSError:
            pass
        os.close(h.fd)

    def __enter__(self) -> "ProjectLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):  # a forgotten Project must not keep its project locked in a long-lived app
        try:
            self.release()
        except Exception:
            pass


def _write_problem(exc: OSError, what: str) -> str:
    if exc.errno == errno.EROFS:
        return "cannot write: the disk is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot write: permission denied"
    if exc.errno == errno.ENOSPC:
        return "cannot write: no space left on the disk"
    return f"{what} ({exc.strerror or exc})"
