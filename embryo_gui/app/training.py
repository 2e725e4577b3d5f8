"""Train workflow: rank frames by CNN loss (embryo_gui.train) and flag the lossy ones.

compute: :func:`embryo_gui.train.train_project` on :class:`ProjectSnapshot` (copies of the
embryos' state taken on the caller's thread, sharing the read-only frame files), so the live
project is never read off its thread; apply: :func:`embryo_gui.train.apply_training_result`
(one ``RecordTraining`` step per embryo).  torch is imported only when compute runs.
"""

from __future__ import annotations

from typing import Optional

from ..train import TrainSettings, apply_training_result, train_project
from .jobs import Job


class ProjectSnapshot:
    """What the trainer reads of a project: ``path``, ``embryos``, ``embryo(name)`` (snapshots)."""

    def __init__(self, project, names=None) -> None:
        self.path = project.path
        self.embryos = [e.snapshot() for e in project.embryos if names is None or e.name in names]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.embryos]

    def embryo(self, name: str):
        for e in self.embryos:
            if e.name == name:
                return e
        raise KeyError(f"no embryo named {name!r} in {self.path}")


def training_job(project, settings: Optional[TrainSettings] = None, embryos=None) -> Job:
    """A job training on the project (or the named embryos); outcome: the TrainResult."""
    settings = settings or TrainSettings()
    snap = ProjectSnapshot(project, embryos)

    def compute(progress, cancel):
        return train_project(snap, settings, progress=progress, cancel=cancel)

    def apply(result):
        apply_training_result(project, result)
        return result

    return Job("train", compute, apply, label="training")
