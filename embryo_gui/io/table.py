"""What every annotation reader shares: the :class:`Annotations` record and the CSV header sniffing
(:mod:`.annotations` and :mod:`.epic` both build on this; neither imports the other's internals)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import numpy as np

from ..errors import EmbryoError
from ..policy import MAX_CSV_FIELD

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
    #: for ``kind="frames"``: the number the file gives the first video frame (0 or 1).  None until
    #: :func:`~embryo_gui.io.annotations.resolve_frame_base` decided it: ``index`` is then as written
    #: in the file; once decided, ``index`` is the 0-based video frame.
    frame_base: int | None = None

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
            **({"frame_base": self.frame_base} if self.kind == "frames" else {}),
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
    """Turn what the csv module and the decoder raise mid-file into one-line :class:`EmbryoError` errors
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
