"""Import one embryo (video / TIFF stack / image folder + optional annotations) into a project."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Optional


from ..errors import EmbryoError
from ..io import Alignment, align_annotations, open_frame_source, read_annotations
from ..io.annotations import resolve_frame_base
from ..model.framestore import FrameReader
from ..model.project import Project


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


def detector_features(frame, small) -> dict:
    """Per-frame detector features stored in the frame file at import (``/features``), so that
    detection need not read the full frames again.  Today: :func:`embryo_gui.detect.frame_features.
    frame_features` at its default settings, the scalars and the maps that need full resolution
    (the area-pooled red and green maps are the small copy's channels 0 and 1)."""
    # deferred: importing the detect package costs 1-2 s; here it happens in the import's compression
    # pool, after the first frames are on screen, not before (not a cycle: app sits above detect)
    from ..detect.frame_features import frame_features
    ff = frame_features(frame)
    out = {"bright": float(ff.bright), "red_score": float(ff.red_score), "red_kind": ff.red_kind,
           "red_reason": ff.red_reason, "thumb": ff.thumb, "line_map": ff.line_map}
    for kind, (score, reason) in sorted((ff.kind_scores or {}).items()):
        out[f"{kind}_score"] = float(score)
        out[f"{kind}_reason"] = str(reason)
    return out


def import_embryo(project: Project, source_path, annotations_path=None, name: Optional[str] = None,
                  time_offset: int = 0, frames_per_timepoint: float = 1.0, progress=None, cancel=None,
                  features=detector_features, on_frame=None, frame_base: Optional[int] = None):
    """Decode the frames once into the project's frame store, align the annotations explicitly,
    and add the embryo (in memory: the caller saves).  Returns ``(embryo, messages)``.

    ``features(frame, small)`` computes the per-frame values stored beside the frames (None: none);
    ``on_frame(i, frame)`` sees each frame as it is decoded (a live preview,
    :class:`embryo_gui.model.framestore.LiveFrames`).

    Annotations are read and checked before any frame is decoded, so a bad CSV costs nothing and
    leaves every file as it was.  ``frame_base`` (0 or 1) says what a per-frame CSV calls the first
    video frame; None detects it when the file makes that unambiguous (else EmbryoError asks).
    """
    source_path = Path(source_path)
    messages: list[str] = []
    ann = read_annotations(annotations_path) if annotations_path is not None else None
    if frames_per_timepoint <= 0:
        raise EmbryoError(f"frames per timepoint must be positive, got {frames_per_timepoint}", annotations_path)
    name = name or source_path.stem
    if name in project.names:
        raise EmbryoError(f"the project already has an embryo named {name!r}; choose another --name", project.path)
    if ann is not None and frame_base is not None:
        resolve_frame_base(ann, None, frame_base)  # a base the file contradicts fails before decoding
    src = open_frame_source(source_path)
    frames_path: Optional[Path] = None
    try:
        try:
            frames_path, n = project.write_frames(iter(src), src.frame_shape, src.declared_frames,
                                                  progress=progress, cancel=cancel, features=features,
                                                  on_frame=on_frame)
            report = src.report()
            info = {"kind": src.kind, "fps": src.fps, "declared_frames": src.declared_frames,
                    "decoded_frames": n, **source_fingerprint(source_path)}
        finally:
            src.close()
        if report:
            messages.append(f"{source_path}: {report}")
        alignment: dict = {"offset": int(time_offset), "frames_per_timepoint": float(frames_per_timepoint)}
        counts = None
        if ann is not None:
            ann, base_report = resolve_frame_base(ann, n, frame_base)
            if base_report:
                messages.append(f"{annotations_path}: {base_report}")
                alignment["frame_base"] = ann.frame_base
            counts, rep = align_annotations(ann, n, Alignment(int(time_offset), float(frames_per_timepoint)))
            alignment.update(rep)
            alignment["annotations"] = str(Path(annotations_path).resolve())
            if rep.get("message"):
                messages.append(f"{annotations_path}: {rep['message']}")
        if ann is not None:
            # check the mapping against the pixels (nuclei counted on the small frames)
            reader = FrameReader(frames_path, n, src.frame_shape)
            try:
                chk = alignment_check(reader, ann, int(time_offset), float(frames_per_timepoint))
            finally:
                reader.close()
            if chk is not None:
                alignment["check"] = chk.to_dict()
                messages.append(f"{annotations_path}: {chk.message}")
        embryo = project.attach_embryo(name, frames_path, n, src.frame_shape, counts, source=info,
                                       alignment=alignment)
    except BaseException:
        # whatever failed after the frames were written (hashing, alignment, Ctrl-C): no orphan
        if frames_path is not None:
            project._pending_frames.discard(frames_path.name)
            with contextlib.suppress(OSError):
                os.unlink(frames_path)
        raise
    return embryo, messages


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
