"""Export the kept frames of every embryo with their cleaned counts as one HDF5 dataset.

Policy (what is left out, each reason counted in the report's ``dropped``):
- ``excluded``: frames excluded by hand, by auto-clean or by an accepted detection;
- ``lossy``: frames the trainer marked lossy (their label is suspect), unless a person cleared
  them (rejected the lossy mark in the triage queue); :data:`~embryo_gui.policy.EXPORT_DROPPED_UNLESS_CLEARED`;
- ``unannotated``: frames without a population count;
- ``unusable_embryo``: every frame of an embryo auto-clean called unusable (unless asked otherwise).
Frames still flagged by a detector (corrupt, cliff, spike) that nobody excluded or cleared are
exported and counted in ``unreviewed`` so the caller can say so.  An existing output file is
replaced only with ``overwrite=True`` (the CLI's ``--force``; the GUI asks first).

Layout (docs/FORMAT.md, "Cleaned dataset"): ``/frames`` (N,H,W[,C]) uint8, ``/population`` (N,),
``/lineages`` (N,7) with their names in an attribute, ``/embryo`` (N,) index into
``/embryo_names``, ``/source_frame`` (N,), and provenance attributes.  Written atomically; with a CSV
the two files change together or not at all (``model.atomic.atomic_group``: a journaled commit, rolled
forward by the next export after a kill), under a lock on the output so two exports take turns.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import h5py
import numpy as np

from .. import __version__
from ..edits.review_edits import rejected_mask
from ..errors import EmbryoError
from ..lineages import LINEAGES, POPULATION
from ..model.atomic import atomic_group, check_writable_dir, ensure_space, real_target, recover_group, stale_temps
from ..model.format import EXPORT_FORMAT_NAME, EXPORT_FORMAT_VERSION, FORMAT_NAME, FRAMES_FORMAT_NAME
from ..model.framestore import EXPORT_COMPRESSIONS, copy_frames, create_frames_dataset
from ..model.lock import ProjectLock
from ..policy import EXPORT_DROPPED_UNLESS_CLEARED, EXPORT_REPORTED_KINDS, EXPORT_UNREVIEWED_KINDS
from ..progress import Throttle
from .jobs import Job
from .training import format_frames

#: words for the report's reasons (the CLI, the dialog and the message use them)
REASON_TEXT = {"excluded": "excluded", "lossy": "lossy (trainer), not cleared", "unannotated": "unannotated",
               "unusable_embryo": "in unusable embryos"}


def kept_frames(embryo, include_unusable: bool = False) -> tuple[np.ndarray, dict]:
    """Indices of the frames an export keeps, and the counts of those dropped, by reason (each
    dropped frame counted once, in the first reason that applies: excluded, lossy, unannotated,
    unusable embryo; ``excluded_<kind>`` break the excluded frames down by flag)."""
    excluded = embryo.flags.mask("excluded")
    suspect = np.zeros(embryo.n_frames, bool)
    for kind in EXPORT_DROPPED_UNLESS_CLEARED:
        suspect |= embryo.flags.mask(kind) & ~rejected_mask(embryo, kind)
    suspect &= ~excluded
    unannotated = ~np.isfinite(embryo.current[:, POPULATION]) & ~excluded & ~suspect
    unusable = bool((embryo.detections.get("autoclean") or {}).get("unusable")) and not include_unusable
    keep = ~excluded & ~suspect & ~unannotated & (not unusable)
    dropped = {
        "excluded": int(excluded.sum()),
        "lossy": int(suspect.sum()),
        "unannotated": int(unannotated.sum()),
        "unusable_embryo": int((~excluded & ~suspect & ~unannotated).sum()) if unusable else 0,
    }
    for kind in EXPORT_REPORTED_KINDS:
        dropped[f"excluded_{kind}"] = int((excluded & embryo.flags.mask(kind)).sum())
    return np.flatnonzero(keep), dropped


def unreviewed_kept(embryo, keep: np.ndarray) -> dict[str, int]:
    """Kept frames still flagged by a detector (nobody excluded, repaired or cleared them), by kind."""
    handled = embryo.flags.mask("repaired")
    return {k: int((embryo.flags.mask(k)[keep] & ~handled[keep]).sum()) for k in EXPORT_UNREVIEWED_KINDS}


def plan_export(project, include_unusable: bool = False) -> dict:
    """What an export would keep and drop, without writing anything: ``n_frames`` kept,
    ``dropped`` and ``unreviewed`` (by reason / kind, over all embryos), ``kept`` per embryo."""
    dropped: dict[str, int] = {}
    unreviewed: dict[str, int] = {}
    kept: dict[str, int] = {}
    for e in project.embryos:
        idx, d = kept_frames(e, include_unusable)
        kept[e.name] = int(len(idx))
        for k, v in d.items():
            dropped[k] = dropped.get(k, 0) + v
        for k, v in unreviewed_kept(e, idx).items():
            unreviewed[k] = unreviewed.get(k, 0) + v
    return {"n_frames": sum(kept.values()), "kept": kept, "dropped": dropped, "unreviewed": unreviewed}


def describe_plan(plan: dict) -> list[str]:
    """Human lines: what is dropped (per reason) and what suspect frames are kept."""
    d = plan["dropped"]
    parts = [f"{d[k]} {REASON_TEXT[k]}" for k in REASON_TEXT if d.get(k)]
    lines = ["drops " + (", ".join(parts) if parts else "nothing")]
    if d.get("excluded"):
        why = ", ".join(f"{d[f'excluded_{k}']} {k.replace('_', ' ')}" for k in
                        EXPORT_REPORTED_KINDS if d.get(f"excluded_{k}"))
        if why:
            lines[0] += f" (excluded frames flagged: {why})"
    u = {k: v for k, v in plan.get("unreviewed", {}).items() if v}
    if u:
        lines.append("keeps frames still flagged and not reviewed: "
                     + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in u.items()))
    return lines


def check_output(project, target: Path) -> None:
    """Refuse an output path that would overwrite the user's project data: the project file, its
    .bak, anything in its frames folder, or any other embryo-gui project or frame file."""
    t = target.resolve()
    proj = Path(project.path).resolve()
    if t in (proj, proj.with_name(proj.name + ".bak")):
        raise EmbryoError("refusing to overwrite the project or its backup; choose another output file", target)
    if t.parent == Path(project.frames_dir).resolve():
        raise EmbryoError("refusing to write into the project's frames folder; choose another output file", target)
    if t.is_dir():
        raise EmbryoError("is a folder; give an output file name", target)
    if t.is_file():
        fmt = None
        with contextlib.suppress(Exception):
            with h5py.File(t, "r") as f:
                fmt = f.attrs.get("format")
                fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt in (FORMAT_NAME, FRAMES_FORMAT_NAME):
            raise EmbryoError(f"refusing to overwrite an embryo-gui {'project' if fmt == FORMAT_NAME else 'frame'} "
                              "file; choose another output file", target)


def default_output(project_path) -> Path:
    """Where the export dialog suggests writing: ``STEM_dataset.h5`` beside the project, or in the
    home folder when the project's folder cannot be written (a shared, read-only folder)."""
    project_path = Path(project_path)
    name = f"{project_path.stem}_dataset.h5"
    folder = project_path.resolve().parent
    if os.access(folder, os.W_OK | os.X_OK):
        return project_path.with_name(name)
    return Path.home() / name


def existing_outputs(out_path, csv_path=None) -> list[Path]:
    """The output files that already exist (an export would replace them)."""
    return [Path(p) for p in (out_path, csv_path) if p is not None and Path(p).is_file()]


@dataclass(frozen=True)
class ExportItem:
    """One embryo's share of an export, copied on the caller's thread."""
    name: str
    frames: Any             # the embryo's FrameReader (read-only frame file)
    frame_shape: tuple
    index: np.ndarray       # kept frames
    counts: np.ndarray      # (len(index), 8) copy of the current counts of those frames
    token: tuple = ()       # Embryo.state_token() when planned


@dataclass(frozen=True)
class ExportPlan:
    """Everything an export writes, taken from the project by :func:`prepare_export`."""
    out_path: Path
    csv_path: Optional[Path]
    items: tuple
    dropped: dict
    unreviewed: dict
    size: tuple             # (width, height)
    gray: bool
    compression: str
    include_unusable: bool
    project_path: str


def prepare_export(project, out_path, size: Optional[tuple[int, int]] = None, gray: bool = False,
                   csv_path=None, include_unusable: bool = False, overwrite: bool = False,
                   compression: str = "blosc") -> ExportPlan:
    """Check the outputs and take what the export needs from the project (caller's thread, cheap).
    An existing output file is refused unless ``overwrite``.

    ``compression``: ``blosc`` (the frame store's codec: at full size the stored chunks are copied as
    they are; readers need ``import hdf5plugin``), or the portable ``lzf`` / ``none`` (any h5py)."""
    if compression not in EXPORT_COMPRESSIONS:
        raise EmbryoError(f"unknown compression {compression!r}; choose one of {', '.join(EXPORT_COMPRESSIONS)}",
                          out_path)

    out_path = Path(out_path)
    check_output(project, out_path)
    if csv_path is not None:
        csv_path = Path(csv_path)
        check_output(project, csv_path)
        if csv_path.resolve() == out_path.resolve():
            raise EmbryoError("the CSV and the dataset cannot be the same file", csv_path)
        check_writable_dir(csv_path)
    if not overwrite:
        for p in existing_outputs(out_path, csv_path):
            raise EmbryoError("already exists; pass --force to replace it (or choose another name)", p)
    items = []
    dropped_total: dict[str, int] = {}
    unreviewed: dict[str, int] = {}
    for e in project.embryos:
        idx, dropped = kept_frames(e, include_unusable)
        items.append(ExportItem(e.name, e.frames, tuple(e.frame_shape), idx, np.array(e.current[idx]),
                                e.state_token()))
        for k, v in dropped.items():
            dropped_total[k] = dropped_total.get(k, 0) + v
        for k, v in unreviewed_kept(e, idx).items():
            unreviewed[k] = unreviewed.get(k, 0) + v
    n_total = sum(len(it.index) for it in items)
    if n_total == 0:
        raise EmbryoError("nothing to export: every frame is excluded, unannotated or in an unusable embryo",
                          project.path)
    shapes = {it.frame_shape for it in items if len(it.index)}
    if size is None and len(shapes) > 1:
        raise EmbryoError("embryos have different frame sizes "
                          f"({', '.join(f'{s[1]}x{s[0]}' for s in sorted(shapes))}); pass --size WxH",
                          project.path)
    h, w = (size[1], size[0]) if size else next(iter(shapes))[:2]
    return ExportPlan(out_path, csv_path, tuple(items), dropped_total, unreviewed, (int(w), int(h)), bool(gray),
                      compression, bool(include_unusable), str(Path(project.path).resolve()))


def write_export(plan: ExportPlan, progress=None, cancel=None) -> dict:
    """Write the planned dataset atomically (any thread: reads only frame files and the plan).
    Returns a report with a one-line ``message``, ``dropped`` (by reason), ``unreviewed`` (kept
    frames still flagged, by kind) and ``lines`` (the policy in words)."""
    out_path, csv_path, gray, include_unusable = plan.out_path, plan.csv_path, plan.gray, plan.include_unusable
    dropped_total, unreviewed, compression = plan.dropped, plan.unreviewed, plan.compression
    w, h = plan.size
    n_total = sum(len(it.index) for it in plan.items)
    fshape = (h, w) if gray else (h, w, 3)
    throttle = Throttle(progress)
    names = [it.name for it in plan.items]
    policy = {"kept": "not excluded, not lossy unless cleared, population annotated"
                      + ("" if include_unusable else ", embryo not unusable"),
              "size": [w, h], "gray": bool(gray), "compression": compression}
    targets = [out_path] + ([Path(csv_path)] if csv_path is not None else [])
    lock = ProjectLock(out_path)  # two exports to one output take turns (the pair stays a pair)
    lock.acquire()
    try:
        recovered = recover_output(targets)
        with atomic_group(targets) as tmps:
            population, lineages, embryo_idx, source_frame = _write_h5(
                tmps[0], plan, n_total, fshape, names, policy, throttle, cancel)
            if csv_path is not None:
                _write_csv(tmps[1], names, embryo_idx, source_frame, population, lineages)
    finally:
        lock.release()
    kept_by = {it.name: int(len(it.index)) for it in plan.items}
    lines = describe_plan({"dropped": dropped_total, "unreviewed": unreviewed})
    msg = (f"exported {n_total} frames of {sum(1 for v in kept_by.values() if v)} embryos to {out_path} "
           f"({w}x{h}{' gray' if gray else ''}); " + "; ".join(lines))
    return {"path": str(out_path), "csv_path": None if csv_path is None else str(csv_path), "n_frames": n_total,
            "kept": kept_by, "dropped": dropped_total, "unreviewed": unreviewed, "lines": lines,
            "message": msg, "recovered": recovered}


def recover_output(targets) -> list[str]:
    """Before writing ``targets``: finish a pair commit a killed export left half done and remove
    the temp files killed exports left beside the targets (the caller holds the output's lock)."""
    done = recover_group(targets[0])
    removed = []
    for t in targets:
        real = real_target(t)
        for stale in stale_temps(real.parent, prefix=f".{real.name}."):
            try:
                stale.unlink()
                removed.append(str(stale))
            except OSError:
                pass
    return done + removed


def _write_h5(tmp, plan, n_total, fshape, names, policy, throttle, cancel):
    w, h = plan.size
    gray, dropped_total, compression = plan.gray, plan.dropped, plan.compression
    frame_bytes = int(np.prod(fshape))
    with h5py.File(tmp, "w", libver="latest") as f:
        f.attrs["format"] = EXPORT_FORMAT_NAME
        f.attrs["format_version"] = EXPORT_FORMAT_VERSION
        f.attrs["tool_version"] = __version__
        f.attrs["source_project"] = plan.project_path
        f.attrs["policy"] = json.dumps(policy)
        f.attrs["dropped"] = json.dumps(dropped_total)
        f.attrs["n_frames"] = n_total
        frames = create_frames_dataset(f, "frames", n_total, fshape, compression)
        population = np.empty(n_total, np.float32)
        lineages = np.empty((n_total, len(LINEAGES)), np.float32)
        embryo_idx = np.empty(n_total, np.int32)
        source_frame = np.empty(n_total, np.int32)
        pos = 0
        for ei, it in enumerate(plan.items):
            idx = it.index

            def advance(k: int) -> None:
                advance.done += k
                ensure_space(tmp, 2 * 32 * frame_bytes)  # room for the next batch: HDF5 never meets a full disk
                throttle({"stage": "export", "done": advance.done, "total": n_total})
            advance.done = pos
            ensure_space(tmp, 2 * min(32, len(idx)) * frame_bytes)  # room for the first batch (then: advance)
            pos = copy_frames(frames, pos, it.frames, idx, (w, h), gray, cancel=cancel, on_frames=advance)
            k = len(idx)
            start = pos - k
            population[start:pos] = it.counts[:, POPULATION]
            lineages[start:pos] = it.counts[:, :POPULATION]
            embryo_idx[start:pos] = ei
            source_frame[start:pos] = idx
        f.create_dataset("population", data=population)
        lin = f.create_dataset("lineages", data=lineages)
        lin.attrs["names"] = list(LINEAGES)
        f.create_dataset("embryo", data=embryo_idx)
        f.create_dataset("embryo_names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("source_frame", data=source_frame)
    return population, lineages, embryo_idx, source_frame


def export_dataset(project, out_path, size: Optional[tuple[int, int]] = None, gray: bool = False,
                   csv_path=None, include_unusable: bool = False, progress=None, cancel=None,
                   overwrite: bool = False, compression: str = "blosc") -> dict:
    """Plan and write the cleaned dataset on this thread (see :func:`prepare_export`, :func:`write_export`)."""
    return write_export(prepare_export(project, out_path, size, gray, csv_path, include_unusable, overwrite,
                                       compression), progress, cancel)


def changed_since(project, plan: ExportPlan) -> dict[str, np.ndarray]:
    """Frames whose exported row is stale: per embryo, the frames the export would now keep or
    drop differently, or whose counts changed, since ``plan`` was taken (an edit, an undo, a
    decision made while the export ran).  Embryos whose state did not change are skipped cheaply."""
    out: dict[str, np.ndarray] = {}
    for it in plan.items:
        try:
            e = project.embryo(it.name)
        except KeyError:
            out[it.name] = np.asarray(it.index, np.int64)
            continue
        if it.token and e.state_token() == it.token:
            continue
        idx, _ = kept_frames(e, plan.include_unusable)
        stale = np.setxor1d(idx, it.index)
        both = np.intersect1d(idx, it.index)
        if both.size:
            then = it.counts[np.searchsorted(it.index, both)]
            now = e.current[both]
            differ = ~((then == now) | (np.isnan(then) & np.isnan(now))).all(axis=1)
            stale = np.union1d(stale, both[differ])
        if stale.size:
            out[it.name] = stale.astype(np.int64)
    return out


def report_changes(report: dict, changed: dict[str, np.ndarray]) -> dict:
    """Add what changed while the export ran to its report (``changed_while_running``, and a
    sentence in ``message``): the file holds the state the export started on, never a mix."""
    report = dict(report)
    report["changed_while_running"] = {k: v.tolist() for k, v in changed.items()}
    if changed:
        parts = [f"{name}: {len(fr)} frame(s) ({format_frames(fr)})" for name, fr in changed.items()]
        report["message"] += ("\nchanged while the export ran, written as they were when it started "
                              "(export again to include the changes): " + "; ".join(parts))
    return report


def export_job(project, out_path, size: Optional[tuple[int, int]] = None, gray: bool = False,
               csv_path=None, include_unusable: bool = False, overwrite: bool = False,
               compression: str = "blosc") -> Job:
    """A job exporting the dataset: planned now (caller's thread: the state it starts on), written
    off-thread from that plan, so editing, undo and save can go on meanwhile.  It changes no
    embryo; its apply (caller's thread) reports the frames changed while it ran (outcome: the
    report, see :func:`report_changes`)."""
    plan = prepare_export(project, out_path, size, gray, csv_path, include_unusable, overwrite, compression)
    return Job("export", lambda progress, cancel: write_export(plan, progress, cancel),
               lambda report: report_changes(report, changed_since(project, plan)), label="export")


def _write_csv(tmp: Path, names, embryo_idx, source_frame, population, lineages) -> None:
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "embryo", "source_frame", "population", *LINEAGES])
        for i in range(len(population)):
            w.writerow([i, names[embryo_idx[i]], int(source_frame[i]), _num(population[i]),
                        *(_num(v) for v in lineages[i])])


def _num(v) -> str:
    return "" if not np.isfinite(v) else (str(int(v)) if float(v).is_integer() else f"{float(v):g}")
