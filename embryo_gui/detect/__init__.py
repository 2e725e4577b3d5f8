"""Detectors: cliffs in annotation curves, corrupt frames in pixels (numpy/scipy/opencv, no Qt)."""

from .cliffs import Cliff, CliffSettings, cliff_mask, detect_cliffs, detect_cliffs_1d
from .corrupt import CorruptResult, CorruptSettings, decide, detect_corrupt
from .frame_features import FrameFeatures, frame_features

__all__ = ["Cliff", "CliffSettings", "cliff_mask", "detect_cliffs", "detect_cliffs_1d",
           "CorruptResult", "CorruptSettings", "decide", "detect_corrupt", "FrameFeatures",
           "frame_features"]
