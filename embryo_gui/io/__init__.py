"""Import of frames and annotations (no Qt): video / TIFF / image-folder frame sources, per-frame
annotation CSVs, EPIC lineage files, and the explicit timepoint -> frame alignment."""

from .alignment import Alignment, align_annotations
from .annotations import Annotations, read_annotations, read_frame_csv
from .epic import read_epic
from .frame_sources import FrameSource, open_frame_source

__all__ = [
    "Alignment", "align_annotations",
    "Annotations", "read_annotations", "read_frame_csv", "read_epic",
    "FrameSource", "open_frame_source",
]
