"""A simulated C. elegans cell lineage: every cell with its birth, division or death time.

Timing is in EPIC timepoints (about one minute each; timepoint 0 = first cleavage of P0) and is
calibrated on the real EPIC lineage tables (CD20080731_ceh-32_4 L1/L2): the AB lineage doubles in
near-synchronous rounds (2 cells at ~9, 4 at ~18, ... 128 at ~92, 256 at ~122), EMS gives E and MS,
P2..P4 give C, D and the germ line (P4 -> Z2/Z3 at ~74).  Late rounds are only partial and some late
cells die (programmed cell death), so the population plateaus at ~380-550 cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..lineages import LINEAGES

# Per founder: (mean division times of successive rounds, spread (sd) of each round, fraction dividing).
# The founder itself is born at the time given in FOUNDER_BIRTH.
_ROUNDS: dict[str, tuple[list[float], list[float], list[float]]] = {
    "A": ([9, 17.5, 26, 35.5, 53, 70, 91, 121, 178],
          [0.4, 0.5, 0.7, 0.9, 1.2, 1.6, 2.2, 3.2, 10.0],
          [1, 1, 1, 1, 1, 1, 1, 1, 0.55]),
    "E": ([33, 57, 86, 130, 185], [0.8, 1.2, 2.0, 5.0, 8.0], [1, 1, 1, 1, 0.25]),
    "M": ([33, 45, 60, 81, 105, 133, 180], [0.8, 1.0, 1.5, 2.5, 3.5, 6.0, 9.0], [1, 1, 1, 1, 1, 0.6, 0.5]),
    "C": ([36, 48, 70, 98, 128, 185], [0.8, 1.0, 2.0, 4.0, 5.0, 9.0], [1, 1, 1, 1, 1, 0.3]),
    "D": ([57, 84, 113, 160], [1.0, 2.0, 3.0, 8.0], [1, 1, 1, 0.25]),
    "Z": ([], [], []),
}
# germ-line (P) divisions: P0 at 0 -> AB + P1; P1 at 10 -> EMS + P2; EMS at 20 -> E + MS;
# P2 at 23 -> C + P3; P3 at 39 -> D + P4; P4 at 74 -> Z2 + Z3
_P1_DIV, _EMS_DIV, _P2_DIV, _P3_DIV, _P4_DIV = 10.0, 20.0, 23.0, 39.0, 74.0
# probability that a late-born cell which does not divide again dies, per founder
_DEATH_P = {"A": 0.11, "E": 0.0, "M": 0.08, "C": 0.06, "D": 0.03, "Z": 0.0}
_DEATH_AFTER = 110.0  # only cells born after this die

LINEAGE_INDEX = {name: i for i, name in enumerate(LINEAGES)}


@dataclass
class Lineage:
    """All cells of one simulated embryo (arrays indexed by cell id, parents before children)."""

    lineage: np.ndarray   # int8 index into LINEAGES
    birth: np.ndarray     # float64 timepoint the cell appears
    end: np.ndarray       # float64 timepoint it divides or dies (inf: lives on)
    dies: np.ndarray      # bool: ends by death, not division
    parent: np.ndarray    # int32 parent id (-1 for the first two cells)
    brightness: np.ndarray  # float32 per-cell GFP level factor

    @property
    def n_cells(self) -> int:
        return int(self.lineage.size)

    def alive(self, t: float) -> np.ndarray:
        """Ids of the cells alive at timepoint ``t``."""
        return np.flatnonzero((self.birth <= t) & (t < self.end))

    def counts(self, times: np.ndarray) -> np.ndarray:
        """(len(times), 8) float64 true counts: the 7 lineages then the population."""
        times = np.asarray(times, dtype=np.float64)
        alive = (self.birth[None, :] <= times[:, None]) & (times[:, None] < self.end[None, :])
        out = np.zeros((times.size, len(LINEAGES) + 1), dtype=np.float64)
        for k in range(len(LINEAGES)):
            out[:, k] = alive[:, self.lineage == k].sum(axis=1)
        out[:, -1] = out[:, :-1].sum(axis=1)
        return out


def simulate_lineage(rng: np.random.Generator, speed: float = 1.0) -> Lineage:
    """Simulate one embryo's lineage; ``speed`` > 1 stretches all times (slower development)."""
    lin: list[int] = []
    birth: list[float] = []
    end: list[float] = []
    dies: list[bool] = []
    parent: list[int] = []
    # per-embryo shift of every round (rounds are not equally early in every embryo)
    shifts = {k: rng.normal(0.0, 1.2, size=len(v[0])) for k, v in _ROUNDS.items()}

    def add(letter: str, born: float, ends: float, par: int, died: bool = False) -> int:
        lin.append(LINEAGE_INDEX[letter])
        birth.append(born)
        end.append(ends)
        dies.append(died)
        parent.append(par)
        return len(lin) - 1

    def grow(letter: str, born: float, par: int, generation: int) -> None:
        """Add a cell of founder ``letter`` and, recursively, its descendants."""
        means, sds, fracs = _ROUNDS[letter]
        if generation < len(means) and rng.random() < fracs[generation]:
            t_div = (means[generation] + shifts[letter][generation]) * speed + rng.normal(0.0, sds[generation])
            t_div = max(t_div, born + 2.0)
            me = add(letter, born, t_div, par)
            grow(letter, t_div, me, generation + 1)
            grow(letter, t_div, me, generation + 1)
            return
        if born > _DEATH_AFTER * speed and rng.random() < _DEATH_P[letter]:
            add(letter, born, born + rng.uniform(15.0, 80.0) * speed, par, died=True)
        else:
            add(letter, born, np.inf, par)

    jit = lambda t: t * speed + rng.normal(0.0, 0.6)  # noqa: E731
    p1_div, ems_div, p2_div, p3_div, p4_div = (jit(t) for t in (_P1_DIV, _EMS_DIV, _P2_DIV, _P3_DIV, _P4_DIV))
    grow("A", 0.0, -1, 0)
    p1 = add("P", 0.0, p1_div, -1)
    ems = add("E", p1_div, ems_div, p1)
    grow("E", ems_div, ems, 0)
    grow("M", ems_div, ems, 0)
    p2 = add("P", p1_div, p2_div, p1)
    grow("C", p2_div, p2, 0)
    p3 = add("P", p2_div, p3_div, p2)
    grow("D", p3_div, p3, 0)
    p4 = add("P", p3_div, p4_div, p3)
    add("Z", p4_div, np.inf, p4)
    add("Z", p4_div, np.inf, p4)

    # parents must come before children for position simulation: sort by birth (stable)
    birth_a = np.asarray(birth)
    order = np.argsort(birth_a, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    par = np.asarray(parent)[order]
    par = np.where(par >= 0, rank[np.maximum(par, 0)], -1)
    return Lineage(
        lineage=np.asarray(lin, dtype=np.int8)[order],
        birth=birth_a[order],
        end=np.asarray(end)[order],
        dies=np.asarray(dies)[order],
        parent=par.astype(np.int32),
        brightness=rng.uniform(0.55, 1.0, size=order.size).astype(np.float32),
    )


def time_of_population(lineage: Lineage, population: float) -> float:
    """First timepoint (on a 0.25 grid) at which at least ``population`` cells are alive."""
    grid = np.arange(0.0, 400.0, 0.25)
    pop = lineage.counts(grid)[:, -1]
    hit = np.flatnonzero(pop >= population)
    return float(grid[hit[0]]) if hit.size else float(grid[-1])
