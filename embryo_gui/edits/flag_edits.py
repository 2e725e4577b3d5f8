"""Edits of flags, detections and training records; batches of edits."""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np

from ..model.detections import CliffDetection, active_cliffs_mask, cliffs_of, cliffs_to_json
from ..model.edit import Edit, frames_array
from ..policy import CORRUPT_KINDS
from .annotation_edits import Interpolate, _mark


class SetExcluded(Edit):
    """Exclude frames from (or include them back into) the cleaned dataset."""

    type = "set_excluded"

    def __init__(self, frames, excluded: bool = True, reason: str = "manual", label: str | None = None):
        self.frames = frames
        self.excluded = bool(excluded)
        self.reason = reason
        super().__init__(label)

    def default_label(self) -> str:
        return ("exclude" if self.excluded else "include") + " frames"

    def params(self) -> dict:
        return {"excluded": self.excluded, "reason": self.reason}

    def _forward(self, embryo) -> None:
        idx = frames_array(self.frames, embryo.n_frames)
        _mark(embryo, "excluded", idx, self.excluded)


class Truncate(Edit):
    """Exclude every frame after ``after_frame``."""

    type = "truncate"

    def __init__(self, after_frame: int, label: str | None = None):
        self.after_frame = int(after_frame)
        super().__init__(label)

    def default_label(self) -> str:
        return f"truncate after frame {self.after_frame}"

    def params(self) -> dict:
        return {"after_frame": self.after_frame}

    def _forward(self, embryo) -> None:
        if not -1 <= self.after_frame < embryo.n_frames:
            raise ValueError(f"frame {self.after_frame} out of range -1..{embryo.n_frames - 1}")
        _mark(embryo, "excluded", np.arange(self.after_frame + 1, embryo.n_frames))


class SetFlags(Edit):
    """Replace whole masks of the given flag kinds, set score arrays, merge keys into detections."""

    type = "set_flags"

    def __init__(self, masks: dict | None = None, scores: dict | None = None, detections: dict | None = None,
                 label: str | None = None):
        self.masks = {k: np.asarray(v, bool) for k, v in (masks or {}).items()}
        self.scores = {k: np.asarray(v, np.float32) for k, v in (scores or {}).items()}
        self.detections = copy.deepcopy(detections or {})
        super().__init__(label)

    def default_label(self) -> str:
        return "set " + ", ".join(self.masks) if self.masks else "update detections"

    def params(self) -> dict:
        return {"kinds": sorted(self.masks), "scores": sorted(self.scores)}

    def _forward(self, embryo) -> None:
        for kind, m in self.masks.items():
            embryo.flags.set_mask(kind, m)
        for name, s in self.scores.items():
            if s.shape != (embryo.n_frames,):
                raise ValueError(f"score {name!r} has shape {s.shape}, expected ({embryo.n_frames},)")
            embryo.flags.scores[name] = s.copy()
        if self.detections:
            det = copy.deepcopy(embryo.detections)
            det.update(copy.deepcopy(self.detections))
            embryo.detections = det


def _cliff(embryo, index: int) -> CliffDetection:
    cliffs = cliffs_of(embryo.detections)
    if not 0 <= index < len(cliffs):
        raise IndexError(f"no cliff detection #{index} (embryo has {len(cliffs)})")
    return cliffs[index]


def _set_cliff(embryo, index: int, cliff: CliffDetection) -> None:
    cliffs = cliffs_of(embryo.detections)
    cliffs[index] = cliff
    det = copy.deepcopy(embryo.detections)
    det["cliffs"] = cliffs_to_json(cliffs)
    embryo.detections = det


def cliff_mask(embryo) -> np.ndarray:
    """Frames inside any of the embryo's cliff detections that is not rejected."""
    return active_cliffs_mask(embryo.cliffs, embryo.n_frames)


class AcceptDetection(Edit):
    """Accept a cliff detection and repair it: a dip bounded on both sides is interpolated
    (``repair="interpolate"``) or excluded (``repair="exclude"``); a to_end cliff is excluded."""

    type = "accept_detection"

    def __init__(self, index: int, repair: str = "interpolate", label: str | None = None):
        self.index = int(index)
        self.repair = repair
        super().__init__(label)

    def default_label(self) -> str:
        return f"accept cliff #{self.index}"

    def params(self) -> dict:
        return {"index": self.index, "repair": self.repair}

    def _forward(self, embryo) -> None:
        c = _cliff(embryo, self.index)
        idx = c.frames(embryo.n_frames)
        _mark(embryo, "cliff", idx)
        interpolated = False
        if c.bounded(embryo.n_frames) and self.repair == "interpolate":
            cols = None if c.lineage == "population" else [c.lineage]
            try:
                Interpolate(max(0, c.start), min(embryo.n_frames, c.stop), columns=cols)._forward(embryo)
                interpolated = True
            except ValueError:  # nothing to interpolate from: exclude instead (and say so)
                pass
        if not interpolated:
            _mark(embryo, "excluded", idx)
        _set_cliff(embryo, self.index, c.accepted("interpolated" if interpolated else "excluded"))


class RejectDetection(Edit):
    """Reject a cliff detection: its frames lose the cliff flag and, unless another flag excludes
    them, are included again; auto-clean will not flag it again."""

    type = "reject_detection"

    def __init__(self, index: int, label: str | None = None):
        self.index = int(index)
        super().__init__(label)

    def default_label(self) -> str:
        return f"reject cliff #{self.index}"

    def params(self) -> dict:
        return {"index": self.index}

    def _forward(self, embryo) -> None:
        c = _cliff(embryo, self.index)
        was_repaired = c.status == "accepted" and c.repair == "interpolated"
        _set_cliff(embryo, self.index, c.rejected())
        still = cliff_mask(embryo)
        idx = c.frames(embryo.n_frames)
        free = idx[~still[idx]]
        _mark(embryo, "cliff", free, False)
        other = embryo.flags.any_of(CORRUPT_KINDS + ("lossy",))
        _mark(embryo, "excluded", free[~other[free]], False)
        # values repaired for this cliff (when it was accepted) go back to the original annotation;
        # a repair the user made by hand on a pending cliff is kept
        rep = free[embryo.flags.mask("repaired")[free]] if was_repaired else free[:0]
        if rep.size:
            embryo.current[rep] = embryo.original[rep]
            _mark(embryo, "repaired", rep, False)


class RecordTraining(Edit):
    """Append trainer rounds (settings, seed, per-frame losses) to ``embryo.training`` and set the
    ``lossy`` flags and ``loss`` score."""

    type = "record_training"

    def __init__(self, rounds: Sequence[dict], lossy=None, loss=None, label: str | None = None):
        self.rounds = [dict(r) for r in rounds]
        self.lossy = None if lossy is None else np.asarray(lossy, bool)
        self.loss = None if loss is None else np.asarray(loss, np.float32)
        super().__init__(label)

    def default_label(self) -> str:
        n = 0 if self.lossy is None else int(self.lossy.sum())
        return f"trainer: {n} lossy frames"

    def params(self) -> dict:
        return {"rounds": len(self.rounds)}

    def _forward(self, embryo) -> None:
        embryo.training = list(embryo.training) + self.rounds
        if self.lossy is not None:
            embryo.flags.set_mask("lossy", self.lossy)
        if self.loss is not None:
            embryo.flags.scores["loss"] = self.loss.copy()


class Batch(Edit):
    """Several edits as one history step (one undo)."""

    type = "batch"

    def __init__(self, edits: Sequence[Edit], label: str | None = None):
        self.edits = list(edits)
        super().__init__(label)

    def default_label(self) -> str:
        return "; ".join(e.label for e in self.edits[:3]) + ("..." if len(self.edits) > 3 else "")

    def params(self) -> dict:
        return {"edits": [{"type": e.type, "label": e.label, "params": e.params()} for e in self.edits]}

    def _forward(self, embryo) -> None:
        for e in self.edits:
            e._forward(embryo)


__all__ = ["SetExcluded", "Truncate", "SetFlags", "AcceptDetection", "RejectDetection", "RecordTraining",
           "Batch", "cliff_mask", "active_cliffs_mask"]
