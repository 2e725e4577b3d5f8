"""Isolated mislabelled frames in the annotation sequence ("spikes").

A real cell count changes in steps and never jumps away for one or two frames and back.  A frame whose
count differs from the running median of its neighbours by more than a tolerance is a spike: the
annotator (or the 2020 pipeline's timepoint mapping) gave it another frame's count.  Runs of up to
``(window - 1) // 2`` frames are found; longer stretches are cliffs (detect/cliffs.py) or are left to the
CNN trainer.

Tolerance per frame: ``max(min_cells, rel * expected, k * noise)``, where ``expected`` is the running
median and ``noise`` the robust spread (1.4826 MAD) of the residuals: counting jitter of +-1-2 cells
and programmed cell deaths stay under it, a frame off by a quarter of the embryo does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from ..lineages import COLUMNS, POPULATION
from ._settings import settings_from_dict, settings_to_dict


@dataclass
class SpikeSettings:
    window: int = 5          # running-median window (odd); finds runs of up to (window - 1) // 2 frames
    rel: float = 0.15        # relative tolerance (share of the expected count)
    min_cells: float = 5.0   # absolute tolerance (cells): +-2 jitter on a frame and on its median stays below it
    k: float = 6.0           # tolerance in units of the curve's own robust noise

    def to_dict(self) -> dict:
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "SpikeSettings":
        return settings_from_dict(cls, d)


def detect_spikes_1d(y: np.ndarray, settings: SpikeSettings | None = None,
                     skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, score)`` over the frames of one curve; NaN frames and ``skip`` frames are never spikes
    and are left out of the running median.  ``score`` = deviation / tolerance (> 1 is a spike)."""
    s = settings or SpikeSettings()
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    mask = np.zeros(n, bool)
    score = np.zeros(n, np.float32)
    ok = np.isfinite(y)
    if skip is not None:
        ok &= ~np.asarray(skip, bool)
    idx = np.flatnonzero(ok)
    if idx.size < s.window:
        return mask, score
    v = y[idx]
    med = median_filter(v, size=s.window, mode="mirror")
    r = v - med
    noise = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    tol = np.maximum.reduce([np.full_like(med, s.min_cells), s.rel * np.abs(med), np.full_like(med, s.k * noise)])
    sc = np.abs(r) / tol
    score[idx] = sc
    mask[idx] = sc > 1.0
    return mask, score


def detect_spikes(counts: np.ndarray, settings: SpikeSettings | None = None,
                  skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, list[int]]]:
    """Spikes on the population and on every annotated lineage.

    Returns ``(mask, score, by_column)``: the union mask, the highest score per frame, and the spike frames
    of each column by name."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.shape[0]
    mask = np.zeros(n, bool)
    score = np.zeros(n, np.float32)
    by_column: dict[str, list[int]] = {}
    for c in [POPULATION] + list(range(POPULATION)):
        col = counts[:, c]
        if not np.isfinite(col).any():
            continue
        m, sc = detect_spikes_1d(col, settings, skip)
        if m.any():
            by_column[COLUMNS[c]] = np.flatnonzero(m).tolist()
        mask |= m
        score = np.maximum(score, sc)
    return mask, score, by_column
