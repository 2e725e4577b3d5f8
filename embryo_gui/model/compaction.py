"""History compaction: the history saved in a project file has a stated bound.

A save writes, per embryo, the last :data:`HISTORY_KEEP_STEPS` applied edits in full (each can be
undone and redone on its own), the redo tail after them, and *one* ``squashed`` step in front that
merges every older applied edit into a single delta (the rows, flag bits, scores, detections and
training records as they were before the oldest edit and as they are after the newest squashed one).
Undoing that step takes the embryo back to its state before all of those edits, in one step; its
size is bounded by the embryo's size (each row appears once), not by the number of edits.  So the
file stops growing with the number of saves: at most ``HISTORY_KEEP_STEPS + 1`` applied steps plus
the redo tail.  The history in memory is not changed (a session can undo everything it did); the
compaction shows after the project is reopened.  See docs/FORMAT.md.
"""

from __future__ import annotations

import numpy as np

from ..policy import HISTORY_KEEP_STEPS
from .edit import RecordedEdit

SQUASHED_TYPE = "squashed"


def compacted_history(history, keep: int | None = None) -> tuple[list, int]:
    """``(entries, position)`` to save for ``history``: unchanged when it has at most ``keep + 1``
    applied steps, else the older applied steps merged into one ``squashed`` step."""
    keep = HISTORY_KEEP_STEPS if keep is None else int(keep)
    entries, pos = list(history.entries), int(history.position)
    cut = pos - keep  # entries[:cut] are squashed
    if cut <= 1:
        return entries, pos
    return [squash(entries[:cut])] + entries[cut:], pos - cut + 1


def squash(edits: list):
    """One recorded edit whose delta goes from the state before ``edits[0]`` to the state after
    ``edits[-1]`` (applied in order)."""
    delta: dict = {}
    n = 0
    for e in edits:
        d = e.delta or {}
        n += int((e.params() or {}).get("steps", 1)) if e.type == SQUASHED_TYPE else 1
        delta = merge_deltas(delta, d)
    label = f"{n} older steps (squashed)"
    edit = RecordedEdit(SQUASHED_TYPE, label, {"steps": n}, delta, float(getattr(edits[-1], "time", 0.0)))
    edit._json = None
    return edit


def _merge_indexed(a: dict | None, b: dict | None) -> dict | None:
    """Merge two ``{"idx", "old", "new"}`` parts (a applied before b)."""
    if not a:
        return b
    if not b:
        return a
    ia, ib = np.asarray(a["idx"], np.int64), np.asarray(b["idx"], np.int64)
    idx = np.union1d(ia, ib)
    old_a, new_a = np.asarray(a["old"]), np.asarray(a["new"])
    old_b, new_b = np.asarray(b["old"]), np.asarray(b["new"])
    shape = (len(idx),) + old_a.shape[1:]
    old = np.empty(shape, old_a.dtype)
    new = np.empty(shape, new_b.dtype)
    pa, pb = np.searchsorted(idx, ia), np.searchsorted(idx, ib)
    # old: a's old where a touched the row (a came first), else b's old
    old[pb] = old_b
    old[pa] = old_a
    # new: b's new where b touched the row (b came last), else a's new
    new[pa] = new_a
    new[pb] = new_b
    return {"idx": idx, "old": old, "new": new}


def merge_deltas(a: dict, b: dict) -> dict:
    """The delta of applying ``a`` then ``b``."""
    out: dict = {}
    for key in ("rows", "bits"):
        m = _merge_indexed(a.get(key), b.get(key))
        if m:
            out[key] = m
    scores: dict = {}
    sa, sb = a.get("scores") or {}, b.get("scores") or {}
    for name in set(sa) | set(sb):
        old = sa[name]["old"] if name in sa else sb[name]["old"]
        new = sb[name]["new"] if name in sb else sa[name]["new"]
        scores[name] = {"old": old, "new": new}
    if scores:
        out["scores"] = scores
    for key in ("detections", "training"):
        pa, pb = a.get(key), b.get(key)
        if pa or pb:
            out[key] = {"old": (pa or pb)["old"], "new": (pb or pa)["new"]}
    return out
