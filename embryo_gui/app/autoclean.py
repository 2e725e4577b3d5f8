"""One-click auto-clean: run the detectors (when they have not run at the current settings) and
apply the default policy.  Two history steps per embryo at most: "run detectors" (only when it ran)
and "auto-clean" (the policy), so undoing an auto-clean never erases the detections.
:mod:`embryo_gui.app.draft` computes the same thing as a reviewable draft first (off-thread).

Policy (``AutocleanPolicy``):
- corrupt frames (black, red artifact; outliers when ``exclude_outliers``) are excluded;
- a pending ``dip`` cliff bounded on both sides is repaired (``dip_repair="interpolate"``, marked
  ``repaired``) or excluded (``dip_repair="exclude"``);
- a pending ``to_end`` cliff (or a dip touching either end) is excluded;
- cliffs the user accepted or rejected are left as they are, and so are values the user set by hand
  (a pending cliff holding hand-edited frames is left pending, for review; a hand-edited spike is kept);
- spikes (isolated frames whose annotation disagrees with their neighbours') are interpolated from
  the neighbouring frames and marked ``repaired`` (``repair_spikes``);
- an embryo losing more than ``unusable_fraction`` of its frames (excluded or corrupt; repaired
  frames count as kept) is reported unusable (its frames are left out of an export unless asked
  otherwise).
Running it twice changes nothing the second time.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np

from ..edits import AcceptDetection, Edit, Interpolate, SetExcluded
from ..policy import CORRUPT_KINDS, LOST_KINDS, UNUSABLE_FRACTION
from ..progress import check
from .detecting import detection_edit, needs_detection


@dataclass
class AutocleanPolicy:
    exclude_outliers: bool = True
    dip_repair: str = "interpolate"  # or "exclude"
    repair_spikes: bool = True
    unusable_fraction: float = UNUSABLE_FRACTION

    def to_dict(self) -> dict:
        return asdict(self)


class _Autoclean(Edit):
    """The policy as one edit (one undo step), on the detections the embryo already has."""

    type = "autoclean"

    def __init__(self, policy: AutocleanPolicy, progress=None, cancel=None, notes=None):
        self.policy = policy
        self._progress, self._cancel = progress, cancel
        self._notes = list(notes or [])
        self.summary: dict = {}
        super().__init__("auto-clean")

    def params(self) -> dict:
        return {"policy": self.policy.to_dict()}

    def _forward(self, embryo) -> None:
        p = self.policy
        notes = self._notes
        check(self._cancel)
        kinds = [k for k in CORRUPT_KINDS if k in LOST_KINDS or p.exclude_outliers]
        corrupt = embryo.flags.any_of(kinds)
        if corrupt.any():
            SetExcluded(corrupt, True, reason="corrupt")._forward(embryo)
        repaired = excluded_cliff = left_for_review = 0
        hand = embryo.flags.mask("edited") & ~embryo.flags.mask("repaired")  # values set by hand
        for i, c in enumerate(embryo.detections.get("cliffs") or []):
            if c.get("status") != "pending":
                continue
            if hand[max(0, c["start"]):c["stop"]].any():
                left_for_review += 1  # the user changed values in it by hand: theirs to decide
                continue
            before = embryo.flags.mask("excluded").sum()
            AcceptDetection(i, repair=p.dip_repair)._forward(embryo)
            if embryo.detections["cliffs"][i].get("repair") == "interpolated":
                repaired += 1
            else:
                excluded_cliff += int(embryo.flags.mask("excluded").sum() - before)
        spikes_repaired = 0
        if p.repair_spikes:
            todo = embryo.flags.mask("spike") & ~embryo.flags.mask("excluded") & ~hand
            for start, stop in _runs(todo):
                try:
                    Interpolate(start, stop)._forward(embryo)
                    spikes_repaired += stop - start
                except ValueError:
                    SetExcluded((start, stop), True, reason="spike")._forward(embryo)
        frac = lost_fraction(embryo)
        unusable = frac > p.unusable_fraction
        det = copy.deepcopy(embryo.detections)
        det["autoclean"] = {"policy": p.to_dict(), "unusable": bool(unusable), "lost_fraction": round(frac, 4)}
        embryo.detections = det
        self.summary = {
            "name": embryo.name, "n_frames": embryo.n_frames,
            **{k: int(embryo.flags.mask(k).sum()) for k in CORRUPT_KINDS},
            "cliffs": len(embryo.detections.get("cliffs") or []),
            "cliffs_repaired": repaired, "cliff_frames_excluded": excluded_cliff,
            "cliffs_left_for_review": left_for_review,
            "spikes": int(embryo.flags.mask("spike").sum()), "spikes_repaired": spikes_repaired,
            "excluded": int(embryo.flags.mask("excluded").sum()),
            "repaired": int(embryo.flags.mask("repaired").sum()),
            "lost_fraction": round(frac, 4), "unusable": bool(unusable),
            "state": embryo.state(),
            "notes": notes,
        }


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of consecutive True values."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def lost_fraction(embryo) -> float:
    """Share of frames an export would lose (see ``Embryo.lost_fraction``)."""
    return embryo.lost_fraction()


def autoclean_edits(embryo, policy: AutocleanPolicy | None = None, progress=None, cancel=None,
                    detection=None) -> list[Edit]:
    """The edits an auto-clean pushes, in order: the detectors' (when they have not run at the
    current settings; ``detection`` = an already computed ``(edit, notes)``) and the policy's."""
    out: list[Edit] = []
    notes: list[str] = []
    if detection is None and needs_detection(embryo):
        detection = detection_edit(embryo, progress=progress, cancel=cancel)
    if detection is not None:
        edit, notes = detection
        out.append(edit)
    out.append(_Autoclean(policy or AutocleanPolicy(), progress, cancel, notes))
    return out


def autoclean_embryo(embryo, policy: AutocleanPolicy | None = None, progress=None, cancel=None) -> dict:
    """Detect if needed, then apply the policy: each its own undo step.  Returns the summary
    (``changed``: whether the policy changed anything)."""
    edits = autoclean_edits(embryo, policy, progress, cancel)
    before = embryo.history.position
    try:
        for e in edits:
            check(cancel)
            embryo.history.push(e)
    except BaseException:
        while embryo.history.position > before:  # cancelled inside an embryo: leave it as it was
            embryo.history.undo()
            del embryo.history.entries[embryo.history.position:]
        raise
    s = dict(edits[-1].summary)
    s["changed"] = not edits[-1].is_empty
    s["detected"] = len(edits) > 1
    return s


def autoclean_project(project, policy: AutocleanPolicy | None = None, progress=None, cancel=None,
                      embryos=None) -> list[dict]:
    """Auto-clean every embryo (or those named); returns one summary dict per embryo.

    Cancelling between embryos keeps what was done so far (each embryo is one undoable step);
    cancelling inside an embryo leaves that embryo as it was.
    """
    out = []
    todo = [e for e in project.embryos if embryos is None or e.name in embryos]
    for k, e in enumerate(todo):
        check(cancel)
        if progress is not None:
            progress({"stage": "autoclean", "done": k, "total": len(todo), "embryo": e.name})
        out.append(autoclean_embryo(e, policy, progress, cancel))
    if progress is not None:
        progress({"stage": "autoclean", "done": len(todo), "total": len(todo)})
    return out


def format_summary(summary: list[dict]) -> str:
    lines = []
    for s in summary:
        state = s["state"].upper() if s["unusable"] else s["state"]
        lines.append(
            f"  {s['name']}: {state}; {s['black']} black, {s['red_artifact']} red-artifact, {s['outlier']} outlier "
            f"frames; {s['cliffs']} cliffs ({s['cliffs_repaired']} repaired"
            + (f", {s['cliffs_left_for_review']} left for review" if s.get("cliffs_left_for_review") else "")
            + f"); {s['spikes_repaired']}/{s['spikes']} spike frames repaired; "
            f"{s['excluded']}/{s['n_frames']} "
            f"frames excluded" + ("" if s.get("changed", True) else " (no change)"))
        for note in s.get("notes", []):
            lines.append(f"    note: {note}")
    return "\n".join(lines) if lines else "  (no embryos)"
