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
from ..model.detections import CliffDetection, CorruptFrames, active_cliffs_mask, cliffs_to_json
from ..policy import CORRUPT_KINDS
from ..progress import check
from .jobs import Job


#: bump when a detector changes what it finds at the same settings (forces detection on open)
DETECTORS_VERSION = 3   # 3: temporal maps and thumbnails by exact halvings (issue 14); 2: the blotch copy search matches the region with its surroundings (issue 11)
#: the label of the edit a detector run pushes (not an edit of the user's: app.alignment_report)
DETECT_LABEL = "run detectors"


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
    cliffs_then: tuple = ()        # (key, status) of the cliffs when the snapshot was taken

    def detections(self) -> dict:
        """The keys merged into ``embryo.detections``."""
        return {"corrupt": self.corrupt.to_dict(), "cliff_settings": self.cliff_settings,
                "cliffs": cliffs_to_json(self.cliffs), "spikes": self.spikes, "detected_with": self.detected_with}


def compute_detections(inp: EmbryoInput, corrupt_settings=None, cliff_settings=None, progress=None,
                       cancel=None, spike_settings=None) -> DetectionResult:
    """Detect corrupt frames (pixels), cliffs and spikes (isolated mislabels) in the original
    annotations of one embryo.  Pure: changes nothing.

    Cliffs keep the status (accepted / rejected) a matching earlier detection had, so running the
    detectors again never undoes a decision.  Notes say e.g. that cliff detection was skipped.
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


def _detect_curves(result: DetectionResult, original: np.ndarray, previous_cliffs) -> None:
    """The annotation-curve part (cliffs, then spikes outside them): cheap, redone at apply time
    when the embryo's decisions changed while the pixels were being looked at."""
    n = len(original)
    old = {c.key: c for c in previous_cliffs}
    result.notes = [m for m in result.notes if not m.endswith("cliff detection skipped")]
    if not np.isfinite(original).any():
        result.notes.append(f"{result.name}: no annotations; cliff detection skipped")
        result.cliffs, result.cliff_settings = [], None
    else:
        found = [CliffDetection.from_detector(c) for c in detect_cliffs(original, result.cliff_settings_used)]
        result.cliffs = [c.decided_like(old.get(c.key)) for c in found]
        result.cliff_settings = result.cliff_settings_used.to_dict()
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
            out.append(f"{verb} cliff {c.lineage} {c.start}-{c.stop - 1}")
    return out


def detection_apply(result: DetectionResult, embryo=None) -> SetFlags:
    """The edit that records a detection result (push it on the embryo's history).  With
    ``embryo``: if it changed since the snapshot (a cliff accepted meanwhile), the cheap curve
    part is redone against its current decisions first, and a frame a person cleared of a kind
    stays cleared (like a rejected cliff).  The decisions made while the detectors ran are kept
    and reported in ``result.notes`` (never merged silently)."""
    masks = dict(result.masks)
    if embryo is not None:
        if result.token and embryo.state_token() != result.token:
            made = decisions_since(result, embryo)
            redecide(result, embryo)
            masks = dict(result.masks)
            if made:
                shown = "; ".join(made[:6]) + (f"; and {len(made) - 6} more" if len(made) > 6 else "")
                result.notes.append(f"{result.name}: {len(made)} decision{'s' if len(made) != 1 else ''} "
                                    f"made while the detectors ran {'were' if len(made) != 1 else 'was'} "
                                    f"kept ({shown})")
        for kind in list(masks):
            if kind != "cliff":
                masks[kind] = masks[kind] & ~rejected_mask(embryo, kind)
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
