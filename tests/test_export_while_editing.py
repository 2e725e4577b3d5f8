"""An export runs in the background while the user keeps editing (issue 10): it writes the state
it was started on (never a mix), and its report names the frames changed while it ran."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from embryo_gui import edits  # noqa: E402
from embryo_gui.app.exporting import kept_frames  # noqa: E402
from embryo_gui.app.session import Session  # noqa: E402
from embryo_gui.model import Project  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, 40, 3, (64, 96, 3))


def _rows(path, name):
    with open(path, newline="") as fh:
        return {int(r["source_frame"]): r for r in csv.DictReader(fh) if r["embryo"] == name}


def test_export_job_writes_the_state_it_started_on_and_reports_changes(demo_dir, tmp_path):
    s = Session(Project.open(copy_project(demo_dir, tmp_path)))
    e = s.embryo
    keep, _ = kept_frames(e)
    f_edit, f_excl = int(keep[3]), int(keep[7])
    pop_then = float(e.current[f_edit, 7])
    out, out_csv = tmp_path / "x.h5", tmp_path / "x.csv"
    job = s.export_job(out, size=(48, 32), csv_path=out_csv)   # planned: the state it starts on
    s.start_job(job)                                           # written off this thread
    assert s.push(edits.SetValues([f_edit], pop_then + 50.0, columns=["population"]))
    assert s.push(edits.SetExcluded([f_excl]))
    s.undo()                                                   # an undo meanwhile: that frame is back as it was
    assert s.push(edits.SetExcluded([f_excl]))
    other = s.project.embryos[1]
    report = s.wait_job(job)
    rows = _rows(out_csv, e.name)
    assert float(rows[f_edit]["population"]) == pop_then and f_excl in rows  # as when it started
    assert report["changed_while_running"] == {e.name: sorted([f_edit, f_excl])}
    assert other.name not in report["changed_while_running"]
    assert f"{e.name}: 2 frame(s)" in report["message"] and "export again" in report["message"]
    with h5py.File(out, "r") as f:
        assert f["frames"].shape[0] == report["n_frames"]
    # nothing changed meanwhile: nothing reported
    report = s.run_job(s.export_job(tmp_path / "y.h5", size=(48, 32)))
    assert report["changed_while_running"] == {} and "changed while" not in report["message"]
    s.close()


@pytest.mark.gui
def test_window_keeps_editing_undo_and_save_while_an_export_runs(qtbot, demo_dir, tmp_path):
    win = open_window(qtbot, tmp_path, copy_project(demo_dir, tmp_path), size=(1280, 800))
    e = win.embryo
    keep, _ = kept_frames(e)
    f_edit = int(keep[2])
    pop_then = float(e.current[f_edit, 7])
    out, out_csv = tmp_path / "d.h5", tmp_path / "d.csv"
    with qtbot.waitSignal(win.workFinished, timeout=60000) as sig:
        assert win.export(out, size=(48, 32), csv_path=out_csv) is not None
        assert win.session.job is not None and win.session.job.name == "export"
        # the edit tools, undo and save stay available while it runs
        assert win.act_set_value.isEnabled() and win.act_save.isEnabled()
        win.session.set_frame(f_edit)
        assert win.push_edit(edits.SetValues([f_edit], pop_then + 9.0, columns=["population"]))
        assert win.act_undo.isEnabled()
        assert win.save()
        win.undo()
        assert e.current[f_edit, 7] == pop_then
        assert win.push_edit(edits.SetValues([f_edit], pop_then + 11.0, columns=["population"]))
        assert not win.act_autoclean.isEnabled()  # one job at a time: the others wait
    assert sig.args == ["export"], win.last_error
    assert float(_rows(out_csv, e.name)[f_edit]["population"]) == pop_then
    assert e.current[f_edit, 7] == pop_then + 11.0
    assert win.last_result["changed_while_running"] == {e.name: [f_edit]}
    assert "changed while the export ran" in win.statusBar().currentMessage()
    win.ask = False
