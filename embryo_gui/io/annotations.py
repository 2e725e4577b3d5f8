"""Annotation import: per-frame count CSVs (and, through :mod:`.epic`, EPIC lineage files).

A per-frame CSV has a ``frame`` column (0-based frame index) or the 2020 pipeline's ``filenames``
column (frame number = the last run of digits in the file's base name, extension removed), plus count
columns: lineage letters ``A, E, M, P, C, D, Z`` (any subset, case-insensitive) and/or
``population``.  Other columns are ignored.  When ``population`` is not given it is the sum of the
given lineages.  Frames without a row are unannotated (NaN), never zero.
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
from ..policy import MAX_CELLS, MAX_CSV_FIELD, MAX_FRAMES

ENCODING = "utf-8-sig"  # tolerate a byte-order mark written by spreadsheet programs


@dataclass
class Annotations:
    """Counts read from an annotation file.

    ``kind`` is ``"frames"`` (``index`` = 0-based frame) or ``"timepoints"`` (EPIC, ``index`` = 1-based
    timepoint).  ``index`` is sorted and unique (int64, ``(N,)``); ``counts`` is float64 ``(N, 8)`` with
    columns ``A,E,M,P,C,D,Z,population`` and NaN for lineages the file does not give; ``lineages``
    lists the lineage letters the file gives.
    """

    path: str
    kind: str
    index: np.ndarray
    counts: np.ndarray
    lineages: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def describe(self) -> dict:
        """JSON-able summary (stored with an imported embryo)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "rows": len(self),
            "first": int(self.index[0]) if len(self) else None,
            "last": int(self.index[-1]) if len(self) else None,
            "lineages": list(self.lineages),
        }


# ------------------------------------------------------------------------------------------------
def read_header(path: str) -> tuple[list[str], str]:
    """The header fields (stripped) and the delimiter of a CSV file; EmbryoError if empty/unreadable."""
    try:
        with open(path, newline="", encoding=ENCODING) as f:
            first = ""
            for line in f:
                if line.strip():
                    first = line
                    break
    except FileNotFoundError:
        raise EmbryoError("no such file", path) from None
    except IsADirectoryError:
        raise EmbryoError("is a folder, not an annotation file", path) from None
    except UnicodeDecodeError:
        raise EmbryoError("is not a text (CSV) file", path) from None
    except OSError as exc:
        raise EmbryoError(f"cannot be read ({exc.strerror or exc})", path) from None
    if not first:
        raise EmbryoError("the file is empty", path)
    delimiter = sniff_delimiter(first)
    with csv_errors(path, lambda: 1):
        fields = next(csv.reader([first], delimiter=delimiter))
    return [h.strip() for h in fields], delimiter


class csv_errors:  # noqa: N801  (used as a context manager, like contextlib's)
    """Turn what the csv module and the decoder raise mid-file into one-line :class:`EmbryoError`\ s
    naming the file and the line (a field over :data:`~embryo_gui.policy.MAX_CSV_FIELD` characters,
    a NUL byte, bytes that are not UTF-8)."""

    def __init__(self, path, line_of):
        self.path, self.line_of = path, line_of

    def __enter__(self):
        csv.field_size_limit(MAX_CSV_FIELD)
        return self

    def __exit__(self, typ, exc, tb):
        if typ is None or not issubclass(typ, (csv.Error, UnicodeDecodeError)):
            return False
        line = self.line_of()
        if issubclass(typ, UnicodeDecodeError):
            raise EmbryoError(f"line {line} is not UTF-8 text (not a CSV file?)", self.path) from None
        text = str(exc)
        if "field larger than field limit" in text:
            raise EmbryoError(f"line {line} has a field longer than {MAX_CSV_FIELD} characters (not an annotation "
                              "file?)", self.path) from None
        raise EmbryoError(f"line {line} cannot be read as CSV ({' '.join(text.split())[:100]})", self.path) from None


def sniff_delimiter(line: str) -> str:
    """``,`` unless the line has none and has ``;`` or a tab."""
    if "," in line:
        return ","
    if ";" in line:
        return ";"
    if "\t" in line:
        return "\t"
    return ","


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
        from .epic import read_epic

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
