"""A project another process holds can be opened read-only from the window (issue 17): the lock
refusal offers "Open read-only" (Cancel stays the default), File > Open read-only... opens any
project so; the window then says read-only (title, status bar, with the holder), refuses every
change in one status-bar line, still scrubs, shows and exports to another file, and closes
without asking."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from embryo_gui import edits  # noqa: E402
from embryo_gui.model.lock import LOCK_SUFFIX, is_locked  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402
from holder import Holder  # noqa: E402

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("EMBRYO_GUI_SHOTS", "")) if os.environ.get("EMBRYO_GUI_SHOTS") else None


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 2, 16, 4, (32, 48, 3))


def digest(folder: Path) -> str:
    """The project's files (its lock file aside: the holder's, written and removed by the holder)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.endswith(LOCK_SUFFIX):
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def answer_box(qtbot, button: str, seen: list):
    """When a modal message box shows, record it (text, buttons, default) and press ``button``."""
    def poll():
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            QtCore.QTimer.singleShot(20, poll)
            return
        names = [b.text() for b in box.buttons()]
        seen.append({"text": box.text(), "buttons": names,
                     "default": box.defaultButton().text() if box.defaultButton() else None,
                     "escape": box.escapeButton().text() if box.escapeButton() else None})
        target = [b for b in box.buttons() if b.text().replace("&", "") == button]
        (target or box.buttons())[0].click()   # a box without that button: closed, the test fails below
    QtCore.QTimer.singleShot(20, poll)


def no_modal_for(qtbot, seen: list):
    """Record (and close) any modal box that shows: a read-only window never asks."""
    def poll():
        box = QtWidgets.QApplication.activeModalWidget()
        if box is not None:
            seen.append(box.windowTitle() + ": " + (box.text() if hasattr(box, "text") else ""))
            box.reject()
    timer = QtCore.QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    return timer


def test_the_lock_refusal_offers_read_only_and_the_window_refuses_every_change(qtbot, tmp_path, demo_dir,
                                                                               tmp_path_factory):
    path = copy_project(demo_dir, tmp_path)
    holder = Holder(path)
    try:
        win = open_window(qtbot, tmp_path)
        win.ask = True
        seen: list = []
        # Cancel (the default) keeps the refusal
        answer_box(qtbot, "Cancel", seen)
        assert not win.open_project(path)
        assert win.session.project is None
        assert len(seen) == 1 and "a colleague's window" in seen[0]["text"]
        assert "Open read-only" in [b.replace("&", "") for b in seen[0]["buttons"]]
        assert seen[0]["default"] == "Cancel" and seen[0]["escape"] == "Cancel"
        # Open read-only opens it as a reader, beside the holder
        answer_box(qtbot, "Open read-only", seen)
        assert win.open_project(path)
        assert len(seen) == 2
        s = win.session
        assert s.read_only and s.path == path
        assert "read-only" in win.windowTitle() and "a colleague's window" in win.windowTitle()
        assert "read-only" in win.read_only_label.text() and win.read_only_label.isVisible()
        assert "a colleague's window" in win.read_only_label.text()
        win.ask = False
        before = digest(path.parent)
        e = s.embryo
        value = float(e.current[3, 7])

        # every change: one clear status-bar line, nothing changed
        def refused(call, word="read-only"):
            win.notifier.last_error = None
            win.statusBar().clearMessage()
            r = call()
            assert not r, call
            msg = win.notifier.last_error
            assert msg is not None and word in msg and "\n" not in msg, msg
            assert win.statusBar().currentMessage() == msg
        win.goto(3)
        refused(lambda: win.push_edit(edits.SetValues([3], value + 4, columns=["population"])))
        refused(lambda: win.set_value(value + 4))
        refused(win.interpolate)
        refused(lambda: win.set_excluded(True))
        refused(win.truncate)
        refused(lambda: win.edits.point_dragged(3, "population", value + 2))
        refused(win.save)
        refused(lambda: win.undo())
        refused(lambda: win.redo())
        refused(win.autoclean)
        refused(win.detect)
        refused(lambda: win.start_training({"epochs": 1}))
        refused(lambda: win.import_video(path, tmp_path / "video.avi"))
        assert not win.triage.decide(True) and "read-only" in win.triage.last_error
        assert win.statusBar().currentMessage() == win.triage.last_error
        assert float(e.current[3, 7]) == value and not win.modified and s.job is None
        # the actions that change the project are disabled; viewing and export are not
        for a in (win.act_save, win.act_undo, win.act_redo, win.act_set_value, win.act_interpolate,
                  win.act_exclude, win.act_truncate, win.act_autoclean, win.act_detect, win.act_train):
            assert not a.isEnabled(), a.text()
        for a in (win.act_export, win.act_properties, win.act_next, win.act_goto, win.act_open):
            assert a.isEnabled(), a.text()
        assert not win.trainer.start_button.isEnabled()
        # scrubbing, the curve and the properties view still work
        assert win.goto(9) == 9 and s.frame == 9
        win.act_next.trigger()
        assert s.frame == 10
        win.set_embryo(s.embryos[1])
        assert win.curve.isVisible()
        win.embryo_properties_dialog()
        assert win.properties_dialog.isVisible()
        win.properties_dialog.close()
        # an export to another file works and writes nothing into the project
        out = tmp_path_factory.mktemp("exported") / "data.h5"
        with qtbot.waitSignal(win.workFinished, timeout=60000) as sig:
            assert win.export(out, size=(24, 16)) is not None
        assert sig.args == ["export"] and out.exists()
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            win.grab().save(str(SHOTS / "read_only_window.png"))
        assert digest(path.parent) == before
        # closing never asks
        win.ask = True
        win.files.restored = True            # even a window that would otherwise ask
        asked: list = []
        timer = no_modal_for(qtbot, asked)
        try:
            assert win.close()
        finally:
            timer.stop()
        assert asked == []
    finally:
        holder.stop()
    assert digest(path.parent) == before


def test_file_open_read_only_opens_any_project_without_its_lock(qtbot, tmp_path, demo_dir, monkeypatch):
    path = copy_project(demo_dir, tmp_path)
    win = open_window(qtbot, tmp_path)
    files = [a.text().replace("&", "") for a in dict(win.menus)["File"]]
    assert "Open read-only..." in files
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    win.act_open_read_only.trigger()
    s = win.session
    assert s.read_only and s.path == path and not is_locked(path)
    assert "read-only" in win.windowTitle() and "read-only" in win.read_only_label.text()
    assert win.act_export.isEnabled() and not win.act_save.isEnabled()
    # opening it normally afterwards gives an ordinary window
    assert win.open_project(path)
    assert not s.read_only and is_locked(path) and "read-only" not in win.windowTitle()
    assert not win.read_only_label.isVisible() and win.act_save.isEnabled()


def test_read_only_window_follows_the_holders_saves_and_reopens_for_editing_when_free(qtbot, tmp_path, demo_dir):
    path = copy_project(demo_dir, tmp_path)
    holder = Holder(path)
    try:
        win = open_window(qtbot, tmp_path)
        win.ask = False
        assert win.open_project(path, read_only=True)
        s = win.session
        assert win.read_only_timer.isActive()
        name = s.embryos[1]
        win.set_embryo(name)
        win.goto(6)
        assert win.act_reopen_edit.isEnabled()                 # a read-only project, no job running
        win.notifier.last_error = None
        assert not win.files.reopen_for_editing()              # still held: refused, naming the holder
        assert "a colleague's window" in win.notifier.last_error and s.read_only
        assert win.watch_read_only() == ""                     # nothing changed yet
        value = float(s.embryo.current[6, 7]) + 9
        win.curve._vb.setXRange(2, 9, padding=0)                # a zoom and a selection the person made ...
        win.selection.set(4, 8, s.embryo.n_frames)
        zoom = win.curve._vb.viewRange()[0]
        dlg = QtWidgets.QDialog(win)                           # a dialog open (the export's, say) ...
        dlg.setModal(True)
        dlg.show()
        holder.set_and_save(name, 6, value)
        assert win.watch_read_only() == "" and s.embryo.current[6, 7] != value   # ... holds the reload
        dlg.close()
        # the window's timer reloads it: same embryo and frame, the holder's value on the plot
        qtbot.waitUntil(lambda: s.embryo.current[6, 7] == value, timeout=10000)
        assert s.read_only and (s.embryo_name, s.frame) == (name, 6)
        assert "saved it" in win.statusBar().currentMessage()
        c = win.curve.curves["population"]
        assert c.yData[list(c.xData).index(6)] == value
        assert win.curve._vb.viewRange()[0] == zoom and win.selection.range == (4, 8)   # ... kept
    finally:
        holder.stop()
    # the holder let go: the window says so, and Reopen for editing takes the project
    qtbot.waitUntil(lambda: "free now" in win.read_only_label.text(), timeout=10000)
    assert "free now" in win.windowTitle() and win.act_reopen_edit.isEnabled()
    win.grab().save(str(tmp_path / "free_now.png"))
    win.act_reopen_edit.trigger()
    assert not s.read_only and is_locked(path) and not win.read_only_timer.isActive()
    assert (s.embryo_name, s.frame) == (name, 6) and not win.read_only_label.isVisible()
    assert not win.act_reopen_edit.isEnabled() and win.act_save.isEnabled()
    assert win.set_value(value + 1)
    win.grab().save(str(tmp_path / "reopened.png"))
