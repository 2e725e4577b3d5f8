"""Run the detectors on an embryo and record their flags, scores and detections as one edit."""

from __future__ import annotations

import numpy as np

import hashlib
import json

from ..detect import CliffSettings, CorruptSettings, detect_cliffs
from ..detect._settings import resolve
from ..detect.corrupt import detect_corrupt_frames
from ..detect.spikes import SpikeSettings, detect_spikes
from ..edits import SetFlags
from ..edits.flag_edits import active_cliffs_mask
from ..edits.review_edits import rejected_mask
from ..policy import CORRUPT_KINDS
from ..progress import check


def _key(c: dict) -> tuple:
    return (int(c["start"]), int(c["stop"]), c.get("lineage", "population"))


#: bump when a detector changes what it finds at the same settings (forces detection on open)
DETECTORS_VERSION = 1


def detector_key(corrupt_settings=None, cliff_settings=None, spike_settings=None) -> str:
    """A short fingerprint of the detectors' settings (resolved) and :data:`DETECTORS_VERSION`;
    stored as ``detections["detected_with"]`` by :func:`detection_edit`."""
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


def detect_embryo(embryo, corrupt_settings=None, cliff_settings=None, progress=None, cancel=None,
                  spike_settings=None) -> list[str]:
    """Run the detectors on one embryo and push their result as one edit; returns human notes."""
    edit, notes = detection_edit(embryo, corrupt_settings, cliff_settings, progress, cancel, spike_settings)
    embryo.history.push(edit)
    return notes


def detection_edit(embryo, corrupt_settings=None, cliff_settings=None, progress=None, cancel=None,
                   spike_settings=None):
    """Detect corrupt frames (pixels), cliffs and spikes (isolated mislabels) in the original
    annotations of one embryo; return ``(SetFlags edit, notes)`` without applying it.

    Cliffs keep the status (accepted / rejected) a matching earlier detection had, so running the
    detectors again never undoes a decision.  Notes say e.g. that cliff detection was skipped.
    """
    cliff_settings = resolve(CliffSettings, cliff_settings)
    spike_settings = resolve(SpikeSettings, spike_settings)

    notes: list[str] = []
    n = embryo.n_frames

    def prog(info):
        if progress is not None:
            progress({**info, "embryo": embryo.name})

    res = detect_corrupt_frames(embryo.frames, n, corrupt_settings, progress=prog, cancel=cancel)
    check(cancel)
    masks = {k: np.asarray(res.verdicts[k], bool) for k in CORRUPT_KINDS}
    scores = {f"{k}_score": np.asarray(v, np.float32) for k, v in res.scores.items()}
    detections: dict = {"corrupt": {"settings": res.settings,
                                    "reasons": {str(i): r for i, r in enumerate(res.reasons) if r}}}

    old = {_key(c): c for c in embryo.detections.get("cliffs") or []}
    if not np.isfinite(embryo.original).any():
        notes.append(f"{embryo.name}: no annotations; cliff detection skipped")
        cliffs: list[dict] = []
        detections["cliff_settings"] = None
    else:
        cliffs = []
        for c in detect_cliffs(embryo.original, cliff_settings):
            d = c.to_dict()
            prev = old.get(_key(d))
            d["status"] = prev.get("status", "pending") if prev else "pending"
            if prev and "repair" in prev:
                d["repair"] = prev["repair"]
            cliffs.append(d)
        detections["cliff_settings"] = cliff_settings.to_dict()
    detections["cliffs"] = cliffs
    masks["cliff"] = cmask = active_cliffs_mask(cliffs, n)
    smask, sscore, by_column = detect_spikes(embryo.original, spike_settings, skip=cmask)
    masks["spike"] = smask
    scores["spike_score"] = sscore
    detections["spikes"] = {"settings": spike_settings.to_dict(), "by_column": by_column}
    # a frame a person cleared of a kind stays cleared (like a rejected cliff)
    for kind in list(masks):
        if kind != "cliff":
            masks[kind] = masks[kind] & ~rejected_mask(embryo, kind)
    detections["detected_with"] = detector_key(corrupt_settings, cliff_settings, spike_settings)
    return SetFlags(masks, scores=scores, detections=detections, label="run detectors"), notes


def detection_summary(embryo) -> dict:
    """The per-embryo record of ``embryo-repair detect --json``."""
    return {
        "name": embryo.name,
        "n_frames": embryo.n_frames,
        "corrupt_frames": {k: np.flatnonzero(embryo.flags.mask(k)).tolist()
                           for k in CORRUPT_KINDS},
        "cliffs": [{"start": int(c["start"]), "stop": int(c["stop"]), "kind": c["kind"],
                    "lineage": c.get("lineage", "population"), "score": float(c.get("score", 0.0)),
                    "status": c.get("status", "pending")}
                   for c in embryo.detections.get("cliffs") or []],
        "spikes": np.flatnonzero(embryo.flags.mask("spike")).tolist(),
        "reasons": dict((embryo.detections.get("corrupt") or {}).get("reasons") or {}),
    }
