"""Running the detectors again on an embryo already reviewed (issue 16): a decided cliff the new run
does not find again is never lost silently, and a spike the user fixed by hand is not flagged again.
Driven through the real app layer (detect_embryo / the Session's detect job / the CLI / the window)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from embryo_gui import edits  # noqa: E402
from embryo_gui.app.detecting import detect_embryo  # noqa: E402
from embryo_gui.app.session import Session  # noqa: E402
from embryo_gui.edits.review_edits import review_of  # noqa: E402
from embryo_gui.model import Project  # noqa: E402
from embryo_gui.model.detections import CliffDetection  # noqa: E402

from conftest import make_frames  # noqa: E402

N = 80
DIP = (44, 50)         # the detectors find population 44-49 and A 44-49 (a dip to 0 of A)
SPIKE, SPIKE2 = 15, 25
KEPT_NOT_FOUND = "not found again by the detectors"   # extra["kept"] of a kept accepted cliff


def span(c) -> str:
    return f"{c.lineage} {c.start}-{c.stop - 1}"


def counts() -> np.ndarray:
    c = np.full((N, 8), np.nan)
    c[:, 0] = np.repeat([4, 8, 16, 24, 32, 48, 64, 80], 10)
    c[:, 1] = 4.0
    c[DIP[0]:DIP[1], 0] = 0
    c[SPIKE, 0] = 40      # isolated mislabels
    c[SPIKE2, 0] = 48
    c[:, 7] = c[:, 0] + c[:, 1]
    return c


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "p.h5")
    p.add_embryo("e1", iter(make_frames(N, seed=1)), N, (24, 32, 3), counts(), source={"kind": "test"})
    p.save()
    e = p.embryos[0]
    detect_embryo(e)
    assert [(span(c), c.status) for c in e.cliffs] == [("population 44-49", "pending"), ("A 44-49", "pending")]
    assert e.flags.mask("spike")[[SPIKE, SPIKE2]].all()
    return p


def _earlier_run(e, cliffs):
    """Make the embryo's cliffs those of an earlier run (other settings / detector version)."""
    e.history.push(edits.SetFlags(detections={"cliffs": [c.to_dict() for c in cliffs]}))


def _cliff(start, stop, lineage="population"):
    return CliffDetection(start, stop, "dip", lineage, score=3.0)


def _decided_cliffs_a_new_run_does_not_find(e):
    """An earlier run found the dip one frame wider on each side (accepted on the population,
    interpolated; rejected on A) and a second cliff at 60-64 (accepted, excluded)."""
    _earlier_run(e, [_cliff(43, 51), _cliff(43, 51, "A"), _cliff(60, 65)])
    e.history.push(edits.AcceptDetection(0, "interpolate"))
    e.history.push(edits.RejectDetection(1))
    e.history.push(edits.AcceptDetection(2, "exclude"))
    assert [(c.status, c.repair) for c in e.cliffs] == [("accepted", "interpolated"), ("rejected", None),
                                                          ("accepted", "excluded")]


def test_decided_cliffs_not_found_again_are_kept_or_dropped_and_reported(project):
    e = project.embryos[0]
    _decided_cliffs_a_new_run_does_not_find(e)
    values, excluded = e.current.copy(), e.flags.mask("excluded").copy()
    before = [c.to_dict() for c in e.cliffs]
    notes = detect_embryo(e)
    got = {(span(c), c.status, c.repair): c for c in e.cliffs}
    # the accepted ones are kept as they were, active, marked; their repairs stay
    assert set(got) == {("population 43-50", "accepted", "interpolated"), ("A 44-49", "pending", None),
                        ("population 60-64", "accepted", "excluded")}, got
    assert got[("population 43-50", "accepted", "interpolated")].extra["kept"] == KEPT_NOT_FOUND
    assert got[("population 60-64", "accepted", "excluded")].extra["kept"] == KEPT_NOT_FOUND
    assert "kept" not in got[("A 44-49", "pending", None)].extra
    # the run's population 44-49 lies inside the accepted 43-50: not offered again; the rejected
    # A 43-50 is gone (nothing to flag), the run's A 44-49 is pending
    cliff = e.flags.mask("cliff")
    assert cliff[43:51].all() and cliff[60:65].all() and cliff.sum() == 8 + 5
    np.testing.assert_array_equal(e.current, values)
    np.testing.assert_array_equal(e.flags.mask("excluded"), excluded)
    # ... and said, one line for the embryo
    line = [m for m in notes if "not found again" in m]
    assert line == ["e1: 3 decided cliffs were not found again by this run: "
                    "kept population 43-50 (accepted, interpolated; covers the run's population 44-49); "
                    "dropped A 43-50 (rejected: no longer detected; the run finds A 44-49, pending); "
                    "kept population 60-64 (accepted, excluded)"], notes
    # saved with the project, and the run is one undoable step
    project.save()
    again = Project.open(project.path).embryos[0]
    assert [c.extra.get("kept") for c in again.cliffs if c.status == "accepted"] == [KEPT_NOT_FOUND] * 2
    e.history.undo()
    assert [c.to_dict() for c in e.cliffs] == before


def test_a_new_cliff_reaching_past_an_accepted_one_is_pending_and_marked(project):
    e = project.embryos[0]
    _earlier_run(e, [_cliff(45, 49)])           # narrower than the dip the run finds
    e.history.push(edits.AcceptDetection(0, "exclude"))
    notes = detect_embryo(e)
    got = {span(c): c for c in e.cliffs}
    assert set(got) == {"population 45-48", "population 44-49", "A 44-49"}
    assert got["population 45-48"].status == "accepted" and got["population 45-48"].extra["kept"]
    assert got["population 44-49"].status == "pending"           # frames 44 and 49 were never decided
    assert got["population 44-49"].extra["overlaps"] == "decided cliff population 45-48"
    assert any("kept population 45-48 (accepted, excluded; the run's population 44-49 reaches past it, "
               "pending)" in m for m in notes), notes
    # the triage queue says so on the pending item, and on the kept one when decisions are listed
    from embryo_gui.app.triage import collect
    pending = [it.describe() for it in collect(e) if it.kind == "cliff"]
    assert pending == ["cliff (population and 1 lineage): frames 44-49, score "
                       f"{max(c.score for c in e.cliffs if c.status == 'pending'):.3g}; "
                       "overlaps decided cliff population 45-48"], pending
    kept = [it.describe() for it in collect(e, include_reviewed=True) if it.status == "accepted"]
    assert len(kept) == 1 and kept[0].endswith("; kept, not found again by the detectors"), kept


def test_a_decision_found_again_with_the_same_key_is_not_reported(project):
    e = project.embryos[0]
    e.history.push(edits.AcceptDetection(0, "interpolate"))
    notes = detect_embryo(e, cliff_settings={})
    assert [(span(c), c.status) for c in e.cliffs] == [("population 44-49", "accepted"), ("A 44-49", "pending")]
    assert "kept" not in e.cliffs[0].extra
    assert not any("not found again" in m for m in notes)


def test_a_spike_fixed_by_hand_is_not_flagged_again_and_undo_brings_it_back(project):
    e = project.embryos[0]
    e.history.push(edits.SetValues([SPIKE], 8.0, columns=["A"]))            # fixed by hand
    e.history.push(edits.ReviewFrames("spike", [SPIKE2], "accepted"))        # repaired by accepting
    assert e.flags.mask("edited")[[SPIKE, SPIKE2]].all()
    notes = detect_embryo(e)
    spike = e.flags.mask("spike")
    assert not spike[SPIKE]                    # resolved by the hand edit
    assert spike[SPIKE2] and review_of(e, "spike")[str(SPIKE2)] == "accepted"  # a decision, kept
    assert e.current[SPIKE, 0] == 8.0
    assert [m for m in notes if "by hand" in m] == ["e1: 1 frame edited by hand, not flagged as spikes again"]
    e.history.undo()                           # the run is one undoable step
    assert e.flags.mask("spike")[SPIKE] and e.current[SPIKE, 0] == 8.0
    e.history.undo()                           # without the accepted spike
    e.history.undo()                           # without the hand edit: a spike again, nothing skipped
    notes = detect_embryo(e)
    assert e.flags.mask("spike")[SPIKE] and not any("by hand" in m for m in notes)


def test_session_detect_job_reports_both(project):
    e = project.embryos[0]
    _decided_cliffs_a_new_run_does_not_find(e)
    e.history.push(edits.SetValues([SPIKE], 8.0, columns=["A"]))
    s = Session(project)
    try:
        notes = s.run_job(s.detect_job())
    finally:
        s.close()
    assert any(m.startswith("e1: 3 decided cliffs were not found again by this run") for m in notes), notes
    assert "e1: 1 frame edited by hand, not flagged as spikes again" in notes


def test_cli_detect_prints_the_notes(project, capsys):
    from embryo_gui.cli.main import main
    e = project.embryos[0]
    _decided_cliffs_a_new_run_does_not_find(e)
    e.history.push(edits.SetValues([SPIKE], 8.0, columns=["A"]))
    project.save()
    project.close()
    assert main(["detect", str(project.path)]) == 0
    out = capsys.readouterr().out
    assert "e1: 3 decided cliffs were not found again by this run: kept population 43-50" in out, out
    assert "e1: 1 frame edited by hand, not flagged as spikes again" in out, out
    e = Project.open(project.path).embryos[0]
    assert [span(c) for c in e.cliffs if c.status == "accepted"] == ["population 43-50", "population 60-64"]
    assert not e.flags.mask("spike")[SPIKE]


@pytest.mark.gui
def test_window_says_so_after_detection_on_open(qtbot, project, tmp_path):
    """A newer detector version runs on open: the status bar names the kept and dropped decisions
    and the hand-edited spike frames, and the window's cliff list keeps the accepted cliffs."""
    from PySide6 import QtCore

    from gui_helpers import open_window
    e = project.embryos[0]
    _decided_cliffs_a_new_run_does_not_find(e)
    e.history.push(edits.SetValues([SPIKE], 8.0, columns=["A"]))
    e.history.push(edits.SetFlags({}, detections={"detected_with": "older-detectors"}))
    project.save()
    project.close()
    win = open_window(qtbot, tmp_path, None, size=(1280, 800))
    win.enable_review()
    with qtbot.waitSignal(win.detectionFinished, timeout=60000):
        assert win.open_project(project.path)
    msg = win.statusBar().currentMessage()
    assert "e1: 3 decided cliffs were not found again by this run: kept population 43-50" in msg, msg
    assert "1 frame edited by hand, not flagged as spikes again" in msg, msg
    e = win.embryo
    assert [span(c) for c in e.cliffs if c.status == "accepted"] == ["population 43-50", "population 60-64"]
    assert not e.flags.mask("spike")[SPIKE] and e.flags.mask("cliff")[60:65].all()
    # the triage dock lists the run's A 44-49 (pending) and the hand-fixed spike no more
    dock = win.triage
    model = dock.list.model()
    rows = [model.data(model.index(r, 0), QtCore.Qt.ItemDataRole.ToolTipRole) for r in range(model.rowCount())]
    assert any(r.startswith("cliff (A): frames 44-49") for r in rows), rows
    assert not any(r == f"spike: frame {SPIKE}" or r.startswith(f"spike: frame {SPIKE},") for r in rows), rows
    # the population plot's cliff menu marks the kept cliff
    menu = win.curve.cliff_menu(62)
    titles = [a.text() for a in menu.actions()]
    assert any(t.startswith("Cliff ") and t.endswith("frames 60-64 (accepted, not found again by the detectors)")
               for t in titles), titles
    win.ask = False
