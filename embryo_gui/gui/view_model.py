"""Qt-free state shared by the widgets: the frame cursor, the selected range, flag marks.

Kept free of Qt so the navigation rules can be tested without a display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ..arrays import runs  # noqa: F401  (views draw runs of flagged frames)
from ..policy import FLAG_KINDS  # noqa: F401  (display order = the core's order)

#: One colour per flag kind (RGB), chosen to stay distinct on light and dark themes.
FLAG_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (60, 60, 60),
    "red_artifact": (220, 40, 40),
    "outlier": (240, 150, 20),
    "cliff": (160, 60, 200),
    "lossy": (30, 140, 230),
    "excluded": (150, 150, 150),
    "edited": (40, 170, 80),
    "repaired": (0, 190, 190),
    "spike": (230, 90, 170),
    "out_of_order": (120, 90, 40),
}


def next_flagged(mask: np.ndarray, index: int, forward: bool = True) -> int | None:
    """The next (or previous) frame after ``index`` whose mask is True, or None."""
    m = np.asarray(mask, dtype=bool)
    if forward:
        hits = np.flatnonzero(m[index + 1:])
        return int(index + 1 + hits[0]) if hits.size else None
    hits = np.flatnonzero(m[:max(index, 0)])
    return int(hits[-1]) if hits.size else None


@dataclass
class FrameCursor:
    """The current frame of a video of ``n_frames`` frames and an optional selected range.

    Listeners registered with :meth:`add_listener` are called with the new index whenever it
    changes; the widgets follow the cursor, they never keep their own copy.
    """

    n_frames: int = 0
    index: int = 0
    selection: tuple[int, int] | None = None  # inclusive (first, last)
    _listeners: list[Callable[[int], None]] = field(default_factory=list, repr=False)

    def add_listener(self, fn: Callable[[int], None]) -> None:
        self._listeners.append(fn)

    def reset(self, n_frames: int, index: int = 0) -> None:
        self.n_frames = int(n_frames)
        self.selection = None
        self.index = -1
        self.seek(index)

    def clamp(self, i: int) -> int:
        if self.n_frames <= 0:
            return 0
        return int(min(max(int(i), 0), self.n_frames - 1))

    def seek(self, i: int) -> int:
        new = self.clamp(i)
        if new != self.index:
            self.index = new
            for fn in list(self._listeners):
                fn(new)
        return self.index

    def step(self, delta: int) -> int:
        return self.seek(self.index + int(delta))

    def select(self, a: int, b: int) -> tuple[int, int]:
        lo, hi = sorted((self.clamp(a), self.clamp(b)))
        self.selection = (lo, hi)
        return self.selection

    def clear_selection(self) -> None:
        self.selection = None

    def target_frames(self) -> tuple[int, int]:
        """The selected range, or just the current frame when nothing is selected (inclusive)."""
        return self.selection if self.selection is not None else (self.index, self.index)


def any_flag_mask(masks: Mapping[str, np.ndarray], kinds: Sequence[str]) -> np.ndarray | None:
    """OR of the masks of the given kinds (None when there is none)."""
    out = None
    for k in kinds:
        m = masks.get(k)
        if m is None:
            continue
        out = np.asarray(m, bool).copy() if out is None else (out | np.asarray(m, bool))
    return out


def flags_at(masks: Mapping[str, np.ndarray], i: int) -> list[str]:
    """Names of the kinds set at frame ``i``, in display order."""
    return [k for k in FLAG_KINDS if k in masks and 0 <= i < len(masks[k]) and bool(masks[k][i])]


def unannotated_mask(counts: np.ndarray | None) -> np.ndarray:
    """Frames without an annotation (population NaN), e.g. the frames after the last timepoint
    of an EPIC lineage file.  A lineage count of 0 is an annotation (no cell of that lineage)."""
    if counts is None:
        return np.zeros(0, bool)
    c = np.asarray(counts, np.float64)
    return np.isnan(c[:, -1]) if c.ndim == 2 and c.shape[0] else np.zeros(0, bool)


def format_time(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60.0)
    return f"{int(m)}:{s:05.2f}"


def status_text(i: int, n: int, fps: float | None, counts: np.ndarray | None,
                columns: Sequence[str], flags: Sequence[str]) -> str:
    """The status-bar line: frame (0-based, like the plot, the timeline, History and the CLI),
    time, population and lineages at the cursor, flags."""
    parts = [f"frame {i} of 0-{n - 1}" if n else "no frames"]
    if fps and fps > 0:
        parts.append(f"t = {format_time(i / fps)}")
    if counts is not None and n:
        row = counts[i]
        pop = row[-1]
        if np.isfinite(pop):
            parts.append(f"population {pop:g}")
        lin = [f"{c} {row[j]:g}" for j, c in enumerate(columns[:-1]) if np.isfinite(row[j])]
        if not np.isfinite(pop) and not lin:
            parts.append("not annotated")
        elif not np.isfinite(pop):
            parts.append("population —")
        if lin:
            parts.append(" ".join(lin))
    if flags:
        parts.append("flags: " + ", ".join(flags))
    return "   |   ".join(parts)


def merge_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of inclusive frame spans ``(first, last)``: overlapping or touching spans merge, so
    detections of the same drop (population and each lineage) are drawn once."""
    out: list[list[int]] = []
    for lo, hi in sorted((int(a), int(b)) for a, b in spans):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def detections_at(spans: Sequence[tuple[int, int]], frame: int) -> list[int]:
    """Indices of the inclusive spans that contain ``frame``."""
    return [k for k, (lo, hi) in enumerate(spans) if lo <= frame <= hi]
