"""Atomic file replacement: write a temp file next to the target, fsync, ``os.replace``."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import EmbryoError


def check_writable_dir(target: Path) -> None:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise EmbryoError(f"folder {folder} does not exist", target)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise EmbryoError(f"cannot write: folder {folder} is read-only", target)


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


@contextlib.contextmanager
def atomic_target(target: "str | os.PathLike[str]", backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success fsync it and move it over ``target``.

    With ``backup=True`` the previous file is kept as ``target + '.bak'`` (hard link, so no moment
    exists without a complete ``target``; a copy where hard links are not supported).  On any exception the temp file is removed and ``target``
    is left untouched.
    """
    target = Path(target)
    check_writable_dir(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        fsync_path(tmp)
        if backup and target.exists():
            bak = target.with_name(target.name + ".bak")
            bak_tmp = target.with_name(f".{target.name}.bak.tmp")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(bak_tmp)
            try:
                os.link(target, bak_tmp)
            except OSError:  # no hard links (FAT / exFAT drives, some network shares): copy
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(bak_tmp)
                shutil.copyfile(target, bak_tmp)
            os.replace(bak_tmp, bak)
        os.replace(tmp, target)
        fsync_dir(target.parent if str(target.parent) else Path("."))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
