"""Review decisions on per-frame detections (corrupt frames, spikes, lossy frames, any per-frame
problem kind): a person accepts (the detector is right) or rejects (the frame is fine) them.

The decisions are kept in ``embryo.detections["review"]`` = ``{kind: {"<frame>": "accepted" |
"rejected"}}`` (frame 0-based), so they are saved with the project and changed only through the
undoable :class:`ReviewFrames` edit.  A frame without an entry is *pending*.  Cliff detections keep
their own ``status`` (``AcceptDetection`` / ``RejectDetection``).

What a decision does to the frame:

- **accepted**: a spike is repaired (interpolated from its neighbours; excluded when it cannot be),
  every other kind is excluded from the cleaned dataset;
- **rejected**: the flag bit of that kind is cleared on the frame; if the frame had been excluded
  because this kind was accepted before, it is included again (unless another problem flag holds
  it), and a spike repaired for that acceptance goes back to its original value.  Running the
  detectors (or the trainer) again keeps a rejected frame cleared: see :func:`rejected_mask`.
"""

from __future__ import annotations

import copy

import numpy as np

from ..policy import FLAG_KINDS, PROBLEM_KINDS
from .annotation_edits import Interpolate, _mark
from ..model.edit import Edit, frames_array

REVIEW_KEY = "review"
DECISIONS = ("accepted", "rejected")
#: kinds whose acceptance repairs the value instead of excluding the frame
REPAIRED_ON_ACCEPT = ("spike",)


def review_of(embryo, kind: str) -> dict:
    """``{"<frame>": decision}`` of one kind (empty when nothing was decided)."""
    return dict(((embryo.detections.get(REVIEW_KEY) or {}).get(kind) or {}))


def decision_mask(embryo, kind: str, decision: str) -> np.ndarray:
    """Frames of ``kind`` that a person marked ``decision`` (bool per frame)."""
    m = np.zeros(embryo.n_frames, bool)
    for k, v in review_of(embryo, kind).items():
        i = int(k)
        if v == decision and 0 <= i < embryo.n_frames:
            m[i] = True
    return m


def rejected_mask(embryo, kind: str) -> np.ndarray:
    """Frames a person cleared of ``kind`` (the detector or trainer was wrong there)."""
    return decision_mask(embryo, kind, "rejected")


def reviewed_count(embryo) -> int:
    """Number of decisions a person made on this embryo (per-frame kinds and cliffs)."""
    n = sum(len(v or {}) for v in (embryo.detections.get(REVIEW_KEY) or {}).values())
    return n + sum(1 for c in embryo.detections.get("cliffs") or [] if c.get("status") in DECISIONS)


class ReviewFrames(Edit):
    """Accept or reject the detection of ``kind`` on ``frames`` (one undo step)."""

    type = "review_frames"

    def __init__(self, kind: str, frames, decision: str, label: str | None = None):
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        if kind == "cliff":
            raise ValueError("cliffs are decided with AcceptDetection / RejectDetection")
        self.kind = str(kind)
        self.frames = frames
        self.decision = decision
        super().__init__(label)

    def default_label(self) -> str:
        verb = "accept" if self.decision == "accepted" else "reject"
        kind = self.kind.replace("_", " ")
        try:
            idx = np.asarray(self.frames).ravel()
            where = f"frame {int(idx[0])}" if idx.size == 1 else f"{idx.size} frames"
        except (TypeError, ValueError):
            where = "frames"
        return f"{verb} {kind} on {where}"

    def params(self) -> dict:
        return {"kind": self.kind, "decision": self.decision}

    def _forward(self, embryo) -> None:
        if self.kind not in FLAG_KINDS:
            raise ValueError(f"unknown flag kind {self.kind!r}")
        idx = frames_array(self.frames, embryo.n_frames)
        det = copy.deepcopy(embryo.detections)
        per = det.setdefault(REVIEW_KEY, {}).setdefault(self.kind, {})
        before = {int(i): per.get(str(int(i)), "pending") for i in idx}
        for i in idx:
            per[str(int(i))] = self.decision
        embryo.detections = det
        if self.decision == "accepted":
            if self.kind in REPAIRED_ON_ACCEPT:
                _repair(embryo, idx)
            else:
                _mark(embryo, "excluded", idx)
            return
        # rejected: the flag goes; what an earlier acceptance did is undone
        _mark(embryo, self.kind, idx, False)
        was = np.asarray([i for i in idx if before[int(i)] == "accepted"], np.int64)
        if not was.size:
            return
        if self.kind in REPAIRED_ON_ACCEPT:
            rep = was[embryo.flags.mask("repaired")[was]]
            embryo.current[rep] = embryo.original[rep]
            _mark(embryo, "repaired", rep, False)
        else:
            others = [k for k in PROBLEM_KINDS if k not in (self.kind, "spike")]
            held = embryo.flags.any_of(others)
            _mark(embryo, "excluded", was[~held[was]], False)


def _repair(embryo, idx: np.ndarray) -> None:
    """Interpolate each run of ``idx`` from its neighbours; exclude a run that has none."""
    if not idx.size:
        return
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    for run in np.split(idx, breaks):
        try:
            Interpolate(int(run[0]), int(run[-1]) + 1)._forward(embryo)
        except ValueError:
            _mark(embryo, "excluded", run)


__all__ = ["ReviewFrames", "review_of", "decision_mask", "rejected_mask", "reviewed_count", "REVIEW_KEY",
           "DECISIONS"]
