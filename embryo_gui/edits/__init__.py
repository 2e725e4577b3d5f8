"""Edit objects (apply / revert) and the per-embryo History.  See docs/ARCHITECTURE.md."""

from .annotation_edits import Interpolate, RefitMonotone, SetValues
from .base import Edit, RecordedEdit, frames_array
from .flag_edits import (AcceptDetection, Batch, RecordTraining, RejectDetection, SetExcluded, SetFlags,
                         Truncate, cliff_mask)
from .history import History
from .review_edits import ReviewFrames

__all__ = ["Edit", "RecordedEdit", "frames_array", "SetValues", "Interpolate", "RefitMonotone", "SetExcluded",
           "Truncate", "SetFlags", "AcceptDetection", "RejectDetection", "RecordTraining", "Batch",
           "cliff_mask", "History", "ReviewFrames"]
