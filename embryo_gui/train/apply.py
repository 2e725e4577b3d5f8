"""Write a TrainResult into the project: one undoable edit per embryo (no torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EmbryoError
from .settings import TrainResult


def apply_training_result(project: Any, result: TrainResult) -> None:
    """Set each trained embryo's ``lossy`` mask and ``loss`` score and append the rounds to its
    ``training`` record, as one ``RecordTraining`` edit per embryo (undo restores it bit-exactly)."""
    from ..edits import RecordTraining

    targets = []
    for name, er in result.embryos.items():
        try:
            embryo = project.embryo(name)
        except KeyError:
            raise EmbryoError(f"the training result names embryo {name!r}, which the project no longer has",
                              getattr(project, "path", None)) from None
        if len(er.lossy) != embryo.n_frames:
            raise EmbryoError(f"the training result for {name!r} has {len(er.lossy)} frames, the embryo "
                              f"{embryo.n_frames}", getattr(project, "path", None))
        targets.append((embryo, er))
    for embryo, er in targets:
        n = int(np.count_nonzero(er.lossy))
        embryo.history.push(RecordTraining(er.rounds, lossy=er.lossy, loss=er.loss,
                                           label=f"trainer: {n} lossy frames"))
