"""Auto-clean as a reviewable draft (Qt-free).

*compute* (:func:`compute_draft`, pure, safe off the GUI thread): run the detectors when they have
not run at the current settings, then the auto-clean policy, on a private copy of the embryo's
state; the embryo itself is not touched.  The :class:`AutocleanDraft` says what would change:
the planned annotation curve, the frames that would be excluded and repaired, the summary.
The GUI shows it on the curve and the timeline.

*apply* (:meth:`AutocleanDraft.edits`): the edits to push on the caller's thread, in order --
"run detectors" (when the draft ran them) and "auto-clean" (the policy, recomputed on the embryo
as it is then, so an edit made meanwhile is respected).  Two undo steps: undoing the auto-clean
keeps the detections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..edits import Edit, SetFlags
from ..progress import check
from .autoclean import AutocleanPolicy, autoclean_edits
from .detecting import detection_edit, needs_detection


@dataclass
class AutocleanDraft:
    name: str
    policy: AutocleanPolicy
    summary: dict
    current: np.ndarray          # planned annotations (n, 8)
    excluded: np.ndarray         # planned excluded mask
    newly_excluded: np.ndarray   # excluded by the draft (not before)
    repaired: np.ndarray         # values the draft changes
    detection: Optional[tuple] = None  # (SetFlags edit, notes) when the draft ran the detectors
    notes: list = field(default_factory=list)

    @property
    def n_changes(self) -> int:
        return int(self.newly_excluded.sum() + self.repaired.sum())

    def edits(self, embryo) -> list[Edit]:
        """The edits that apply this draft to ``embryo`` (push them in order)."""
        det = None
        if self.detection is not None and needs_detection(embryo):
            e, notes = self.detection
            det = (SetFlags(e.masks, e.scores, e.detections, label=e.label), notes)
        return autoclean_edits(embryo, self.policy, detection=det)


def compute_draft(embryo, policy: AutocleanPolicy | None = None, progress=None, cancel=None) -> AutocleanDraft:
    """What auto-clean would do to ``embryo``; changes nothing (see the module docstring)."""
    policy = policy or AutocleanPolicy()
    shadow = embryo.snapshot()   # a private copy: the embryo itself is never touched
    detection = detection_edit(shadow, progress=progress, cancel=cancel) if needs_detection(shadow) else None
    edits = autoclean_edits(shadow, policy, detection=detection)
    for e in edits:
        e.apply(shadow)
    was = embryo.flags.mask("excluded")
    now = shadow.flags.mask("excluded")
    a, b = embryo.current, shadow.current
    changed = ~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    summary = dict(edits[-1].summary)
    summary["changed"] = bool(changed.any() or (now != was).any())
    return AutocleanDraft(embryo.name, policy, summary, shadow.current.copy(), now, now & ~was, changed,
                          detection, list(summary.get("notes", [])))


def compute_drafts(project, policy: AutocleanPolicy | None = None, progress=None, cancel=None,
                   embryos=None) -> list[AutocleanDraft]:
    """:func:`compute_draft` for every embryo (or those named)."""
    todo = [e for e in project.embryos if embryos is None or e.name in embryos]
    out = []
    for k, e in enumerate(todo):
        check(cancel)
        if progress is not None:
            progress({"stage": "autoclean draft", "done": k, "total": len(todo), "embryo": e.name})
        out.append(compute_draft(e, policy, progress, cancel))
    return out


__all__ = ["AutocleanDraft", "compute_draft", "compute_drafts"]
