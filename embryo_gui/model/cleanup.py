"""Removal of what a killed writer leaves behind (run by the lock holder only).

A writer killed in the middle of a save, an import or an export can leave two kinds of debris:

- temp files (``.NAME.XXXXXXXX.tmp``, ``.NAME.bak.tmp``) beside the project file and in its frames
  folder (a frame file is written as a temp and renamed when complete);
- complete frame files (``UID.h5``, 12 hex digits) that no project file refers to: the import was
  killed after the frame file was renamed but before the project file was saved.

Only the holder of the project's write lock (``model/lock.py``) cleans, so no live writer of this
project can own those files.  A frame file is kept while anything may still need it: the project
itself (on disk and in memory, in every :class:`Project` of this process), its ``.bak``, any other
project file in its folder that uses the same frames folder (a copied project file), and every
autosave / recovery copy that still exists (``save_copy`` leaves a small note in
``FRAMES/.copies/``).  Other files in the frames folder are never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import real_target, stale_temps

FRAME_FILE = re.compile(r"^[0-9a-f]{12}\.h5$")
COPIES_DIR = ".copies"

_live_projects: "weakref.WeakSet" = weakref.WeakSet()


@dataclass
class CleanupReport:
    """Files a cleanup removed (absolute paths) and their total size."""

    removed: list[str] = field(default_factory=list)
    bytes: int = 0

    def __bool__(self) -> bool:
        return bool(self.removed)

    def message(self, limit: int = 3) -> str:
        """One line, e.g. ``removed 2 files left by an interrupted writer (23.1 MB): a, b``; '' if none."""
        if not self.removed:
            return ""
        names = ", ".join(self.removed[:limit]) + (f" and {len(self.removed) - limit} more"
                                                    if len(self.removed) > limit else "")
        n = len(self.removed)
        return (f"removed {n} file{'s' if n != 1 else ''} left by an interrupted writer "
                f"({_size(self.bytes)}): {names}")


def _size(b: int) -> str:
    if b >= 1 << 20:
        return f"{b / (1 << 20):.1f} MB"
    if b >= 1 << 10:
        return f"{b / (1 << 10):.1f} KB"
    return f"{b} bytes"


def register_live(project) -> None:
    _live_projects.add(project)


def unregister_live(project) -> None:
    _live_projects.discard(project)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def frame_files_used(path: Path, frames_dir: Path) -> set[str]:
    """Frame file names a project file refers to in ``frames_dir`` (empty for anything else)."""
    import h5py

    from ..jsoncodec import loads
    from .format import FORMAT_NAME
    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format", "")
            fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
            if fmt != FORMAT_NAME:
                return set()
            rel = f.attrs.get("frames_dir", Path(path).stem + ".frames")
            rel = rel.decode() if isinstance(rel, bytes) else str(rel)
            own = Path(os.path.realpath(path)).parent / rel
            if not _same(own, frames_dir):
                return set()
            return {str(m["frames_file"]) for m in loads(f["embryos"][()])}
    except Exception:
        return set()


def _pin_path(frames_dir: Path, copy: Path) -> Path:
    key = hashlib.sha1(os.path.abspath(copy).encode()).hexdigest()[:16]
    return Path(frames_dir) / COPIES_DIR / f"{key}.json"


def write_copy_pin(project, copy: Path) -> None:
    """Note in the frames folder that ``copy`` (an autosave / recovery copy) refers to these frames."""
    frames_dir = Path(project.frames_dir)
    if not frames_dir.is_dir() or not project.embryos:
        return
    pin = _pin_path(frames_dir, copy)
    try:
        pin.parent.mkdir(exist_ok=True)
        tmp = pin.with_name(pin.name + ".part")
        tmp.write_text(json.dumps({"copy": os.path.abspath(copy),
                                   "frames": sorted({e.frames.path.name for e in project.embryos})}))
        os.replace(tmp, pin)
    except OSError:
        pass  # best effort: a missing note only makes cleanup less forgiving of that copy


def _pinned(frames_dir: Path, removed: list[Path]) -> set[str]:
    keep: set[str] = set()
    d = Path(frames_dir) / COPIES_DIR
    if not d.is_dir():
        return keep
    for pin in d.iterdir():
        if pin.name.endswith(".part"):
            removed.append(pin)
            continue
        try:
            meta = json.loads(pin.read_text())
            copy = Path(meta["copy"])
            frames = {str(x) for x in meta["frames"]}
        except (OSError, ValueError, KeyError, TypeError):
            removed.append(pin)
            continue
        if copy.exists():
            keep |= frames
        else:
            removed.append(pin)
    return keep


def cleanup_project(project) -> "CleanupReport":
    """Remove the debris of killed writers of ``project`` (the caller holds its write lock)."""
    real = real_target(project.path)
    doomed: list[Path] = list(stale_temps(real.parent, prefix=f".{real.name}."))
    frames_dir = Path(project.frames_dir)
    if frames_dir.is_dir():
        doomed += stale_temps(frames_dir)
        keep = _pinned(frames_dir, doomed)
        for p in list(_live_projects):
            if _same(p.frames_dir, frames_dir):
                keep |= {e.frames.path.name for e in p.embryos} | set(p._pending_frames)
        others = {real.with_name(real.name + ".bak"), *real.parent.glob("*.h5"), *real.parent.glob("*.hdf5")}
        for other in others:
            if not _same(other, real) and FRAME_FILE.match(other.name) is None:
                keep |= frame_files_used(other, frames_dir)
        try:
            entries = sorted(os.scandir(frames_dir), key=lambda e: e.name)
        except OSError:
            entries = []
        for ent in entries:
            if FRAME_FILE.match(ent.name) and ent.name not in keep and ent.is_file(follow_symlinks=False):
                doomed.append(frames_dir / ent.name)
    report = CleanupReport()
    for path in doomed:
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            continue
        report.removed.append(str(path))
        report.bytes += size
    with contextlib.suppress(AttributeError):
        project._removed_frames -= {Path(x).name for x in report.removed}
    return report
