"""Per-frame flags (a bit per kind) and detector scores of one embryo."""

from __future__ import annotations

import numpy as np

from ..policy import FLAG_KINDS

_BIT = {k: np.uint16(1 << i) for i, k in enumerate(FLAG_KINDS)}


def bit(kind: str) -> np.uint16:
    try:
        return _BIT[kind]
    except KeyError:
        raise ValueError(f"unknown flag kind {kind!r}; expected one of {', '.join(FLAG_KINDS)}") from None


class Flags:
    """Flag bits (``uint16`` per frame) and named float32 score arrays.

    Mutate only through edits (embryo_gui.edits) so every change is undoable.
    """

    def __init__(self, n_frames: int, bits: np.ndarray | None = None, scores: dict | None = None):
        self.n_frames = int(n_frames)
        self.bits = np.zeros(self.n_frames, np.uint16) if bits is None else np.asarray(bits, np.uint16).copy()
        if self.bits.shape != (self.n_frames,):
            raise ValueError(f"flag array has shape {self.bits.shape}, expected ({self.n_frames},)")
        self.scores: dict[str, np.ndarray] = {k: np.asarray(v, np.float32) for k, v in (scores or {}).items()}

    def mask(self, kind: str) -> np.ndarray:
        return (self.bits & bit(kind)) != 0

    def any_of(self, kinds) -> np.ndarray:
        b = np.uint16(0)
        for k in kinds:
            b |= bit(k)
        return (self.bits & b) != 0

    def set_mask(self, kind: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, bool)
        if mask.shape != (self.n_frames,):
            raise ValueError(f"mask for {kind!r} has shape {mask.shape}, expected ({self.n_frames},)")
        b = bit(kind)
        self.bits = np.where(mask, self.bits | b, self.bits & ~b).astype(np.uint16)

    def counts(self) -> dict[str, int]:
        return {k: int(self.mask(k).sum()) for k in FLAG_KINDS}
