"""Autosave / crash recovery files (no Qt).

While a project has unsaved changes the window writes ``project.save_copy(recovery_file)`` every
minute.  A recovery file sits next to a small JSON note naming the project it belongs to; a clean
save or close deletes both, so any pair found at start-up is left over from a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


def recovery_file(recovery_dir: Path, project_path: Path) -> Path:
    key = hashlib.sha1(str(Path(project_path).resolve()).encode()).hexdigest()[:16]
    return Path(recovery_dir) / f"recovery-{key}.h5"


def _note(path: Path) -> Path:
    return path.with_suffix(".json")


def write(project, recovery_dir: Path) -> Path:
    """Save a copy of ``project`` into ``recovery_dir``; returns the file written."""
    recovery_dir = Path(recovery_dir)
    recovery_dir.mkdir(parents=True, exist_ok=True)
    target = recovery_file(recovery_dir, project.path)
    project.save_copy(target)
    _note(target).write_text(json.dumps({"project": str(Path(project.path).resolve()), "time": time.time()}))
    return target


def discard(recovery_dir: Path, project_path: Path) -> None:
    target = recovery_file(recovery_dir, project_path)
    for p in (target, _note(target)):
        try:
            os.unlink(p)
        except OSError:
            pass


def pending(recovery_dir: Path) -> list[dict]:
    """Recovery files left behind: ``[{"recovery": Path, "project": str, "time": float}]``, newest first."""
    out = []
    d = Path(recovery_dir)
    if not d.is_dir():
        return out
    for note in d.glob("recovery-*.json"):
        h5 = note.with_suffix(".h5")
        if not h5.exists():
            continue
        try:
            meta = json.loads(note.read_text())
        except (OSError, ValueError):
            continue
        out.append({"recovery": h5, "project": str(meta.get("project", "")), "time": float(meta.get("time", 0))})
    out.sort(key=lambda m: -m["time"])
    return out


def restore(entry: dict):
    """Open a recovery file as the project it belongs to (its path set back to the original)."""
    from ..model import Project
    p = Project.open(entry["recovery"])
    p.path = Path(entry["project"])
    return p
