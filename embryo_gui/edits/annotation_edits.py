"""Edits of annotation values: set, interpolate, monotone refit."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.optimize import isotonic_regression

from ..lineages import COLUMNS, LINEAGES, POPULATION, column_index
from ..model.edit import Edit, frame_range, frames_array


def _columns(columns) -> list[int]:
    if columns is None:
        return [POPULATION]
    if isinstance(columns, str):
        columns = [columns]
    return [column_index(c) for c in columns]


def _resum_population(embryo, idx: np.ndarray, cols: list[int]) -> None:
    """After a lineage edit, keep population = sum of annotated lineages on those frames."""
    if all(c == POPULATION for c in cols):
        return
    lin = embryo.current[idx, :POPULATION]
    have = np.isfinite(lin).any(axis=1)
    if have.any():
        embryo.current[idx[have], POPULATION] = np.nansum(lin[have], axis=1)


def _clear_stale_lineages(embryo, idx: np.ndarray, cols: list[int]) -> int:
    """After the population alone was set on frames ``idx``, clear (NaN) the lineage counts of
    the frames whose annotated lineages no longer sum to it; returns how many rows were cleared.

    The total is what the person asserted; how its cells split into lineages is then unknown, and
    inventing a split (scaling the old counts, which are often all 0 inside a cliff) would put
    made-up lineage labels into the dataset.  The original annotation keeps the old counts."""
    if cols != [POPULATION] or not idx.size:
        return 0
    lin = embryo.current[idx, :POPULATION]
    have = np.isfinite(lin).any(axis=1)
    pop = embryo.current[idx, POPULATION]
    stale = have & ~(np.isfinite(pop) & (np.nansum(lin, axis=1) == pop))
    if stale.any():
        embryo.current[np.ix_(idx[stale], np.arange(POPULATION))] = np.nan
    return int(stale.sum())


def _mark(embryo, kind: str, idx: np.ndarray, on: bool = True) -> None:
    m = embryo.flags.mask(kind)
    m[idx] = on
    embryo.flags.set_mask(kind, m)


class SetValues(Edit):
    """Set the value(s) of one or more columns on frames (NaN makes them unannotated).

    The row stays consistent: setting lineages re-derives the population (their sum); setting the
    population alone clears the lineage counts that no longer sum to it (``cleared_lineages`` says
    on how many frames), see :func:`_clear_stale_lineages`."""

    type = "set_values"

    def __init__(self, frames, values, columns: Sequence[str] | str | None = None, label: str | None = None):
        self.frames = frames
        self.values = np.asarray(values, dtype=np.float64)
        self.columns = [columns] if isinstance(columns, str) else list(columns or ["population"])
        super().__init__(label)

    def default_label(self) -> str:
        v = self.values.ravel()
        val = f"{v[0]:g}" if v.size == 1 or np.all(v == v[0]) else "values"
        return f"set {','.join(self.columns)} = {val}"

    def params(self) -> dict:
        return {"columns": self.columns, "values": self.values}

    def _forward(self, embryo) -> None:
        idx = frames_array(self.frames, embryo.n_frames)
        cols = _columns(self.columns)
        if np.any(self.values[np.isfinite(self.values)] < 0):
            raise ValueError("counts cannot be negative")
        vals = np.broadcast_to(self.values, (len(idx), len(cols))) if self.values.ndim else self.values
        embryo.current[np.ix_(idx, cols)] = vals
        _resum_population(embryo, idx, cols)
        self.cleared_lineages = _clear_stale_lineages(embryo, idx, cols)


class Interpolate(Edit):
    """Fill frames [start, stop) linearly from the nearest annotated, non-excluded neighbours
    (with a neighbour on one side only, hold its value on the frames that were annotated)."""

    type = "interpolate"

    def __init__(self, start: int, stop: int, columns=None, label: str | None = None):
        self.start, self.stop = int(start), int(stop)
        self.columns = columns
        super().__init__(label)

    def default_label(self) -> str:
        return f"interpolate frames {self.start}-{self.stop - 1}"

    def params(self) -> dict:
        return {"start": self.start, "stop": self.stop, "columns": self.columns}

    def _forward(self, embryo) -> None:
        idx = frame_range(self.start, self.stop, embryo.n_frames)
        start, stop = self.start, self.stop
        cols = _columns(self.columns) if self.columns is not None else _all_annotated(embryo)
        excluded = embryo.flags.mask("excluded")
        filled = {}  # every column is computed before any is written: a failure changes nothing
        for c in cols:
            y = embryo.current[:, c]
            ok = np.isfinite(y) & ~excluded
            ok[start:stop] = False
            left = np.flatnonzero(ok[:start])
            right = np.flatnonzero(ok[stop:]) + stop
            # between two annotated neighbours every frame is filled (gaps included); with one
            # neighbour only, its value is held over the frames that were annotated: frames nobody
            # annotated (e.g. past the last timepoint) are not invented
            write = np.ones(idx.size, bool) if left.size and right.size else np.isfinite(y[idx])
            if left.size and right.size:
                xl, xr = left[-1], right[0]
                vals = np.interp(idx, [xl, xr], [y[xl], y[xr]])
            elif left.size:
                vals = np.full(idx.size, y[left[-1]])
            elif right.size:
                vals = np.full(idx.size, y[right[0]])
            else:
                raise ValueError(f"no annotated neighbour to interpolate {COLUMNS[c]} from")
            filled[c] = (idx[write], np.round(vals[write]))
        written = np.zeros(embryo.n_frames, bool)
        for c, (where, vals) in filled.items():
            embryo.current[where, c] = vals
            written[where] = True
        done = np.flatnonzero(written)
        if POPULATION not in cols:
            _resum_population(embryo, done, cols)
        self.cleared_lineages = _clear_stale_lineages(embryo, done, cols)
        _mark(embryo, "repaired", done)


class RefitMonotone(Edit):
    """Refit frames [start, stop) with the closest non-decreasing sequence (isotonic regression)."""

    type = "refit_monotone"

    def __init__(self, start: int, stop: int, columns=None, label: str | None = None):
        self.start, self.stop = int(start), int(stop)
        self.columns = columns
        super().__init__(label)

    def default_label(self) -> str:
        return f"monotone refit frames {self.start}-{self.stop - 1}"

    def params(self) -> dict:
        return {"start": self.start, "stop": self.stop, "columns": self.columns}

    def _forward(self, embryo) -> None:
        idx = frame_range(self.start, self.stop, embryo.n_frames)
        cols = _columns(self.columns) if self.columns is not None else _all_annotated(embryo)
        for c in cols:
            y = embryo.current[idx, c]
            ok = np.isfinite(y)
            if ok.sum() == 0:
                continue
            fit = isotonic_regression(y[ok]).x
            embryo.current[idx[ok], c] = np.round(fit)
        if POPULATION not in cols:
            _resum_population(embryo, idx, cols)
        self.cleared_lineages = _clear_stale_lineages(embryo, idx, cols)
        _mark(embryo, "repaired", idx)


def _all_annotated(embryo) -> list[int]:
    cols = [i for i in range(len(LINEAGES)) if np.isfinite(embryo.current[:, i]).any()]
    return cols + [POPULATION] if not cols else cols
