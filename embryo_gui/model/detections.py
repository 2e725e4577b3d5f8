"""Typed records of what the detectors found and what was decided about it.

They are stored in the project file as the same JSON dicts as before (``embryo.detections``:
``{"cliffs": [...], "corrupt": {"settings": ..., "reasons": {"frame": "reason"}}, "cliff_settings":
..., "spikes": ..., "autoclean": {...}}``, docs/FORMAT.md); code reads and writes them through
these classes instead of adding ``status`` / ``repair`` keys to dicts by hand.

- :class:`CliffDetection`: one cliff ``[start, stop)`` of one curve, with the detector's measures,
  its review ``status`` (pending / accepted / rejected) and, once accepted, its ``repair``
  (interpolated / excluded).
- :class:`CorruptFrames`: the corrupt-frame detector's settings and one human reason per flagged frame.
- :class:`AutocleanRecord`: the policy the last auto-clean ran with and its verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import numpy as np

from ..policy import CLIFF_REPAIRS, CLIFF_STATUSES, UNUSABLE_FRACTION

_CLIFF_KEYS = ("start", "stop", "kind", "lineage", "score", "depth", "cells_lost", "expected", "partial",
               "status", "repair")


@dataclass(frozen=True)
class CliffDetection:
    start: int
    stop: int
    kind: str                      # "dip" (bounded drop) | "to_end" (drop lasting to the end)
    lineage: str = "population"    # the curve: "population" or a lineage letter
    score: float = 0.0
    depth: float = 0.0
    cells_lost: float = 0.0
    expected: float = 0.0
    partial: bool = False
    status: str = "pending"        # policy.CLIFF_STATUSES
    repair: Optional[str] = None   # policy.CLIFF_REPAIRS, set when accepted
    extra: dict = field(default_factory=dict, compare=False)   # keys this version does not know (kept)

    def __post_init__(self):
        if self.status not in CLIFF_STATUSES:
            raise ValueError(f"cliff status {self.status!r} is not one of {', '.join(CLIFF_STATUSES)}")
        if self.repair is not None and self.repair not in CLIFF_REPAIRS:
            raise ValueError(f"cliff repair {self.repair!r} is not one of {', '.join(CLIFF_REPAIRS)}")

    @property
    def key(self) -> tuple:
        """Identity across detector runs: the same range of the same curve."""
        return (self.start, self.stop, self.lineage)

    @property
    def n_frames(self) -> int:
        return self.stop - self.start

    @property
    def active(self) -> bool:
        """Counts as a cliff (its frames carry the ``cliff`` flag): anything but rejected."""
        return self.status != "rejected"

    def frames(self, n_frames: int) -> np.ndarray:
        return np.arange(max(0, self.start), min(n_frames, self.stop))

    def bounded(self, n_frames: int) -> bool:
        """A dip with a frame on each side (it can be interpolated)."""
        return self.kind == "dip" and self.start > 0 and self.stop < n_frames

    def accepted(self, repair: str) -> "CliffDetection":
        return dataclasses.replace(self, status="accepted", repair=repair)

    def rejected(self) -> "CliffDetection":
        return dataclasses.replace(self, status="rejected")

    def decided_like(self, previous: Optional["CliffDetection"]) -> "CliffDetection":
        """This new detection with the decision (status, repair) of an earlier one of the same key."""
        if previous is None:
            return self
        return dataclasses.replace(self, status=previous.status, repair=previous.repair)

    @property
    def span(self) -> str:
        """``population 10-24``: the curve and its frames (0-based, last frame included)."""
        return f"{self.lineage} {self.start}-{self.stop - 1}"

    def overlaps(self, other: "CliffDetection") -> bool:
        """Shares a frame of the same curve with ``other``."""
        return self.lineage == other.lineage and self.start < other.stop and other.start < self.stop

    def covers(self, other: "CliffDetection") -> bool:
        """Holds every frame of ``other`` on the same curve."""
        return self.lineage == other.lineage and self.start <= other.start and other.stop <= self.stop

    def noted(self, **extra) -> "CliffDetection":
        """A copy with ``extra`` keys added (kept in the project file, shown by views)."""
        return dataclasses.replace(self, extra={**self.extra, **extra})

    def to_dict(self) -> dict:
        d = {"start": int(self.start), "stop": int(self.stop), "kind": self.kind, "lineage": self.lineage,
             "score": float(self.score), "depth": float(self.depth), "cells_lost": float(self.cells_lost),
             "expected": float(self.expected), "partial": bool(self.partial), **self.extra,
             "status": self.status}
        if self.repair is not None:
            d["repair"] = self.repair
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CliffDetection":
        return cls(start=int(d["start"]), stop=int(d["stop"]), kind=str(d.get("kind", "dip")),
                   lineage=str(d.get("lineage", "population")), score=float(d.get("score", 0.0)),
                   depth=float(d.get("depth", 0.0)), cells_lost=float(d.get("cells_lost", 0.0)),
                   expected=float(d.get("expected", 0.0)), partial=bool(d.get("partial", False)),
                   status=str(d.get("status", "pending")), repair=d.get("repair"),
                   extra={k: v for k, v in d.items() if k not in _CLIFF_KEYS})

    @classmethod
    def from_detector(cls, cliff: Any) -> "CliffDetection":
        """From a :class:`embryo_gui.detect.cliffs.Cliff` (or its dict), pending."""
        return cls.from_dict(cliff if isinstance(cliff, dict) else cliff.to_dict())


def cliff_remarks(cliff: dict, kept_prefix: str = "kept, ") -> list[str]:
    """What detection runs said of a stored cliff record (its ``extra`` keys ``kept`` and
    ``overlaps``, see ``app.detecting.carry_decisions``), as phrases for views: ``kept, <why>``
    (``kept_prefix`` + the text) and ``overlaps <span>``."""
    out = []
    if cliff.get("kept"):
        out.append(f"{kept_prefix}{cliff['kept']}")
    if cliff.get("overlaps"):
        out.append(f"overlaps {cliff['overlaps']}")
    return out


def cliffs_of(detections: dict) -> list[CliffDetection]:
    """The cliff detections stored in an embryo's ``detections`` dict."""
    return [CliffDetection.from_dict(c) for c in (detections or {}).get("cliffs") or []]


def cliffs_to_json(cliffs: Iterable[CliffDetection]) -> list[dict]:
    return [c.to_dict() for c in cliffs]


def active_cliffs_mask(cliffs: Iterable["CliffDetection | dict"], n_frames: int) -> np.ndarray:
    """Frames inside any cliff detection that is not rejected."""
    m = np.zeros(n_frames, bool)
    for c in cliffs or []:
        c = c if isinstance(c, CliffDetection) else CliffDetection.from_dict(c)
        if c.active:
            m[max(0, c.start):min(n_frames, c.stop)] = True
    return m


@dataclass(frozen=True)
class CorruptFrames:
    """The corrupt-frame detector's settings and a short reason per flagged frame."""
    settings: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)   # {frame (int): reason}

    def reason(self, frame: int) -> str:
        return self.reasons.get(int(frame), "")

    def to_dict(self) -> dict:
        return {"settings": self.settings, "reasons": {str(i): r for i, r in sorted(self.reasons.items()) if r}}

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "CorruptFrames":
        d = d or {}
        return cls(settings=dict(d.get("settings") or {}),
                   reasons={int(k): str(v) for k, v in (d.get("reasons") or {}).items() if v})

    @classmethod
    def of(cls, detections: dict) -> "CorruptFrames":
        return cls.from_dict((detections or {}).get("corrupt"))


@dataclass(frozen=True)
class AutocleanRecord:
    """What the last auto-clean of an embryo decided."""
    policy: dict = field(default_factory=dict)
    unusable: bool = False
    lost_fraction: float = 0.0

    @property
    def unusable_fraction(self) -> float:
        return float(self.policy.get("unusable_fraction", UNUSABLE_FRACTION))

    def to_dict(self) -> dict:
        return {"policy": dict(self.policy), "unusable": bool(self.unusable),
                "lost_fraction": round(float(self.lost_fraction), 4)}

    @classmethod
    def of(cls, detections: dict) -> Optional["AutocleanRecord"]:
        d = (detections or {}).get("autoclean")
        if not d:
            return None
        return cls(policy=dict(d.get("policy") or {}), unusable=bool(d.get("unusable")),
                   lost_fraction=float(d.get("lost_fraction", 0.0)))
