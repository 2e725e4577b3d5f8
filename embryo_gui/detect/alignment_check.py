"""Alignment check: does the lineage curve fit the nuclei the frames show?

The import maps lineage timepoints to frames by an offset (frame of timepoint 1) and a number of
frames per timepoint that the user gives.  This module checks that mapping against the pixels:

1. **Nucleus count per frame** (:func:`count_nuclei`): scale-normalised Laplacian-of-Gaussian blob
   detection on the green channel of the 1/4-size frame (``small_frame``).  Nuclei are round blobs
   of bounded size (EPIC: 35-60 px across at full size, 9-15 px on the small frame); a blob counts
   when its LoG response is a local maximum over space and scale and stands well above the
   frame's noise.  The count is right while nuclei are few and large; it saturates (touching,
   out-of-focus nuclei merge) from ~50-60 nuclei on, so it is never used as a count, only as a
   curve *shape*.
2. **Shape fit** (:func:`check_alignment`): for every candidate offset and frames-per-timepoint the
   lineage population is mapped onto the frames (as :func:`embryo_gui.io.alignment.align_annotations`
   does) and compared in log scale with the estimated counts, on the frames where the lineage is
   still under ``max_cells`` (where the estimate follows it).  A free additive constant absorbs the
   estimator's bias (it undercounts by a roughly constant factor); what is left is the curve's
   shape: the division steps (2 -> 4 -> 8 -> ... cells) must land on the frames where the blob
   count steps up.  A one-frame shift moves every step by a frame, which costs at each step.
   Cost = mean absolute log2 residual, each frame's residual clipped at 1 (a poster frame or a
   frame with a blotch cannot outweigh the steps).

The result (:class:`AlignmentCheck`) reports the best fit next to the one used and says when they
differ.  It is pure numpy/OpenCV (no Qt, no project I/O).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import cv2
import numpy as np

from ..model.framestore import small_frame
from ..progress import ordered_map

#: LoG scales (pixels of the 1/4-size frame): nuclei of ~6-25 px across there (radius ~ sigma * sqrt 2)
SIGMAS = (1.5, 2.2, 3.2, 4.5, 6.5)


def _kth(cum: np.ndarray, k: int) -> int:
    """The k-th smallest (0-based) value of the samples whose cumulative histogram is ``cum``."""
    return int(np.searchsorted(cum, k, side="right"))


def _median_of_hist(hist: np.ndarray, n: int) -> float:
    cum = np.cumsum(hist)
    if n % 2:
        return float(_kth(cum, n // 2))
    return (_kth(cum, n // 2 - 1) + _kth(cum, n // 2)) / 2.0


def _median_mad_u8(g: np.ndarray) -> tuple[float, float]:
    """(median, median absolute deviation) of a uint8 image, exactly as ``np.median`` gives them,
    from its histogram (10x faster than sorting: both are halves of integers)."""
    n = g.size
    hist = np.bincount(g.ravel(), minlength=256)
    med = _median_of_hist(hist, n)
    # |v - med| * 2 is an integer for every grey level v
    dev2 = np.abs(2 * np.arange(256) - int(round(2 * med)))
    mad2 = _median_of_hist(np.bincount(dev2, weights=hist, minlength=512).astype(np.int64), n)
    return med, mad2 / 2.0


def count_nuclei(small: np.ndarray, min_snr: float = 6.0, min_rel: float = 0.15, min_level: float = 0.0) -> int:
    """Number of nucleus-like blobs in a 1/4-size frame (RGB uint8, or its green channel).

    A blob is a local maximum over space (3 x 3) and scale of the scale-normalised LoG of the green
    channel, above ``min_snr`` x the frame's robust noise and above ``min_rel`` x the frame's
    strongest blob (dim out-of-focus ghosts of bright nuclei do not count) and above ``min_level``
    (response in grey levels: about a third of the nucleus' contrast for a matched scale)."""
    g = small[..., 1] if small.ndim == 3 else small
    if g.dtype == np.uint8 and g.size:
        med, mad = _median_mad_u8(g)
    else:
        med = float(np.median(g.astype(np.float32)))
        mad = float(np.median(np.abs(g.astype(np.float32) - med)))
    g = g.astype(np.float32)
    noise = 1.4826 * mad + 0.5
    resp = np.stack([-(s * s) * cv2.Laplacian(cv2.GaussianBlur(g, (0, 0), s), cv2.CV_32F) for s in SIGMAS])
    best = resp.max(axis=0)
    top = float(best.max()) if best.size else 0.0
    if top <= 0:
        return 0
    peak = best >= cv2.dilate(best, np.ones((3, 3), np.uint8))
    return int((peak & (best > max(min_snr * noise, min_rel * top, min_level))).sum())


def estimate_counts(small_frames: Iterable[np.ndarray]) -> np.ndarray:
    """Nucleus count per frame (float64 (T,)) from 1/4-size frames."""
    return np.array([count_nuclei(np.asarray(f)) for f in small_frames], dtype=np.float64)


@dataclass
class AlignmentCheck:
    """Best offset / frames per timepoint for the pixels, next to the one used."""

    offset_used: int
    fpt_used: float
    offset_best: int
    fpt_best: float
    cost_used: float            # mean |log2 residual| of the mapping used (lower is better)
    cost_best: float
    cost_next: float            # best cost at another offset than offset_best (how clear the fit is)
    frames_compared: int
    agrees: bool
    message: str
    steps: list = field(default_factory=list)    # [(frame, cells before, cells after)] division steps of the best fit
    offset_costs: dict = field(default_factory=dict)   # offset -> cost at fpt_best (for a plot)
    counts: Optional[np.ndarray] = field(default=None, repr=False)  # estimated nuclei per frame

    def to_dict(self) -> dict:
        return {"offset_used": self.offset_used, "frames_per_timepoint_used": self.fpt_used,
                "offset_best": self.offset_best, "frames_per_timepoint_best": self.fpt_best,
                "cost_used": round(self.cost_used, 4), "cost_best": round(self.cost_best, 4),
                "cost_next": round(self.cost_next, 4), "frames_compared": self.frames_compared,
                "agrees": self.agrees, "message": self.message,
                "steps": [list(s) for s in self.steps],
                "offset_costs": {str(k): round(v, 4) for k, v in self.offset_costs.items()},
                "estimated_counts": None if self.counts is None else [int(c) for c in self.counts]}


def _map(index: np.ndarray, pop: np.ndarray, n_frames: int, offset: int, fpt: float) -> np.ndarray:
    """Population per frame (NaN unannotated) for one candidate: the mapping of
    io.alignment.align_annotations (timepoint t from offset + round_half_up((t - 1) * fpt), lasting
    max(1, round_half_up(fpt)) frames, later timepoints win)."""
    out = np.full(n_frames, np.nan)
    length = max(1, int(np.floor(fpt + 0.5)))
    starts = offset + np.floor((index - 1.0) * fpt + 0.5).astype(np.int64)
    for k in range(length):
        f = starts + k
        ok = (f >= 0) & (f < n_frames)
        out[f[ok]] = pop[ok]          # index is sorted: later timepoints overwrite earlier ones
    return out


def _steps(x: np.ndarray, w: int) -> np.ndarray:
    """Step signal: mean of x over the ``w`` frames from f on minus over the ``w`` frames before f
    (NaN frames skipped; NaN where a side is empty)."""
    T = x.size
    pad = np.r_[np.full(w, np.nan), x, np.full(w, np.nan)]
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * w)[:T]
    after, before = win[:, w:], win[:, :w]
    na, nb = np.isfinite(after).sum(axis=1), np.isfinite(before).sum(axis=1)
    out = np.full(T, np.nan)
    ok = (na > 0) & (nb > 0)
    out[ok] = (np.nansum(after[ok], axis=1) / na[ok]) - (np.nansum(before[ok], axis=1) / nb[ok])
    return out


def _cost(est_log: np.ndarray, est_steps: np.ndarray, informative: np.ndarray, mapped: np.ndarray,
          max_cells: float, min_frames: int, w: int,
          coverage: float) -> tuple[float, int]:
    """(cost, frames compared) of one candidate on the informative frames (see the module doc)."""
    have = informative & np.isfinite(mapped)
    n = int(have.sum())
    # a candidate must annotate most of the frames where nuclei can be counted: otherwise it could
    # pick a short, convenient stretch of the curve
    if n < min_frames or n < coverage * informative.sum():
        return np.inf, n
    low = have & (mapped <= max_cells)
    if low.sum() < min_frames:
        return np.inf, n
    y = np.log2(np.where(np.isfinite(mapped), mapped, np.nan) + 1.0)
    r = est_log[low] - y[low]
    r = np.minimum(np.abs(r - np.median(r)), 1.0)
    # frames with few nuclei in view that the candidate gives more than max_cells cells: mismatches
    level = (r.sum() + float((have & ~low).sum())) / n
    sm = _steps(y, w)
    sel = low & np.isfinite(sm) & np.isfinite(est_steps)
    a, b = est_steps[sel], sm[sel]
    if sel.sum() < min_frames or b.std() == 0 or a.std() == 0:
        return np.inf, n
    return float(level + 1.0 - np.corrcoef(a, b)[0, 1]), n


def check_alignment(estimated: np.ndarray, index: Sequence[int], population: Sequence[float],
                    offset_used: int = 0, fpt_used: float = 1.0, exclude: Optional[np.ndarray] = None,
                    max_shift: int = 30, fpts: Optional[Sequence[float]] = None,
                    max_cells: float = 100.0, min_frames: int = 12, step_window: int = 3,
                    saturate: float = 0.6, coverage: float = 0.75) -> AlignmentCheck:
    """Fit the lineage population (``index``: 1-based timepoints, ``population``) to the estimated
    nucleus counts per frame.  ``exclude``: frames left out (corrupt, out of order).  Offsets within
    ``max_shift`` frames of the one used and ``fpts`` (default 0.5-2 in steps of 0.05, and the one
    used) are tried; ties go to the mapping used."""
    est = np.asarray(estimated, dtype=np.float64)
    T = est.size
    index = np.asarray(index, dtype=np.float64)
    pop = np.asarray(population, dtype=np.float64)
    ok = np.isfinite(pop) & np.isfinite(index)
    order = np.argsort(index[ok], kind="stable")
    index, pop = index[ok][order], pop[ok][order]
    usable = np.isfinite(est) & (est > 0)
    if exclude is not None:
        usable &= ~np.asarray(exclude, dtype=bool)
    est_log = np.where(usable, np.log2(np.maximum(est, 0.0) + 1.0), np.nan)
    est_steps = _steps(est_log, step_window)
    # informative frames: before the estimate saturates (smoothed count under saturate x its 90th
    # percentile: nuclei still separable on the small frame); the same frames for every candidate
    smooth = np.full(T, np.nan)
    vals = np.where(usable, est, np.nan)
    for f in range(T):
        seg = vals[max(0, f - 2):f + 3]
        if np.isfinite(seg).any():
            smooth[f] = np.nanmedian(seg)
    informative = np.zeros(T, dtype=bool)
    if usable.any():
        sat = float(np.nanpercentile(vals, 90))
        over = np.flatnonzero(smooth > saturate * sat)
        informative[:over[0] if over.size else T] = True
        informative &= usable
    cand_fpt = sorted(set([0.5, 1.0, 2.0] if fpts is None else [float(x) for x in fpts]) | {float(fpt_used)})
    offsets = range(int(offset_used) - max_shift, int(offset_used) + max_shift + 1)
    table: dict[tuple[int, float], float] = {}
    counts_n: dict[tuple[int, float], int] = {}
    for fpt in cand_fpt:
        for o in offsets:
            c, n = _cost(est_log, est_steps, informative, _map(index, pop, T, o, fpt), max_cells,
                         min_frames, step_window, coverage)
            table[(o, fpt)], counts_n[(o, fpt)] = c, n
    used = (int(offset_used), float(fpt_used))
    cost_used = table[used]
    # best: lowest cost; the mapping used wins ties (within 2 %: no evidence against it)
    best = min(table, key=lambda k: (table[k], k != used))
    if np.isfinite(cost_used) and cost_used <= table[best] * 1.02:
        best = used
    cost_best = table[best]
    others = [v for (o, f), v in table.items() if o != best[0]]
    cost_next = min(others) if others else np.inf
    offset_costs = {o: table[(o, best[1])] for o in offsets if np.isfinite(table[(o, best[1])])}
    if not np.isfinite(cost_best):
        msg = (f"alignment not checked: fewer than {min_frames} frames hold both a lineage count under "
               f"{max_cells:.0f} cells and visible nuclei")
        return AlignmentCheck(int(offset_used), float(fpt_used), int(offset_used), float(fpt_used),
                              float(cost_used), float(cost_best), float(cost_next), 0, True, msg,
                              counts=est)
    mapped = _map(index, pop, T, best[0], best[1])
    steps = []
    prev = np.nan
    for f in range(T):
        m = mapped[f]
        if np.isfinite(m) and np.isfinite(prev) and m <= max_cells and m >= 1.25 * prev and m - prev >= 2:
            steps.append((f, int(prev), int(m)))
        if np.isfinite(m):
            prev = m
    agrees = best == used
    fit = f"offset {best[0]}, {best[1]:g} frame{'s' if best[1] != 1 else ''} per timepoint"
    why = (f"log nucleus count from the green channel vs lineage population on {counts_n[best]} frames "
           f"under {max_cells:.0f} cells: residual {cost_best:.3f}, next best offset {cost_next:.3f}")
    if agrees:
        msg = f"alignment checked against the pixels: the one used ({fit}) fits best ({why})"
    else:
        msg = (f"WARNING: the pixels fit {fit} better than the one used (offset {used[0]}, "
               f"{used[1]:g} frames per timepoint; residual {cost_used:.3f}) -- {why}")
    return AlignmentCheck(int(offset_used), float(fpt_used), int(best[0]), float(best[1]),
                          float(cost_used), float(cost_best), float(cost_next), counts_n[best], agrees,
                          msg, steps=steps, offset_costs=offset_costs, counts=est)


def small_frames(reader, chunk: int = 32):
    """Yield the 1/4-size frames of a frame reader: its stored small copy (``read_small``) when it
    has one, else each full frame downscaled by :func:`small_frame`."""
    n = len(reader)
    read_small = getattr(reader, "read_small", None)
    for lo in range(0, n, chunk):
        idx = np.arange(lo, min(n, lo + chunk))
        block = None
        if read_small is not None:
            try:
                block = read_small(idx)
            except Exception:      # an old frame file without the copy
                block = None
        if block is None:
            block = [small_frame(reader[int(i)]) for i in idx]
        yield from block


def check_frames(small: Iterable[np.ndarray], index: Sequence[int], population: Sequence[float],
                 offset_used: int = 0, fpt_used: float = 1.0, exclude: Optional[np.ndarray] = None,
                 **kw) -> AlignmentCheck:
    """The alignment check from 1/4-size frames: nucleus counts, out-of-order frames (left out of
    the fit, with ``exclude``), then :func:`check_alignment`."""
    from .order import out_of_order

    def one(f):
        f = np.asarray(f)
        g = f[..., 1] if f.ndim == 3 else f
        h, w = g.shape
        return count_nuclei(f), cv2.resize(g, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    # (two threads: the counting is OpenCV filtering, which releases the GIL; a few frames in
    # flight, in order)
    pairs = list(ordered_map(one, small, 2, 9, "nuclei"))
    counts = [c for c, _ in pairs]
    thumbs = [t for _, t in pairs]
    est = np.asarray(counts, dtype=np.float64)
    skip = est <= 0
    ooo = out_of_order(np.stack(thumbs), skip=skip)[0] if len(thumbs) >= 8 else np.zeros(est.size, bool)
    ex = ooo | (np.zeros(est.size, bool) if exclude is None else np.asarray(exclude, bool))
    res = check_alignment(est, index, population, offset_used, fpt_used, exclude=ex, **kw)
    if ooo.any():
        res.message += f"; out-of-order frame{'s' if ooo.sum() > 1 else ''} {', '.join(map(str, np.flatnonzero(ooo)))} left out"
    return res
