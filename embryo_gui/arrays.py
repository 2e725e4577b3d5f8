"""Small array helpers shared by every layer (bottom layer: imports only numpy)."""

from __future__ import annotations

import numpy as np


def rows_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows where two float64 arrays differ bitwise (NaN == NaN, -0.0 != 0.0)."""
    av = np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)
    bv = np.ascontiguousarray(b, dtype=np.float64).view(np.uint64)
    d = av != bv
    return d.any(axis=1) if d.ndim == 2 else d


def runs(mask: np.ndarray) -> np.ndarray:
    """``[start, stop)`` pairs, shape ``(k, 2)`` int64, of the runs of True in a 1-D bool mask."""
    m = np.asarray(mask, dtype=bool).ravel()
    if m.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    d = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1).astype(np.int64)
