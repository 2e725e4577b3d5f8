"""Render the documentation's pictures from demo projects.

    QT_QPA_PLATFORM=offscreen python -m embryo_gui.gui.screenshot [OUT.png]   # docs/screenshot_main.png
    QT_QPA_PLATFORM=offscreen python -m embryo_gui.gui.screenshot --guide [DIR] # DIR/guide_*.png (docs/)
    QT_QPA_PLATFORM=offscreen python -m embryo_gui.gui.screenshot --review [DIR] # DIR/review_*.png, 1280x800

The guide pictures follow docs/USER_GUIDE.md: fixing annotations by hand, one-click auto-clean,
exporting a cleaned dataset.  Each picture is kept under ``MAX_BYTES`` (scaled down if needed).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..policy import LOST_KINDS

MAX_BYTES = 300_000


def _app():
    from PySide6 import QtWidgets

    from .theme import apply_theme
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["embryo-gui"])
    apply_theme(app, "light")
    return app


def _settle(app, seconds: float = 0.15) -> None:
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.01)


def _window(tmp: Path, project, size):
    from PySide6 import QtCore

    from .main_window import MainWindow
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp / "recovery", ask=False)
    win.resize(*size)
    win.show()
    win.set_project(project)
    return win


def save_image(image, out: "str | Path", max_bytes: int = MAX_BYTES) -> Path:
    """Save a QImage/QPixmap as PNG, scaling it down in steps until the file is under ``max_bytes``."""
    from PySide6 import QtCore, QtGui
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    img = image.toImage() if isinstance(image, QtGui.QPixmap) else image
    scale = 1.0
    while True:
        shot = img if scale == 1.0 else img.scaledToWidth(int(img.width() * scale),
                                                          QtCore.Qt.TransformationMode.SmoothTransformation)
        shot.save(str(out), "PNG", 9)
        if out.stat().st_size <= max_bytes or scale < 0.4:
            return out
        scale *= 0.85


def _scratch(prefix: str) -> Path:
    """A scratch folder for a demo project, removed when the process ends (a demo project of the
    review screenshots is ~200 MB: left behind, each run filled /tmp)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, tmp, True)
    return tmp


def make_screenshot(out: "str | Path", n_frames: int = 160, size=(1500, 950)) -> Path:
    """The main window on an auto-cleaned demo project (docs/screenshot_main.png)."""
    from ..app.autoclean import autoclean_project
    from ..demo import write_demo_project

    app = _app()
    tmp = _scratch("embryo-gui-shot-")
    project = write_demo_project(tmp / "demo.h5", n_embryos=3, n_frames=n_frames, seed=1)
    autoclean_project(project)
    win = _window(tmp, project, size)
    for col in ("A", "E", "M", "P"):
        win.edit_bar.lineage_toggles[col].setChecked(True)
    e = win.embryo
    flagged = np.flatnonzero(e.flags.any_of(("red_artifact",)))
    win.session.set_frame(int(flagged[len(flagged) // 2]) if flagged.size else e.n_frames // 2)
    _settle(app)
    out = save_image(win.grab(), out, max_bytes=600_000)
    win.ask = False
    win.close()
    return out


def _wait_idle(app, win, timeout: float = 120.0) -> None:
    t_end = time.perf_counter() + timeout
    while win.work.busy and time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.005)
    _settle(app)


def _a_dip(embryo) -> tuple[int, int]:
    """A short span of wrong annotation to fix by hand: the demo's first injected dip (a cliff run
    that does not reach the end), else its first mislabelled frame; padded by two frames."""
    from .view_model import runs
    t = embryo.truth
    n = embryo.n_frames
    if "cliff" in t:
        for a, b in runs(np.asarray(t["cliff"], bool)):
            if b < n - 3:
                return max(int(a) - 2, 0), min(int(b) + 1, n - 1)
    bad = np.flatnonzero(np.asarray(t.get("mislabelled", np.zeros(n)), bool))
    f = int(bad[0]) if bad.size else n // 3
    return max(f - 2, 0), min(f + 2, n - 1)


def make_guide(out_dir: "str | Path" = "docs", n_frames: int = 160, size=(1500, 880)) -> list[Path]:
    """The user guide's pictures (guide_*.png) in ``out_dir``; returns the files written."""
    from ..demo import write_demo_project
    from .dialogs.export import ExportDialog
    from .dialogs.summary import SummaryDialog

    out_dir = Path(out_dir)
    app = _app()
    tmp = _scratch("embryo-gui-guide-")
    project = write_demo_project(tmp / "demo.h5", n_embryos=3, n_frames=n_frames, seed=1)
    win = _window(tmp, project, size)
    written: list[Path] = []

    # 1. fix by hand: select a range, interpolate it, exclude a frame, undo list
    e = win.embryo
    a, b = _a_dip(e)
    win.session.set_frame(a)
    win.select_range(a, b)
    lo, hi = max(a - 40, 0), min(b + 40, e.n_frames - 1)
    win.curve.getPlotItem().getViewBox().setXRange(lo, hi, padding=0.02)
    _settle(app)
    written.append(save_image(win.grab(), out_dir / "guide_fix_select.png"))
    win.interpolate()
    black = np.flatnonzero(np.asarray(e.truth.get("red_artifact", np.zeros(e.n_frames)), bool))
    if black.size:
        win.select_range(int(black[0]), int(black[0]))
        win.set_excluded(True)
    win.select_range(a, b)
    win.history_dock.raise_()
    _settle(app)
    written.append(save_image(win.grab(), out_dir / "guide_fix_undo.png"))
    # back to the untouched state for the next job
    while win.session.can_undo:
        win.session.undo()
    win.clear_selection()
    win.trainer_dock.raise_()

    # 2. one-click auto-clean: the summary, then the window after it
    win.autoclean()
    _wait_idle(app, win)
    dlg = SummaryDialog(win.last_summary or [], win)
    dlg.show()
    _settle(app)
    written.append(save_image(dlg.grab(), out_dir / "guide_autoclean_summary.png"))
    dlg.close()
    win.curve.getPlotItem().enableAutoRange()
    flagged = np.flatnonzero(win.embryo.flags.any_of(LOST_KINDS))
    win.session.set_frame(int(flagged[len(flagged) // 2]) if flagged.size else 0)
    _settle(app)
    written.append(save_image(win.grab(), out_dir / "guide_autoclean_after.png"))

    # 3. export
    exp = ExportDialog(project.path.with_name("demo_dataset"), win)
    exp.out.setText("/home/me/embryos/demo_dataset.h5")
    exp.resize_check.setChecked(True)
    exp.csv.setChecked(True)
    exp.show()
    _settle(app)
    written.append(save_image(exp.grab(), out_dir / "guide_export.png"))
    exp.close()
    win.ask = False
    win.close()
    return written


def make_review(out_dir: "str | Path" = "docs", n_frames: int = 160, size=(1280, 800)) -> list[Path]:
    """The review workflow at 1280x800 (issue 10): the first view of the demo (detections found on
    open), the triage queue walking them, and the auto-clean draft before it is applied."""
    from ..demo import write_demo_project

    out_dir = Path(out_dir)
    app = _app()
    tmp = _scratch("embryo-gui-review-")
    project = write_demo_project(tmp / "demo.h5", n_embryos=3, n_frames=n_frames, seed=1)
    project.save()
    path = project.path
    project.close()
    from PySide6 import QtCore

    from .main_window import MainWindow
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp / "recovery", ask=False)
    win.resize(*size)
    win.show()
    win.enable_review()
    done = []
    win.detectionFinished.connect(done.append)
    win.open_project(path)
    t_end = time.perf_counter() + 120
    while not done and time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.005)
    _settle(app, 0.3)
    written = [save_image(win.grab(), out_dir / "review_first_view.png", max_bytes=450_000)]

    # the triage queue: raised, walked to its third item
    win.triage.raise_()
    win.triage.list.setFocus()
    for _ in range(3):
        win.triage.next()
    _settle(app, 0.3)
    written.append(save_image(win.grab(), out_dir / "review_triage_queue.png", max_bytes=450_000))

    # the auto-clean draft: computed, shown hatched, not applied
    win.autoclean()
    _wait_idle(app, win)
    d = (win.draft or {}).get(win.embryo.name)
    if d is not None and d.n_changes:
        f = int(np.flatnonzero(d.newly_excluded | d.repaired)[0])
        win.session.set_frame(f)
    _settle(app, 0.3)
    written.append(save_image(win.grab(), out_dir / "review_autoclean_draft.png", max_bytes=450_000))
    win.ask = False
    win.close()
    return written


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1 and sys.argv[1] == "--review":
        for p in make_review(sys.argv[2] if len(sys.argv) > 2 else "docs"):
            print(p, p.stat().st_size)
    elif len(sys.argv) > 1 and sys.argv[1] == "--guide":
        for p in make_guide(sys.argv[2] if len(sys.argv) > 2 else "docs"):
            print(p, p.stat().st_size)
    else:
        print(make_screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot_main.png"))
