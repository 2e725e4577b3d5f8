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


# --- issue 10: export policy in the dialog, auto-clean summary in words, trainer wording ---------------

def test_export_dialog_states_what_it_drops_and_asks_before_overwriting(qtbot, tmp_path, project_path):
    from embryo_gui.app.exporting import plan_export
    from embryo_gui.gui.dialogs.export import ExportDialog
    from embryo_gui.model import Project
    p = Project.open(project_path)
    e = p.embryos[0]
    m = np.zeros(e.n_frames, bool)
    m[[2, 3, 4]] = True
    e.history.push(edits.RecordTraining([{"round": 0}], lossy=m))
    out = tmp_path / "out.h5"
    dlg = ExportDialog(out, plan=plan_export(p), ask=False)
    qtbot.addWidget(dlg)
    assert "3 lossy" in dlg.plan_label.text() and f"keeps {e.n_frames - 3} frames" in dlg.plan_label.text()
    out.write_bytes(b"old")
    dlg.accept()  # ask=False stands for "the user said no": the dialog stays open, nothing replaced
    assert dlg.result() != QtWidgets.QDialog.DialogCode.Accepted and not dlg.overwrite
    answers = []

    def yes(*a, **k):
        answers.append(a[2] if len(a) > 2 else "")
        return QtWidgets.QMessageBox.StandardButton.Yes
    dlg.ask = True
    QtWidgets.QMessageBox.question, saved = yes, QtWidgets.QMessageBox.question
    try:
        dlg.accept()
    finally:
        QtWidgets.QMessageBox.question = saved
    assert answers and str(out) in answers[0]
    assert dlg.result() == QtWidgets.QDialog.DialogCode.Accepted and dlg.overwrite


def test_autoclean_summary_in_words_and_screen_sized(qtbot, project_path):
    from embryo_gui.app.autoclean import autoclean_project
    from embryo_gui.gui.dialogs.summary import SummaryDialog
    from embryo_gui.model import Project
    summary = autoclean_project(Project.open(project_path))
    dlg = SummaryDialog(summary * 3)
    qtbot.addWidget(dlg)
    dlg.show()
    headers = [dlg.table.horizontalHeaderItem(j).text() for j in range(dlg.table.columnCount())]
    assert not any("_" in h for h in headers) and "Excluded" in headers
    assert dlg.width() <= 900
    assert "frames excluded" in dlg.headline.text()
    assert dlg.table.item(0, 0).text() == summary[0]["name"]


def test_trainer_wording(qtbot):
    from embryo_gui.gui.trainer_panel import TrainerPanel, error_text, round_text
    assert round_text(0, 1) == "marking round 1 of 1" and round_text(1, 1) == "final fit without the lossy frames"
    assert "worse without them" in error_text(24.64, 38.01) and "24.64" in error_text(24.64, 38.01)
    p = TrainerPanel()
    qtbot.addWidget(p)
    p.rounds.setValue(1)
    p.set_running(True)
    p.on_progress({"stage": "train", "round": 1, "fold": 0, "epoch": 0, "fraction": 0.92})
    assert "round 2" not in p.status.text() and "final fit" in p.status.text()
    p.finish("cancelled; nothing was changed")
    assert p.progress.value() == 0  # not stuck at 92 %
    loss = np.arange(20, dtype=float)
    lossy = loss >= 17  # 3 marked, but the line at the top 20 % holds 4
    p.set_frame_loss(loss, 0.2, lossy=lossy)
    assert "4 frames" in p.threshold_label.text() and "3 are marked lossy" in p.threshold_label.text()
    assert "top" not in p.threshold_line.label.format


def test_plots_export_as_png_and_svg(qtbot, tmp_path):
    from embryo_gui.gui.curve_plot import CurvePlot
    from embryo_gui.gui.trainer_panel import TrainerPanel, export_figure
    cp = CurvePlot()
    qtbot.addWidget(cp)
    cp.resize(600, 300)
    c = np.full((50, 8), np.nan)
    c[:, 7] = np.arange(50)
    cp.set_data(c, c, None, [{"start": 10, "stop": 20, "status": "pending"}])
    p = TrainerPanel()
    qtbot.addWidget(p)
    p.set_frame_loss(np.linspace(0, 1, 50))
    for plot, stem in ((cp, "population"), (p.frame_plot, "loss")):
        png, svg = export_figure(plot, tmp_path / f"{stem}.png"), export_figure(plot, tmp_path / f"{stem}.svg")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in svg.read_text()[:2000] and "<path" in svg.read_text()
    # vectors: the items Qt caches as pixmaps on screen (axes, grid, cliff bands) are not rasterised
    assert "<image" not in (tmp_path / "population.svg").read_text()
    # ...and cached again on screen afterwards (once the view rests: gui.items.pause_cache_while_moving)
    qtbot.waitUntil(lambda: all(it.cacheMode() == it.CacheMode.DeviceCoordinateCache
                                for it in (cp.cliff_bands, cp.x_grid)), timeout=3000)
    with pytest.raises(ValueError, match="png or .svg"):
        export_figure(cp, tmp_path / "x.jpg")


def test_export_dialog_suggests_the_home_folder_when_the_projects_folder_is_read_only(qtbot, tmp_path,
                                                                                     project_path, monkeypatch):
    from embryo_gui.gui.dialogs.export import ExportDialog
    win = _window(qtbot, tmp_path, project_path)
    seen = []
    monkeypatch.setattr(ExportDialog, "exec", lambda self: seen.append(self.out.text()) or 0)
    win.export_dialog()
    folder = Path(project_path).resolve().parent
    assert seen[-1] == str(Path(project_path).with_name(Path(project_path).stem + "_dataset.h5"))
    home = tmp_path / "home"
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    real_access = os.access
    # (as root, permissions are not enforced: the folder is made to look read-only)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder else real_access(p, mode))
    win.export_dialog()
    assert seen[-1] == str(home / (Path(project_path).stem + "_dataset.h5"))
