"""Out-of-order frames: a frame that resembles a distant frame far more than its neighbours.

A time-lapse changes little from one frame to the next (nuclei move a few px, divide, the embryo
twitches); a frame taken from elsewhere in the video (a *poster* frame put in front, a frame
shuffled by a broken export) breaks that continuity on both sides *and* matches its real place in
time.  Both conditions are needed: a frame unlike its neighbours alone is an outlier (lamp flicker,
a twitch), one that matches a distant frame alone is a still embryo.

Distances are between brightness-normalised green thumbnails (the outlier thumbnail of
:mod:`.frame_features`, 1/16 of the frame size: nuclei are a few pixels there, the embryo's shape
and the nuclei's layout remain): RMS difference of ``thumb / mean(thumb)``, computed for all pairs
at once from the Gram matrix (T x T, cheap for thousands of frames).

Frame ``t`` is out of order when, with ``d_near`` = its distance to the closer of its usable
neighbours (``t - 1``, ``t + 1``) and ``d_far`` = its distance to the closest frame ``s`` at least
``min_gap`` frames away:

- ``d_far <= ratio * d_near`` (it resembles frame ``s`` far more than its neighbours: ratio 0.5),
- ``d_near >= jump * step`` where ``step`` = the video's median distance between consecutive frames
  (its continuity breaks: jump 4), and
- ``d_far <= jump * step`` (the match is as close as a neighbouring frame usually is, not merely
  "less unlike").
The reason names the frame it resembles.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def _normalised(thumbs: np.ndarray) -> np.ndarray:
    """float32 (T, n) thumbnails divided by their mean (computed in float64)."""
    x = np.array(thumbs, dtype=np.float32).reshape(len(thumbs), -1)
    m = x.mean(axis=1, keepdims=True, dtype=np.float64)
    x /= np.maximum(m, 1e-6).astype(np.float32)
    return x


def pair_distances(thumbs: np.ndarray) -> np.ndarray:
    """(T, T) RMS distances between brightness-normalised thumbnails (float32: the Gram matrix of
    2,000 frames in float32 takes a third of the float64 time; the distances compared here are
    frame-to-frame steps, far above float32's rounding)."""
    x = _normalised(thumbs)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = x @ x.T
    d2 *= -2.0
    d2 += sq[:, None]
    d2 += sq[None, :]
    np.maximum(d2, 0.0, out=d2)
    d2 /= max(x.shape[1], 1)
    return np.sqrt(d2, out=d2)


def out_of_order(thumbs: np.ndarray, skip: Optional[np.ndarray] = None, ratio: float = 0.5,
                 jump: float = 4.0, min_gap: Optional[int] = None):
    """(verdict bool (T,), score float (T,), match int (T,), reasons list) for thumbnails (T, ...).

    ``skip``: frames neither judged nor used as neighbours or matches (black frames).  Score =
    min(d_near / (d_far / ratio), d_near / (jump * step), jump * step / d_far) clipped to [0, 10];
    >= 1: out of order.  ``match[t]`` = the frame it resembles (-1 if none)."""
    T = len(thumbs)
    verdict = np.zeros(T, dtype=bool)
    score = np.zeros(T)
    match = np.full(T, -1, dtype=np.int64)
    reasons = [""] * T
    if T < 8:
        return verdict, score, match, reasons
    ok = np.ones(T, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    if ok.sum() < 8:
        return verdict, score, match, reasons
    gap = int(min_gap) if min_gap is not None else max(10, T // 20)
    idx = np.flatnonzero(ok)
    D = pair_distances(np.asarray(thumbs)[idx])
    n = idx.size
    ar = np.arange(n)
    consecutive = D[ar[:-1], ar[1:]].astype(np.float64)
    step = max(float(np.median(consecutive)), 1e-6)
    # nearest usable neighbour (previous or next) and the closest frame at least ``gap`` away
    d_near = np.minimum(np.r_[np.inf, consecutive], np.r_[consecutive, np.inf])
    # frames closer than ``gap`` in time lie in one run of each (time-sorted) row: masked in place
    lo = np.searchsorted(idx, idx - gap, side="right")
    hi = np.searchsorted(idx, idx + gap, side="left")
    for j in range(n):
        D[j, lo[j]:hi[j]] = np.inf
    k = np.argmin(D, axis=1)
    d_far = D[ar, k].astype(np.float64)
    has_far = np.isfinite(d_far)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = np.minimum.reduce([d_near * ratio / np.maximum(d_far, 1e-9), d_near / (jump * step),
                                jump * step / np.maximum(d_far, 1e-9)])
    for j in np.flatnonzero(has_far):
        t = int(idx[j])
        score[t] = min(float(sc[j]), 10.0)
        match[t] = int(idx[k[j]])
        if sc[j] >= 1.0:
            verdict[t] = True
            reasons[t] = (f"out of time order: resembles frame {int(idx[k[j]])} (distance {d_far[j] / step:.1f} x "
                          f"a frame-to-frame step) far more than its neighbours ({d_near[j] / step:.1f} x)")
    return verdict, score, match, reasons
