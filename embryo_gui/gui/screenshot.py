"""Render the main window on a demo project to docs/screenshot_main.png.

    QT_QPA_PLATFORM=offscreen python -m embryo_gui.gui.screenshot [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np


def make_screenshot(out: "str | Path", n_frames: int = 160, size=(1500, 950)) -> Path:
    from PySide6 import QtCore, QtWidgets

    from ..autoclean import autoclean_project
    from ..demo import write_demo_project
    from .main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["embryo-gui"])
    from .theme import apply_theme
    apply_theme(app, "light")
    tmp = Path(tempfile.mkdtemp(prefix="embryo-gui-shot-"))
    project = write_demo_project(tmp / "demo.h5", n_embryos=3, n_frames=n_frames, seed=1)
    autoclean_project(project)
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp / "recovery", ask=False)
    win.resize(*size)
    win.show()
    win.set_project(project)
    for col in ("A", "E", "M", "P"):
        win.lineage_toggles[col].setChecked(True)
    e = win.embryo
    flagged = np.flatnonzero(e.flags.any_of(("red_artifact",)))
    win.cursor.seek(int(flagged[len(flagged) // 2]) if flagged.size else e.n_frames // 2)
    for _ in range(10):
        app.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out))
    win.ask = False
    win.close()
    return out


if __name__ == "__main__":  # pragma: no cover
    print(make_screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot_main.png"))
