"""Dialogs and prompts: new project (alignment preview), About, crash-recovery prompt, and the
cliff accept/reject actions of the population plot's context menu inside the real window."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from embryo_gui import __version__, edits  # noqa: E402
from embryo_gui.gui import recovery  # noqa: E402
from embryo_gui.model import FORMAT_VERSION  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402
from io_fixtures import write_video  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 1, 30, 1, (48, 64, 3))


@pytest.fixture
def project_path(demo_dir, tmp_path):
    return copy_project(demo_dir, tmp_path)


def _window(qtbot, tmp_path, path=None):
    return open_window(qtbot, tmp_path, path, size=(1000, 700))


def test_new_project_dialog_preview_follows_offset_and_frames_per_timepoint(qtbot, tmp_path):
    from embryo_gui.gui.dialogs.new_project import NewProjectDialog
    video = write_video(tmp_path / "movie.mp4", "mp4v", 12)
    rows = ["cell,time"] + [f"{c},{t}" for t in range(1, 6) for c in ("ABa", "ABp", "EMS", "P2")[:1 + t % 4]]
    epic = tmp_path / "lineage.csv"
    epic.write_text("\n".join(rows) + "\n")
    dlg = NewProjectDialog(video=str(video), annotations=str(epic))
    qtbot.addWidget(dlg)
    assert dlg.project.text() == str(video.with_suffix(".h5"))  # suggested next to the video
    assert dlg.preview.text().startswith("12 frames of 64x48")
    assert "5 timepoints -> frames 0-4 of 12; 7 frames unannotated" in dlg.preview.text()
    dlg.offset.setValue(2)
    qtbot.waitUntil(lambda: "frames 2-6 of 12" in dlg.preview.text(), timeout=3000)  # debounced update
    dlg.fpt.setValue(2.0)
    assert "5 timepoints -> frames 2-11 of 12" in dlg.update_preview()
    dlg.offset.setValue(5)
    assert dlg.update_preview().endswith("frames 5-11 of 12; 5 frames unannotated; "
                                         "1 timepoint past the end of the video was dropped")
    v = dlg.values()
    assert (v["time_offset"], v["frames_per_timepoint"], v["video"]) == (5, 2.0, str(video))
    ok = dlg.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    dlg.video.setText("")
    assert not ok.isEnabled() and dlg.update_preview().startswith("choose a video")


def test_export_dialog_values(qtbot, tmp_path):
    from embryo_gui.gui.dialogs.export import ExportDialog
    dlg = ExportDialog(tmp_path / "proj_dataset")
    qtbot.addWidget(dlg)
    v = dlg.values()
    assert v == {"out_path": str(tmp_path / "proj_dataset.h5"), "size": None, "gray": False, "csv_path": None}
    dlg.resize_check.setChecked(True)
    dlg.width.setValue(200)
    dlg.csv.setChecked(True)
    dlg.gray.setChecked(True)
    v = dlg.values()
    assert v["size"] == (200, 256) and v["gray"] and v["csv_path"] == str(tmp_path / "proj_dataset.csv")


def test_about_dialog_shows_version_and_format_version(qtbot):
    from embryo_gui.gui.dialogs.about import AboutDialog
    dlg = AboutDialog()
    qtbot.addWidget(dlg)
    text = dlg.text.toPlainText()
    assert f"Embryo GUI {__version__}" in text
    assert f"Project file format: {FORMAT_VERSION}" in text.splitlines()
    assert "Licence:" in text and "PySide6" in text


def test_recovery_prompt_yes_restores_and_no_discards(qtbot, tmp_path, project_path, monkeypatch):
    from embryo_gui.gui.app import offer_recovery
    win = _window(qtbot, tmp_path, project_path)
    win.curve.pointDragged.emit(5, "population", 321.0)
    assert win.autosave() is not None  # the crash leaves this recovery copy behind
    asked = []

    def answer(button):
        def question(parent, title, text, *args, **kw):
            asked.append(text)
            return button
        return question

    Std = QtWidgets.QMessageBox.StandardButton
    win2 = _window(qtbot, tmp_path)
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(Std.Yes))
    assert offer_recovery(win2)
    assert len(asked) == 1 and str(Path(project_path).resolve()) in asked[0]
    assert win2.project.embryo("demo_00").current[5, 7] == 321.0 and win2.modified
    # "No" discards the copy: nothing is offered at the next start
    win2.ask = False
    win2.close()
    win3 = _window(qtbot, tmp_path, project_path)
    win3.curve.pointDragged.emit(6, "population", 111.0)
    win3.autosave()
    win4 = _window(qtbot, tmp_path)
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(Std.No))
    assert not offer_recovery(win4) and win4.project is None
    assert recovery.pending(tmp_path / "recovery") == []


def test_cliff_accept_reject_through_the_plot_menu(qtbot, tmp_path, project_path):
    win = _window(qtbot, tmp_path, project_path)
    e = win.embryo
    cliffs = [{"start": 20, "stop": 26, "kind": "to_end", "lineage": lin, "status": "pending"}
              for lin in ("population", "A", "E")]
    assert win.push_edit(edits.SetFlags(detections={"cliffs": cliffs}, label="detect"))
    steps = len(win.session.steps())
    menu = win.curve.cliff_menu(22)
    subs = [a.menu() for a in menu.actions() if a.menu() is not None]
    assert len(subs) == 3 and win.curve.cliff_menu(5) is None
    # reject only the E cliff
    next(a for a in subs[2].actions() if a.text().startswith("Reject")).trigger()
    assert [c["status"] for c in e.detections["cliffs"]] == ["pending", "pending", "rejected"]
    assert win.curve.cliff_bands.spans["rejected"] == [(20, 25)]
    # accept all three at once: the two pending ones change (the rejected one too) in ONE undo step
    menu = win.curve.cliff_menu(22)
    next(a for a in menu.actions() if a.text().startswith("Accept all 3")).trigger()
    assert [c["status"] for c in e.detections["cliffs"]] == ["accepted"] * 3
    assert len(win.session.steps()) == steps + 2
    assert e.flags.mask("excluded")[20:26].all() and e.flags.mask("cliff")[20:26].all()
    assert win.curve.cliff_bands.spans == {"accepted": [(20, 25)], "pending": [], "rejected": []}
    # the menu now shows the state; accepting again changes nothing
    menu = win.curve.cliff_menu(22)
    sub = [a.menu() for a in menu.actions() if a.menu() is not None][0]
    assert sub.actions()[0].isChecked() and not sub.actions()[1].isChecked()
    sub.actions()[0].trigger()
    assert len(win.session.steps()) == steps + 2
    win.session.undo()
    assert [c["status"] for c in e.detections["cliffs"]] == ["pending", "pending", "rejected"]
    assert not e.flags.mask("excluded")[20:26].any()
    win.session.undo()
    assert all(c["status"] == "pending" for c in e.detections["cliffs"])
    assert np.array_equal(e.current, e.original, equal_nan=True)
