"""Import one embryo (video / TIFF stack / image folder + optional annotations) into a project.

prepare (caller's thread: checks, reserves the frame file) -> :func:`compute_import` (any thread:
decodes into that file, reads and aligns the annotations; the project is not touched) ->
:func:`import_apply` (caller's thread: adds the embryo).  :func:`import_job` wraps them for the
Session; :func:`import_embryo` does all three on the caller's thread."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import EmbryoError
from ..io import Alignment, Annotations, align_annotations, open_frame_source, read_annotations
from ..io.annotations import resolve_frame_base
from ..model.framestore import FrameReader, frame_codec_name, resolve_frame_codec, write_frame_file
from ..model.project import Project
from ..policy import DETECTOR_FEATURES_VERSION
from .jobs import Job


def source_fingerprint(path: Path) -> dict:
    """Path, size and SHA-256 of a source file (for a folder: of its sorted file names and sizes)."""
    h = hashlib.sha256()
    if path.is_dir():
        size = 0
        for p in sorted(path.iterdir()):
            if p.is_file():
                st = p.stat()
                size += st.st_size
                h.update(f"{p.name}\0{st.st_size}\n".encode())
    else:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return {"path": str(path.resolve()), "size": int(size), "sha256": h.hexdigest()}


def detector_features(frame, small, half=None) -> dict:
    """Per-frame detector features stored in the frame file at import (``/features``), so that
    detection need not read the full frames again.  Today: :func:`embryo_gui.detect.frame_features.
    frame_features` at its default settings, the scalars and the maps that need full resolution
    (the area-pooled red and green maps are the small copy's channels 0 and 1); ``half`` is the
    frame store's 1/2-size image of the frame (computed once for the small copy, reused here)."""
    # deferred: importing the detect package costs 1-2 s; here it happens in the import's compression
    # pool, after the first frames are on screen, not before (not a cycle: app sits above detect)
    from ..detect.frame_features import frame_features
    # (the nuclei of dark frames are not stored: detection counts them on the small copy)
    ff = frame_features(frame, half=half, count_dark_nuclei=False, small=small)
    out = {"bright": float(ff.bright), "red_score": float(ff.red_score), "red_kind": ff.red_kind,
           "red_reason": ff.red_reason, "thumb": ff.thumb, "line_map": ff.line_map}
    for kind, (score, reason) in sorted((ff.kind_scores or {}).items()):
        out[f"{kind}_score"] = float(score)
        out[f"{kind}_reason"] = str(reason)
    return out


detector_features.version = DETECTOR_FEATURES_VERSION   # stored as the /features "version" attribute


@dataclass(frozen=True)
class ImportRequest:
    """What to import, checked on the caller's thread (:func:`prepare_import`)."""
    source_path: Path
    annotations_path: Optional[Path]
    name: str
    time_offset: int
    frames_per_timepoint: float
    frames_path: Path                 # reserved in the project's frames folder
    annotations: Optional[Annotations] = None   # read and checked before any frame is decoded
    frame_base: Optional[int] = None             # 0 / 1, or None: detected (io.annotations.resolve_frame_base)
    frame_codec: Optional[str] = None            # name in framestore.FRAME_CODECS; None: the default (lz4)


@dataclass
class ImportResult:
    """A decoded embryo, its frame file written, not yet in the project."""
    name: str
    frames_path: Path
    n_frames: int
    frame_shape: tuple
    counts: Optional[np.ndarray]
    source: dict
    alignment: dict
    messages: list = field(default_factory=list)


def prepare_import(project: Project, source_path, annotations_path=None, name: Optional[str] = None,
                   time_offset: int = 0, frames_per_timepoint: float = 1.0,
                   frame_base: Optional[int] = None, frame_codec: Optional[str] = None) -> ImportRequest:
    """Read and check the annotations, check the request against the project and reserve the new
    frame file (caller's thread): a bad CSV costs nothing and leaves every file as it was.
    ``frame_codec``: how the frames are stored (:data:`~embryo_gui.model.framestore.FRAME_CODECS`:
    ``lz4``, the default, or ``none``, uncompressed: frames read 3-5x faster, ~2.2x the disk)."""
    source_path = Path(source_path)
    resolve_frame_codec(frame_codec)   # an unknown name fails before anything is read
    ann = read_annotations(annotations_path) if annotations_path is not None else None
    if frames_per_timepoint <= 0:
        raise EmbryoError(f"frames per timepoint must be positive, got {frames_per_timepoint}", annotations_path)
    name = name or source_path.stem
    if name in project.names:
        raise EmbryoError(f"the project already has an embryo named {name!r}; choose another --name", project.path)
    if ann is not None and frame_base is not None:
        resolve_frame_base(ann, None, frame_base)  # a base the file contradicts fails before decoding
    return ImportRequest(source_path, None if annotations_path is None else Path(annotations_path), name,
                         int(time_offset), float(frames_per_timepoint), project.new_frames_path(), ann,
                         frame_base, frame_codec)


def compute_import(req: ImportRequest, progress=None, cancel=None, features=detector_features,
                   on_frame=None) -> ImportResult:
    """Decode the frames once into ``req.frames_path`` and align the annotations (any thread; the
    project is not touched).  On failure the frame file is removed."""
    messages: list[str] = []
    ann = req.annotations
    src = open_frame_source(req.source_path)
    try:
        try:
            n = write_frame_file(req.frames_path, iter(src), src.frame_shape, src.declared_frames, progress,
                                 cancel, features=features, on_frame=on_frame,
                                 codec=resolve_frame_codec(req.frame_codec))
            report = src.report()
            info = {"kind": src.kind, "fps": src.fps, "declared_frames": src.declared_frames,
                    "decoded_frames": n, **source_fingerprint(req.source_path)}
        finally:
            src.close()
        if report:
            messages.append(f"{req.source_path}: {report}")
        alignment: dict = {"offset": req.time_offset, "frames_per_timepoint": req.frames_per_timepoint}
        counts = None
        if ann is not None:
            ann, base_report = resolve_frame_base(ann, n, req.frame_base)
            if base_report:
                messages.append(f"{req.annotations_path}: {base_report}")
                alignment["frame_base"] = ann.frame_base
            counts, rep = align_annotations(ann, n, Alignment(req.time_offset, req.frames_per_timepoint))
            alignment.update(rep)
            alignment["annotations"] = str(req.annotations_path.resolve())
            if rep.get("message"):
                messages.append(f"{req.annotations_path}: {rep['message']}")
        if ann is not None:
            # check the mapping against the pixels (nuclei counted on the small frames)
            reader = FrameReader(req.frames_path, n, src.frame_shape)
            try:
                chk = alignment_check(reader, ann, req.time_offset, req.frames_per_timepoint)
            finally:
                reader.close()
            if chk is not None:
                alignment["check"] = chk.to_dict()
                messages.append(f"{req.annotations_path}: {chk.message}")
    except BaseException:
        # whatever failed after the frames were written (hashing, alignment, Ctrl-C): no orphan
        with contextlib.suppress(OSError):
            os.unlink(req.frames_path)
        raise
    return ImportResult(req.name, req.frames_path, n, tuple(src.frame_shape), counts, info, alignment, messages)


def import_apply(project: Project, result: ImportResult):
    """Add the decoded embryo to the project (caller's thread; in memory: the caller saves)."""
    return project.attach_embryo(result.name, result.frames_path, result.n_frames, result.frame_shape,
                                 result.counts, source=result.source, alignment=result.alignment)


def import_embryo(project: Project, source_path, annotations_path=None, name: Optional[str] = None,
                  time_offset: int = 0, frames_per_timepoint: float = 1.0, progress=None, cancel=None,
                  features=detector_features, on_frame=None, frame_base: Optional[int] = None,
                  frame_codec: Optional[str] = None):
    """Decode the frames once into the project's frame store, align the annotations explicitly,
    and add the embryo (in memory: the caller saves).  Returns ``(embryo, messages)``.

    ``features(frame, small)`` computes the per-frame values stored beside the frames (None: none);
    ``on_frame(i, frame)`` sees each frame as it is decoded (a live preview,
    :class:`embryo_gui.model.framestore.LiveFrames`).  Leaves no frame file behind on failure.

    Annotations are read and checked before any frame is decoded, so a bad CSV costs nothing and
    leaves every file as it was.  ``frame_base`` (0 or 1) says what a per-frame CSV calls the first
    video frame; None detects it when the file makes that unambiguous (else EmbryoError asks).
    ``frame_codec``: see :func:`prepare_import`.
    """
    req = prepare_import(project, source_path, annotations_path, name, time_offset, frames_per_timepoint,
                         frame_base, frame_codec)
    try:
        result = compute_import(req, progress, cancel, features, on_frame)
        embryo = import_apply(project, result)
    except BaseException:
        project.discard_frames(req.frames_path)
        raise
    return embryo, result.messages


def import_job(project: Project, source_path, annotations_path=None, name: Optional[str] = None,
               time_offset: int = 0, frames_per_timepoint: float = 1.0, features=detector_features,
               on_frame=None, frame_base: Optional[int] = None, frame_codec: Optional[str] = None) -> Job:
    """A job importing one embryo: compute decodes into a reserved frame file (off-thread), apply
    adds the embryo (outcome ``(embryo, messages)``); a cancelled or failed job leaves no file."""
    req = prepare_import(project, source_path, annotations_path, name, time_offset, frames_per_timepoint,
                         frame_base, frame_codec)

    def compute(progress, cancel) -> ImportResult:
        return compute_import(req, progress, cancel, features, on_frame)

    def apply(result: ImportResult):
        return import_apply(project, result), result.messages

    def discard(_result) -> None:       # failed, cancelled, or apply refused: no orphan file
        project.discard_frames(req.frames_path)

    return Job("import", compute, apply, label=f"import {req.name}", discard=discard)


def stored_frame_codec(embryo) -> Optional[str]:
    """The name of the frame codec the embryo's frames are stored with (a re-import stores them the
    same way); None for another codec (an older version's) or a frame file that cannot be read."""
    try:
        return frame_codec_name(embryo.frames.codec)
    except EmbryoError:
        return None


def project_frame_codec(project) -> Optional[str]:
    """The frame codec (name in :data:`~embryo_gui.model.framestore.FRAME_CODECS`) of the project's
    last embryo, what the next import offers by default; None without one (or if unreadable)."""
    for embryo in reversed(project.embryos if project is not None else []):
        try:
            return frame_codec_name(embryo.frames.codec)
        except EmbryoError:
            continue
    return None


def frame_storage(embryo) -> Optional[str]:
    """How an embryo's frames are stored, in words (for its properties): "compressed (LZ4), 171 MB
    on disk" / "uncompressed, ..."; None when its frame file cannot be read."""
    try:
        name = frame_codec_name(embryo.frames.codec)
        size = embryo.frames.path.stat().st_size
    except (EmbryoError, OSError):
        return None
    kind = {"lz4": "compressed (LZ4)", "none": "uncompressed (--frame-codec none)"}.get(
        name, "as an older version wrote them")
    return f"Frames stored {kind}, {size / 1e6:.0f} MB on disk"


def alignment_check(frames, ann, offset: int, fpt: float):
    """:class:`~embryo_gui.detect.alignment_check.AlignmentCheck` of an embryo's frames (a
    FrameReader: ``embryo.frames``) against its annotations (``io.read_annotations``; None without
    a population curve), for the mapping ``offset`` / ``fpt``.  For the import dialog and
    ``import --json``."""
    import numpy as np

    from ..detect.alignment_check import check_frames, small_frames
    from ..lineages import POPULATION

    pop = np.asarray(ann.counts[:, POPULATION], dtype=np.float64)
    if not np.isfinite(pop).any():
        return None
    index = np.asarray(ann.index, dtype=np.float64)
    if ann.kind == "frames":          # frame f is "timepoint" f + 1 at one frame per timepoint
        return check_frames(small_frames(frames), index + 1.0, pop, offset, 1.0, fpts=(1.0,))
    return check_frames(small_frames(frames), index, pop, offset, fpt)
