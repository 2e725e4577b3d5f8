"""Build a batch's outputs from the summaries its tasks left: ``cleaned_dataset.h5`` (every usable
embryo, written by the export workflow, same layout as ``embryo-repair export``), ``report.json`` and
``report.html``.  The Dask run and ``batch-merge`` (after ``--task-index`` runs) both end here."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from pathlib import Path
from typing import Optional, Sequence

from ..errors import EmbryoError
from .discover import EmbryoJob, discover
from .settings import BatchSettings
from .task import read_summary, task_paths, write_json_atomic

REPORT_FORMAT = "embryo-gui-batch-report"
REPORT_VERSION = 1
DATASET_NAME = "cleaned_dataset.h5"


class _Batch:
    """The usable embryos of a batch seen as one project, for the export workflow (never saved).
    Its path is the projects folder, which the export records as its source."""

    def __init__(self, projects_dir: Path, projects: list):
        self.path = projects_dir
        self.frames_dir = projects_dir
        self._projects = projects
        self.embryos = [e for p in projects for e in p.embryos]

    def close(self) -> None:
        for p in self._projects:
            p.close()


def collect_rows(out_dir, jobs: Optional[Sequence[EmbryoJob]] = None) -> tuple[list[dict], dict]:
    """The summary of every embryo of the batch, in batch order, and what is known of the batch
    (input folder, manifest, settings).  Embryos of the set without a summary get a ``missing`` row:
    the set is ``jobs`` or, when not given, found again from the input folder the summaries name."""
    out_dir = Path(out_dir)
    sdir = out_dir / "summaries"
    rows = {}
    if sdir.is_dir():
        for p in sorted(sdir.glob("*.json")):
            d = read_summary(p)
            if d and d.get("name") == p.stem:
                rows[p.stem] = d
    if not rows and jobs is None:
        raise EmbryoError("holds no batch results (no summaries/*.json); run `embryo-repair batch` first", out_dir)
    meta = {"input_dir": None, "manifest": None, "settings": None, "notes": []}
    for d in rows.values():
        for k in ("input_dir", "manifest", "settings"):
            if meta[k] is None and d.get(k) is not None:
                meta[k] = d[k]
    if jobs is None and meta["input_dir"]:
        try:
            jobs = discover(meta["input_dir"], meta["manifest"], exclude=[out_dir])
        except EmbryoError as exc:
            meta["notes"].append(f"could not list the batch's embryos again ({exc}); the report holds the "
                                 "embryos that left a summary")
    if jobs is None:
        ordered = sorted(rows.values(), key=lambda d: (d.get("index") is None, d.get("index") or 0, d["name"]))
        return ordered, meta
    out = []
    for i, j in enumerate(jobs):
        d = rows.get(j.name)
        if d is None:
            d = {"name": j.name, "index": i, "movie": j.movie, "annotations": j.annotations, "status": "missing",
                 "state": "missing", "error": "not run yet (no summary); run its task or the batch again"}
        out.append(d)
    stale = sorted(set(rows) - {j.name for j in jobs})
    if stale:
        meta["notes"].append(f"{len(stale)} summaries of embryos no longer in the input were left out: "
                             + ", ".join(stale[:10]) + (" ..." if len(stale) > 10 else ""))
    return out, meta


def merge(out_dir, jobs: Optional[Sequence[EmbryoJob]] = None, settings: Optional[BatchSettings] = None,
          progress=None) -> dict:
    """Write ``cleaned_dataset.h5``, ``report.json`` and ``report.html`` into ``out_dir``; returns the report."""
    from ..model import Project
    from . import workflows as wf
    from .report import render_html

    out_dir = Path(out_dir).absolute()
    rows, meta = collect_rows(out_dir, jobs)
    if settings is None:
        settings = BatchSettings.from_dict(meta["settings"] or {})
    usable = [r for r in rows if r.get("status") == "ok" and r.get("state") != "unusable" and r.get("kept")]
    dataset: dict = {"path": DATASET_NAME, "embryos": [r["name"] for r in usable]}
    target = out_dir / DATASET_NAME
    projects = []
    try:
        for r in usable:
            projects.append(Project.open(task_paths(out_dir, r["name"])["project"]))
        if not projects:
            raise EmbryoError("no usable embryo to merge (every embryo failed, is unusable or kept no frame)",
                              out_dir)
        batch = _Batch(out_dir / "projects", projects)
        rep = wf.export_dataset(batch, target, size=settings.size, gray=settings.gray, progress=progress,
                                overwrite=True)  # the batch's own output, rebuilt from its projects
        dataset.update({"n_frames": rep["n_frames"], "kept": rep["kept"], "dropped": rep["dropped"],
                        "message": rep["message"].replace(str(target), DATASET_NAME), "error": None})
    except EmbryoError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)  # never leave a dataset that does not match the report
        dataset.update({"path": None, "n_frames": 0, "error": str(exc)})
    finally:
        for p in projects:
            p.close()
    totals: dict[str, int] = {"embryos": len(rows)}
    for r in rows:
        totals[r.get("state") or "failed"] = totals.get(r.get("state") or "failed", 0) + 1
    totals["frames_kept"] = int(dataset.get("n_frames") or 0)
    report = {
        "format": REPORT_FORMAT, "format_version": REPORT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "out_dir": str(out_dir), "input_dir": meta["input_dir"], "manifest": meta["manifest"],
        "settings": settings.to_dict(), "totals": totals, "dataset": dataset, "notes": meta["notes"],
        "embryos": rows,
    }
    write_json_atomic(out_dir / "report.json", report)
    from ..model.atomic import atomic_target
    with atomic_target(out_dir / "report.html") as tmp:
        tmp.write_text(render_html(report), encoding="utf-8")
    return report
