"""The app opens a batch's OUT_DIR as a list of projects to review one after another."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    """A small batch made without Dask (task per embryo, then the merge), one embryo failing."""
    from embryo_gui.batch import discover
    from embryo_gui.batch.demo import write_demo_inputs
    from embryo_gui.batch.merge import merge
    from embryo_gui.batch.task import run_task
    inp = tmp_path_factory.mktemp("in")
    write_demo_inputs(inp, 3, n_frames=12, size=(64, 48), seed=2)
    (inp / "a_broken.mp4").write_bytes(b"not a video")
    out = tmp_path_factory.mktemp("out")
    jobs = discover(inp)
    for i, j in enumerate(jobs):
        run_task(j, out, index=i, n_jobs=len(jobs), input_dir=inp)
    merge(out, jobs)
    return out


def test_window_steps_through_the_batch_projects(qtbot, tmp_path, batch_dir):
    from gui_helpers import open_window

    from embryo_gui.gui.batch_review import open_path, step_project
    win = open_window(qtbot, tmp_path)
    assert open_path(win, batch_dir)
    names = [r["name"] for r in json.loads((batch_dir / "report.json").read_text())["embryos"]
             if r["status"] == "ok"]
    assert names == ["demo_00", "demo_01", "demo_02"]  # the broken movie has no project to review
    assert win.project.path == batch_dir / "projects" / "demo_00.h5"
    assert win.act_next_project.isEnabled() and not win.act_prev_project.isEnabled()
    assert win.act_next_project in win.menuBar().actions()[0].menu().actions()
    win.act_next_project.trigger()
    assert win.project.path == batch_dir / "projects" / "demo_01.h5"
    assert win.embryo.name == "demo_01"
    assert "batch project 2 of 3: demo_01" in win.statusBar().currentMessage()
    assert win.windowTitle().endswith("[2/3]")
    win.act_next_project.trigger()
    assert win.project.path.name == "demo_02.h5" and not win.act_next_project.isEnabled()
    assert not step_project(win, 1) and win.project.path.name == "demo_02.h5"
    win.act_prev_project.trigger()
    win.act_prev_project.trigger()
    assert win.project.path.name == "demo_00.h5" and not win.act_prev_project.isEnabled()
    win.grab().save(str(tmp_path / "batch_review.png"))


def test_unsaved_changes_cancel_keeps_the_current_project(qtbot, tmp_path, batch_dir):
    from gui_helpers import open_window

    from embryo_gui.gui.batch_review import open_path, step_project
    win = open_window(qtbot, tmp_path)
    assert open_path(win, batch_dir)
    win.files.maybe_save = lambda: False  # the user pressed Cancel
    try:
        assert not step_project(win, 1)
        assert win.project.path.name == "demo_00.h5" and win.batch_review.index == 0
    finally:
        del win.files.maybe_save  # so that the window closes at the end of the test


def test_a_folder_without_a_usable_report_is_a_one_line_error(qtbot, tmp_path):
    from gui_helpers import open_window

    from embryo_gui.gui.batch_review import open_path
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "report.json").write_text("{broken")
    win = open_window(qtbot, tmp_path)
    errors = []
    win.notifier.error = lambda msg, detail=None: errors.append(msg)
    assert not open_path(win, tmp_path / "b")
    assert len(errors) == 1 and "cannot read the batch report" in errors[0] and "report.json" in errors[0]
    assert win.project is None


def test_embryo_gui_command_opens_a_batch_folder(batch_dir, tmp_path):
    """`embryo-gui OUT_DIR` starts, opens the batch and quits cleanly (offscreen)."""
    code = ("import sys; from embryo_gui.gui import app; from embryo_gui.gui import batch_review as b;"
            "orig = b.open_batch\n"
            "def spy(win, d):\n"
            "    ok = orig(win, d); print('OPENED', ok, win.project.path.name, len(win.batch_review)); return ok\n"
            "b.open_batch = spy\n"
            f"sys.exit(app.main([{str(batch_dir)!r}, '--quit-after', '0.5', '--settings', "
            f"{str(tmp_path / 's.ini')!r}, '--recovery-dir', {str(tmp_path / 'rec')!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "OPENED True demo_00.h5 3" in res.stdout
