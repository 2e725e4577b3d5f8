"""Annotated counts made from the true counts: legitimate noise, mislabelled frames and cliffs.

Legitimate noise (never a cliff): counting jitter of +-1-2 (single frames or short runs) and, in
injected embryos, single-frame upward spikes.  Injections: mislabelled frames (isolated rows replaced
by a clearly wrong row) and annotation cliffs (dip / to_end / partial-dip / partial-to_end) applied to
all lineages or to a single one; the population is always the sum of the lineage columns.
"""

from __future__ import annotations

import numpy as np

from ..lineages import LINEAGES, POPULATION

DIP, TO_END, PARTIAL_DIP, PARTIAL_TO_END = 1, 2, 3, 4
N_LIN = len(LINEAGES)


def _resum(rows: np.ndarray) -> np.ndarray:
    rows[..., POPULATION] = rows[..., :N_LIN].sum(axis=-1)
    return rows


def add_jitter(rng: np.random.Generator, counts: np.ndarray, rate: float) -> None:
    """Counting jitter in place: +-1 on one or two lineages of a few frames (runs of 1-6 frames),
    never moving the population by more than 2."""
    T = len(counts)
    f = 0
    while f < T:
        if rng.random() < rate:
            run = int(rng.choice([1, 1, 1, 2, 3, 4, 6]))
            n_lin = 1 if rng.random() < 0.7 else 2
            cand = np.flatnonzero(counts[f, :N_LIN] >= 2)
            if cand.size:
                lins = rng.choice(cand, size=min(n_lin, cand.size), replace=False)
                delta = rng.choice([-1, 1], size=lins.size)
                end = min(T, f + run)
                for lin, d in zip(lins, delta):
                    counts[f:end, lin] = np.maximum(counts[f:end, lin] + d, 0)
                f = end
                continue
        f += 1
    _resum(counts)


def add_spikes(rng: np.random.Generator, counts: np.ndarray, rate: float, forbidden: np.ndarray) -> np.ndarray:
    """Single-frame upward spikes (+3..+10 %, at least +2 cells) on the largest lineage, never in or next
    to ``forbidden`` frames; returns the mask."""
    T = len(counts)
    mask = np.zeros(T, dtype=bool)
    for f in np.flatnonzero(rng.random(T) < rate):
        if 0 < f < T - 1 and not mask[f - 1] and not np.asarray(forbidden[f - 1:f + 2]).any():
            lin = int(np.argmax(counts[f, :N_LIN]))
            counts[f, lin] += max(2.0, round(counts[f, POPULATION] * rng.uniform(0.03, 0.10)))
            mask[f] = True
    _resum(counts)
    return mask


def place_cliffs(rng: np.random.Generator, counts: np.ndarray, true: np.ndarray, forbidden: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Apply 0-3 cliffs in place; returns (cliff_kind int8 (T,), cliff_lineage int8 (T,), -1 = none,
    POPULATION = all lineages scaled)."""
    T = len(counts)
    kind = np.zeros(T, dtype=np.int8)
    which = np.full(T, -1, dtype=np.int8)
    pop = true[:, POPULATION]
    populated = pop >= 20
    busy = np.asarray(forbidden, dtype=bool).copy()
    n_dips = int(rng.choice([0, 1, 1, 2]))
    want_end = rng.random() < 0.55
    if n_dips == 0 and not want_end:
        n_dips = 1 if rng.random() < 0.6 else 0
    plans: list[tuple[int, int, int]] = []  # (start, stop, kind)
    if want_end:
        lo = max(int(0.4 * T), 1)
        cand = np.flatnonzero(populated[lo:T - 4]) + lo
        if cand.size:
            s = int(rng.choice(cand))
            plans.append((s, T, TO_END if rng.random() < 0.6 else PARTIAL_TO_END))
            busy[max(0, s - 6):] = True
    for _ in range(n_dips):
        for _try in range(40):
            length = int(np.clip(round(np.exp(rng.uniform(np.log(3), np.log(40)))), 3, max(3, T // 4)))
            s = int(rng.integers(1, max(2, T - length - 1)))
            e = s + length
            if e >= T - 1 or busy[max(0, s - 6):min(T, e + 6)].any() or not populated[s:e].all():
                continue
            plans.append((s, e, DIP if rng.random() < 0.6 else PARTIAL_DIP))
            busy[max(0, s - 6):min(T, e + 6)] = True
            break
    for s, e, k in plans:
        rows = counts[s:e].copy()
        trows = true[s:e]
        single = rng.random() < 0.4
        if single:
            lin = 0 if rng.random() < 0.75 else int(np.argmax(trows[0, 1:N_LIN]) + 1)
            cols = [lin]
            tag = lin
        else:
            cols = list(range(N_LIN))
            tag = POPULATION
        if k in (PARTIAL_DIP, PARTIAL_TO_END):
            factor = rng.uniform(0.2, 0.6)
            rows[:, cols] = np.round(rows[:, cols] * factor)
        elif k == TO_END and not single:
            level = rng.uniform(0.0, min(60.0, 0.5 * trows[0, POPULATION]))
            scale = level / np.maximum(trows[:, POPULATION], 1.0)
            rows[:, :N_LIN] = np.round(trows[:, :N_LIN] * scale[:, None])
        elif k == TO_END:
            level = rng.uniform(0.0, min(60.0, 0.3 * trows[0, lin]))
            rows[:, lin] = np.round(level + rng.normal(0, 0.5, size=len(rows)).clip(-1, 1))
        else:  # dip to ~0
            rows[:, cols] = rng.integers(0, 3, size=(len(rows), len(cols))) * (rng.random() < 0.3)
        rows = _resum(np.maximum(rows, 0))
        # a cliff must really be a drop: where it is not clearly below the truth, scale all lineages
        # (a single small lineage hardly moves the population: then scale all lineages instead)
        if (rows[:, POPULATION] > 0.8 * trows[:, POPULATION]).any():
            factor = rng.uniform(0.2, 0.6) if k in (PARTIAL_DIP, PARTIAL_TO_END) else 0.0
            rows = _resum(np.round(trows.copy() * factor))
            tag = POPULATION
        counts[s:e] = rows
        kind[s:e] = k
        which[s:e] = tag
    return kind, which


def place_mislabels(rng: np.random.Generator, counts: np.ndarray, true: np.ndarray, rate: float,
                    forbidden: np.ndarray) -> np.ndarray:
    """Replace isolated rows by clearly wrong ones (true counts 30-100 frames away, or scaled by 0.5-0.7 /
    1.4-2); returns the mask.  Never inside or within 2 frames of ``forbidden``, never adjacent."""
    T = len(counts)
    mask = np.zeros(T, dtype=bool)
    blocked = np.asarray(forbidden, dtype=bool).copy()
    for f in np.flatnonzero(blocked):
        blocked[max(0, f - 2):f + 3] = True
    n = int(round(rate * T))
    order = rng.permutation(T)
    for f in order:
        if mask.sum() >= n:
            break
        if blocked[f] or mask[max(0, f - 1):f + 2].any():
            continue
        tp = true[f, POPULATION]
        need = max(1.0, 0.25 * tp)
        row = None
        if rng.random() < 0.5:
            off = int(rng.integers(30, 101)) * (1 if rng.random() < 0.5 else -1)
            g = f + off if 0 <= f + off < T else f - off
            if 0 <= g < T and abs(true[g, POPULATION] - tp) >= need:
                row = true[g].copy()
        if row is None:
            factor = rng.uniform(0.5, 0.7) if rng.random() < 0.5 else rng.uniform(1.4, 2.0)
            row = true[f].copy()
            row[:N_LIN] = np.round(row[:N_LIN] * factor)
            _resum(row)
            if abs(row[POPULATION] - tp) < need:
                continue
        counts[f] = row
        mask[f] = True
    return mask
