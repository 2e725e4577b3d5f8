"""Atomic file replacement: write a temp file next to the target, fsync, ``os.replace``.

- The temp file is ``.NAME.XXXXXXXX.tmp`` in the folder of the real target: a symlinked target is
  written *through* the link (the file it points to is replaced, the link stays a link).
- The new file gets the mode of the file it replaces (a new file: ``0666 & ~umask``, as any program
  would create it), not ``mkstemp``'s 0600.
- Any failure (a full or read-only disk included) removes the temp file and leaves the target as it
  was; disk conditions become a one-line :class:`EmbryoError` naming the target.
- Temp files of a process that was killed are removed by :func:`remove_stale_temps`, called by the
  project's writer while it holds the project's lock (see ``model/lock.py``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator, Optional

from ..errors import EmbryoError

TEMP_SUFFIX = ".tmp"
_live_guard = threading.Lock()
_live: set[str] = set()  # temp files this process is writing now (never removed as stale)

# errno values that mean "this disk cannot take the write", and the words HDF5 uses for them (HDF5
# reports a failed write(2) as text only: "... errno = 28, error message = 'No space left on device'")
_DISK_ERRNOS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "file too large for this disk",
    errno.EIO: "input/output error on the disk",
}
_ERRNO_IN_TEXT = re.compile(r"errno\s*=\s*(\d+)")


def disk_problem(exc: BaseException) -> Optional[str]:
    """A short text when ``exc`` says the disk refused a write (full, read-only, no permission,
    ...), else None.  Understands plain ``OSError`` and h5py's text-only errors."""
    if not isinstance(exc, OSError):
        return None
    code = exc.errno
    if code is None:
        m = _ERRNO_IN_TEXT.search(str(exc))
        code = int(m.group(1)) if m else None
    if code in _DISK_ERRNOS:
        return _DISK_ERRNOS[code]
    text = str(exc).lower()
    if "no space left" in text:
        return _DISK_ERRNOS[errno.ENOSPC]
    if "read-only file system" in text:
        return _DISK_ERRNOS[errno.EROFS]
    return None


def check_writable_dir(target: Path) -> None:
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise EmbryoError(f"folder {folder} does not exist", target)
    if not folder.is_dir():
        raise EmbryoError(f"{folder} is not a folder", target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EmbryoError(f"cannot write: folder {folder} is read-only", target)


def real_target(target: "str | os.PathLike[str]") -> Path:
    """The file a save really replaces: ``target`` itself, or where its symlink (chain) points."""
    t = Path(target)
    return Path(os.path.realpath(t)) if t.is_symlink() else t


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def new_temp(real: Path, user_target: Path) -> Path:
    """Create an empty temp file beside ``real`` (registered as live in this process)."""
    folder = real.parent if str(real.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise EmbryoError(_cannot_write(exc, folder), user_target) from None
    os.close(fd)
    with _live_guard:
        _live.add(os.path.abspath(name))
    return Path(name)


def forget_temp(tmp: Path, remove: bool = True) -> None:
    if remove:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    with _live_guard:
        _live.discard(os.path.abspath(tmp))


def is_live_temp(path: Path) -> bool:
    with _live_guard:
        return os.path.abspath(path) in _live


def _cannot_write(exc: OSError, folder: Path) -> str:
    why = disk_problem(exc)
    if why:
        return f"cannot write in {folder}: {why}"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"cannot write in {folder}: the folder cannot hold files"
    return f"cannot write in {folder} ({exc.strerror or exc})"


def prepare_replace(tmp: Path, real: Path) -> None:
    """fsync ``tmp`` and give it the mode (and, where allowed, the owner) of ``real``."""
    fsync_path(tmp)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        os.chmod(tmp, _default_mode())
        return
    os.chmod(tmp, st.st_mode & 0o7777)
    if hasattr(os, "chown"):
        with contextlib.suppress(OSError):
            os.chown(tmp, st.st_uid, st.st_gid)


def keep_backup(real: Path) -> None:
    """Keep ``real`` as ``real.bak`` (hard link, so no moment exists without a complete file; a
    copy where hard links are not supported)."""
    if not real.exists():
        return
    bak = real.with_name(real.name + ".bak")
    bak_tmp = real.with_name(f".{real.name}.bak{TEMP_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(bak_tmp)
    try:
        try:
            os.link(real, bak_tmp)
        except OSError as exc:  # no hard links (FAT / exFAT drives, some network shares): copy
            if disk_problem(exc) and exc.errno not in (errno.EPERM,):
                raise
            with contextlib.suppress(FileNotFoundError):
                os.unlink(bak_tmp)
            shutil.copyfile(real, bak_tmp)
        os.replace(bak_tmp, bak)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(bak_tmp)
        raise


@contextlib.contextmanager
def atomic_target(target: "str | os.PathLike[str]", backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success fsync it and move it over ``target``.

    With ``backup=True`` the previous file is kept as ``target + '.bak'``.  On any exception the temp
    file is removed and ``target`` is left untouched; a full / read-only disk is an
    :class:`EmbryoError` naming ``target``.
    """
    target = Path(target)
    real = real_target(target)
    check_writable_dir(real)
    tmp = new_temp(real, target)
    try:
        try:
            yield tmp
            prepare_replace(tmp, real)
            if backup:
                keep_backup(real)
            os.replace(tmp, real)
        except OSError as exc:
            why = disk_problem(exc)
            if why:
                raise EmbryoError(f"cannot write: {why}; the previous file is unchanged", target) from None
            raise
        fsync_dir(real.parent if str(real.parent) else Path("."))
    finally:
        forget_temp(tmp, remove=True)


def stale_temps(folder: Path, prefix: str = ".") -> list[Path]:
    """Temp files in ``folder`` named like ours (``PREFIX*.tmp``) that this process is not writing."""
    out = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for ent in entries:
        name = ent.name
        if name.startswith(prefix) and name.startswith(".") and name.endswith(TEMP_SUFFIX):
            p = Path(folder) / name
            if not is_live_temp(p):
                with contextlib.suppress(OSError):
                    if ent.is_file(follow_symlinks=False):
                        out.append(p)
    return sorted(out)


# --- several files as one unit -------------------------------------------------------------------
JOURNAL_SUFFIX = ".commit"


def journal_path(first_target: "str | os.PathLike[str]") -> Path:
    """The commit journal of a group whose first file is ``first_target``: ``.NAME.commit`` beside it."""
    real = real_target(first_target)
    return real.with_name(f".{real.name}{JOURNAL_SUFFIX}")


def _write_journal(journal: Path, pairs: list[tuple[Path, Path]]) -> None:
    import json
    tmp = journal.with_name(journal.name + TEMP_SUFFIX)
    with open(tmp, "w") as fh:
        json.dump({"replace": [[str(a), str(b)] for a, b in pairs]}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal)
    fsync_dir(journal.parent)


def _roll_forward(journal: Path, pairs=None) -> list[str]:
    """Finish the replacements a journal lists (a temp still there is moved over its target; one
    already gone was moved before the interruption), then delete the journal."""
    import json
    if pairs is None:
        try:
            pairs = json.loads(journal.read_text())["replace"]
        except (OSError, ValueError, KeyError, TypeError):
            pairs = []  # a journal is written whole (temp + rename): unreadable means not ours
    pairs = [(str(a), str(b)) for a, b in pairs]
    done = []
    for tmp, real in pairs:
        if os.path.exists(tmp):
            os.replace(tmp, real)
            done.append(real)
    for folder in {Path(r).parent for _, r in pairs}:
        fsync_dir(folder)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal)
    return done


def recover_group(first_target: "str | os.PathLike[str]") -> list[str]:
    """Complete a group commit that a killed process left half done (rolled forward: every temp a
    journal names was complete and fsynced before the journal was written).  Without a journal there
    is nothing to do: the old files are all still in place and the new temps are stale debris.
    Returns the files completed.  Call it under the group's lock."""
    journal = journal_path(first_target)
    if not journal.exists():
        return []
    return _roll_forward(journal)


@contextlib.contextmanager
def atomic_group(targets) -> Iterator[list[Path]]:
    """Like :func:`atomic_target` for several files that must change together (an export's ``.h5``
    and ``.csv``): yields one temp per target; on success all replace their targets, or none does.

    Commit: every temp is fsynced, a journal naming the replacements is written atomically, the
    replacements are made, the journal is deleted.  A kill before the journal exists leaves every
    target as it was (the temps are debris for :func:`stale_temps`); a kill after it is rolled
    forward by :func:`recover_group`.  Symlinked targets are written through, modes kept.
    """
    targets = [Path(t) for t in targets]
    reals = [real_target(t) for t in targets]
    for r in reals:
        check_writable_dir(r)
    tmps: list[Path] = []
    journal = journal_path(targets[0])
    keep_temps = False
    try:
        try:
            for r, t in zip(reals, targets):
                tmps.append(new_temp(r, t))
            yield tmps
            for tmp, real in zip(tmps, reals):
                prepare_replace(tmp, real)
            if len(tmps) == 1:
                os.replace(tmps[0], reals[0])
                fsync_dir(reals[0].parent)
            else:
                _write_journal(journal, list(zip(tmps, reals)))
                keep_temps = True  # from here on the journal owns them
                _roll_forward(journal, list(zip(tmps, reals)))
                keep_temps = False
        except OSError as exc:
            why = disk_problem(exc)
            if why and not keep_temps:
                raise EmbryoError(f"cannot write: {why}; the previous files are unchanged", targets[0]) from None
            raise
    finally:
        for tmp in tmps:
            forget_temp(tmp, remove=not keep_temps)


#: Free space kept in reserve when writing large files: HDF5 must still be able to flush and close a
#: file after we stop writing (a write that HDF5 itself sees fail with ENOSPC leaves the library
#: with a file it cannot close, and the process can crash at exit).
SPACE_RESERVE = 256 * 1024


def ensure_space(path: "str | os.PathLike[str]", need: int, target=None) -> None:
    """Refuse (one-line :class:`EmbryoError`) before writing ``need`` more bytes into ``path``'s
    disk when they and :data:`SPACE_RESERVE` would not fit."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return
    free = st.f_bavail * st.f_frsize
    if free < int(need) + SPACE_RESERVE:
        raise EmbryoError(f"cannot write: no space left on the disk ({free / (1 << 20):.1f} MB free in {folder}); "
                          "nothing was written", target if target is not None else path)
