"""Detect workflow: run the detectors on an embryo, record their flags, scores and detections as one edit.

- compute: :func:`compute_detections` (pure, any thread): reads the frames and the original
  annotations of an :class:`EmbryoInput` snapshot, returns a :class:`DetectionResult`;
- apply: :func:`detection_apply` (caller's thread) turns it into the ``SetFlags`` edit to push;
- :func:`detect_job` wraps both for the Session; :func:`detect_embryo` / :func:`detection_edit`
  do it in one call (CLI-style, on the caller's thread).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..detect import CliffSettings, CorruptSettings, detect_cliffs
from ..detect._settings import resolve
from ..detect.corrupt import detect_corrupt_frames
from ..detect.spikes import SpikeSettings, detect_spikes
from ..edits import SetFlags
from ..edits.review_edits import REVIEW_KEY, rejected_mask
from ..lineages import LINEAGES
from ..model.detections import CliffDetection, CorruptFrames, active_cliffs_mask, cliffs_to_json
from ..policy import CORRUPT_KINDS
from ..progress import check
from .jobs import Job


#: bump when a detector changes what it finds at the same settings (forces detection on open)
DETECTORS_VERSION = 3   # 3: temporal maps and thumbnails by exact halvings (issue 14); 2: the blotch copy search matches the region with its surroundings (issue 11)
#: the label of the edit a detector run pushes (not an edit of the user's: app.alignment_report)
DETECT_LABEL = "run detectors"
#: ``extra["kept"]`` of an accepted cliff a later run did not find again (:func:`carry_decisions`)
KEPT_NOT_FOUND = "not found again by the detectors"
#: what the notes say of decided cliffs a run did not find again, and of hand-edited spike frames
NOT_FOUND_AGAIN = "not found again by this run"
HAND_EDITED_SPIKES = "edited by hand, not flagged as spikes again"
#: the phrases of the notes about the user's decisions and edits (shown even after a detection on open)
DECISION_PHRASES = ("while the detectors ran", NOT_FOUND_AGAIN, HAND_EDITED_SPIKES)


def decision_notes(notes) -> list[str]:
    """The notes of a detection run that are about the user's decisions and hand edits (kept,
    dropped, skipped): a face shows them even when it shows nothing else of the run."""
    return [m for m in notes or [] if any(p in m for p in DECISION_PHRASES)]


def detector_key(corrupt_settings=None, cliff_settings=None, spike_settings=None) -> str:
    """A short fingerprint of the detectors' settings (resolved) and :data:`DETECTORS_VERSION`;
    stored as ``detections["detected_with"]`` by :func:`detection_apply`."""
    d = {"v": DETECTORS_VERSION,
         "corrupt": resolve(CorruptSettings, corrupt_settings).to_dict(),
         "cliff": resolve(CliffSettings, cliff_settings).to_dict(),
         "spike": resolve(SpikeSettings, spike_settings).to_dict()}
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def needs_detection(embryo, corrupt_settings=None, cliff_settings=None, spike_settings=None) -> bool:
    """True unless the detectors already ran on ``embryo`` with these settings (the default ones
    when None): a project opened or imported runs them once, off the GUI thread."""
    return embryo.detections.get("detected_with") != detector_key(corrupt_settings, cliff_settings,
                                                                  spike_settings)


@dataclass(frozen=True)
class EmbryoInput:
    """What the detectors need of an embryo, taken on the caller's thread (copies: the compute
    never sees the live model)."""
    name: str
    n_frames: int
    frames: Any                    # the embryo's FrameReader (read-only frame file)
    original: np.ndarray           # (T, 8) float64 copy
    previous_cliffs: tuple = ()    # CliffDetection of the last run (their decisions are kept)
    token: tuple = ()              # Embryo.state_token() when taken
    review: dict = field(default_factory=dict)  # the per-frame decisions when taken (a copy)

    @classmethod
    def of(cls, embryo) -> "EmbryoInput":
        return cls(embryo.name, embryo.n_frames, embryo.frames, np.array(embryo.original),
                   tuple(embryo.cliffs), embryo.state_token(),
                   copy.deepcopy(embryo.detections.get(REVIEW_KEY) or {}))


@dataclass
class DetectionResult:
    """Flags, scores and detections of one embryo, as the detectors found them."""
    name: str
    masks: dict                    # kind -> bool (T,)
    scores: dict                   # name -> float32 (T,)
    cliffs: list                   # CliffDetection (decisions of matching earlier detections kept)
    corrupt: CorruptFrames
    cliff_settings: Optional[dict]
    spikes: dict                   # {"settings": ..., "by_column": ...}
    notes: list = field(default_factory=list)
    token: tuple = ()              # the embryo's state token when its snapshot was taken
    cliff_settings_used: Any = None
    spike_settings_used: Any = None
    detected_with: str = ""        # detector_key() of the settings used
    review_then: dict = field(default_factory=dict)   # decisions when the snapshot was taken
    curve_notes: list = field(default_factory=list)   # the notes of the curve part (redone with it)
    apply_notes: list = field(default_factory=list)   # the notes of detection_apply (redone with it)
    cliffs_then: tuple = ()        # (key, status) of the cliffs when the snapshot was taken

    def detections(self) -> dict:
        """The keys merged into ``embryo.detections``."""
        return {"corrupt": self.corrupt.to_dict(), "cliff_settings": self.cliff_settings,
                "cliffs": cliffs_to_json(self.cliffs), "spikes": self.spikes, "detected_with": self.detected_with}


def compute_detections(inp: EmbryoInput, corrupt_settings=None, cliff_settings=None, progress=None,
                       cancel=None, spike_settings=None) -> DetectionResult:
    """Detect corrupt frames (pixels), cliffs and spikes (isolated mislabels) in the original
    annotations of one embryo.  Pure: changes nothing.

    Cliffs keep the status (accepted / rejected) a matching earlier detection had, and a decided
    cliff this run does not find again is kept or dropped as :func:`carry_decisions` says, never
    silently: running the detectors again never undoes a decision.  Notes say e.g. that cliff
    detection was skipped, or which decided cliffs were not found again.
    """
    cliff_settings = resolve(CliffSettings, cliff_settings)
    spike_settings = resolve(SpikeSettings, spike_settings)
    notes: list[str] = []
    n = inp.n_frames
    check(cancel)

    def prog(info):
        if progress is not None:
            progress({**info, "embryo": inp.name})

    res = detect_corrupt_frames(inp.frames, n, corrupt_settings, progress=prog, cancel=cancel)
    check(cancel)
    masks = {k: np.asarray(res.verdicts[k], bool) for k in CORRUPT_KINDS}
    scores = {f"{k}_score": np.asarray(v, np.float32) for k, v in res.scores.items()}
    corrupt = CorruptFrames(settings=res.settings, reasons={i: r for i, r in enumerate(res.reasons) if r})

    result = DetectionResult(inp.name, masks, scores, [], corrupt, None, {}, notes, token=inp.token,
                             cliff_settings_used=cliff_settings, spike_settings_used=spike_settings,
                             detected_with=detector_key(corrupt_settings, cliff_settings, spike_settings),
                             review_then=inp.review,
                             cliffs_then=tuple((c.key, c.status) for c in inp.previous_cliffs))
    _detect_curves(result, inp.original, inp.previous_cliffs)
    return result


def carry_decisions(found, previous) -> tuple[list[CliffDetection], list[str]]:
    """The cliffs a run keeps: ``found`` (this run's detections, pending) with the decisions of
    ``previous`` (the embryo's cliffs before it), and one phrase per decided cliff this run did
    not find again with the same key (start, stop, lineage).  A decision is never lost silently:

    - an **accepted** cliff not found again is kept as it was (still active: its frames keep the
      ``cliff`` flag, its repair stays), marked ``extra["kept"]`` (:data:`KEPT_NOT_FOUND`).  A
      new pending cliff on the same curve that lies inside it is not added (the decision covers
      it); one that reaches past it is added pending, marked ``extra["overlaps"]`` (its frames
      outside the decided range were never decided);
    - a **rejected** cliff not found again goes (the detectors now agree: nothing to flag);
      a new cliff overlapping it is pending (the person rejected another range);
    - a pending cliff not found again simply goes (nothing was decided).
    """
    old = {c.key: c for c in previous}
    new = [c.decided_like(old.get(c.key)) for c in found]
    keys = {c.key for c in found}
    lost = [c for c in previous if c.status != "pending" and c.key not in keys]
    kept = [c.noted(kept=KEPT_NOT_FOUND) for c in lost if c.status == "accepted"]
    out, covered, overlapping = [], {}, {}
    for c in new:
        over = [k for k in kept if k.overlaps(c)] if c.status == "pending" else []
        cover = next((k for k in over if k.covers(c)), None)
        if cover is not None:
            covered.setdefault(cover.key, []).append(c)
            continue
        if over:
            c = c.noted(overlaps="decided cliff " + ", ".join(k.span for k in over))
            for k in over:
                overlapping.setdefault(k.key, []).append(c)
        out.append(c)
    phrases = []
    for c in lost:
        if c.status == "accepted":
            why = "accepted" + (f", {c.repair}" if c.repair else "")
            why += "".join(f"; covers the run's {x.span}" for x in covered.get(c.key, []))
            why += "".join(f"; the run's {x.span} reaches past it, pending" for x in overlapping.get(c.key, []))
            phrases.append(f"kept {c.span} ({why})")
        else:
            now = [x for x in out if x.overlaps(c) and x.status == "pending"]
            phrases.append(f"dropped {c.span} (rejected: no longer detected"
                           + "".join(f"; the run finds {x.span}, pending" for x in now) + ")")
    order = {name: k for k, name in enumerate(("population",) + LINEAGES)}
    cliffs = sorted(out + kept, key=lambda c: (c.start, order.get(c.lineage, 99)))
    return cliffs, phrases


def _detect_curves(result: DetectionResult, original: np.ndarray, previous_cliffs) -> None:
    """The annotation-curve part (cliffs, then spikes outside them): cheap, redone at apply time
    when the embryo's decisions changed while the pixels were being looked at."""
    n = len(original)
    result.notes = [m for m in result.notes if m not in result.curve_notes]
    result.curve_notes = []
    if not np.isfinite(original).any():
        result.curve_notes.append(f"{result.name}: no annotations; cliff detection skipped")
        found, result.cliff_settings = [], None
    else:
        found = [CliffDetection.from_detector(c) for c in detect_cliffs(original, result.cliff_settings_used)]
        result.cliff_settings = result.cliff_settings_used.to_dict()
    result.cliffs, phrases = carry_decisions(found, previous_cliffs)
    if phrases:
        k = len(phrases)
        result.curve_notes.append(f"{result.name}: {k} decided cliff{'s' if k != 1 else ''} "
                                  f"{'were' if k != 1 else 'was'} {NOT_FOUND_AGAIN}: " + "; ".join(phrases))
    result.notes += result.curve_notes
    result.masks["cliff"] = cmask = active_cliffs_mask(result.cliffs, n)
    smask, sscore, by_column = detect_spikes(original, result.spike_settings_used, skip=cmask)
    result.masks["spike"] = smask
    result.scores["spike_score"] = sscore
    result.spikes = {"settings": result.spike_settings_used.to_dict(), "by_column": by_column}


def redecide(result: DetectionResult, embryo) -> DetectionResult:
    """Take the embryo's current cliff decisions into ``result`` (cheap: the curve part is redone)."""
    _detect_curves(result, np.asarray(embryo.original), embryo.cliffs)
    result.token = embryo.state_token()
    return result


def decisions_since(result: DetectionResult, embryo) -> list[str]:
    """The review decisions made on ``embryo`` since ``result``'s snapshot was taken (per-frame
    ones and cliffs, made or undone), as short phrases: ``reject black on frame 5``,
    ``accept cliff population 10-24``, ``undo the decision on spike frame 3``."""
    out = []
    now = embryo.detections.get(REVIEW_KEY) or {}
    for kind in sorted(set(now) | set(result.review_then)):
        a, b = result.review_then.get(kind) or {}, now.get(kind) or {}
        for f in sorted(set(a) | set(b), key=int):
            if a.get(f) != b.get(f):
                name = kind.replace("_", " ")
                out.append(f"{'accept' if b[f] == 'accepted' else 'reject'} {name} on frame {f}" if f in b
                           else f"undo the decision on {name} frame {f}")
    then = dict(result.cliffs_then)
    for c in embryo.cliffs:
        if c.key in then and then[c.key] != c.status:
            verb = {"accepted": "accept", "rejected": "reject"}.get(c.status, "undo the decision on")
            out.append(f"{verb} cliff {c.span}")
    return out


def detection_apply(result: DetectionResult, embryo=None) -> SetFlags:
    """The edit that records a detection result (push it on the embryo's history).  With
    ``embryo``: if it changed since the snapshot (a cliff accepted meanwhile), the cheap curve
    part is redone against its current decisions first, and a frame a person cleared of a kind
    stays cleared (like a rejected cliff), and a frame whose value a person set by hand
    (:meth:`Embryo.hand_edited_mask`) is not flagged as a spike again (the spike detector reads the
    original annotation; the hand edit resolved it; the notes give the count).  The decisions made
    while the detectors ran are kept and reported in ``result.notes`` (never merged silently)."""
    masks = dict(result.masks)
    result.notes = [m for m in result.notes if m not in result.apply_notes]   # applied again: said once
    result.apply_notes = []
    if embryo is not None:
        if result.token and embryo.state_token() != result.token:
            made = decisions_since(result, embryo)
            redecide(result, embryo)
            masks = dict(result.masks)
            if made:
                shown = "; ".join(made[:6]) + (f"; and {len(made) - 6} more" if len(made) > 6 else "")
                result.apply_notes.append(f"{result.name}: {len(made)} decision{'s' if len(made) != 1 else ''} "
                                    f"made while the detectors ran {'were' if len(made) != 1 else 'was'} "
                                    f"kept ({shown})")
        for kind in list(masks):
            if kind != "cliff":
                masks[kind] = masks[kind] & ~rejected_mask(embryo, kind)
        if "spike" in masks:
            # spikes are found on the original annotation: a frame the user set by hand is resolved
            hand = embryo.hand_edited_mask()
            skipped = int((masks["spike"] & hand).sum())
            masks["spike"] = masks["spike"] & ~hand
            if skipped:
                result.apply_notes.append(f"{result.name}: {skipped} frame{'s' if skipped != 1 else ''} "
                                    f"{HAND_EDITED_SPIKES}")
    result.notes += result.apply_notes
    return SetFlags(masks, scores=result.scores, detections=result.detections(), label=DETECT_LABEL)


def detection_edit(embryo, corrupt_settings=None, cliff_settings=None, progress=None, cancel=None,
                   spike_settings=None):
    """Compute the detections of one embryo and return ``(SetFlags edit, notes)`` without applying it."""
    r = compute_detections(EmbryoInput.of(embryo), corrupt_settings, cliff_settings, progress, cancel,
                           spike_settings)
    return detection_apply(r, embryo), r.notes


def detect_embryo(embryo, corrupt_settings=None, cliff_settings=None, progress=None, cancel=None,
                  spike_settings=None) -> list[str]:
    """Run the detectors on one embryo and push their result as one edit; returns human notes."""
    edit, notes = detection_edit(embryo, corrupt_settings, cliff_settings, progress, cancel, spike_settings)
    embryo.history.push(edit)
    return notes


def detect_job(project, names=None, corrupt_settings=None, cliff_settings=None, spike_settings=None) -> Job:
    """A job detecting on the named embryos (all by default): one ``run detectors`` step each.
    Its outcome is the list of notes."""
    inputs = [EmbryoInput.of(e) for e in project.embryos if names is None or e.name in names]

    def compute(progress, cancel) -> list[DetectionResult]:
        out = []
        for k, inp in enumerate(inputs):
            check(cancel)
            out.append(compute_detections(inp, corrupt_settings, cliff_settings, progress, cancel, spike_settings))
        return out

    def apply(results: list[DetectionResult]) -> list[str]:
        notes = []
        for r in results:
            e = project.embryo(r.name)
            e.history.push(detection_apply(r, e))
            notes += r.notes
        return notes

    return Job("detect", compute, apply, label="detection")


def detection_summary(embryo) -> dict:
    """The per-embryo record of ``embryo-repair detect --json``."""
    return {
        "name": embryo.name,
        "n_frames": embryo.n_frames,
        "corrupt_frames": {k: np.flatnonzero(embryo.flags.mask(k)).tolist() for k in CORRUPT_KINDS},
        "cliffs": [{"start": c.start, "stop": c.stop, "kind": c.kind, "lineage": c.lineage,
                    "score": float(c.score), "status": c.status} for c in embryo.cliffs],
        "spikes": np.flatnonzero(embryo.flags.mask("spike")).tolist(),
        "reasons": {str(i): r for i, r in sorted(embryo.corrupt.reasons.items())},
    }
