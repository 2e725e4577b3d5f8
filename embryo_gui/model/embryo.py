"""One embryo of a project: its frames, annotations, flags, detections, history and training."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from ..arrays import rows_differ
from ..lineages import N_COLUMNS, annotated_lineages
from ..policy import HANDLED_KINDS, LOST_KINDS, PROBLEM_KINDS, UNUSABLE_FRACTION
from .detections import AutocleanRecord, CliffDetection, CorruptFrames, cliffs_of
from .flags import Flags
from .framestore import FrameReader
from .history import History


class Embryo:
    def __init__(self, name: str, uid: str, n_frames: int, frame_shape, original: np.ndarray,
                 frames_path: Path, current: Optional[np.ndarray] = None, flags: Optional[Flags] = None,
                 detections: Optional[dict] = None, training: Optional[list] = None,
                 source: Optional[dict] = None, alignment: Optional[dict] = None):
        self.name = str(name)
        self.uid = str(uid)
        self.n_frames = int(n_frames)
        self.frame_shape = tuple(int(x) for x in frame_shape)
        orig = np.asarray(original, dtype=np.float64)
        if orig.shape != (self.n_frames, N_COLUMNS):
            raise ValueError(f"annotations of {name!r} have shape {orig.shape}, expected ({self.n_frames}, {N_COLUMNS})")
        self._original = orig.copy()
        self._original.setflags(write=False)
        self.current = self._original.copy() if current is None else np.array(current, dtype=np.float64)
        if self.current.shape != orig.shape:
            raise ValueError(f"current annotations of {name!r} have shape {self.current.shape}, expected {orig.shape}")
        self.flags = flags if flags is not None else Flags(self.n_frames)
        self.detections: dict = detections if detections is not None else {}
        self.training: list = training if training is not None else []
        self.source: dict = source or {}
        self.alignment: dict = alignment or {}
        self.frames = FrameReader(frames_path, self.n_frames, self.frame_shape)
        self.history = History(self)
        self._truth: Optional[dict] = None

    @property
    def original(self) -> np.ndarray:
        """The imported annotations (read-only; never modified)."""
        return self._original

    @property
    def has_annotations(self) -> bool:
        return bool(np.isfinite(self._original).any())

    @property
    def annotated_mask(self) -> np.ndarray:
        """Frames whose current population is annotated."""
        return np.isfinite(self.current[:, -1])

    @property
    def lineages(self) -> list[str]:
        return annotated_lineages(self.current)

    @property
    def truth(self) -> dict:
        """Ground truth stored with demo embryos (read from the frame file), else ``{}``."""
        if self._truth is None:
            self._truth = {}
            try:
                with h5py.File(self.frames.path, "r") as f:
                    if "truth" in f:
                        self._truth = {k: f["truth"][k][()] for k in f["truth"]}
            except OSError:
                pass
        return self._truth

    def _update_edited(self) -> None:
        self.flags.set_mask("edited", rows_differ(self.current, self._original))

    def hand_edited_mask(self) -> np.ndarray:
        """Frames whose current value a person set by hand (a point drag, Set value): ``edited``
        and not ``repaired`` (an interpolation, a refit or an accepted spike marks ``repaired``)."""
        return self.flags.mask("edited") & ~self.flags.mask("repaired")

    @property
    def cliffs(self) -> list[CliffDetection]:
        """The cliff detections (typed; stored as dicts in :attr:`detections`)."""
        return cliffs_of(self.detections)

    @property
    def corrupt(self) -> CorruptFrames:
        """The corrupt-frame detector's settings and per-frame reasons."""
        return CorruptFrames.of(self.detections)

    @property
    def autoclean_record(self) -> Optional[AutocleanRecord]:
        """What the last auto-clean decided (None if it never ran)."""
        return AutocleanRecord.of(self.detections)

    def snapshot(self) -> "Embryo":
        """A detached copy of the editable state (annotations, flags, detections, training) with an
        empty history, sharing the read-only frames: workflows plan on it off the caller's thread
        (edits may be applied to it freely) and the live embryo is never touched."""
        c = copy.copy(self)
        c.current = self.current.copy()
        c.flags = Flags(self.n_frames, self.flags.bits.copy(), {k: v.copy() for k, v in self.flags.scores.items()})
        c.detections = copy.deepcopy(self.detections)
        c.training = list(self.training)
        c.history = History(c)
        return c

    def state_token(self) -> tuple:
        """Changes whenever the embryo's state does (through its history): compare with ``==``
        to tell whether the embryo changed since a job took its snapshot."""
        return (id(self.history), self.history.version)

    def lost_fraction(self) -> float:
        """Share of frames an export would lose: excluded or flagged black / red artifact
        (:data:`~embryo_gui.policy.LOST_KINDS`; repaired frames are kept)."""
        if not self.n_frames:
            return 0.0
        return float(self.flags.any_of(LOST_KINDS + ("excluded",)).mean())

    def unusable_fraction(self) -> float:
        """The unusable threshold that applies: the one the last auto-clean ran with, else
        :data:`embryo_gui.policy.UNUSABLE_FRACTION`."""
        rec = self.autoclean_record
        return rec.unusable_fraction if rec is not None else UNUSABLE_FRACTION

    def state(self) -> str:
        """``unusable`` (auto-clean said so, or more than :meth:`unusable_fraction` of the frames
        are lost, see :meth:`lost_fraction`), ``flagged`` (a problem flag remains on a frame that is
        neither excluded nor repaired) or ``clean`` (nothing left to look at, e.g. after auto-clean
        handled every problem)."""
        rec = self.autoclean_record
        if (rec is not None and rec.unusable) or self.lost_fraction() > self.unusable_fraction():
            return "unusable"
        problems = self.flags.any_of(PROBLEM_KINDS) & ~self.flags.any_of(HANDLED_KINDS)
        return "flagged" if problems.any() else "clean"

    def __repr__(self) -> str:
        return f"Embryo({self.name!r}, n_frames={self.n_frames}, frame_shape={self.frame_shape})"
