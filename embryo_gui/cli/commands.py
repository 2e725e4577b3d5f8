"""Implementations of the ``embryo-repair`` sub-commands (each imports only what it needs).

Each command is a thin face over the application layer: it opens a
:class:`~embryo_gui.app.session.Session`, runs the workflow's Job through it (compute on the
session's thread pool, apply on this thread) and prints the outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import EmbryoError
from ..jsoncodec import plain
from .progressbar import progress_bar


def _print_json(obj) -> None:
    """Print ``obj`` as strict JSON: numpy values converted, NaN and infinities written as null."""
    sys.stdout.write(json.dumps(plain(obj), indent=1, allow_nan=False) + "\n")


def _open(path, write: bool = False):
    """Open a project; a writer takes its lock (waiting a few seconds for another writer, then a
    one-line error naming it) and reports what a crashed writer left and was removed."""
    from ..model import Project
    project = Project.open(path, write=write)
    _report_cleanup(project.cleaned)
    return project


def _report_cleanup(report) -> None:
    if report:
        print(f"embryo-repair: {report.message()}", file=sys.stderr)


@contextlib.contextmanager
def _session(project=None, write: bool = False):
    """A Session holding ``project`` (a path or a Project), closed however the command ends (which
    gives a writer's lock back).  ``write``: open the path for writing (see :func:`_open`)."""
    from ..app.session import Session
    s = Session()
    try:
        if project is not None:
            s.set_project(_open(project, write) if isinstance(project, (str, Path)) else project)
        yield s
    finally:
        s.close()


def _save(session) -> None:
    session.save()
    _report_cleanup(session.project.cleaned)


def _run(session, job, label: str):
    """Run ``job`` through the session with a progress bar; returns its outcome."""
    with progress_bar(label) as bar:
        slot = session.events.job_progress.connect(lambda ev: bar(ev.info or {}))
        try:
            return session.run_job(job)
        finally:
            session.events.job_progress.disconnect(slot)


def cmd_demo(args) -> int:
    from ..demo import write_demo_project
    out = Path(args.out)
    if out.exists():
        raise EmbryoError("file already exists; choose another name or delete it", out)
    shape = (512, 752, 3) if args.size is None else (args.size[1], args.size[0], 3)
    with progress_bar("demo") as bar:
        project = write_demo_project(out, n_embryos=args.embryos, n_frames=args.frames, seed=args.seed,
                                     frame_shape=shape, progress=bar)
    print(f"wrote {out}: {len(project.embryos)} demo embryos x {args.frames} frames "
          f"({shape[1]}x{shape[0]}), seed {args.seed}")
    return 0


def cmd_import(args) -> int:
    from ..model import Project
    from ..app.importing import project_frame_codec, stored_frame_codec

    path = Path(args.project)
    new = not os.path.lexists(path)
    if new:
        project = Project.new(path)  # nothing written before save; the lock is taken at once
        project.hold()
    else:
        project = _open(path, write=True)
    frames_dir_existed = project.frames_dir.exists()
    try:
        with _session(project) as s:
            embryo, messages = _run(s, s.import_job(args.source, args.annotations, name=args.name,
                                                    time_offset=args.time_offset,
                                                    frames_per_timepoint=args.frames_per_timepoint,
                                                    frame_base=args.frame_base,
                                                    frame_codec=args.frame_codec or project_frame_codec(project)),
                                    "import")
            _save(s)
    except BaseException:
        if new and not frames_dir_existed and project.frames_dir.exists():
            with contextlib.suppress(OSError):
                project.frames_dir.rmdir()
        project.close()
        raise
    ann = int(np.isfinite(embryo.original[:, -1]).sum())
    if getattr(args, "json", False):
        _print_json({"project": str(path), "created": new, "name": embryo.name, "n_frames": embryo.n_frames,
                     "frame_shape": list(embryo.frame_shape), "annotated_frames": ann,
                     "frame_codec": stored_frame_codec(embryo),
                     "alignment": embryo.alignment, "alignment_summary": _alignment_summary(embryo),
                     "messages": messages})
        return 0
    for m in messages:
        print(m)
    print(f"{'created' if new else 'updated'} {path}: embryo {embryo.name!r}, {embryo.n_frames} frames "
          f"{embryo.frame_shape[1]}x{embryo.frame_shape[0]}, {ann} annotated")
    return 0


def _alignment_summary(embryo) -> dict | None:
    """The alignment check in words (as the GUI's import report shows it), or None."""
    import dataclasses

    from ..app.alignment_report import summarize
    summary = summarize(embryo.alignment)
    if summary is None:
        return None
    return {**dataclasses.asdict(summary), "suggestion": summary.suggestion}


def info_dict(project) -> dict:
    from ..model import FORMAT_VERSION
    out = {"format_version": FORMAT_VERSION, "path": str(project.path), "embryos": []}
    for e in project.embryos:
        out["embryos"].append({
            "name": e.name, "n_frames": e.n_frames, "frame_shape": list(e.frame_shape),
            "annotated_frames": int(np.isfinite(e.current[:, -1]).sum()),
            "lineages": e.lineages, "flags": e.flags.counts(), "state": e.state(),
            "alignment": e.alignment.get("message", ""), "history_steps": e.history.position,
        })
    return out


def cmd_info(args) -> int:
    project = _open(args.project)
    d = info_dict(project)
    if args.json:
        _print_json(d)
        return 0
    print(f"{project.path}: embryo-gui project, format {d['format_version']}, {len(d['embryos'])} embryos")
    for e in d["embryos"]:
        flags = ", ".join(f"{k} {v}" for k, v in e["flags"].items() if v) or "none"
        lin = "".join(e["lineages"]) or "-"
        print(f"  {e['name']}: {e['n_frames']} frames {e['frame_shape'][1]}x{e['frame_shape'][0]}, "
              f"{e['annotated_frames']} annotated, lineages {lin}, {e['state']}; flags: {flags}")
    return 0


def cmd_detect(args) -> int:
    from ..app.detecting import detection_summary
    with _session(args.project, write=not args.no_save) as s:
        notes = _run(s, s.detect_job(), "detect")
        if not args.no_save:
            _save(s)
        summary = {"embryos": [detection_summary(e) for e in s.project.embryos]}
    if args.json:
        _print_json(summary)
    else:
        for m in notes:
            print(m)
        for s in summary["embryos"]:
            c = s["corrupt_frames"]
            print(f"{s['name']}: {len(c['black'])} black, {len(c['red_artifact'])} red-artifact, "
                  f"{len(c['outlier'])} outlier"
                  + (f", {len(c['out_of_order'])} out-of-order" if c.get("out_of_order") else "")
                  + f" frames; {len(s['cliffs'])} cliffs; {len(s['spikes'])} spike frames")
            reasons = sorted(s["reasons"].items(), key=lambda kv: int(kv[0]))
            for frame, why in reasons[:10]:
                print(f"    frame {frame}: {why}")
            if len(reasons) > 10:
                print(f"    ... {len(reasons) - 10} more (--json lists all)")
    return 0


def cmd_autoclean(args) -> int:
    from ..app.autoclean import format_summary
    with _session(args.project, write=True) as s:
        summary = _run(s, s.autoclean_job(), "autoclean")
        if s.modified:
            _save(s)
    if args.json:
        _print_json({"embryos": summary})
    else:
        print(format_summary(summary))
    return 0


def cmd_export(args) -> int:
    with _session(args.project) as s:
        report = _run(s, s.export_job(args.out, size=args.size, gray=args.gray, csv_path=args.csv,
                                      compression=args.compression, include_unusable=args.include_unusable,
                                      overwrite=args.force), "export")
    if report.get("recovered"):
        print(f"embryo-repair: finished or removed what an interrupted export left: {', '.join(report['recovered'])}",
              file=sys.stderr)
    if args.json:
        _print_json({k: report[k] for k in ("path", "csv_path", "n_frames", "kept", "dropped", "unreviewed",
                                            "lines", "message")})
    else:
        print(report["message"])
    return 0


def cmd_train(args) -> int:
    from ..app.training import training_job
    from ..train import TrainSettings
    overrides = {k: v for k, v in {"epochs": args.epochs, "drop": args.drop, "rounds": args.rounds,
                                   "folds": args.folds, "size": args.size, "seed": args.seed,
                                   "method": args.method, "cut": args.cut,
                                   "save_model": args.save_model}.items() if v is not None}
    settings = TrainSettings(**overrides)
    with _session(args.project, write=True) as s:
        result = _run(s, training_job(s.project, settings), "train")
        _save(s)
        embryos = list(s.project.embryos)
    out = {"embryos": [], "rounds": _rounds_json(result)}
    for e in embryos:
        loss = e.flags.scores.get("loss")
        out["embryos"].append({
            "name": e.name, "lossy": np.flatnonzero(e.flags.mask("lossy")).tolist(),
            "loss": [None if loss is None or not np.isfinite(v) else round(float(v), 6)
                     for v in (loss if loss is not None else np.full(e.n_frames, np.nan))]})
    if args.json:
        _print_json(out)
    else:
        for e in out["embryos"]:
            print(f"{e['name']}: {len(e['lossy'])} lossy frames")
        for r in out["rounds"]:
            print("round " + ", ".join(f"{k} {v}" for k, v in r.items() if not isinstance(v, (list, dict))))
    return 0


def _rounds_json(result) -> list:
    rounds = getattr(result, "rounds", None) or []
    out = []
    for r in rounds:
        d = r if isinstance(r, dict) else getattr(r, "__dict__", {})
        out.append({k: v for k, v in d.items() if isinstance(v, (int, float, str, bool, dict)) or v is None})
    return out


def cmd_showcase(args) -> int:
    """demo -> auto-clean -> export, printing what was found and where the dataset went."""
    from ..app.autoclean import format_summary
    from ..demo import write_demo_project
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    proj_path = out_dir / "demo_project.h5"
    if proj_path.exists():
        raise EmbryoError("already holds a demo project; choose an empty folder", out_dir)
    with progress_bar("demo") as bar:
        project = write_demo_project(proj_path, n_embryos=args.embryos, n_frames=args.frames, seed=args.seed,
                                     progress=bar)
    print(f"1. demo project: {proj_path} ({len(project.embryos)} embryos x {args.frames} frames, 752x512)")
    with _session(project) as s:
        summary = _run(s, s.autoclean_job(), "autoclean")
        s.save()
        print("2. auto-clean:")
        print(format_summary(summary))
        report = _run(s, s.export_job(out_dir / "cleaned_dataset.h5", size=(188, 128),
                                      csv_path=out_dir / "cleaned_labels.csv", overwrite=True), "export")
    print(f"3. {report['message']}")
    print(f"   labels as CSV: {out_dir / 'cleaned_labels.csv'}")
    print(f"   read it with: h5py.File({str(out_dir / 'cleaned_dataset.h5')!r})['frames'] (see docs/FORMAT.md)")
    print(f"   look at the repairs in the app: embryo-gui {proj_path}")
    return 0
