"""Fold assignment and the lossy cut (numpy only)."""

from __future__ import annotations

import numpy as np


def make_folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) for each of n items: a seeded shuffle dealt round-robin (sizes differ by <= 1)."""
    order = np.random.default_rng(seed).permutation(n)
    folds = np.empty(n, dtype=np.int64)
    folds[order] = np.arange(n) % k
    return folds


def robust_z(values: np.ndarray) -> np.ndarray:
    """(v - median) / (1.4826 * MAD); a zero MAD falls back to the mean absolute deviation."""
    v = np.asarray(values, dtype=np.float64)
    med = np.median(v)
    mad = 1.4826 * np.median(np.abs(v - med))
    if not mad > 0:
        mad = 1.2533 * np.mean(np.abs(v - med))
    if not mad > 0:
        return np.zeros_like(v)
    return (v - med) / mad


def mark_lossy(
    loss: np.ndarray,
    candidates: np.ndarray,
    groups: np.ndarray,
    cut: str,
    drop: float,
    z: float,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Bool mask of the frames to mark lossy among ``candidates`` (bool), cut separately per group.

    cut="top": the ``round(drop * n)`` highest-loss candidates of each group (n = its candidates).
    cut="zscore": candidates whose robust z-score of the loss within the group exceeds ``z``.
    ``eligible`` (bool) further restricts the marked frames (e.g. only frames whose predicted count
    is at least min_error cells off); it does not change how many candidates the top cut considers.
    """
    loss = np.asarray(loss, dtype=np.float64)
    marked = np.zeros(len(loss), dtype=bool)
    ok = candidates & np.isfinite(loss)
    for g in np.unique(groups[ok]):
        idx = np.flatnonzero(ok & (groups == g))
        if cut == "top":
            n_mark = int(round(drop * len(idx)))
            if n_mark == 0:
                continue
            # stable: ties broken by frame order
            top = idx[np.argsort(-loss[idx], kind="stable")[:n_mark]]
            marked[top] = True
        elif cut == "zscore":
            marked[idx[robust_z(loss[idx]) > z]] = True
        else:
            raise ValueError(f"unknown cut {cut!r}")
    if eligible is not None:
        marked &= eligible
    return marked


def neighbour_relative(resid: np.ndarray, groups: np.ndarray, order: np.ndarray, half: int = 3) -> np.ndarray:
    """Residuals minus the median residual of each frame's temporal neighbours.

    ``resid`` (N,c): prediction - label per frame and column; ``groups`` (N,): embryo of each row;
    ``order`` (N,): the row's frame number in its embryo.  The neighbours of a row are the up to
    ``half`` rows before and after it in the same group (by ``order``, itself excluded; at the ends
    of a sequence only one side exists).  A model that is off in the same direction on a whole
    stretch (a stage it counts badly, or a smooth bias) cancels out; a frame whose label disagrees
    with its image *and* its neighbours keeps its residual.  Rows with no neighbour keep theirs.
    """
    resid = np.asarray(resid, np.float64)
    out = resid.copy()
    groups = np.asarray(groups)
    order = np.asarray(order)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        rows = rows[np.argsort(order[rows], kind="stable")]
        r = resid[rows]
        m = len(rows)
        for j in range(m):
            nb = np.r_[max(0, j - half):j, j + 1:min(m, j + 1 + half)]
            if len(nb):
                out[rows[j]] = r[j] - np.median(r[nb], axis=0)
    return out
