"""Qt-free helpers of the views: the selected frame range (view state), event subscriptions,
flag marks, the status text.

Kept free of Qt so the navigation rules can be tested without a display.  The state of the
application (project, embryo, frame, undo stack, running job) is the Session's
(:class:`embryo_gui.app.session.Session`); nothing here copies it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

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


class Selection:
    """The selected frame range (inclusive ``(first, last)``) of the shown embryo, or None.

    View state, not the Session's: the window clears it when the embryo changes.  Listeners get
    the new range (or None)."""

    def __init__(self) -> None:
        self.range: tuple[int, int] | None = None
        self._listeners: list[Callable[[tuple[int, int] | None], None]] = []

    def add_listener(self, fn: Callable[[tuple[int, int] | None], None]) -> None:
        self._listeners.append(fn)

    def set(self, a: int, b: int, n_frames: int) -> tuple[int, int] | None:
        if n_frames <= 0:
            return self.clear()
        lo, hi = sorted(int(min(max(int(x), 0), n_frames - 1)) for x in (a, b))
        self.range = (lo, hi)
        self._notify()
        return self.range

    def clear(self) -> None:
        if self.range is not None:
            self.range = None
            self._notify()
        return None

    def target_frames(self, frame: int) -> tuple[int, int]:
        """The selected range, or just ``frame`` (the current one) when nothing is selected."""
        return self.range if self.range is not None else (int(frame), int(frame))

    def _notify(self) -> None:
        for fn in list(self._listeners):
            fn(self.range)


class Subscriptions:
    """The Session events a view listens to, so it can let go of all of them at once (a closed
    window's views must not be called again)."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, Callable]] = []

    def connect(self, signal: Any, fn: Callable) -> None:
        signal.connect(fn)
        self._items.append((signal, fn))

    def disconnect_all(self) -> None:
        for signal, fn in self._items:
            signal.disconnect(fn)
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def flags_of_frame(embryo: Any, i: int) -> list[str]:
    """Names of the flag kinds set at frame ``i`` of ``embryo`` (display order), read from its
    flag bits (O(1): no mask of the whole embryo per frame)."""
    from ..model.flags import bit
    bits = embryo.flags.bits
    if not 0 <= i < len(bits):
        return []
    b = int(bits[i])
    return [k for k in FLAG_KINDS if b & int(bit(k))]


def flag_masks(embryo: Any) -> dict[str, np.ndarray]:
    """One bool mask per flag kind of ``embryo`` (for the timeline)."""
    return {k: embryo.flags.mask(k) for k in FLAG_KINDS}
