"""Isotonic (non-decreasing) least-squares regression by pool-adjacent-violators, O(n)."""

from __future__ import annotations

import numpy as np


def isotonic_increasing(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0:
        return y.copy()
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    vals = np.empty(n)
    wts = np.empty(n)
    lens = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        vals[k], wts[k], lens[k] = y[i], w[i], 1
        while k > 0 and vals[k - 1] > vals[k]:
            tw = wts[k - 1] + wts[k]
            vals[k - 1] = (vals[k - 1] * wts[k - 1] + vals[k] * wts[k]) / tw
            wts[k - 1] = tw
            lens[k - 1] += lens[k]
            k -= 1
        k += 1
    return np.repeat(vals[:k], lens[:k])
