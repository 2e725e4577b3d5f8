"""Project model: projects, embryos, flags, write-once frame files, the Edit base and History (no Qt).

The model never imports the concrete edits (embryo_gui.edits) nor anything above it."""

from .embryo import Embryo
from ..policy import CORRUPT_KINDS, FLAG_KINDS
from .edit import Edit, RecordedEdit
from .flags import Flags
from .history import History
from .format import FORMAT_NAME, FORMAT_VERSION
from .framestore import FrameReader, write_frame_file
from .project import Project

__all__ = ["Project", "Embryo", "Flags", "Edit", "RecordedEdit", "History", "FLAG_KINDS", "CORRUPT_KINDS", "FrameReader", "write_frame_file",
           "FORMAT_NAME", "FORMAT_VERSION"]
