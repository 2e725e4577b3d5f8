"""Nucleus positions inside the eggshell, simulated on a timepoint grid.

Cells live in an ellipsoid (semi-axes ``axes`` in pixels, centred on 0).  At each step new daughters
appear next to their parent, a soft repulsion (neighbours from a k-d tree) spreads them to the spacing
the current population allows, and cells outside the shell are pulled back in.  Positions are stored
per step and interpolated linearly at render time.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .lineage_tree import Lineage


def nucleus_diameter(population: np.ndarray | float, scale: float = 1.0) -> np.ndarray:
    """Nucleus diameter (px) as a function of the population, fitted to the EPIC `size` column
    (~62 px at 4 cells, ~35 px at 350 cells)."""
    pop = np.maximum(np.asarray(population, dtype=np.float64), 1.0)
    return scale * 62.0 * (pop / 4.0) ** (-0.125)


class PositionTrack:
    """Positions (x, y, z) of every cell at every step of a regular timepoint grid."""

    def __init__(self, lineage: Lineage, axes: tuple[float, float, float], t_end: float,
                 rng: np.random.Generator, size_scale: float = 1.0, dt: float = 1.0):
        self.lineage = lineage
        self.axes = np.asarray(axes, dtype=np.float64)
        self.dt = dt
        self.size_scale = size_scale
        n_steps = int(np.ceil(t_end / dt)) + 2
        self.times = np.arange(n_steps) * dt
        self.pos = np.full((n_steps, lineage.n_cells, 3), np.nan, dtype=np.float32)
        self._simulate(rng)

    def _simulate(self, rng: np.random.Generator) -> None:
        lin = self.lineage
        axes = self.axes
        volume = 4.0 / 3.0 * np.pi * float(np.prod(axes))
        cur = np.full((lin.n_cells, 3), np.nan, dtype=np.float64)
        # the first two cells: AB anterior, P1 posterior
        first = np.flatnonzero(lin.parent < 0)
        for k, cid in enumerate(first):
            cur[cid] = (axes[0] * (-0.45 if k == 0 else 0.45), rng.normal(0, 5), rng.normal(0, 5))
        placed = np.zeros(lin.n_cells, dtype=bool)
        placed[first] = True
        for s, t in enumerate(self.times):
            alive = (lin.birth <= t) & (t < lin.end)
            new = np.flatnonzero(alive & ~placed)
            n_alive = int(alive.sum())
            diam = float(nucleus_diameter(n_alive, self.size_scale))
            spacing = max(1.1 * diam, 0.85 * (volume / max(n_alive, 1)) ** (1.0 / 3.0))
            if new.size:
                par = lin.parent[new]
                base = cur[par]
                # early divisions are mostly along the long (anterior-posterior) axis
                d = rng.normal(size=(new.size, 3))
                if n_alive <= 30:
                    d[:, 0] *= 3.0
                d /= np.linalg.norm(d, axis=1, keepdims=True)
                # the two daughters of one parent go opposite ways
                sign = np.where(np.arange(new.size) % 2 == 0, 1.0, -1.0)[:, None]
                cur[new] = base + sign * d * 0.25 * spacing
                placed[new] = True
            ids = np.flatnonzero(alive)
            p = cur[ids]
            p = self._relax(p, spacing, diam)
            p += rng.normal(0.0, 0.6, size=p.shape)
            cur[ids] = p
            self.pos[s, ids] = p

    def _relax(self, p: np.ndarray, spacing: float, diam: float) -> np.ndarray:
        if len(p) > 1:
            pairs = cKDTree(p).query_pairs(spacing, output_type="ndarray")
            if len(pairs):
                i, j = pairs[:, 0], pairs[:, 1]
                v = p[i] - p[j]
                dist = np.linalg.norm(v, axis=1)
                dist = np.maximum(dist, 1e-3)
                push = (0.4 * (spacing - dist) / dist)[:, None] * v
                f = np.zeros_like(p)
                for k in range(3):
                    f[:, k] += np.bincount(i, push[:, k], minlength=len(p))
                    f[:, k] -= np.bincount(j, push[:, k], minlength=len(p))
                p = p + f
        inner = np.maximum(self.axes - 0.5 * diam, 0.3 * self.axes)
        q = np.sqrt(((p / inner) ** 2).sum(axis=1))
        out = q > 1.0
        if out.any():
            p[out] /= q[out, None]
        return p

    def at(self, t: float, ids: np.ndarray) -> np.ndarray:
        """(len(ids), 3) positions of cells ``ids`` at timepoint ``t`` (linear interpolation)."""
        x = min(max(t / self.dt, 0.0), len(self.times) - 1.000001)
        s0 = int(x)
        w = x - s0
        a = self.pos[s0, ids]
        b = self.pos[s0 + 1, ids]
        out = (1.0 - w) * a + w * b
        # cells born or ended between the two steps: take whichever step knows them
        miss = np.isnan(out[:, 0])
        if miss.any():
            out[miss] = np.where(np.isnan(a[miss]), b[miss], a[miss])
        return out
