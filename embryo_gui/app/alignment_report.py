"""The alignment check of an import, in words, and the re-import it may suggest (Qt-free).

The import checks the mapping of lineage timepoints to frames against the nuclei the frames show
(:mod:`embryo_gui.detect.alignment_check`) and stores the result in the embryo's alignment
(``alignment["check"]``, :meth:`AlignmentCheck.to_dict`).  This module turns that dict into what the
import report and the embryo's properties show (:func:`summarize`, :func:`alignment_curves`) and
offers the one-click fix: :func:`reimport_job` imports the same video and annotations again with
the mapping the pixels fit (compute decodes off-thread into a new frame file; apply replaces the
embryo, at the same place in the list, on the caller's thread).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import EmbryoError
from ..lineages import POPULATION
from .detecting import DETECT_LABEL
from .jobs import Job

#: a best fit whose cost is within this fraction of the next best offset's is called narrow
NARROW_MARGIN = 0.05
#: another local minimum of the cost over offsets, at least RIVAL_AWAY frames from the best and
#: within this factor of its cost, makes the fit ambiguous (measured on the real movies: a shift by
#: one cell cycle, 8-9 frames there, lines every division step up with the next wave and the fit's
#: free constant absorbs the factor 2; their first 40-60 frames alone fit offset -8 / -9 at 1.27 x
#: below the right one, the whole of L2 at 1.46 x, of L1 at 1.07 x)
RIVAL_FACTOR = 1.3
RIVAL_AWAY = 3
#: step window of the alignment check (frames on each side), to say which division steps matched
_STEP_W = 3


def _frames_word(fpt: float) -> str:
    return f"{fpt:g} frame{'' if fpt == 1 else 's'} per timepoint"


def _mapping(offset: int, fpt: float) -> str:
    return f"offset {offset} ({_frames_word(fpt)})"


def matched_steps(check: dict) -> tuple[int, int]:
    """(division steps of the lineage curve, at the best fit, that land on a frame where the
    nucleus count steps up; all such steps) -- from the stored ``steps`` and ``estimated_counts``.
    A step at frame f matches when the nucleus count rises across f: the mean log count over the 3
    frames from f on exceeds the mean over the 3 frames before (the check's own step signal).  A
    step one frame off still rises across f on these noisy counts (measured on the real movies:
    asking for the rise to peak exactly at f matched 0-2 of 4 steps at the right offset); which
    offset is right is settled by the fit's correlation over all frames, not by this count."""
    steps = check.get("steps") or []
    est = check.get("estimated_counts")
    if not steps or est is None:
        return 0, len(steps)
    y = np.log2(np.asarray(est, dtype=np.float64) + 1.0)
    T = y.size
    hit = 0
    for f, _before, _after in steps:
        f = int(f)
        a, b = y[f:min(T, f + _STEP_W)], y[max(0, f - _STEP_W):f]
        if a.size and b.size and a.mean() > b.mean():
            hit += 1
    return hit, len(steps)


def rival_offset(check: dict) -> Optional[tuple[int, float]]:
    """(offset, cost) of the best *other* local minimum of the stored cost by offset (at the best
    frames per timepoint), at least RIVAL_AWAY frames from the best fit, when its cost is within
    RIVAL_FACTOR of the best's; else None."""
    costs = check.get("offset_costs") or {}
    try:
        table = sorted((int(k), float(v)) for k, v in costs.items())
        best = int(check["offset_best"])
        cb = float(check["cost_best"])
    except (KeyError, TypeError, ValueError):
        return None
    if not table or not np.isfinite(cb) or cb <= 0:
        return None
    offs = [o for o, _ in table]
    c = np.array([v for _, v in table])
    rivals = []
    for i, o in enumerate(offs):
        if abs(o - best) < RIVAL_AWAY:
            continue
        left = c[i - 1] if i > 0 and offs[i - 1] == o - 1 else np.inf
        right = c[i + 1] if i + 1 < len(offs) and offs[i + 1] == o + 1 else np.inf
        if c[i] <= left and c[i] <= right and c[i] <= RIVAL_FACTOR * cb:
            rivals.append((float(c[i]), o))
    if not rivals:
        return None
    cost, o = min(rivals)
    return o, cost


@dataclass(frozen=True)
class AlignmentSummary:
    """What a person reads about the alignment check (all plain text)."""

    checked: bool
    agrees: bool
    offset_used: int
    fpt_used: float
    offset_best: int
    fpt_best: float
    steps_matched: int
    steps_total: int
    narrow: bool                   # the best fit is hardly better than the next offset
    rival: Optional[int]           # an offset a few frames away (a cell cycle) that fits almost as well
    headline: str                  # "Alignment: offset 0 used; the pixels fit offset 0 best (...)"
    warning: str                   # '' when the one used fits best
    detail: str                    # how it was measured (frames, residuals, frames left out)

    @property
    def suggestion(self) -> Optional[tuple[int, float]]:
        """(offset, frames per timepoint) to re-import with, or None."""
        return None if self.agrees or not self.checked else (self.offset_best, self.fpt_best)


def summarize(alignment: dict) -> Optional[AlignmentSummary]:
    """The summary of an embryo's ``alignment`` dict (None: no check stored, e.g. no annotations
    or a project imported before the check existed)."""
    chk = (alignment or {}).get("check")
    if not isinstance(chk, dict):
        return None
    ou, fu = int(chk.get("offset_used", 0)), float(chk.get("frames_per_timepoint_used", 1.0))
    ob, fb = int(chk.get("offset_best", ou)), float(chk.get("frames_per_timepoint_best", fu))
    msg = str(chk.get("message", ""))
    n = int(chk.get("frames_compared", 0))
    left_out = "out-of-order" + msg.split("; out-of-order", 1)[1] if "; out-of-order" in msg else ""
    if n == 0 or msg.startswith("alignment not checked"):
        why = msg.split(": ", 1)[1] if ": " in msg else msg
        return AlignmentSummary(False, True, ou, fu, ou, fu, 0, 0, False, None,
                                f"Alignment: {_mapping(ou, fu)} used; not checked against the pixels",
                                "", why)
    hit, total = matched_steps(chk)
    cb, cn, cu = float(chk.get("cost_best", np.nan)), float(chk.get("cost_next", np.nan)), \
        float(chk.get("cost_used", np.nan))
    narrow = bool(np.isfinite(cn) and np.isfinite(cb) and cn - cb < NARROW_MARGIN * max(cb, 1e-9))
    agrees = bool(chk.get("agrees", (ou, fu) == (ob, fb)))
    steps = (f"{hit} of {total} division steps matched" if hit != total
             else f"{total} division step{'s' if total != 1 else ''} matched")
    if agrees:
        head = (f"Alignment: offset {ou} used; the pixels fit offset {ob} best "
                f"({_frames_word(fb)}), {steps}")
        warning = ""
    else:
        head = (f"Alignment: offset {ou} used; the pixels fit offset {ob} better "
                f"({_frames_word(fb)}), {steps}")
        if fb == fu:
            shift = ou - ob
            where = (f"every label would sit {abs(shift)} frame{'s' if abs(shift) != 1 else ''} "
                     f"{'after' if shift > 0 else 'before'} the frames that show it")
        else:
            where = (f"the labels would be spread over the frames at {_frames_word(fu)} "
                     f"instead of {_frames_word(fb)}")
        warning = (f"The nuclei counted in the frames follow the lineage curve better with "
                   f"{_mapping(ob, fb)} than with the {_mapping(ou, fu)} used: {where}. "
                   f"Re-import with {_mapping(ob, fb)}, or keep offset {ou} if you know it is right.")
    cost_used = "" if agrees else f", {cu:.3f} for the one used"
    detail = (f"Nuclei counted on the green channel of {n} early frames (before they touch) and "
              f"compared with the lineage population: residual {cb:.3f} for the best fit{cost_used}, "
              f"{cn:.3f} for the next best offset")
    if narrow:
        detail += " -- a narrow margin: check the first division steps by eye"
    riv = rival_offset(chk)
    if riv is not None:
        ro, rc = riv
        caution = (f"Offset {ro}, {abs(ro - ob)} frames away, fits almost as well ({rc:.3f} against "
                   f"{cb:.3f}): a shift by about one cell cycle lines the division steps up with the "
                   f"next wave, and this movie holds too few early divisions to tell them apart -- "
                   f"look at the first divisions before choosing")
        if agrees:
            detail += f". {caution}"
        else:
            warning += f" Not conclusive: {caution[0].lower()}{caution[1:]}."
    if left_out:
        detail += f"; {left_out}"
    return AlignmentSummary(True, agrees, ou, fu, ob, fb, hit, total, narrow, None if riv is None else riv[0],
                            head, warning, detail)


@dataclass(frozen=True)
class AlignmentCurves:
    """What the alignment plot shows: per frame, the nucleus count from the pixels (scaled by the
    fit's constant: the counter misses touching nuclei) and the lineage population as used and as
    the pixels fit best (NaN where unannotated / not counted)."""

    frames: np.ndarray
    counted: np.ndarray
    scale: float
    used: np.ndarray
    best: Optional[np.ndarray]


def _best_population(embryo, chk: dict) -> Optional[np.ndarray]:
    """The lineage population mapped with the best fit: the annotations read again when the file is
    still there, else the curve used shifted (same frames per timepoint only)."""
    from ..io import Alignment, align_annotations, read_annotations
    al = embryo.alignment or {}
    ob, fb = int(chk["offset_best"]), float(chk["frames_per_timepoint_best"])
    path = al.get("annotations")
    if path and Path(path).is_file():
        try:
            ann = read_annotations(path)
            if ann.kind == "frames":
                fb = 1.0
            counts, _ = align_annotations(ann, embryo.n_frames, Alignment(ob, fb))
            return np.asarray(counts[:, POPULATION], dtype=np.float64)
        except (EmbryoError, ValueError):
            pass
    if fb != float(chk["frames_per_timepoint_used"]):
        return None
    shift = ob - int(chk["offset_used"])
    used = np.asarray(embryo.original[:, POPULATION], dtype=np.float64)
    out = np.full_like(used, np.nan)
    if shift >= 0:
        out[shift:] = used[:used.size - shift]
    else:
        out[:shift] = used[-shift:]
    return out


def alignment_curves(embryo, max_cells: float = 200.0, min_frames: int = 40) -> Optional[AlignmentCurves]:
    """The curves of the alignment plot, over the early frames (until the lineage passes
    ``max_cells``, at least ``min_frames``); None without a stored check."""
    chk = (embryo.alignment or {}).get("check")
    if not isinstance(chk, dict) or chk.get("estimated_counts") is None:
        return None
    est = np.asarray(chk["estimated_counts"], dtype=np.float64)
    used = np.asarray(embryo.original[:, POPULATION], dtype=np.float64)
    best = None if chk.get("agrees") else _best_population(embryo, chk)
    ref = used if best is None else best
    over = np.flatnonzero(np.isfinite(ref) & (ref > max_cells))
    stop = min(est.size, max(min_frames, int(over[0]) if over.size else est.size))
    ok = (est[:stop] > 0) & np.isfinite(ref[:stop]) & (ref[:stop] <= 100)
    scale = float(2 ** np.median(np.log2(ref[:stop][ok] + 1) - np.log2(est[:stop][ok] + 1))) if ok.any() else 1.0
    counted = np.where(est[:stop] > 0, est[:stop] * scale, np.nan)
    return AlignmentCurves(np.arange(stop), counted, scale, used[:stop],
                           None if best is None else best[:stop])


def reimport_blocker(embryo) -> str:
    """Why the embryo cannot be imported again in one click ('' when it can): the source video
    or the annotations are gone, or the user has edited it (re-importing would drop the edits)."""
    src = (embryo.source or {}).get("path")
    ann = (embryo.alignment or {}).get("annotations")
    if not src or not Path(src).exists():
        return f"the video {src or '(unknown)'} is no longer there"
    if not ann or not Path(ann).is_file():
        return f"the annotations {ann or '(none)'} are no longer there"
    mine = [e.label for e in embryo.history.entries[:embryo.history.position] if e.label != DETECT_LABEL]
    if mine:
        return (f"it has {len(mine)} edit{'s' if len(mine) != 1 else ''} of yours "
                f"(last: {mine[-1]}); re-importing would drop them -- import it again under another name")
    return ""


def reimport_job(project, name: str, time_offset: int, frames_per_timepoint: float) -> Job:
    """Import embryo ``name`` again from its video and annotations with another mapping
    (``time_offset``, ``frames_per_timepoint``).  Compute decodes into a new frame file (the embryo
    is untouched; cancel or failure leaves it as it was); apply replaces the embryo at the same
    place in the list (its detector runs are dropped: run the detectors again).  EmbryoError at
    once when :func:`reimport_blocker` says it cannot."""
    from .importing import compute_import, import_apply, prepare_import, stored_frame_codec

    old = project.embryo(name)
    why = reimport_blocker(old)
    if why:
        raise EmbryoError(f"cannot re-import {name!r}: {why}", project.path)
    al = dict(old.alignment or {})
    src = Path(old.source["path"])
    temp = f"{name} (re-import)"
    while temp in project.names:
        temp += "+"
    req = prepare_import(project, src, al["annotations"], name=temp, time_offset=int(time_offset),
                         frames_per_timepoint=float(frames_per_timepoint), frame_base=al.get("frame_base"),
                         frame_codec=stored_frame_codec(old))
    req = dataclasses.replace(req, name=name)
    sha, position = old.source.get("sha256"), old.history.position

    def compute(progress, cancel):
        result = compute_import(req, progress, cancel)
        if sha and result.source.get("sha256") != sha:
            raise EmbryoError("the video changed since it was imported (its SHA-256 differs); "
                              "import it as a new embryo", src)
        result.alignment["reimported_from"] = {"offset": int(al.get("offset", 0)),
                                               "frames_per_timepoint": float(al.get("frames_per_timepoint", 1.0))}
        return result

    def apply(result):
        try:
            cur = project.embryo(name)
        except KeyError:
            raise EmbryoError(f"embryo {name!r} was removed meanwhile", project.path) from None
        if cur is not old or cur.history.position != position:
            raise EmbryoError(f"embryo {name!r} changed during the re-import; nothing replaced", project.path)
        index = project.embryos.index(old)
        project.remove_embryo(name)
        embryo = import_apply(project, result)
        project.embryos.insert(index, project.embryos.pop(project.embryos.index(embryo)))
        return embryo, result.messages

    def discard(_result) -> None:
        project.discard_frames(req.frames_path)

    return Job("import", compute, apply, label=f"re-import {name} with offset {int(time_offset)}",
               discard=discard)
