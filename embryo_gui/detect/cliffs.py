"""Cliff detection on annotation curves (per-frame cell counts).

A *cliff* is a range of frames where the annotated count falls far below what the embryo holds:
the count drops almost vertically, then either comes back (``dip``) or never recovers before the
video ends (``to_end``).  Real counts are near-monotone and rise in steps, so the expected count
at a frame is the running maximum (the *envelope*) of the median-filtered curve; the median filter
keeps short upward spikes from raising it.  Frames far below the envelope (relative depth and
absolute number of cells, both above thresholds; hysteresis for the edges) are candidates.  A
robust monotone re-check then fits an isotonic (non-decreasing) curve to the frames outside the
candidates, interpolates it across them, and keeps only the candidates still deep against it; the
same curve refines the edges and gives the reported depth.  See docs/DETECTION.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import isotonic_regression

from ..arrays import runs
from ..errors import EmbryoError
from ..lineages import COLUMNS, LINEAGES, N_COLUMNS, POPULATION, fill_population
from ._settings import resolve, settings_from_dict, settings_to_dict

KINDS = ("dip", "to_end")


@dataclass
class Cliff:
    """A detected cliff: frames ``[start, stop)`` of one curve (population or a lineage letter).

    ``depth`` is the median fraction of the expected count that is lost in the range (1.0 = the
    count fell to 0; a cliff with depth < ``CliffSettings.full_depth`` is *partial*).  ``score`` in
    [0, 1] is ``depth * (1 - exp(-cells_lost / min_cells))``: deep drops of many cells score near 1.
    """

    start: int
    stop: int
    kind: str
    lineage: str
    score: float
    depth: float
    cells_lost: float = 0.0
    expected: float = 0.0

    @property
    def partial(self) -> bool:
        return self.depth < CliffSettings.full_depth

    @property
    def n_frames(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict:
        return {
            "start": int(self.start), "stop": int(self.stop), "kind": self.kind,
            "lineage": self.lineage, "score": round(float(self.score), 4),
            "depth": round(float(self.depth), 4), "cells_lost": round(float(self.cells_lost), 2),
            "expected": round(float(self.expected), 2), "partial": bool(self.partial),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Cliff":
        return cls(start=int(d["start"]), stop=int(d["stop"]), kind=str(d["kind"]),
                   lineage=str(d["lineage"]), score=float(d["score"]), depth=float(d["depth"]),
                   cells_lost=float(d.get("cells_lost", 0.0)), expected=float(d.get("expected", 0.0)))


@dataclass
class CliffSettings:
    """Thresholds of the cliff detector (defaults work on EPIC-like curves)."""

    median_window: int = 5        # frames; upward excursions shorter than half of it never raise the envelope
    min_depth: float = 0.3        # a candidate frame has lost at least this fraction of the expected count...
    min_cells: float = 4.0        # ...and at least this many cells (so tiny lineages' jitter is ignored)
    noise_k: float = 5.0          # ...and at least noise_k x the curve's robust frame-to-frame noise
    extend_depth: float = 0.15    # hysteresis: a cliff extends over neighbouring frames down to this depth
    max_gap: int = 0              # candidate ranges closer than this many frames are merged (0: touching)
    min_frames: int = 2           # shorter ranges are isolated mislabels (the lossy-frame trainer's job)
    single_frame_depth: float = 0.8  # with min_frames=1: a 1-frame range must fall at least this deep
    edge_slack: int = 2           # frames around a range re-examined against the monotone fit
    full_depth: float = 0.8       # depth below this = partial cliff (reporting only)

    def to_dict(self) -> dict:
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "CliffSettings":
        return settings_from_dict(cls, data)


def _hysteresis(core: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Runs of ``weak | core`` that contain at least one ``core`` frame."""
    out = np.zeros_like(core, dtype=bool)
    for a, b in runs(core | weak):
        if core[a:b].any():
            out[a:b] = True
    return out


def _merge(ranges: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _despike(v: np.ndarray) -> np.ndarray:
    """Single frames above both neighbours by > 15 % (+2 cells) are lowered to the higher
    neighbour, so that isolated upward mislabels two frames apart never build an envelope."""
    if v.size < 3:
        return v
    out = v.copy()
    nb = np.maximum(v[:-2], v[2:])
    up = v[1:-1] > 1.15 * nb + 2.0
    out[1:-1][up] = nb[up]
    return out


def _noise(v: np.ndarray) -> float:
    """Robust frame-to-frame noise (sigma of one value) from the MAD of first differences."""
    if v.size < 3:
        return 0.0
    d = np.diff(v)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def _expected_curve(v: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Isotonic (non-decreasing) fit of ``v`` on the kept frames, linearly interpolated across the
    others and held flat beyond the last kept frame (so a to-the-end cliff keeps its plateau)."""
    pos = np.flatnonzero(keep)
    if pos.size == 0:
        return np.full_like(v, np.nan)
    fit = isotonic_regression(v[pos]).x
    return np.interp(np.arange(v.size), pos, fit)


def detect_cliffs_1d(y: np.ndarray, settings: "CliffSettings | dict | None" = None,
                     lineage: str = "population") -> list[Cliff]:
    """Cliffs of one count curve ``y`` (T,); NaN frames are unannotated and skipped (a cliff's
    range spans them when they lie inside it)."""
    s = resolve(CliffSettings, settings)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise EmbryoError(f"a count curve must be one-dimensional, got shape {y.shape}")
    idx = np.flatnonzero(np.isfinite(y))
    if idx.size < 2:
        return []
    v = y[idx]
    n = v.size

    # 1. envelope: running max of the median-filtered curve
    win = max(1, int(s.median_window) | 1)
    env = np.maximum.accumulate(median_filter(_despike(v), size=min(win, n | 1), mode="mirror"))
    min_lost = max(float(s.min_cells), s.noise_k * _noise(v))
    cand = _candidates(v, env, s, min_lost)
    if not cand:
        return []

    # 2. a range that ends by creeping back over the held plateau (the curve kept growing while
    #    scaled down) has not come back: extend it to the next vertical rise, or to the end
    cand = _merge(_extend_to_return(v, env, cand, s), int(s.max_gap))

    # 3. robust monotone re-check against an isotonic fit of the frames outside every candidate
    keep = np.ones(n, dtype=bool)
    for a, b in cand:
        keep[a:b] = False
    if not keep.any():
        return []
    expected = _expected_curve(v, keep)

    cliffs: list[Cliff] = []
    last = n - 1
    for a, b in cand:
        kind = "to_end" if b - 1 == last else "dip"
        exp_r = expected[a:b]
        if kind == "dip":
            lost = exp_r - v[a:b]
        else:   # the true count after the fall is unknown: measure the fall against its plateau
            lost = expected[a] - v[a:b][: max(1, min(b - a, s.median_window // 2 + 1))]
            exp_r = np.full(lost.size, expected[a])
        depth = float(np.median(lost / np.maximum(exp_r, 1.0)))
        cells = float(np.median(lost))
        if depth < s.min_depth or cells < min_lost:
            continue
        if b - a < max(1, s.min_frames) or (b - a == 1 and depth < s.single_frame_depth):
            continue
        score = depth * (1.0 - np.exp(-cells / max(s.min_cells, 1e-9)))
        start = int(idx[a])
        stop = int(idx[b - 1]) + 1 if kind == "dip" else int(y.size)
        cliffs.append(Cliff(start=start, stop=stop, kind=kind, lineage=lineage,
                            score=float(np.clip(score, 0.0, 1.0)), depth=float(np.clip(depth, 0.0, 1.0)),
                            cells_lost=cells, expected=float(np.median(exp_r))))
    return cliffs


def _level(v: np.ndarray, a: int, b: int) -> float:
    a, b = max(0, a), min(v.size, b)
    return float(np.mean(v[a:b])) if b > a else float("nan")


def _extend_to_return(v: np.ndarray, env: np.ndarray, ranges: list[tuple[int, int]],
                      s: CliffSettings) -> list[tuple[int, int]]:
    """Move the end of each range that does not end with a vertical rise to the next frame that
    does (a rise of at least half the fall, in log ratio), or to the end of the curve."""
    n = v.size
    k = 2
    out = []
    for a, b in ranges:
        if b >= n:
            out.append((a, b))
            continue
        plateau = env[a - 1] if a > 0 else env[a]
        fall = np.log((plateau + 1.0) / (_level(v, a, min(b, a + k)) + 1.0))
        need = 0.5 * fall
        u = b
        while u < n:
            before = float(np.max(v[max(a, u - k):u]))    # sustained rise: every frame after
            after = float(np.min(v[u:u + k]))             # it above every frame before it
            rise = np.log((after + 1.0) / (before + 1.0))
            if rise >= need and after - before >= 0.5 * s.min_cells:
                break
            if u == b and v[b:b + 2].min() >= (1.0 - s.extend_depth) * plateau and \
                    np.log((v[b:b + 2].min() + 1.0) / (v[b - 1] + 1.0)) >= 0.5 * need:
                break       # back at the plateau in one step
            u += 1
        out.append((a, u))
    return out


def _candidates(v: np.ndarray, ref: np.ndarray, s: CliffSettings, min_lost: float,
                within: np.ndarray | None = None) -> list[tuple[int, int]]:
    lost = ref - v
    depth = lost / np.maximum(ref, 1.0)
    core = (depth >= s.min_depth) & (lost >= min_lost)
    weak = (depth >= s.extend_depth) & (lost >= 0.5 * min_lost)
    if within is not None:
        core &= within
        weak &= within
    mask = _hysteresis(core, weak)
    return _merge([tuple(r) for r in runs(mask).tolist()], int(s.max_gap))


def detect_cliffs(counts: np.ndarray, settings: "CliffSettings | dict | None" = None) -> list[Cliff]:
    """Cliffs of the population curve and of every annotated lineage of ``counts`` (T, 8), sorted
    by start frame (population first among equal starts)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != N_COLUMNS:
        raise EmbryoError(f"counts must have shape (n_frames, {N_COLUMNS}), got {counts.shape}")
    counts = fill_population(counts.copy())
    s = resolve(CliffSettings, settings)
    out = detect_cliffs_1d(counts[:, POPULATION], s, "population")
    for i, name in enumerate(LINEAGES):
        if np.isfinite(counts[:, i]).any():
            out.extend(detect_cliffs_1d(counts[:, i], s, name))
    order = {c: k for k, c in enumerate(("population",) + LINEAGES)}
    out.sort(key=lambda c: (c.start, order.get(c.lineage, 99)))
    return out


def cliff_mask(cliffs: list[Cliff], n_frames: int, lineage: str | None = None) -> np.ndarray:
    """Bool (n_frames,) of the frames inside any cliff (of one lineage, or of all when None)."""
    m = np.zeros(n_frames, dtype=bool)
    for c in cliffs:
        if lineage is None or c.lineage == lineage:
            m[max(0, c.start):min(n_frames, c.stop)] = True
    return m


__all__ = ["Cliff", "CliffSettings", "detect_cliffs_1d", "detect_cliffs", "cliff_mask", "KINDS", "COLUMNS"]
