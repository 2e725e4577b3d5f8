"""EPIC lineage files (StarryNite / AceTree tables, one row per nucleus per timepoint).

Header ``cellTime,cell,time,none,global,local,blot,cross,z,x,y,size,gweight``; only ``cell`` and
``time`` are used.  Per timepoint: population = number of distinct cell names at that time; the
count of a lineage = number of distinct cells whose founder (``embryo_gui.lineages.lineage_of``) is
that letter.  Cells whose name has no founder letter count in the population only; rows with an
empty cell name count one nucleus each.  Timepoints without rows are absent (unannotated).
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from ..errors import EmbryoError
from ..lineages import LINEAGES, N_COLUMNS, POPULATION, lineage_of
from ..policy import MAX_CELLS, MAX_FRAMES
from .table import ENCODING, Annotations, csv_errors, read_header

REQUIRED = ("cell", "time")


def read_epic(path: "str | os.PathLike[str]") -> Annotations:
    """Read an EPIC lineage file into per-timepoint counts (``kind="timepoints"``, 1-based index)."""
    p = os.fspath(path)
    fields, delimiter = read_header(p)
    low = [h.lower() for h in fields]
    missing = [c for c in REQUIRED if c not in low]
    if missing:
        raise EmbryoError(f"not an EPIC lineage file: missing column{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(missing)} (header: {', '.join(fields)})", p)
    cell_col, time_col = low.index("cell"), low.index("time")
    need = max(cell_col, time_col) + 1

    cells_at: dict[int, set[str]] = {}
    unnamed_at: dict[int, int] = {}
    lineage_cache: dict[str, int] = {}  # cell name -> column (or -1 for none)
    with open(p, newline="", encoding=ENCODING) as f, csv_errors(p, lambda: reader.line_num):
        reader = csv.reader(f, delimiter=delimiter)
        header_seen = False
        for record in reader:
            if not header_seen:
                if any(c.strip() for c in record):
                    header_seen = True
                continue
            if not record or not any(c.strip() for c in record):
                continue
            if len(record) < need:
                raise EmbryoError(f"line {reader.line_num} has {len(record)} fields; the cell and time "
                                  f"columns need {need}", p)
            text = record[time_col].strip()
            try:
                t_float = float(text)
            except ValueError:
                t_float = math.nan
            if not math.isfinite(t_float) or t_float != int(t_float):
                raise EmbryoError(f"time {text!r} on line {reader.line_num} is not a whole number", p)
            t = int(t_float)
            if abs(t) > MAX_FRAMES:
                raise EmbryoError(f"time {text[:30]!r} on line {reader.line_num} is implausibly large "
                                  f"(at most {MAX_FRAMES})", p)
            name = record[cell_col].strip()
            if name:
                cells_at.setdefault(t, set()).add(name)
                if name not in lineage_cache:
                    letter = lineage_of(name)
                    lineage_cache[name] = LINEAGES.index(letter) if letter else -1
            else:
                unnamed_at[t] = unnamed_at.get(t, 0) + 1
    times = sorted(set(cells_at) | set(unnamed_at))
    if not times:
        raise EmbryoError("the EPIC file has a header but no rows", p)

    index = np.asarray(times, dtype=np.int64)
    counts = np.zeros((len(times), N_COLUMNS), dtype=np.float64)
    for row, t in enumerate(times):
        names = cells_at.get(t, ())
        for name in names:
            col = lineage_cache[name]
            if col >= 0:
                counts[row, col] += 1
        counts[row, POPULATION] = len(names) + unnamed_at.get(t, 0)
        if counts[row, POPULATION] > MAX_CELLS:
            raise EmbryoError(f"timepoint {t} has {int(counts[row, POPULATION])} nuclei, more than an embryo has "
                              f"(at most {MAX_CELLS})", p)
    return Annotations(path=p, kind="timepoints", index=index, counts=counts, lineages=list(LINEAGES))
