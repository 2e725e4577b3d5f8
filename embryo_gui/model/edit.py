"""The Edit base class: every change to an embryo's annotations, flags, detections or training record.

The base class snapshots the state before the subclass's ``_forward`` runs and keeps the exact
difference (rows of ``current``, flag bits, score arrays, detections, training rounds), so that
``revert`` restores the previous state bit for bit and ``apply`` can redo it, whatever the subclass
did.  Recorded edits are saved in the project file with their deltas; a reloaded history can be
undone and redone without knowing the subclass.
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar

import numpy as np

from ..arrays import rows_differ as _rows_differ
from ..jsoncodec import dumps, loads

_EDIT_TYPES: dict[str, type["Edit"]] = {}


def frame_range(start: int, stop: int, n_frames: int) -> np.ndarray:
    """The frames ``start .. stop-1``; ValueError unless ``0 <= start < stop <= n_frames`` (never clamped)."""
    start, stop = int(start), int(stop)
    if stop <= start:
        raise ValueError(f"empty frame range {start}..{stop - 1}")
    if start < 0 or stop > n_frames:
        raise ValueError(f"frames {start}..{stop - 1} out of range 0..{n_frames - 1}")
    return np.arange(start, stop, dtype=np.int64)


def frames_array(frames, n_frames: int) -> np.ndarray:
    """Normalise a frame selection (ints, bool mask, ``(start, stop)`` tuple, slice) to sorted unique ints."""
    if isinstance(frames, slice):
        idx = np.arange(n_frames)[frames]
    elif isinstance(frames, tuple) and len(frames) == 2 and all(isinstance(x, (int, np.integer)) for x in frames):
        idx = frame_range(frames[0], frames[1], n_frames)
    else:
        arr = np.asarray(frames)
        if arr.dtype == bool:
            if arr.shape != (n_frames,):
                raise ValueError(f"frame mask has shape {arr.shape}, expected ({n_frames},)")
            idx = np.flatnonzero(arr)
        else:
            idx = np.unique(arr.astype(np.int64).ravel())
    if idx.size and (idx.min() < 0 or idx.max() >= n_frames):
        raise ValueError(f"frames out of range 0..{n_frames - 1}")
    return idx.astype(np.int64)


class Edit:
    """Base of all edits.  Subclasses implement ``_forward(embryo)`` and ``params()``."""

    type: ClassVar[str] = "edit"

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        _EDIT_TYPES[cls.type] = cls

    def __init__(self, label: str | None = None):
        self.label = label or self.default_label()
        self.time = time.time()
        self.delta: dict | None = None
        self._json: str | None = None

    # --- subclass interface -------------------------------------------------------------------
    def _forward(self, embryo) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> dict:
        return {}

    def default_label(self) -> str:
        return self.type.replace("_", " ")

    # --- apply / revert ----------------------------------------------------------------------
    def apply(self, embryo) -> None:
        if self.delta is None:
            before = _snapshot(embryo)
            try:
                self._forward(embryo)
                embryo._update_edited()
            except BaseException:
                _restore(embryo, before)
                raise
            self.delta = _diff(before, embryo)
        else:
            _write(embryo, self.delta, "new")

    def revert(self, embryo) -> None:
        if self.delta is None:
            raise RuntimeError("edit was never applied")
        _write(embryo, self.delta, "old")

    def changed_frames(self) -> np.ndarray:
        """Frames whose annotations or flag bits this edit changes (sorted int64; empty before apply)."""
        d = self.delta or {}
        parts = [np.asarray(d[k]["idx"], np.int64) for k in ("rows", "bits") if d.get(k)]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def changes(self) -> dict:
        """What the edit changes: ``frames`` (see :meth:`changed_frames`) and whether it changes
        ``scores``, ``detections``, ``training`` (which may concern every frame)."""
        d = self.delta or {}
        return {"frames": self.changed_frames(), "scores": bool(d.get("scores")),
                "detections": bool(d.get("detections")), "training": bool(d.get("training"))}

    @property
    def is_empty(self) -> bool:
        d = self.delta or {}
        return not any(d.get(k) for k in ("rows", "bits", "scores", "detections", "training"))

    # --- persistence ---------------------------------------------------------------------------
    def to_json(self) -> str:
        if self._json is None:
            self._json = dumps({"type": self.type, "label": self.label, "time": self.time,
                                "params": self.params(), "delta": self.delta})
        return self._json

    @staticmethod
    def from_json(text: str) -> "Edit":
        d = loads(text)
        e = RecordedEdit(d["type"], d["label"], d.get("params", {}), d["delta"], d.get("time", 0.0))
        e._json = text
        return e


class RecordedEdit(Edit):
    """An edit read back from a project file: replays its stored delta."""

    type = "recorded"

    def __init__(self, type_: str, label: str, params: dict, delta: dict, t: float):
        super().__init__(label)
        self.type = type_  # type: ignore[misc]
        self._params = params
        self.delta = delta
        self.time = t

    def params(self) -> dict:
        return self._params

    def _forward(self, embryo) -> None:
        raise RuntimeError("a recorded edit can only be replayed")


def check_delta(delta, n_frames: int, n_columns: int = 8) -> None:
    """Raise ValueError unless ``delta`` (read back from a file) can be replayed on an embryo of
    ``n_frames`` frames: indices in range, old/new arrays of matching shapes."""
    if not isinstance(delta, dict):
        raise ValueError("edit delta is not a dict")
    for key, width in (("rows", n_columns), ("bits", None)):
        part = delta.get(key)
        if not part:
            continue
        idx = np.asarray(part["idx"])
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or idx.max() >= n_frames)):
            raise ValueError(f"edit delta {key} indices outside 0..{n_frames - 1}")
        shape = (idx.size,) if width is None else (idx.size, width)
        for which in ("old", "new"):
            if np.shape(part[which]) != shape:
                raise ValueError(f"edit delta {key}/{which} has shape {np.shape(part[which])}, expected {shape}")
    for name, sc in (delta.get("scores") or {}).items():
        for which in ("old", "new"):
            if sc[which] is not None and np.shape(sc[which]) != (n_frames,):
                raise ValueError(f"edit delta score {name!r} has shape {np.shape(sc[which])}, expected ({n_frames},)")
    for key, typ in (("detections", dict), ("training", list)):
        part = delta.get(key)
        if part and not all(isinstance(part[w], typ) for w in ("old", "new")):
            raise ValueError(f"edit delta {key} is not a {typ.__name__}")


# --- snapshot / diff machinery -------------------------------------------------------------------

def _snapshot(embryo) -> dict:
    return {
        "current": embryo.current.copy(),
        "bits": embryo.flags.bits.copy(),
        "scores": {k: v.copy() for k, v in embryo.flags.scores.items()},
        "detections": copy.deepcopy(embryo.detections),
        "training": list(embryo.training),
    }


def _restore(embryo, snap: dict) -> None:
    embryo.current[...] = snap["current"]
    embryo.flags.bits = snap["bits"].copy()
    embryo.flags.scores = {k: v.copy() for k, v in snap["scores"].items()}
    embryo.detections = copy.deepcopy(snap["detections"])
    embryo.training = list(snap["training"])


def _diff(before: dict, embryo) -> dict:
    delta: dict[str, Any] = {}
    rows = np.flatnonzero(_rows_differ(before["current"], embryo.current))
    if rows.size:
        delta["rows"] = {"idx": rows, "old": before["current"][rows].copy(), "new": embryo.current[rows].copy()}
    b = np.flatnonzero(before["bits"] != embryo.flags.bits)
    if b.size:
        delta["bits"] = {"idx": b, "old": before["bits"][b].copy(), "new": embryo.flags.bits[b].copy()}
    scores = {}
    for name in set(before["scores"]) | set(embryo.flags.scores):
        old, new = before["scores"].get(name), embryo.flags.scores.get(name)
        if old is None or new is None or old.shape != new.shape or _rows_differ(
                old.astype(np.float64), new.astype(np.float64)).any():
            scores[name] = {"old": old, "new": None if new is None else new.copy()}
    if scores:
        delta["scores"] = scores
    if dumps(before["detections"]) != dumps(embryo.detections):
        delta["detections"] = {"old": before["detections"], "new": copy.deepcopy(embryo.detections)}
    if len(before["training"]) != len(embryo.training) or any(
            a is not b for a, b in zip(before["training"], embryo.training)):
        delta["training"] = {"old": before["training"], "new": list(embryo.training)}
    return delta


def _write(embryo, delta: dict, which: str) -> None:
    if delta.get("rows"):
        r = delta["rows"]
        embryo.current[np.asarray(r["idx"], np.int64)] = r[which]
    if delta.get("bits"):
        b = delta["bits"]
        bits = embryo.flags.bits.copy()
        bits[np.asarray(b["idx"], np.int64)] = b[which]
        embryo.flags.bits = bits
    for name, s in (delta.get("scores") or {}).items():
        v = s[which]
        if v is None:
            embryo.flags.scores.pop(name, None)
        else:
            embryo.flags.scores[name] = np.asarray(v, np.float32).copy()
    if delta.get("detections"):
        embryo.detections = copy.deepcopy(delta["detections"][which])
    if delta.get("training"):
        embryo.training = list(delta["training"][which])
