"""The alignment check in the GUI (issue 11): after an import the report says which offset was used
and which one the nuclei in the frames fit; a wrong offset gets a visible warning and a one-click
re-import with the offset found; the right one shows no warning.  The embryo's properties show the
same later.  Driven on a real EPIC movie: the first 100 frames of L2 (re-encoded, ~0.5 s) with its
own lineage file; the check needs the early frames only (the nuclei are countable until ~60 cells)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
import shiboken6  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from conftest import EPIC_DIR as _CI_DIR  # noqa: E402
from gui_helpers import open_window  # noqa: E402

EPIC_DIR = next((d for d in (_CI_DIR, Path("/work/shared/data/epic")) if d.is_dir()), _CI_DIR)
MOVIE, CSV = EPIC_DIR / "20080731_ceh-32_4_L2.mov", EPIC_DIR / "CD20080731_ceh-32_4_L2.csv"
N_FRAMES = 100
pytestmark = pytest.mark.skipif(not (MOVIE.exists() and CSV.exists()),
                                reason=f"real EPIC movie L2 not found in {EPIC_DIR}")


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> Path:
    """The first 100 frames of the real L2 movie, as an mp4v movie of its own."""
    import cv2
    path = tmp_path_factory.mktemp("epic") / "L2_first100.mp4"
    cap = cv2.VideoCapture(str(MOVIE))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 7, (w, h))
    try:
        for _ in range(N_FRAMES):
            ok, bgr = cap.read()
            assert ok
            vw.write(bgr)
    finally:
        vw.release()
        cap.release()
    return path


def _import_through_the_dialog(qtbot, win, tmp_path, video, offset: int):
    """File > New project from video: fill in the real dialog, press OK, wait for the import."""
    finished = []
    win.workFinished.connect(finished.append)

    def fill() -> None:
        dlg = QtWidgets.QApplication.activeModalWidget()
        assert dlg is not None and dlg.windowTitle() == "Add an embryo from a video"
        dlg.project.setText(str(tmp_path / "p.h5"))
        dlg.offset.setValue(offset)
        dlg.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).click()

    QtCore.QTimer.singleShot(0, fill)
    win.new_project_dialog(video=str(video), annotations=str(CSV))
    qtbot.waitUntil(lambda: bool(finished), timeout=60000)
    assert finished == ["import"], win.notifier.last_error
    qtbot.waitUntil(lambda: win.work.import_report is not None and win.work.import_report.isVisible())
    return win.work.import_report


def test_wrong_offset_warns_and_one_click_reimports_with_the_offset_found(qtbot, tmp_path):
    """The whole real L2 movie (243 frames, ~3 s per import): its fit is conclusive."""
    win = open_window(qtbot, tmp_path)
    dlg = _import_through_the_dialog(qtbot, win, tmp_path, MOVIE, offset=2)
    panel = dlg.panel
    assert panel.headline.text().startswith("Alignment: offset 2 used; the pixels fit offset 0 better "
                                            "(1 frame per timepoint)"), panel.headline.text()
    assert "division steps matched" in panel.headline.text()
    assert panel.warning.isVisible()
    assert "offset 0" in panel.warning.text() and "2 frames after" in panel.warning.text()
    assert panel.reimport_button.text() == "Re-import with offset 0" and panel.reimport_button.isEnabled()
    assert panel.keep_button.text() == "Keep offset 2"
    assert "Not conclusive" not in panel.warning.text() and panel.summary.rival is None
    # the plot: nuclei counted, the lineage as used and as the pixels fit (2 frames earlier)
    c = panel.curves
    both = np.isfinite(c.used[2:]) & np.isfinite(c.best[:-2])
    assert both.sum() > 100 and np.array_equal(c.used[2:][both], c.best[:-2][both])
    dlg.grab().save(str(tmp_path / "import_report_warning.png"))
    e = win.session.embryo
    before = e.original[:, -1].copy()
    assert e.alignment["offset"] == 2 and e.alignment["check"]["offset_best"] == 0

    finished = []
    win.workFinished.connect(finished.append)
    panel.reimport_button.click()
    qtbot.waitUntil(lambda: bool(finished), timeout=60000)
    assert finished == ["import"], win.notifier.last_error
    assert not shiboken6.isValid(dlg) or not dlg.isVisible()   # closed by the click (and deleted)
    qtbot.waitUntil(lambda: win.work.import_report is not None and win.work.import_report is not dlg
                    and win.work.import_report.isVisible())
    again = win.work.import_report
    e = win.session.embryo
    assert win.session.embryos == [MOVIE.stem] and e.name == MOVIE.stem
    assert e.alignment["offset"] == 0 and e.alignment["check"]["agrees"]
    assert e.alignment["reimported_from"] == {"offset": 2, "frames_per_timepoint": 1.0}
    assert np.array_equal(e.original[:-2, -1], before[2:], equal_nan=True)  # every label 2 frames earlier
    assert not again.panel.warning.isVisible() and again.panel.reimport_button is None
    assert again.panel.headline.text().startswith("Alignment: offset 0 used; the pixels fit offset 0 best")
    assert win.embryo_list.count() == 1 and win.video._raw is not None


def test_right_offset_shows_no_warning_and_the_properties_show_the_check(qtbot, tmp_path, subset):
    win = open_window(qtbot, tmp_path)
    dlg = _import_through_the_dialog(qtbot, win, tmp_path, subset, offset=0)
    panel = dlg.panel
    assert panel.headline.text().startswith("Alignment: offset 0 used; the pixels fit offset 0 best "
                                            "(1 frame per timepoint)"), panel.headline.text()
    assert not panel.warning.isVisible() and panel.reimport_button is None and panel.keep_button is None
    assert dlg.info.text().startswith("100 frames of 676x")
    dlg.close()
    # later, from the project: Embryo properties (File menu, or a double click in the embryo list)
    assert win.act_properties.isEnabled()
    win.act_properties.trigger()
    props = win.properties_dialog
    assert props is not None and props.isVisible()
    assert props.panel.headline.text() == panel.headline.text()
    assert str(CSV.resolve()) in props.info.text() and props.info.text().startswith("100 frames of 676x")
    props.grab().save(str(tmp_path / "properties.png"))


def test_reimport_refused_when_the_embryo_holds_edits(tmp_path, subset):
    from embryo_gui import edits
    from embryo_gui.app.alignment_report import reimport_blocker, reimport_job
    from embryo_gui.app.importing import import_embryo
    from embryo_gui.errors import EmbryoError
    from embryo_gui.model import Project

    p = Project.create(tmp_path / "p.h5")
    e, _ = import_embryo(p, subset, CSV, time_offset=1)
    assert e.alignment["check"]["offset_best"] == 0 and reimport_blocker(e) == ""
    e.history.push(edits.SetValues(np.array([5]), 3.0))
    assert "1 edit of yours" in reimport_blocker(e)
    with pytest.raises(EmbryoError, match="re-importing would drop them"):
        reimport_job(p, e.name, 0, 1.0)
    p.close()


def test_reimport_stores_the_frames_as_the_first_import_did(tmp_path, subset):
    from embryo_gui.app.alignment_report import reimport_job
    from embryo_gui.app.importing import import_embryo
    from embryo_gui.model import Project

    p = Project.create(tmp_path / "p.h5")
    e, _ = import_embryo(p, subset, CSV, time_offset=1, frame_codec="none")
    assert e.frames.codec["clevel"] == 0
    job = reimport_job(p, e.name, 0, 1.0)
    job.compute()
    job.finish()
    job.raise_for_state()
    new = p.embryo(e.name)
    assert new is not e and new.alignment["offset"] == 0
    assert new.frames.codec["clevel"] == 0      # uncompressed, as imported (not the default lz4)
    assert np.array_equal(new.frames[40], e.frames[40])
    p.close()


def test_import_json_carries_the_check_in_words(tmp_path, capsys, subset):
    import json

    from embryo_gui.cli.main import main

    rc = main(["import", str(tmp_path / "p.h5"), str(subset), "--annotations", str(CSV), "--time-offset", "-1",
               "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    d = json.loads(out)
    s = d["alignment_summary"]
    assert d["alignment"]["check"]["offset_best"] == 0 and not d["alignment"]["check"]["agrees"]
    assert s["headline"].startswith("Alignment: offset -1 used; the pixels fit offset 0 better")
    assert "1 frame before the frames that show it" in s["warning"] and s["suggestion"] == [0, 1.0]


def test_summary_words_for_other_frames_per_timepoint_narrow_margin_and_no_check():
    from embryo_gui.app.alignment_report import summarize

    est = [2] * 10 + [4] * 10 + [8] * 10 + [16] * 10 + [32] * 10
    chk = {"offset_used": 0, "frames_per_timepoint_used": 1.0, "offset_best": 0, "frames_per_timepoint_best": 2.0,
           "cost_used": 0.9, "cost_best": 0.50, "cost_next": 0.51, "frames_compared": 40, "agrees": False,
           "message": "WARNING: ...; out-of-order frame 3 left out",
           "steps": [[10, 2, 4], [20, 4, 8], [31, 8, 16], [45, 16, 32]], "estimated_counts": est}
    s = summarize({"check": chk})
    assert s.headline == ("Alignment: offset 0 used; the pixels fit offset 0 better (2 frames per timepoint), "
                          "3 of 4 division steps matched")   # 31: a frame late, still rising; 45: none
    assert "spread over the frames at 1 frame per timepoint instead of 2 frames per timepoint" in s.warning
    assert s.narrow and "narrow margin" in s.detail and s.detail.endswith("out-of-order frame 3 left out")
    assert s.suggestion == (0, 2.0)
    none = summarize({"check": {"offset_used": 3, "frames_per_timepoint_used": 1.0, "frames_compared": 0,
                                "agrees": True, "message": "alignment not checked: fewer than 12 frames ..."}})
    assert not none.checked and none.suggestion is None and none.warning == ""
    assert none.headline == "Alignment: offset 3 (1 frame per timepoint) used; not checked against the pixels"
    assert summarize({"offset": 0}) is None


def test_a_rival_offset_one_cell_cycle_away_makes_the_warning_not_conclusive():
    """The first 60 frames of L2 alone fit offset -8 better than the right 0 (a shift by one cell
    cycle lines the division steps up with the next wave): the report says it is not conclusive
    and names the rival; the whole movie has no rival."""
    import cv2

    from embryo_gui.app.alignment_report import summarize
    from embryo_gui.detect.alignment_check import check_frames, small_frame
    from embryo_gui.io import read_annotations
    from embryo_gui.lineages import POPULATION

    cap = cv2.VideoCapture(str(MOVIE))
    small = []
    try:
        while len(small) < 60:
            ok, bgr = cap.read()
            assert ok
            small.append(small_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    finally:
        cap.release()
    ann = read_annotations(CSV)
    s = summarize({"check": check_frames(small, ann.index, ann.counts[:, POPULATION], 0, 1.0).to_dict()})
    assert (s.offset_best, s.agrees, s.rival) == (-8, False, 0), s
    assert "Not conclusive: offset 0, 8 frames away, fits almost as well" in s.warning
