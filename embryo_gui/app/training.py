"""Train workflow: rank frames by CNN loss (embryo_gui.train) and flag the lossy ones.

compute: :func:`embryo_gui.train.train_project` on :class:`ProjectSnapshot` (copies of the
embryos' state taken on the caller's thread, sharing the read-only frame files), so the live
project is never read off its thread; apply: :func:`embryo_gui.train.apply_training_result`
(one ``RecordTraining`` step per embryo).  torch is imported only when compute runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

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


# --- applying a result to the state training started on (the GUI trains while the user edits) ----

@dataclass
class TrainingStart:
    """The state a training run was started on: per embryo its annotations and flag bits (and
    the history token), taken on the caller's thread when the run starts."""

    embryos: dict = field(default_factory=dict)   # name -> (current copy, flag bits copy, state token)

    @classmethod
    def of(cls, project) -> "TrainingStart":
        return cls({e.name: (e.current.copy(), e.flags.bits.copy(), e.state_token()) for e in project.embryos})

    def changed_frames(self, embryo) -> tuple[np.ndarray, np.ndarray]:
        """(frames whose annotation changed, frames whose flags changed) since the start."""
        cur, bits, token = self.embryos[embryo.name]
        if embryo.state_token() == token:
            none = np.zeros(0, np.int64)
            return none, none
        if cur.shape != embryo.current.shape:
            allf = np.arange(embryo.n_frames, dtype=np.int64)
            return allf, allf
        a = ~((cur == embryo.current) | (np.isnan(cur) & np.isnan(embryo.current))).all(axis=1)
        f = bits != embryo.flags.bits
        return np.flatnonzero(a).astype(np.int64), np.flatnonzero(f & ~a).astype(np.int64)


@dataclass
class TrainingApplied:
    """What :func:`apply_checked` did: ``n_lossy`` frames marked, ``conflicts`` (embryo -> frames
    changed while training ran: their lossy mark is left as the user made it, and where their
    annotation changed their loss is not kept), ``dropped`` (embryos gone or resized)."""

    n_lossy: int = 0
    conflicts: dict = field(default_factory=dict)
    dropped: list = field(default_factory=list)

    def message(self) -> str:
        parts = [f"training: {self.n_lossy} lossy frames marked"]
        for name, frames in self.conflicts.items():
            parts.append(f"{name}: {len(frames)} frame(s) changed while training ran ({format_frames(frames)}); "
                         "their lossy marks were left as you made them")
        for name in self.dropped:
            parts.append(f"{name}: changed shape or was removed while training ran; its result was not applied")
        return "\n".join(parts)


def format_frames(frames, limit: int = 8) -> str:
    """``3, 10-12, 40`` (0-based frames, runs merged; at most ``limit`` runs shown)."""
    f = np.asarray(frames, np.int64)
    if f.size == 0:
        return ""
    cut = np.flatnonzero(np.diff(f) != 1) + 1
    runs = [(int(r[0]), int(r[-1])) for r in np.split(f, cut)]
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:limit])
    return text + (f", ... ({len(runs) - limit} more)" if len(runs) > limit else "")


def apply_checked(project, result, start: TrainingStart) -> TrainingApplied:
    """Apply ``result`` (computed on the state ``start``) to the project as it is now, one
    ``RecordTraining`` step per embryo.  Frames changed since the start are conflicts: they keep
    the user's lossy flag (and, when their annotation changed, get no loss score), and they are
    reported in the returned record; nothing is merged silently."""
    from ..edits import RecordTraining

    out = TrainingApplied()
    todo = []
    for name, er in result.embryos.items():
        try:
            e = project.embryo(name)
        except KeyError:
            out.dropped.append(name)
            continue
        if name not in start.embryos or len(er.lossy) != e.n_frames:
            out.dropped.append(name)
            continue
        annotated, flagged = start.changed_frames(e)
        lossy = np.asarray(er.lossy, bool).copy()
        loss = np.asarray(er.loss, np.float32).copy()
        changed = np.union1d(annotated, flagged)
        if changed.size:
            lossy[changed] = e.flags.mask("lossy")[changed]
            loss[annotated] = np.nan
            out.conflicts[name] = changed
        todo.append((e, er, lossy, loss))
    for e, er, lossy, loss in todo:
        n = int(np.count_nonzero(lossy))
        out.n_lossy += n
        e.history.push(RecordTraining(er.rounds, lossy=lossy, loss=loss, label=f"trainer: {n} lossy frames"))
    return out
