"""One batch task: one embryo through import -> detect + auto-clean (-> train) -> export.

A task writes only its own files, each atomically (docs/BATCH.md):

- the project ``projects/<name>.h5`` and its frames folder ``projects/<name>.frames/`` are built in a
  private staging folder and moved into place only when complete;
- the per-embryo dataset ``exports/<name>.h5`` is written by the export workflow (temp file + rename);
- the summary ``summaries/<name>.json`` is written last: it is the mark that the embryo is done, and it
  records the fingerprint of the inputs (path, size, modification time) and of the settings.

A rerun skips an embryo whose summary has the same fingerprint and whose outputs are newer than its
inputs.  A task never raises for a bad embryo: it returns (and writes) a summary with ``status``
``"failed"`` and the one-line ``error``.  What it returns is small JSON (no frames): the row of the
report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import CancelledError, EmbryoError
from ..jsoncodec import plain
from .discover import EmbryoJob
from .settings import BatchSettings, fingerprint

SUMMARY_VERSION = 1
CURVE_POINTS = 400  # a thumbnail curve keeps at most this many points


# --- where a task's files go ------------------------------------------------------------------
def task_paths(out_dir, name: str) -> dict[str, Path]:
    out = Path(out_dir)
    return {"project": out / "projects" / f"{name}.h5", "frames": out / "projects" / f"{name}.frames",
            "export": out / "exports" / f"{name}.h5", "summary": out / "summaries" / f"{name}.json",
            "log": out / "summaries" / f"{name}.log"}


def _stat(path: Optional[str]) -> Optional[dict]:
    """Size and newest modification time of a file (of a folder: of the files in it)."""
    if not path:
        return None
    p = Path(path)
    try:
        if p.is_dir():
            files = [q for q in p.iterdir() if q.is_file()]
            return {"path": str(p), "size": sum(q.stat().st_size for q in files),
                    "mtime_ns": max([q.stat().st_mtime_ns for q in files] + [p.stat().st_mtime_ns]),
                    "files": len(files)}
        st = p.stat()
        return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        return {"path": str(p), "missing": True}


def task_fingerprint(job: EmbryoJob, settings: BatchSettings) -> dict:
    inputs = {"movie": _stat(job.movie), "annotations": _stat(job.annotations)}
    return {"key": fingerprint({"job": job.to_dict(), "inputs": inputs, "settings": settings.fingerprint()}),
            "settings": settings.fingerprint(), "inputs": inputs}


def read_summary(path: Path) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
        return d if isinstance(d, dict) else None
    except (OSError, ValueError):
        return None


def current_summary(out_dir, job: EmbryoJob, settings: BatchSettings) -> Optional[dict]:
    """The stored summary when this embryo is done with these inputs and settings, else None:
    same fingerprint, status ok, and every output present and newer than every input."""
    paths = task_paths(out_dir, job.name)
    old = read_summary(paths["summary"])
    if not old or old.get("status") != "ok":
        return None
    fp = task_fingerprint(job, settings)
    if old.get("fingerprint", {}).get("key") != fp["key"]:
        return None
    outs = [paths["project"], paths["summary"]] + ([paths["export"]] if old.get("export") else [])
    try:
        oldest_out = min(p.stat().st_mtime_ns for p in outs)
    except OSError:
        return None
    if not paths["frames"].is_dir():
        return None
    newest_in = max((s.get("mtime_ns", 0) for s in fp["inputs"].values() if s), default=0)
    return old if oldest_out >= newest_in else None


# --- the task ---------------------------------------------------------------------------------
def run_task(job, out_dir, settings=None, index: Optional[int] = None, n_jobs: Optional[int] = None,
             input_dir=None, progress: Optional[Callable[[dict], None]] = None, force: bool = False,
             manifest=None) -> dict:
    """Process one embryo (``job``: :class:`EmbryoJob` or its dict) into ``out_dir``; returns its
    summary (also written to ``summaries/<name>.json``).  Never raises for a bad embryo."""
    job = job if isinstance(job, EmbryoJob) else EmbryoJob.from_dict(job)
    settings = settings if isinstance(settings, BatchSettings) else BatchSettings.from_dict(settings or {})
    out_dir = Path(out_dir).absolute()
    t0 = time.perf_counter()
    if not force:
        old = current_summary(out_dir, job, settings)
        if old is not None:
            old = dict(old)
            old.update(skipped=True, index=index, n_jobs=n_jobs)  # the set may have grown since
            if progress is not None:
                progress({"embryo": job.name, "stage": "skipped", "done": 1, "total": 1})
            return old
    base = {"summary_version": SUMMARY_VERSION, "name": job.name, "index": index, "n_jobs": n_jobs,
            "input_dir": str(Path(input_dir).absolute()) if input_dir is not None else None,
            "manifest": str(Path(manifest).absolute()) if manifest is not None else None,
            "settings": settings.to_dict(), "movie": job.movie, "annotations": job.annotations, "time_offset": job.time_offset,
            "frames_per_timepoint": job.frames_per_timepoint, "host": socket.gethostname(), "pid": os.getpid(),
            "skipped": False}
    paths = task_paths(out_dir, job.name)
    timings: dict[str, float] = {}
    try:
        fp = task_fingerprint(job, settings)
        for key in ("project", "export", "summary"):
            paths[key].parent.mkdir(parents=True, exist_ok=True)
        # a stale summary goes first: from here until the new one is written the embryo is "not done"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(paths["summary"])
        with contextlib.suppress(FileNotFoundError):
            os.unlink(paths["log"])
        row = _process(job, settings, paths, timings, progress)
        row.update(base)
        row.update({"status": "ok", "error": None, "fingerprint": fp})
    except (Exception, CancelledError) as exc:  # a bad embryo never stops the batch
        row = dict(base)
        row.update({"status": "failed", "state": "failed", "error": one_line(exc),
                    "fingerprint": None})
        if not isinstance(exc, EmbryoError):
            with contextlib.suppress(OSError):
                paths["log"].parent.mkdir(parents=True, exist_ok=True)
                paths["log"].write_text(traceback.format_exc())
                row["log"] = os.path.relpath(paths["log"], out_dir)
    timings["total"] = time.perf_counter() - t0
    row["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    row["peak_rss_mb"] = peak_rss_mb()
    with contextlib.suppress(OSError):
        write_json_atomic(paths["summary"], row)
    if progress is not None:
        progress({"embryo": job.name, "stage": row["status"], "done": 1, "total": 1})
    return row


def _process(job: EmbryoJob, settings: BatchSettings, paths: dict, timings: dict, progress) -> dict:
    from ..model import Project
    from . import workflows as wf

    def prog(stage):
        if progress is None:
            return None
        return lambda info: progress({**info, "embryo": job.name, "stage": stage})

    proj_dir = paths["project"].parent
    staging = proj_dir / f".staging-{job.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        t = time.perf_counter()
        project = Project(staging / paths["project"].name)
        try:
            embryo, messages = wf.import_embryo(project, job.movie, job.annotations, job.name, job.time_offset,
                                                job.frames_per_timepoint, progress=prog("import"),
                                                frame_codec=settings.frame_codec)
            timings["import"] = time.perf_counter() - t
            t = time.perf_counter()
            (clean,) = wf.autoclean_project(project, progress=prog("autoclean"))
            timings["autoclean"] = time.perf_counter() - t
            if settings.train:
                t = time.perf_counter()
                wf.train_and_apply(project, settings.train_settings(), progress=prog("train"))
                timings["train"] = time.perf_counter() - t
            project.save()
        finally:
            project.close()
        _commit(staging, paths)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # the export (and everything read from here on) refers to the project at its final place
    t = time.perf_counter()
    project = Project.open(paths["project"])
    try:
        embryo = project.embryos[0]
        kept, dropped = wf.kept_frames(embryo)
        export = None
        if len(kept):
            rep = wf.export_dataset(project, paths["export"], size=settings.size, gray=settings.gray,
                                    progress=prog("export"), overwrite=True)  # this task's own output
            export = {"path": os.path.relpath(paths["export"], paths["summary"].parent.parent),
                      "n_frames": int(rep["n_frames"])}
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(paths["export"])
        timings["export"] = time.perf_counter() - t
        row = embryo_row(embryo, clean, messages, kept, dropped)
    finally:
        project.close()
    out = paths["summary"].parent.parent
    row["project"] = os.path.relpath(paths["project"], out)
    row["export"] = export
    return row


def _commit(staging: Path, paths: dict) -> None:
    """Move the finished project and frames folder from staging into place (old ones out first)."""
    new_h5, new_frames = staging / paths["project"].name, staging / paths["frames"].name
    trash = staging / ".old"
    trash.mkdir()
    for key in ("project", "frames"):
        if paths[key].exists():
            os.replace(paths[key], trash / paths[key].name)
    bak = paths["project"].with_name(paths["project"].name + ".bak")
    if bak.exists():
        os.replace(bak, trash / bak.name)
    os.replace(new_frames, paths["frames"])
    os.replace(new_h5, paths["project"])


def embryo_row(embryo, clean: dict, messages: list[str], kept: np.ndarray, dropped: dict) -> dict:
    """The report row of one processed embryo (small JSON)."""
    from ..policy import PROBLEM_KINDS
    from . import workflows as wf
    det = wf.detection_summary(embryo)
    flags = embryo.flags
    excluded = flags.mask("excluded")
    by_reason = {k[len("excluded_"):]: v for k, v in dropped.items() if k.startswith("excluded_")}
    by_reason["spike"] = int((excluded & flags.mask("spike")).sum())
    other = excluded & ~flags.any_of(PROBLEM_KINDS)
    by_reason["other"] = int(other.sum())
    trained = bool(embryo.training)
    al = embryo.alignment or {}
    return {
        "state": embryo.state(),
        "n_frames": int(embryo.n_frames),
        "frame_shape": list(embryo.frame_shape),
        "annotated_frames": int(np.isfinite(embryo.current[:, -1]).sum()),
        "lineages": embryo.lineages,
        "kept": int(len(kept)),
        "dropped": dropped,
        "excluded_by_reason": by_reason,
        "corrupt_frames": det["corrupt_frames"],
        "corrupt_reasons": det["reasons"],
        "cliffs": [{**c, "repair": r.get("repair")} for c, r in
                   zip(det["cliffs"], embryo.detections.get("cliffs") or [])],
        "spikes": det["spikes"],
        "spikes_repaired": int(clean.get("spikes_repaired", 0)),
        "cliffs_repaired": int(clean.get("cliffs_repaired", 0)),
        "cliffs_left_for_review": int(clean.get("cliffs_left_for_review", 0)),
        "lost_fraction": clean.get("lost_fraction"),
        "lossy": np.flatnonzero(flags.mask("lossy")).tolist() if trained else None,
        "alignment": {"message": al.get("message", ""), "lengths_agree": al.get("lengths_agree"),
                      "offset": al.get("offset"), "frames_per_timepoint": al.get("frames_per_timepoint"),
                      "annotated_frames": al.get("annotated_frames"),
                      "dropped_timepoints": al.get("dropped_timepoints")},
        # the alignment message has its own column
        "notes": [m for m in messages if not (al.get("message") and m.endswith(al["message"]))]
        + list(clean.get("notes") or []),
        "curve": curve(embryo),
    }


def curve(embryo) -> dict:
    """Population before and after cleaning plus the excluded frames, thinned for a thumbnail
    (bins of min and max, so a one-frame drop still shows)."""
    orig, cur = embryo.original[:, -1], embryo.current[:, -1]
    exc = embryo.flags.mask("excluded")
    n = len(orig)
    if n <= CURVE_POINTS:
        x = np.arange(n)
        o, c, e = orig, cur, exc
    else:
        bins = np.array_split(np.arange(n), CURVE_POINTS // 2)
        x, o, c, e = [], [], [], []
        for b in bins:
            for arr, out in ((orig, o), (cur, c)):
                v = arr[b]
                fin = v[np.isfinite(v)]
                out.extend([float(fin.min()), float(fin.max())] if fin.size else [np.nan, np.nan])
            x.extend([int(b[0]), int(b[-1])])
            e.extend([bool(exc[b].any())] * 2)
        x, o, c, e = map(np.asarray, (x, o, c, e))
    r = lambda a: [None if not np.isfinite(v) else round(float(v), 2) for v in a]  # noqa: E731
    return {"n": n, "x": np.asarray(x).tolist(), "original": r(o), "current": r(c),
            "excluded": np.asarray(e, bool).astype(int).tolist()}


# --- helpers ----------------------------------------------------------------------------------
def one_line(exc: BaseException) -> str:
    if isinstance(exc, EmbryoError):
        return str(exc)
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def peak_rss_mb() -> Optional[float]:
    try:
        import resource
    except ImportError:  # Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024, 1)


def jsonable(o):
    return plain(o, strict=False)


def write_json_atomic(path: Path, obj) -> None:
    from ..model.atomic import atomic_target
    with atomic_target(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(jsonable(obj), fh, indent=1, allow_nan=False)
