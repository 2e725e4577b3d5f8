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
    x = np.asarray(thumbs, dtype=np.float64).reshape(len(thumbs), -1)
    m = x.mean(axis=1, keepdims=True)
    return x / np.maximum(m, 1e-6)


def pair_distances(thumbs: np.ndarray) -> np.ndarray:
    """(T, T) RMS distances between brightness-normalised thumbnails."""
    x = _normalised(thumbs)
    sq = (x * x).sum(axis=1)
    g = x @ x.T
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * g, 0.0) / max(x.shape[1], 1)
    return np.sqrt(d2)


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
    consecutive = D[np.arange(n - 1), np.arange(1, n)]
    step = max(float(np.median(consecutive)), 1e-6)
    for j in range(n):
        near = [D[j, j - 1]] if j > 0 else []
        if j + 1 < n:
            near.append(D[j, j + 1])
        d_near = min(near)
        far = np.abs(idx - idx[j]) >= gap
        if not far.any():
            continue
        k = int(np.argmin(np.where(far, D[j], np.inf)))
        d_far = float(D[j, k])
        sc = min(d_near * ratio / max(d_far, 1e-9), d_near / (jump * step), jump * step / max(d_far, 1e-9))
        t = int(idx[j])
        score[t] = min(sc, 10.0)
        match[t] = int(idx[k])
        if sc >= 1.0:
            verdict[t] = True
            reasons[t] = (f"out of time order: resembles frame {int(idx[k])} (distance {d_far / step:.1f} x a "
                          f"frame-to-frame step) far more than its neighbours ({d_near / step:.1f} x)")
    return verdict, score, match, reasons
