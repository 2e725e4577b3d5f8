"""Project model: projects, embryos, flags, write-once frame files (no Qt)."""

from .embryo import Embryo
from .flags import CORRUPT_KINDS, FLAG_KINDS, Flags
from .format import FORMAT_NAME, FORMAT_VERSION
from .framestore import FrameReader, write_frame_file
from .project import Project

__all__ = ["Project", "Embryo", "Flags", "FLAG_KINDS", "CORRUPT_KINDS", "FrameReader", "write_frame_file",
           "FORMAT_NAME", "FORMAT_VERSION"]
