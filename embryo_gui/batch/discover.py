"""Which embryos a batch holds: the movies of an input folder with their annotations, or a manifest.

Guessing (no manifest): every video file (``.mp4 .mov .avi ...``), TIFF stack (``.tif .tiff``) and
folder of numbered images directly in INPUT_DIR is one embryo, named after its stem.  Its
annotations are the CSV beside it with the same stem (``emb1.mp4`` + ``emb1.csv``), else the EPIC
lineage file ``CD<stem>.csv`` (``20080731_x_L1.mov`` + ``CD20080731_x_L1.csv``); a movie without either
is imported unannotated.  CSV files are never movies.

Manifest (``INPUT_DIR/manifest.csv`` or ``--manifest FILE``): one row per embryo with columns
``movie`` (required), ``annotations``, ``time_offset``, ``frames_per_timepoint``, ``name``
(header case and spaces/dashes ignored: ``Time offset`` works).  Relative paths are relative to the
manifest's folder.  It overrides the guessing: exactly its rows are the batch.  An empty
``annotations`` cell means "guess beside the movie"; ``none`` means no annotations.

The set is ordered by embryo name, so ``--task-index I`` means the same embryo on every machine.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from ..errors import EmbryoError
from ..io.frame_sources import IMAGE_SUFFIXES, TIFF_SUFFIXES, VIDEO_SUFFIXES

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("movie", "annotations", "time_offset", "frames_per_timepoint", "name")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class EmbryoJob:
    """One embryo of a batch: what to import and how to align its annotations."""

    name: str
    movie: str
    annotations: Optional[str] = None
    time_offset: int = 0
    frames_per_timepoint: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EmbryoJob":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def safe_name(text: str) -> str:
    """A file-name-safe embryo name (letters, digits, ``._+-``; others become ``_``)."""
    s = _UNSAFE.sub("_", str(text).strip()).strip("_")
    s = s.lstrip(".")
    return s or "embryo"


def _is_movie(p: Path) -> bool:
    if p.name.startswith("."):
        return False
    if p.is_dir():
        try:
            return any(not n.startswith(".") and Path(n).suffix.lower() in IMAGE_SUFFIXES for n in os.listdir(p))
        except OSError:
            return False
    suffix = p.suffix.lower()
    return suffix in VIDEO_SUFFIXES or suffix in TIFF_SUFFIXES


def guess_annotations(movie: Path) -> Optional[Path]:
    """The per-frame CSV with the movie's stem, else the EPIC lineage file ``CD<stem>.csv``."""
    stem = movie.name if movie.is_dir() else movie.stem
    for cand in (movie.parent / f"{stem}.csv", movie.parent / f"CD{stem}.csv"):
        if cand.is_file():
            return cand
    return None


def discover(input_dir, manifest=None, exclude=()) -> list[EmbryoJob]:
    """The embryos of ``input_dir`` (or of ``manifest``), ordered by name; EmbryoError naming the
    folder or the manifest line for anything that makes the set ambiguous (two embryos of one name)."""
    input_dir = Path(input_dir)
    if not input_dir.exists():
        raise EmbryoError("no such input folder", input_dir)
    if not input_dir.is_dir():
        raise EmbryoError("is not a folder; give the folder that holds the movies", input_dir)
    if manifest is None and (input_dir / MANIFEST_NAME).is_file():
        manifest = input_dir / MANIFEST_NAME
    if manifest is not None:
        jobs = read_manifest(manifest)
    else:
        skip = {Path(x).resolve() for x in exclude}
        try:
            entries = sorted(input_dir.iterdir())
        except OSError as exc:
            raise EmbryoError(f"cannot list the folder ({exc.strerror or exc})", input_dir) from None
        jobs = []
        for p in entries:
            if p.resolve() in skip or not _is_movie(p):
                continue
            ann = guess_annotations(p)
            jobs.append(EmbryoJob(safe_name(p.name if p.is_dir() else p.stem), str(p.resolve()),
                                  str(ann.resolve()) if ann else None))
    seen: dict[str, str] = {}
    for j in jobs:
        if j.name in seen:
            raise EmbryoError(f"two embryos would be named {j.name!r} ({seen[j.name]} and {j.movie}); "
                              "name them in a manifest", manifest or input_dir)
        seen[j.name] = j.movie
    return sorted(jobs, key=lambda j: j.name)


def _key(h: str) -> str:
    return re.sub(r"[\s\-]+", "_", h.strip().lower())


def read_manifest(path) -> list[EmbryoJob]:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise EmbryoError("no such manifest file", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmbryoError(f"cannot read the manifest ({getattr(exc, 'strerror', None) or exc})", path) from None
    rows = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not rows:
        raise EmbryoError("the manifest is empty", path)
    header = [_key(h) for h in rows[0][1]]
    if "movie" not in header:
        raise EmbryoError(f"the manifest has no 'movie' column (header: {', '.join(rows[0][1])}); "
                          f"columns: {', '.join(MANIFEST_COLUMNS)}", path)
    unknown = [h for h in header if h and h not in MANIFEST_COLUMNS]
    if unknown:
        raise EmbryoError(f"unknown manifest column {unknown[0]!r}; columns: {', '.join(MANIFEST_COLUMNS)}", path)
    base = path.parent
    jobs = []
    for line, r in rows[1:]:
        cell = {h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header)}
        where = f"line {line}"
        if not cell.get("movie"):
            raise EmbryoError(f"{where}: the movie cell is empty", path)
        movie = (base / cell["movie"]).resolve()
        if not movie.exists():
            raise EmbryoError(f"{where}: no such movie {cell['movie']!r}", path)
        a = cell.get("annotations", "")
        if a.lower() in ("none", "-"):
            ann = None
        elif a:
            ann = (base / a).resolve()
            if not ann.is_file():
                raise EmbryoError(f"{where}: no such annotation file {a!r}", path)
        else:
            ann = guess_annotations(movie)
        try:
            offset_f = float(cell.get("time_offset") or 0)
            if not math.isfinite(offset_f) or offset_f != int(offset_f):
                raise ValueError
            offset = int(offset_f)
        except ValueError:
            raise EmbryoError(f"{where}: time offset {cell.get('time_offset')!r} is not a whole number", path) from None
        try:
            fpt = float(cell.get("frames_per_timepoint") or 1)
            if not math.isfinite(fpt) or fpt <= 0:
                raise ValueError
        except ValueError:
            raise EmbryoError(f"{where}: frames per timepoint {cell.get('frames_per_timepoint')!r} is not a "
                              "positive number", path) from None
        raw = cell.get("name") or (movie.name if movie.is_dir() else movie.stem)
        name = safe_name(raw)
        jobs.append(EmbryoJob(name, str(movie), str(ann) if ann else None, offset, fpt))
    if not jobs:
        raise EmbryoError("the manifest lists no embryo", path)
    return jobs
