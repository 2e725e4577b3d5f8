"""Review state, the triage queue, detection on open and the auto-clean draft, without Qt."""

import numpy as np
import pytest

from embryo_gui import edits
from embryo_gui.app.autoclean import autoclean_project
from embryo_gui.app.detecting import detect_embryo, needs_detection
from embryo_gui.app.draft import compute_draft
from embryo_gui.app.triage import TriageQueue, collect, pending_counts, review_state
from embryo_gui.model import Project


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    from gui_helpers import write_demo_dir
    return write_demo_dir(tmp_path_factory, 2, 60, 0, (64, 96, 3))


@pytest.fixture
def project(demo_dir, tmp_path):
    from gui_helpers import copy_project
    return Project.open(copy_project(demo_dir, tmp_path))


def _flag(e, kind, frames, score=None):
    m = np.zeros(e.n_frames, bool)
    m[list(frames)] = True
    scores = {} if score is None else {f"{kind}_score" if kind != "lossy" else "loss": np.asarray(score, np.float32)}
    e.history.push(edits.SetFlags({kind: m}, scores=scores))


def test_review_decisions_are_undoable_edits_saved_in_the_project(project):
    e = project.embryos[0]
    _flag(e, "black", [3, 4])
    e.history.push(edits.ReviewFrames("black", [3], "accepted"))
    assert e.flags.mask("excluded")[3] and e.flags.mask("black")[3]
    e.history.push(edits.ReviewFrames("black", [4], "rejected"))
    assert not e.flags.mask("black")[4] and not e.flags.mask("excluded")[4]
    # rejecting an accepted frame includes it again
    e.history.push(edits.ReviewFrames("black", [3], "rejected"))
    assert not e.flags.mask("excluded")[3] and not e.flags.mask("black")[3]
    project.save()
    q = Project.open(project.path).embryos[0]
    assert q.detections["review"]["black"] == {"3": "rejected", "4": "rejected"}
    q.history.undo()
    assert q.detections["review"]["black"]["3"] == "accepted" and q.flags.mask("excluded")[3]


def test_accepting_a_spike_repairs_it_and_rejecting_restores_it(project):
    e = project.embryos[0]
    orig = e.current[10].copy()
    e.history.push(edits.SetValues([10], 999.0, columns=["population"]))  # make a spike by hand
    e.history.push(edits.SetFlags({"spike": np.eye(1, e.n_frames, 10, dtype=bool)[0]}))
    e.history.push(edits.ReviewFrames("spike", [10], "accepted"))
    assert e.current[10, 7] != 999.0 and e.flags.mask("repaired")[10]
    e.history.push(edits.ReviewFrames("spike", [10], "rejected"))
    assert np.array_equal(e.current[10], e.original[10], equal_nan=True)
    assert np.array_equal(e.original[10], orig, equal_nan=True)


def test_queue_ranks_filters_walks_and_decides(project):
    e = project.embryos[0]
    _flag(e, "lossy", [5, 6, 7], score=np.where(np.arange(e.n_frames) == 6, 9.0, 1.0))
    _flag(e, "black", [20], score=np.full(e.n_frames, 0.5))
    q = TriageQueue(e)
    assert [(it.kind, it.frame) for it in q.items[:2]] in ([("lossy", 6), ("black", 20)],
                                                            [("black", 20), ("lossy", 6)])
    assert q.counts() == {"lossy": 3, "black": 1}
    q.set_kinds({"lossy"})
    assert [it.frame for it in q.items] == [6, 5, 7]  # by score, then frame
    assert q.next().frame == 6 and q.next().frame == 5 and q.previous().frame == 6
    e.history.push(q.decide(False))  # reject lossy on frame 6: the label is fine
    q.refresh()
    assert [it.frame for it in q.items] == [5, 7] and q.current.frame == 5  # moved on to the next
    assert review_state(e) == "3 to review"
    e.history.undo()
    q.refresh()
    assert [it.frame for it in q.items] == [6, 5, 7]
    assert collect(e, include_reviewed=True)[0].status == "pending"


def test_queue_lists_each_drop_once_and_decides_all_its_cliffs(project):
    for e in project.embryos:
        detect_embryo(e)
    e = next(x for x in project.embryos if x.detections["cliffs"])
    items = [it for it in collect(e) if it.kind == "cliff"]
    spans = {(max(0, int(c["start"])), int(c["stop"])) for c in e.detections["cliffs"]}
    assert len(items) == len(spans)  # the population and its lineages' cliffs at one drop: one item
    assert sum(len(it.cliffs) for it in items) == len(e.detections["cliffs"])
    q = TriageQueue(e, kinds={"cliff"})
    item = q.next()
    edit = q.decide(True)
    assert isinstance(edit, (edits.AcceptDetection, edits.Batch))
    e.history.push(edit)
    assert all(e.detections["cliffs"][k]["status"] == "accepted" for k in item.cliffs)
    q.refresh()
    assert len(q) == len(items) - 1
    e.history.undo()
    q.refresh()
    assert len(q) == len(items)


def test_detection_needed_once_and_keeps_what_a_person_cleared(project):
    e = project.embryos[0]
    assert needs_detection(e) and review_state(e) == "not yet detected"
    detect_embryo(e)
    assert not needs_detection(e)
    assert review_state(e) == "not yet reviewed" and sum(pending_counts(e).values()) > 0
    kind, frame = next((it.kind, it.frame) for it in collect(e) if it.kind != "cliff")
    e.history.push(edits.ReviewFrames(kind, [frame], "rejected"))
    detect_embryo(e)  # running the detectors again does not bring the cleared flag back
    assert not e.flags.mask(kind)[frame]


def test_autoclean_draft_changes_nothing_until_applied_and_undo_keeps_detections(project):
    e = project.embryos[0]
    before = (e.current.copy(), e.flags.bits.copy(), e.history.position)
    draft = compute_draft(e)
    assert np.array_equal(e.current, before[0], equal_nan=True) and np.array_equal(e.flags.bits, before[1])
    assert e.history.position == before[2] and draft.n_changes > 0
    for x in draft.edits(e):
        e.history.push(x)
    assert np.array_equal(e.current, draft.current, equal_nan=True)
    assert np.array_equal(e.flags.mask("excluded"), draft.excluded)
    detected = e.flags.any_of(["black", "red_artifact", "outlier", "spike", "cliff"]).copy()
    assert detected.any()
    e.history.undo()  # undo the auto-clean: the detections stay
    assert np.array_equal(e.flags.any_of(["black", "red_artifact", "outlier", "spike", "cliff"]), detected)
    assert not e.flags.mask("excluded").any()


def test_autoclean_project_detects_as_its_own_step(project):
    summary = autoclean_project(project)
    for e, s in zip(project.embryos, summary):
        assert [x.label for x in e.history.entries] == ["run detectors", "auto-clean"]
        assert s["detected"]
    again = autoclean_project(project)
    assert not any(s["changed"] or s["detected"] for s in again)


def test_a_spike_set_by_hand_leaves_the_queue_and_undo_brings_it_back(project):
    e = project.embryos[0]
    _flag(e, "spike", [12, 30], score=np.linspace(0, 1, e.n_frames))
    q = TriageQueue(e, kinds=["spike"])
    assert [it.frame for it in q.items] == [30, 12]
    e.history.push(edits.SetValues([30], 17.0, columns=["population"]))   # fixed by hand (a drag, Set value)
    q.refresh()
    assert [it.frame for it in q.items] == [12] and pending_counts(e).get("spike") == 1
    e.history.undo()
    q.refresh()
    assert [it.frame for it in q.items] == [30, 12]
    # an accepted spike (repaired, not set by hand) is decided, not hidden as hand-edited
    e.history.push(edits.ReviewFrames("spike", [12], "accepted"))
    assert [it.frame for it in collect(e, kinds=["spike"])] == [30]
    assert [(it.frame, it.status) for it in collect(e, include_reviewed=True, kinds=["spike"])] == \
        [(30, "pending"), (12, "accepted")]
