"""The concrete edits (apply / revert).  Their base class ``Edit`` and ``History`` live in the model
(embryo_gui.model.edit, embryo_gui.model.history) and are re-exported here.  See docs/ARCHITECTURE.md."""

from .annotation_edits import Interpolate, RefitMonotone, SetValues
from ..model.edit import Edit, RecordedEdit, frames_array
from .flag_edits import (AcceptDetection, Batch, RecordTraining, RejectDetection, SetExcluded, SetFlags,
                         Truncate, cliff_mask)
from ..model.history import History
from .review_edits import ReviewFrames

__all__ = ["Edit", "RecordedEdit", "frames_array", "SetValues", "Interpolate", "RefitMonotone", "SetExcluded",
           "Truncate", "SetFlags", "AcceptDetection", "RejectDetection", "RecordTraining", "Batch",
           "cliff_mask", "History", "ReviewFrames"]
