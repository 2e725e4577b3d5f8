"""Explicit mapping of annotations onto the frames of a video (never silent stretching).

- ``kind="frames"``: the row for frame ``f`` goes to frame ``offset + f``.  Rows that land outside the
  video raise :class:`EmbryoError`.  ``frames_per_timepoint`` must be 1 for this kind.
- ``kind="timepoints"`` (EPIC, 1-based ``t``): timepoint ``t`` covers the frames from
  ``offset + round((t - 1) * fpt)`` for ``max(1, round(fpt))`` frames, where ``round`` rounds halves
  up (``round(2.5) = 3``).  Where covers overlap (``fpt`` not a whole number) the later timepoint
  wins.  Timepoints wholly outside the video are dropped and reported; frames that no timepoint
  covers stay unannotated (NaN).

The report (a JSON-able dict) always says in ``message`` whether the lengths agree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import EmbryoError
from ..lineages import empty_counts
from .annotations import Annotations


@dataclass
class Alignment:
    """Where annotations start (``offset``: frame of the first timepoint / frame 0 of a frame CSV)
    and how many frames one timepoint lasts."""

    offset: int = 0
    frames_per_timepoint: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Alignment":
        d = d or {}
        return cls(offset=int(d.get("offset", 0)),
                   frames_per_timepoint=float(d.get("frames_per_timepoint", 1.0)))


def round_half_up(x: "float | np.ndarray") -> "int | np.ndarray":
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def _span(frames: np.ndarray) -> str:
    """'frames 3-7' style text for a sorted int array (or 'frame 3')."""
    lo, hi = int(frames.min()), int(frames.max())
    return f"frame {lo}" if lo == hi else f"frames {lo}-{hi}"


def align_annotations(ann: Annotations, n_frames: int,
                      alignment: Alignment | None = None) -> tuple[np.ndarray, dict]:
    """Map ``ann`` onto ``n_frames`` frames: returns ``(counts (n_frames, 8) float64, report)``."""
    al = alignment or Alignment()
    n_frames = int(n_frames)
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    fpt = float(al.frames_per_timepoint)
    if not math.isfinite(fpt) or fpt <= 0:
        raise EmbryoError(f"frames per timepoint must be a positive number, got {al.frames_per_timepoint}",
                          ann.path)
    offset = int(al.offset)
    out = empty_counts(n_frames)
    n = len(ann)
    dropped: list[int] = []

    if ann.kind == "frames":
        if fpt != 1.0:
            raise EmbryoError("frames per timepoint applies to timepoint (EPIC) annotations only; a "
                              "per-frame CSV maps one row to one frame", ann.path)
        frames = ann.index.astype(np.int64) + offset
        past = frames >= n_frames
        before = frames < 0
        if past.any():
            raise EmbryoError(f"annotations name {_span(frames[past])} but the video has {n_frames} frames"
                              + (f" (offset {offset})" if offset else ""), ann.path)
        if before.any():
            raise EmbryoError(f"with offset {offset} the annotations name {_span(frames[before])}, before "
                              "the first frame of the video", ann.path)
        out[frames] = ann.counts
        unit = "annotated frames" if n != 1 else "annotated frame"
    elif ann.kind == "timepoints":
        length = max(1, int(round_half_up(fpt)))
        starts = offset + round_half_up((ann.index.astype(np.float64) - 1.0) * fpt)
        for row in range(n):
            s = int(starts[row])
            lo, hi = max(s, 0), min(s + length, n_frames)
            if hi <= lo:
                dropped.append(int(ann.index[row]))
                continue
            out[lo:hi] = ann.counts[row]
        unit = "timepoints" if n != 1 else "timepoint"
    else:
        raise ValueError(f"unknown annotation kind {ann.kind!r}")

    annotated = np.isfinite(out).any(axis=1)
    n_annotated = int(annotated.sum())
    idx = np.flatnonzero(annotated)
    first = int(idx[0]) if idx.size else None
    last = int(idx[-1]) if idx.size else None
    unannotated = n_frames - n_annotated

    if idx.size:
        parts = [f"{n} {unit} -> {_span(idx)} of {n_frames}"]
    else:
        parts = [f"{n} {unit} -> no frame of {n_frames}"]
    if unannotated == 0 and not dropped:
        parts.append("lengths agree, every frame is annotated")
    elif unannotated == 0:
        parts.append("every frame is annotated")
    else:
        parts.append(f"{unannotated} frame{'s' if unannotated != 1 else ''} unannotated")
    message = "; ".join(parts)
    if dropped:
        d = np.asarray(dropped)
        late = int((offset + round_half_up((d - 1.0) * fpt) >= n_frames).sum())
        early = len(dropped) - late
        bits = []
        if late:
            bits.append(f"{late} timepoint{'s' if late != 1 else ''} past the end of the video")
        if early:
            bits.append(f"{early} timepoint{'s' if early != 1 else ''} before its first frame")
        message += "; " + " and ".join(bits) + (" were dropped" if len(dropped) != 1 else " was dropped")

    report = {
        "kind": ann.kind,
        "offset": offset,
        "frames_per_timepoint": fpt,
        "n_frames": n_frames,
        "n_timepoints": n,
        "first_frame": first,
        "last_frame": last,
        "annotated_frames": n_annotated,
        "unannotated_frames": unannotated,
        "dropped_timepoints": len(dropped),
        "dropped": [int(min(dropped)), int(max(dropped))] if dropped else None,
        "lengths_agree": unannotated == 0 and not dropped,
        "message": message,
    }
    return out, report
