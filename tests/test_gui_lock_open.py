"""Opening a project that another writer holds: the window refuses within a moment, naming the
holder, instead of waiting the writers' 5 s on the GUI thread (frozen meanwhile)."""

import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from embryo_gui.policy import GUI_LOCK_WAIT_SECONDS, LOCK_WAIT_SECONDS  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[1]


def test_a_held_project_is_refused_at_once_naming_its_holder(qtbot, tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.delenv("EMBRYO_GUI_LOCK_WAIT", raising=False)
    path = copy_project(write_demo_dir(tmp_path_factory, 1, 12, 0, (32, 48, 3)), tmp_path)
    # another process holds it (the lock is re-entrant within one process)
    code = ("import sys\nfrom embryo_gui.model import Project\n"
            "p = Project.open(sys.argv[1], write=True, holder='a test script')\n"
            "print('held', flush=True)\nsys.stdin.read()\np.close()\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    try:
        win = open_window(qtbot, tmp_path)
        t = time.monotonic()
        assert not win.open_project(path)
        waited = time.monotonic() - t
        assert waited < LOCK_WAIT_SECONDS / 2, waited
        assert GUI_LOCK_WAIT_SECONDS <= waited + 0.05
        msg = win.notifier.last_error
        assert "is being changed by" in msg and str(path.name) in msg and "\n" not in msg
        assert win.session.project is None
        assert "a test script" in msg
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert win.open_project(path)          # free again: opens
    assert win.session.path == path
