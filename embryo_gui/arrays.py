"""Small array helpers shared by the model and the edits."""

from __future__ import annotations

import numpy as np


def rows_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows where two float64 arrays differ bitwise (NaN == NaN, -0.0 != 0.0)."""
    av = np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)
    bv = np.ascontiguousarray(b, dtype=np.float64).view(np.uint64)
    d = av != bv
    return d.any(axis=1) if d.ndim == 2 else d
