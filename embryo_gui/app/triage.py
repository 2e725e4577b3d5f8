"""The triage queue (Qt-free): every detection of an embryo that a person has not decided yet --
cliffs, corrupt frames (black, red artifact, outlier), spikes, lossy frames and any other problem
kind of :data:`~embryo_gui.model.flags.PROBLEM_KINDS` -- ranked by score, filterable by kind, walked
with next / previous, decided with one undoable edit each.

Ranking: each item's detector score is divided by the largest score of its kind on the embryo
(``rank`` in 0..1; a kind without scores ranks 1), so the strongest detection of every kind comes
first and kinds with different score scales interleave; ties go by frame.  Cliff scores are the
cliff detector's, corrupt kinds use ``<kind>_score``, spikes ``spike_score``, lossy frames the
trainer's ``loss``.

Decisions: a cliff goes through ``AcceptDetection`` / ``RejectDetection`` (its ``status``); a
per-frame item through :class:`~embryo_gui.edits.review_edits.ReviewFrames` (saved in
``detections["review"]``).  The queue never changes the embryo itself: :meth:`TriageQueue.decide`
returns the edit for the caller (the Session, the CLI, a test) to push, then :meth:`refresh`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import numpy as np

from ..edits import AcceptDetection, Batch, RejectDetection, ReviewFrames
from ..edits.review_edits import review_of, reviewed_count
from ..model.detections import cliff_remarks
from ..policy import PROBLEM_KINDS

#: per-frame score array of each kind (default ``<kind>_score``)
SCORE_NAMES = {"lossy": "loss"}
#: every kind the queue can list, in display order
TRIAGE_KINDS: tuple[str, ...] = tuple(PROBLEM_KINDS)


def score_name(kind: str) -> str:
    return SCORE_NAMES.get(kind, f"{kind}_score")


@dataclass(frozen=True)
class TriageItem:
    """One detection: frames ``start .. stop-1`` (0-based) of ``kind``."""

    kind: str
    start: int
    stop: int
    score: float
    rank: float
    status: str = "pending"
    cliff: Optional[int] = None      # index into ``detections["cliffs"]`` for a cliff (the first)
    lineage: str = "population"
    #: every cliff detection of the same drop (population and lineages share a span): decided together
    cliffs: tuple = ()
    #: what a detection run said of the cliff (``kept, not found again by the detectors``;
    #: ``overlaps decided cliff population 10-24``: app.detecting.carry_decisions)
    note: str = ""

    @property
    def frame(self) -> int:
        """The frame to show for the item (its first)."""
        return self.start

    @property
    def key(self) -> tuple:
        return (self.kind, self.start, self.cliff)

    def describe(self) -> str:
        kind = self.kind.replace("_", " ")
        where = f"frame {self.start}" if self.stop - self.start <= 1 else f"frames {self.start}-{self.stop - 1}"
        extra = f" ({self.lineage})" if self.kind == "cliff" and self.lineage != "population" else ""
        if self.kind == "cliff" and len(self.cliffs) > 1:
            extra = f" ({self.lineage} and {len(self.cliffs) - 1} lineage{'s' if len(self.cliffs) > 2 else ''})"
        return f"{kind}{extra}: {where}, score {self.score:.3g}" + (f"; {self.note}" if self.note else "")


def _finite(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return np.where(np.isfinite(v), v, 0.0)


def collect(embryo, include_reviewed: bool = False, kinds: Optional[Iterable[str]] = None) -> list[TriageItem]:
    """The embryo's detections as ranked items (pending ones only unless ``include_reviewed``)."""
    want = set(TRIAGE_KINDS if kinds is None else kinds)
    items: list[TriageItem] = []
    n = embryo.n_frames
    for kind in TRIAGE_KINDS:
        if kind == "cliff" or kind not in want:
            continue
        mask = embryo.flags.mask(kind)
        review = review_of(embryo, kind)
        # accepted frames keep their flag; rejected ones lost it but are listed when asked for
        frames = set(np.flatnonzero(mask).tolist())
        if kind == "spike":
            # a spike whose value a person has set by hand since is fixed: not asked about again
            # (the next detection run does not flag it either: app.detecting.HAND_EDITED_SPIKES)
            frames -= set(np.flatnonzero(embryo.hand_edited_mask()).tolist())
        if include_reviewed:
            frames |= {int(k) for k, v in review.items() if v == "rejected" and 0 <= int(k) < n}
        if not frames:
            continue
        sc = embryo.flags.scores.get(score_name(kind))
        sc = _finite(sc) if sc is not None and len(sc) == n else np.ones(n)
        top = float(sc[np.flatnonzero(mask)].max()) if mask.any() else 0.0
        for f in sorted(frames):
            status = review.get(str(f), "pending")
            if status != "pending" and not include_reviewed:
                continue
            s = float(sc[f])
            items.append(TriageItem(kind, f, f + 1, s, s / top if top > 0 else 1.0, status))
    if "cliff" in want:
        cliffs = embryo.detections.get("cliffs") or []
        top = max([float(c.get("score", 0.0)) for c in cliffs] + [0.0])
        groups: dict[tuple, list[int]] = {}  # the same drop in the population and its lineages
        for k, c in enumerate(cliffs):
            status = c.get("status", "pending")
            if status != "pending" and not include_reviewed:
                continue
            start, stop = max(0, int(c["start"])), min(n, int(c["stop"]))
            groups.setdefault((start, max(stop, start + 1), status), []).append(k)
        for (start, stop, status), ks in groups.items():
            ks.sort(key=lambda k: (cliffs[k].get("lineage", "population") != "population", k))
            s = max(float(cliffs[k].get("score", 0.0)) for k in ks)
            items.append(TriageItem("cliff", start, stop, s, s / top if top > 0 else 1.0, status, ks[0],
                                    str(cliffs[ks[0]].get("lineage", "population")), tuple(ks),
                                    _cliff_note(cliffs[k] for k in ks)))
    order = {k: i for i, k in enumerate(TRIAGE_KINDS)}
    items.sort(key=lambda it: (-it.rank, it.start, order.get(it.kind, 99), it.cliff or 0))
    return items


def _cliff_note(cliffs) -> str:
    """What the detection runs said of a group of cliff detections (``extra`` keys ``kept`` and
    ``overlaps``, see :func:`embryo_gui.app.detecting.carry_decisions`), once each."""
    out: list[str] = []
    for c in cliffs:
        out += [phrase for phrase in cliff_remarks(c) if phrase not in out]
    return "; ".join(out)


def pending_counts(embryo) -> dict[str, int]:
    """Pending detections per kind (kinds with none left out)."""
    out: dict[str, int] = {}
    for it in collect(embryo):
        out[it.kind] = out.get(it.kind, 0) + 1
    return out


def detections_run(embryo) -> bool:
    """Whether the detectors have run on this embryo."""
    return "corrupt" in embryo.detections or "cliffs" in embryo.detections


def review_state(embryo, pending: Optional[dict] = None) -> str:
    """One phrase for the embryo list: ``not yet detected``, ``nothing found``, ``not yet reviewed``
    (detections pending and no decision made), ``N to review`` or ``reviewed``."""
    if not detections_run(embryo) and not embryo.flags.mask("lossy").any():
        return "not yet detected"
    pending = sum((pending_counts(embryo) if pending is None else pending).values())
    decided = reviewed_count(embryo)
    if pending == 0:
        return "reviewed" if decided else "nothing found"
    return "not yet reviewed" if decided == 0 else f"{pending} to review"


def decision_edit(item: TriageItem, accept: bool):
    """The edit that records a person's decision on ``item`` (accept = the detector is right)."""
    if item.kind == "cliff":
        make = AcceptDetection if accept else RejectDetection
        ks = item.cliffs or (item.cliff,)
        if len(ks) == 1:
            return make(ks[0])
        verb = "accept" if accept else "reject"
        return Batch([make(k) for k in ks], label=f"{verb} cliff at frames {item.start}-{item.stop - 1} "
                                                  f"({len(ks)} detections)")
    return ReviewFrames(item.kind, [item.start], "accepted" if accept else "rejected")


class TriageQueue:
    """A walkable, filterable view of :func:`collect` for one embryo.

    ``position`` is the index of the current item in :attr:`items` (-1 when none).  After an edit,
    call :meth:`refresh`: the decided item leaves the list and the position stays where it was, so
    the next item becomes current.  Listeners (``add_listener``) are called with no argument after
    every change of the list or of the position.
    """

    def __init__(self, embryo=None, kinds: Optional[Iterable[str]] = None) -> None:
        self.embryo = None
        self.kinds: set[str] = set(TRIAGE_KINDS if kinds is None else kinds)
        self.all_items: list[TriageItem] = []
        self.items: list[TriageItem] = []
        self.position = -1
        self._listeners: list[Callable[[], None]] = []
        if embryo is not None:
            self.set_embryo(embryo)

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[], None]) -> None:
        self._listeners.append(fn)

    def _notify(self) -> None:
        for fn in list(self._listeners):
            fn()

    # -- content -----------------------------------------------------------------------------------
    def set_embryo(self, embryo) -> None:
        self.embryo = embryo
        self.position = -1
        self._rebuild(None)

    def set_kinds(self, kinds: Iterable[str]) -> None:
        self.kinds = set(kinds)
        cur = self.current
        self._rebuild(cur.key if cur is not None else None, filter_only=True)

    def refresh(self) -> None:
        """Re-read the embryo (after an edit, undo or redo)."""
        cur = self.current
        self._rebuild(cur.key if cur is not None else None)

    def _rebuild(self, keep_key, filter_only: bool = False) -> None:
        old_pos = self.position
        if not filter_only:
            self.all_items = collect(self.embryo) if self.embryo is not None else []
        self.items = [it for it in self.all_items if it.kind in self.kinds]
        if not self.items:
            self.position = -1
        elif keep_key is not None and any(it.key == keep_key for it in self.items):
            self.position = next(i for i, it in enumerate(self.items) if it.key == keep_key)
        elif old_pos >= 0:
            self.position = min(old_pos, len(self.items) - 1)  # the decided item's successor
        else:
            self.position = -1 if keep_key is None and old_pos < 0 else 0
        self._notify()

    def counts(self) -> dict[str, int]:
        """Pending items per kind (before the kind filter)."""
        out: dict[str, int] = {}
        for it in self.all_items:
            out[it.kind] = out.get(it.kind, 0) + 1
        return out

    def __len__(self) -> int:
        return len(self.items)

    # -- walking -----------------------------------------------------------------------------------
    @property
    def current(self) -> Optional[TriageItem]:
        return self.items[self.position] if 0 <= self.position < len(self.items) else None

    def select(self, position: int) -> Optional[TriageItem]:
        if self.items:
            self.position = int(min(max(position, 0), len(self.items) - 1))
            self._notify()
        return self.current

    def next(self) -> Optional[TriageItem]:
        """The next item in rank order (the first when none is current); wraps around."""
        if not self.items:
            return None
        return self.select(0 if self.position < 0 else (self.position + 1) % len(self.items))

    def previous(self) -> Optional[TriageItem]:
        if not self.items:
            return None
        return self.select(len(self.items) - 1 if self.position < 0 else (self.position - 1) % len(self.items))

    def decide(self, accept: bool, item: Optional[TriageItem] = None):
        """The edit deciding ``item`` (default: the current one); None when there is none."""
        item = item if item is not None else self.current
        return None if item is None else decision_edit(item, accept)


__all__ = ["TriageItem", "TriageQueue", "collect", "pending_counts", "review_state", "decision_edit",
           "detections_run", "TRIAGE_KINDS"]
