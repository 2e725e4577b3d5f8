"""Lossy-frame trainer: rank annotated frames by the loss of a small counting CNN.

Importing this package is cheap: torch is imported only when training, predicting or loading a
model (inside :mod:`embryo_gui.train.runtime`, with a passive OpenMP wait policy).
"""

from __future__ import annotations

from typing import Any

from .apply import apply_training_result
from .settings import EmbryoTraining, TrainResult, TrainSettings


def train_project(project: Any, settings: TrainSettings | None = None, progress=None, cancel=None,
                  embryos=None) -> TrainResult:
    """See :func:`embryo_gui.train.trainer.train_project`."""
    from .trainer import train_project as _train

    return _train(project, settings, progress, cancel, embryos)


def predict(source: Any, model_path, indices=None, device: str = "auto", cancel=None) -> Any:
    """See :func:`embryo_gui.train.modelfile.predict`."""
    from .modelfile import predict as _predict

    return _predict(source, model_path, indices, device, cancel)


__all__ = ["TrainSettings", "TrainResult", "EmbryoTraining", "train_project", "apply_training_result", "predict"]
