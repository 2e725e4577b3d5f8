"""Founder lineages and the fixed column order of annotation arrays.

Annotation arrays everywhere in the core are ``float64`` of shape ``(n_frames, 8)`` with the columns
``A, E, M, P, C, D, Z, population``.  NaN means *unannotated*, never zero.  A lineage column that a
source does not provide is all NaN.
"""

from __future__ import annotations

import re

import numpy as np

LINEAGES: tuple[str, ...] = ("A", "E", "M", "P", "C", "D", "Z")
COLUMNS: tuple[str, ...] = LINEAGES + ("population",)
POPULATION = COLUMNS.index("population")
N_COLUMNS = len(COLUMNS)

_P_RE = re.compile(r"^P\d*$")


def lineage_of(cell_name: str) -> str | None:
    """Founder lineage letter of a cell name (``ABala`` -> ``A``, ``EMS`` -> ``E``, ``P3`` -> ``P``,
    ``Z2`` -> ``Z``, ``MSpp`` -> ``M``); ``None`` for names that start with none of the letters."""
    name = str(cell_name).strip()
    if not name:
        return None
    first = name[0].upper()
    if first == "P" and not _P_RE.match(name.upper()):
        # polar bodies and other names beginning with P but not P0..P4 are not the P lineage
        return None if name.lower().startswith("polar") else "P"
    return first if first in LINEAGES else None


def column_index(name: str) -> int:
    try:
        return COLUMNS.index(name)
    except ValueError:
        raise ValueError(f"unknown lineage or column {name!r}; expected one of {', '.join(COLUMNS)}") from None


def empty_counts(n_frames: int) -> np.ndarray:
    return np.full((n_frames, N_COLUMNS), np.nan, dtype=np.float64)


def fill_population(counts: np.ndarray) -> np.ndarray:
    """Where the population is NaN but some lineage is given, set it to the sum of the given lineages."""
    counts = np.asarray(counts, dtype=np.float64)
    lin = counts[:, :POPULATION]
    has_lin = np.isfinite(lin).any(axis=1)
    need = ~np.isfinite(counts[:, POPULATION]) & has_lin
    if need.any():
        counts[need, POPULATION] = np.nansum(lin[need], axis=1)
    return counts


def annotated_lineages(counts: np.ndarray) -> list[str]:
    """Names of the lineage columns with at least one annotated value."""
    return [LINEAGES[i] for i in range(len(LINEAGES)) if np.isfinite(counts[:, i]).any()]
