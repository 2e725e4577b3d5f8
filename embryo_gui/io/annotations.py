"""Annotation import: per-frame count CSVs (and, through :mod:`.epic`, EPIC lineage files).

A per-frame CSV has a ``frame`` column or the 2020 pipeline's ``filenames`` column (frame number =
the last run of digits in the file's base name, extension removed), plus count
columns: lineage letters ``A, E, M, P, C, D, Z`` (any subset, case-insensitive) and/or
``population``.  Other columns are ignored.  When ``population`` is not given it is the sum of the
given lineages.  Frames without a row are unannotated (NaN), never zero.

Frame base: the numbers in the file count from 0 or from 1 (``Annotations.frame_base``), never
shifted silently.  :func:`resolve_frame_base` decides it at import, from the value the user gave
(``--frame-base``) or, when the file makes it unambiguous, from the data: a row numbered 0 means
0-based; a row numbered ``n_frames`` (one past the last 0-based frame) means 1-based.  Anything
else is refused with a one-line error asking for the base.  The result is reported.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import EmbryoError
from ..lineages import COLUMNS, LINEAGES, N_COLUMNS, POPULATION, fill_population
from .epic import read_epic
from ..policy import MAX_CELLS, MAX_FRAMES
from .table import ENCODING, Annotations, csv_errors, read_header, sniff_delimiter  # noqa: F401  (re-exported)


FRAME_BASES = (0, 1)


def resolve_frame_base(ann: Annotations, n_frames: int | None, given: int | None = None) -> tuple[Annotations, str]:
    """Decide the frame base of a per-frame CSV and return ``(0-based annotations, report)``.

    ``given`` (0 or 1) wins, but a 1-based file cannot name frame 0 (refused).  Without it the base
    is read from the data when that is unambiguous (see the module docstring), else EmbryoError
    asks for it.  EPIC (timepoint) annotations are returned as they are, with an empty report."""
    if ann.kind != "frames":
        return ann, ""
    if given is not None and int(given) not in FRAME_BASES:
        raise EmbryoError(f"frame base must be 0 or 1, got {given}", ann.path)
    first, last = (int(ann.index[0]), int(ann.index[-1])) if len(ann) else (0, 0)
    col = "frame numbers"
    if given is not None:
        base = int(given)
        if base == 1 and first == 0:
            raise EmbryoError("the file names frame 0, so its frames cannot count from 1 "
                              "(use frame base 0)", ann.path)
        how = "as given"
    elif first == 0:
        base, how = 0, "detected: the file has a frame 0"
    elif n_frames is not None and last == int(n_frames):
        base, how = 1, f"detected: the file names frame {last} and the video has {n_frames} frames"
    else:
        video = f" and the video has {n_frames} frames" if n_frames is not None else ""
        raise EmbryoError(f"cannot tell whether the {col} count from 0 or 1 (they run {first}-{last}{video}); "
                          "give the frame base (--frame-base 0 or 1)", ann.path)
    if ann.frame_base is not None:
        raise ValueError("frame base already decided")
    out = Annotations(ann.path, ann.kind, ann.index - base, ann.counts, list(ann.lineages), base)
    report = (f"frame column counts from {base} ({how}): file frame {first} is video frame {first - base}")
    return out, report



def is_epic_header(fields: list[str]) -> bool:
    low = {h.lower() for h in fields}
    if low & {"frame", "filenames", "filename"}:
        return False
    return bool(low & {"cell", "time", "celltime"})


def read_annotations(path: "str | os.PathLike[str]") -> Annotations:
    """Read an annotation file, sniffing its header: an EPIC lineage file (``cell``/``time`` columns)
    or a per-frame CSV (``frame``/``filenames`` column)."""
    p = os.fspath(path)
    fields, _ = read_header(p)
    if is_epic_header(fields):
        return read_epic(p)
    return read_frame_csv(p)


# ------------------------------------------------------------------------------------------------
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def frame_from_filename(name: str) -> int | None:
    """Frame number of a ``filenames`` entry: the last run of digits in the base name (an extension
    such as ``.png`` is removed first); ``None`` when it has no digits."""
    base = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if dot and stem and re.search(r"[A-Za-z]", ext):
        base = stem
    m = _LAST_DIGITS.search(base)
    return int(m.group(1)) if m else None


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_frame_csv(path: "str | os.PathLike[str]") -> Annotations:
    """Read a per-frame annotation CSV (see the module docstring)."""
    p = os.fspath(path)
    fields, delimiter = read_header(p)
    low = [h.lower() for h in fields]

    if "frame" in low:
        key_col, key_name = low.index("frame"), "frame"
    elif "filenames" in low or "filename" in low:
        key_name = "filenames" if "filenames" in low else "filename"
        key_col = low.index(key_name)
    else:
        raise EmbryoError("no 'frame' or 'filenames' column in the header "
                          f"({', '.join(fields) or 'empty header'})", p)

    count_cols: list[tuple[int, int, str]] = []  # (csv column, counts column, header name)
    seen: dict[int, str] = {}
    for i, h in enumerate(fields):
        name = h.strip()
        target = None
        if len(name) == 1 and name.upper() in LINEAGES:
            target = LINEAGES.index(name.upper())
        elif name.lower() == "population":
            target = POPULATION
        if target is None:
            continue
        if target in seen:
            raise EmbryoError(f"column {COLUMNS[target]} appears twice in the header "
                              f"({seen[target]!r} and {name!r})", p)
        seen[target] = name
        count_cols.append((i, target, name))
    if not count_cols:
        raise EmbryoError("no count column in the header (expected lineage letters A,E,M,P,C,D,Z "
                          "and/or population)", p)

    index: list[int] = []
    rows: list[list[float]] = []
    first_line: dict[int, int] = {}
    with open(p, newline="", encoding=ENCODING) as f, csv_errors(p, lambda: reader.line_num):
        reader = csv.reader(f, delimiter=delimiter)
        header_seen = False
        for record in reader:
            if not any(c.strip() for c in record):
                continue  # blank line
            if not header_seen:
                header_seen = True
                continue
            line = reader.line_num
            if len(record) < len(fields):
                raise EmbryoError(f"line {line} has {len(record)} fields but the header has "
                                  f"{len(fields)}", p)
            key = record[key_col].strip()
            if key_name == "frame":
                value = _parse_number(key)
                if value is None or not math.isfinite(value) or value != int(value):
                    raise EmbryoError(f"frame {key!r} on line {line} is not a whole number", p)
                frame = int(value)
            else:
                frame_or_none = frame_from_filename(key)
                if frame_or_none is None:
                    raise EmbryoError(f"{key_name} entry {key!r} on line {line} has no digits "
                                      "(cannot tell its frame number)", p)
                frame = frame_or_none
            if frame < 0:
                raise EmbryoError(f"negative frame number {frame} on line {line}", p)
            if frame > MAX_FRAMES:
                raise EmbryoError(f"frame {key[:30]!r} on line {line} is implausibly large (at most {MAX_FRAMES})", p)
            if frame in first_line:
                raise EmbryoError(f"frame {frame} appears twice (lines {first_line[frame]} and {line})", p)
            first_line[frame] = line

            values = [math.nan] * N_COLUMNS
            for col, target, name in count_cols:
                text = record[col].strip()
                if not text:
                    raise EmbryoError(f"empty count in column {name} on line {line}", p)
                v = _parse_number(text)
                if v is None:
                    raise EmbryoError(f"count {text!r} in column {name} on line {line} is not a number", p)
                if not math.isfinite(v):
                    raise EmbryoError(f"count {text!r} in column {name} on line {line} is not a finite "
                                      "number", p)
                if v < 0:
                    raise EmbryoError(f"negative count {text} in column {name} on line {line}", p)
                if v > MAX_CELLS:
                    raise EmbryoError(f"count {text[:30]} in column {name} on line {line} is implausible (an embryo "
                                      f"has at most {MAX_CELLS} cells)", p)
                values[target] = v
            if math.isnan(values[POPULATION]) and sum(v for v in values[:POPULATION] if v == v) > MAX_CELLS:
                raise EmbryoError(f"the lineage counts on line {line} add up to more than {MAX_CELLS} cells "
                                  "(implausible for an embryo)", p)
            index.append(frame)
            rows.append(values)
    if not rows:
        raise EmbryoError("the file has a header but no rows", p)

    idx = np.asarray(index, dtype=np.int64)
    counts = np.asarray(rows, dtype=np.float64).reshape(len(rows), N_COLUMNS)
    order = np.argsort(idx, kind="stable")
    idx, counts = idx[order], counts[order]
    counts = fill_population(counts)
    given = sorted({t for _, t, _ in count_cols if t < POPULATION})
    return Annotations(path=p, kind="frames", index=idx, counts=counts,
                       lineages=[LINEAGES[t] for t in given])
