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

Compute / apply (docs/ARCHITECTURE.md): :func:`compute_autoclean` runs the detectors (if needed)
and plans the policy on a snapshot of the embryo (off-thread, the project untouched) and returns an
:class:`AutocleanPlan`.  :func:`autoclean_apply` (caller's thread) returns the edits to push: the
detectors' ``SetFlags`` (if they ran) and the :class:`Autoclean` batch of the planned policy edits;
no detector runs inside ``Edit.apply``.  If the embryo changed while the detectors ran, the (cheap)
policy is planned again on its current state with the same detections.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from ..arrays import runs
from ..edits import AcceptDetection, Batch, Edit, Interpolate, SetExcluded, SetFlags
from ..errors import EmbryoError
from ..model.detections import AutocleanRecord
from ..policy import CORRUPT_KINDS, DIP_REPAIRS, LOST_KINDS, UNUSABLE_FRACTION
from ..progress import check
from .detecting import (DetectionResult, EmbryoInput, compute_detections, detection_apply, detection_edit,
                        needs_detection, redecide)
from .jobs import Job


@dataclass
class AutocleanPolicy:
    exclude_outliers: bool = True
    dip_repair: str = "interpolate"  # or "exclude"
    repair_spikes: bool = True
    unusable_fraction: float = UNUSABLE_FRACTION

    def __post_init__(self):
        if self.dip_repair not in DIP_REPAIRS:
            raise EmbryoError(f"dip_repair must be one of {', '.join(DIP_REPAIRS)}, got {self.dip_repair!r}")
        if not 0 <= float(self.unusable_fraction) <= 1:
            raise EmbryoError(f"unusable_fraction must be between 0 and 1, got {self.unusable_fraction}")

    def to_dict(self) -> dict:
        return asdict(self)


class Autoclean(Batch):
    """The planned auto-clean edits of one embryo as one history step (no detector runs in it)."""

    type = "autoclean"

    def __init__(self, edits, policy: AutocleanPolicy, summary: Optional[dict] = None, label: str = "auto-clean"):
        self.policy = policy
        self.summary: dict = dict(summary or {})
        super().__init__(edits, label)

    def params(self) -> dict:
        return {"policy": self.policy.to_dict(), **super().params()}


@dataclass
class AutocleanPlan:
    """What auto-clean will do to one embryo: ``detections`` (None when the detectors had already
    run at these settings), the policy's ``edits`` (applied in order as one step) and the
    ``summary`` of the embryo after them (see :func:`format_summary`)."""
    name: str
    edits: list
    summary: dict
    detections: Optional[DetectionResult]
    token: tuple = ()
    notes: list = field(default_factory=list)


def plan_policy(scratch, policy: AutocleanPolicy, notes=()) -> tuple[list[Edit], dict]:
    """Plan the policy on ``scratch`` (an ``Embryo.snapshot()`` holding the detections; it is
    changed); cheap (no detector runs).  Returns the edits and the summary."""
    p = policy
    steps: list[Edit] = []

    def do(edit: Edit) -> Edit:
        edit._forward(scratch)
        steps.append(edit)
        return edit

    kinds = [k for k in CORRUPT_KINDS if k in LOST_KINDS or p.exclude_outliers]
    corrupt = scratch.flags.any_of(kinds)
    if corrupt.any():
        do(SetExcluded(corrupt, True, reason="corrupt"))
    repaired = excluded_cliff = left_for_review = 0
    hand = scratch.hand_edited_mask()  # values set by hand
    for i, c in enumerate(scratch.cliffs):
        if c.status != "pending":
            continue
        if hand[max(0, c.start):c.stop].any():
            left_for_review += 1  # the user changed values in it by hand: theirs to decide
            continue
        before = scratch.flags.mask("excluded").sum()
        do(AcceptDetection(i, repair=p.dip_repair))
        if scratch.cliffs[i].repair == "interpolated":
            repaired += 1
        else:
            excluded_cliff += int(scratch.flags.mask("excluded").sum() - before)
    spikes_repaired = 0
    if p.repair_spikes:
        todo = scratch.flags.mask("spike") & ~scratch.flags.mask("excluded") & ~hand
        for start, stop in runs(todo):
            try:
                do(Interpolate(start, stop))
                spikes_repaired += stop - start
            except ValueError:
                do(SetExcluded((start, stop), True, reason="spike"))
    frac = scratch.lost_fraction()
    unusable = frac > p.unusable_fraction
    do(SetFlags(detections={"autoclean": AutocleanRecord(p.to_dict(), bool(unusable), frac).to_dict()},
                label="auto-clean verdict"))
    summary = {
        "name": scratch.name, "n_frames": scratch.n_frames,
        **{k: int(scratch.flags.mask(k).sum()) for k in CORRUPT_KINDS},
        "cliffs": len(scratch.cliffs),
        "cliffs_repaired": repaired, "cliff_frames_excluded": excluded_cliff,
        "cliffs_left_for_review": left_for_review,
        "spikes": int(scratch.flags.mask("spike").sum()), "spikes_repaired": spikes_repaired,
        "excluded": int(scratch.flags.mask("excluded").sum()),
        "repaired": int(scratch.flags.mask("repaired").sum()),
        "lost_fraction": round(frac, 4), "unusable": bool(unusable),
        "state": scratch.state(),
        "notes": list(notes),
    }
    return steps, summary


def _edits_on(embryo, policy: AutocleanPolicy, detection=None) -> list[Edit]:
    """[the detection edit, if given] + the policy planned on a snapshot of ``embryo`` after it."""
    out: list[Edit] = []
    notes: list[str] = []
    scratch = embryo.snapshot()
    if detection is not None:
        edit, notes = detection
        edit._forward(scratch)
        out.append(edit)
    steps, summary = plan_policy(scratch, policy, notes)
    out.append(Autoclean(steps, policy, summary))
    return out


def autoclean_edits(embryo, policy: AutocleanPolicy | None = None, progress=None, cancel=None,
                    detection=None) -> list[Edit]:
    """The edits an auto-clean pushes, in order: the detectors' (when they have not run at the
    current settings; ``detection`` = an already computed ``(edit, notes)``; else they run here)
    and the policy's :class:`Autoclean` batch (its ``summary`` says what it does)."""
    if detection is None and needs_detection(embryo):
        detection = detection_edit(embryo, progress=progress, cancel=cancel)
    return _edits_on(embryo, policy or AutocleanPolicy(), detection)


def compute_autoclean(scratch, policy: Optional[AutocleanPolicy] = None, progress=None,
                      cancel=None, token: tuple = ()) -> AutocleanPlan:
    """Detect (if needed) and plan on ``scratch`` (an ``Embryo.snapshot()``, changed): pure as far
    as the project goes.  ``token``: the live embryo's ``state_token()`` when the snapshot was taken."""
    policy = policy or AutocleanPolicy()
    detected = None
    if needs_detection(scratch):
        detected = compute_detections(EmbryoInput.of(scratch), progress=progress, cancel=cancel)
        detection_apply(detected, scratch)._forward(scratch)
    check(cancel)
    notes = [] if detected is None else list(detected.notes)
    steps, summary = plan_policy(scratch, policy, notes)
    return AutocleanPlan(scratch.name, steps, summary, detected, tuple(token), notes)


def autoclean_apply(embryo, plan: AutocleanPlan, policy: AutocleanPolicy) -> list[Edit]:
    """The edits to push for ``plan`` (the policy re-planned on the embryo's current state if it
    changed since the snapshot; the detectors are not run again)."""
    if plan.token and embryo.state_token() != plan.token:
        det = None
        if plan.detections is not None:
            d = redecide(plan.detections, embryo)
            det = (detection_apply(d, embryo), list(d.notes))
        return _edits_on(embryo, policy, det)
    out: list[Edit] = []
    if plan.detections is not None:
        out.append(detection_apply(plan.detections, embryo))
    out.append(Autoclean(plan.edits, policy, plan.summary))
    return out


def push_autoclean(embryo, edits: list[Edit], cancel=None) -> dict:
    """Push auto-clean's edits on ``embryo`` (caller's thread); returns the summary (``changed``:
    whether the policy changed anything, ``detected``: whether the detectors ran)."""
    before = embryo.history.position
    try:
        for e in edits:
            check(cancel)
            embryo.history.push(e)
    except BaseException:
        while embryo.history.position > before:  # cancelled inside an embryo: leave it as it was
            embryo.history.undo()
        embryo.history.drop_redo()
        raise
    s = dict(edits[-1].summary)
    s["changed"] = not edits[-1].is_empty
    s["detected"] = len(edits) > 1
    return s


def autoclean_embryo(embryo, policy: AutocleanPolicy | None = None, progress=None, cancel=None) -> dict:
    """Detect if needed, then apply the policy: each its own undo step (on this thread).  Returns
    the summary."""
    return push_autoclean(embryo, autoclean_edits(embryo, policy, progress, cancel), cancel)


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


def autoclean_job(project, policy: AutocleanPolicy | None = None, embryos=None) -> Job:
    """A job auto-cleaning every embryo (or those named).  compute: detectors (if needed) + plans
    on snapshots (off-thread); apply: "run detectors" (if they ran) and one ``Autoclean`` step per
    embryo.  Outcome: the summaries.
    Cancelled, it changes nothing."""
    policy = policy or AutocleanPolicy()
    scratch = [(e.snapshot(), e.state_token()) for e in project.embryos if embryos is None or e.name in embryos]

    def compute(progress, cancel) -> list[AutocleanPlan]:
        plans = []
        for k, (s, token) in enumerate(scratch):
            check(cancel)
            if progress is not None:
                progress({"stage": "autoclean", "done": k, "total": len(scratch), "embryo": s.name})
            plans.append(compute_autoclean(s, policy, progress, cancel, token))
        if progress is not None:
            progress({"stage": "autoclean", "done": len(scratch), "total": len(scratch)})
        return plans

    def apply(plans: list[AutocleanPlan]) -> list[dict]:
        out = []
        for plan in plans:
            e = project.embryo(plan.name)
            out.append(push_autoclean(e, autoclean_apply(e, plan, policy)))
        return out

    return Job("autoclean", compute, apply, label="auto-clean")


def lost_fraction(embryo) -> float:
    """Share of frames an export would lose (see ``Embryo.lost_fraction``)."""
    return embryo.lost_fraction()


def format_summary(summary: list[dict]) -> str:
    lines = []
    for s in summary:
        state = s["state"].upper() if s["unusable"] else s["state"]
        lines.append(
            f"  {s['name']}: {state}; {s['black']} black, {s['red_artifact']} red-artifact, {s['outlier']} outlier"
            + (f", {s['out_of_order']} out-of-order" if s.get("out_of_order") else "") + " "
            f"frames; {s['cliffs']} cliffs ({s['cliffs_repaired']} repaired"
            + (f", {s['cliffs_left_for_review']} left for review" if s.get("cliffs_left_for_review") else "")
            + f"); {s['spikes_repaired']}/{s['spikes']} spike frames repaired; "
            f"{s['excluded']}/{s['n_frames']} "
            f"frames excluded" + ("" if s.get("changed", True) else " (no change)"))
        for note in s.get("notes", []):
            lines.append(f"    note: {note}")
    return "\n".join(lines) if lines else "  (no embryos)"
