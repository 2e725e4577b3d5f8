"""Shared set-up of the GUI tests: a tiny demo project written once per module, copied per test,
and a real MainWindow with its settings and recovery folder in the test's temp folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def write_demo_dir(tmp_path_factory, n_embryos: int, n_frames: int, seed: int, shape) -> Path:
    from embryo_gui.demo import write_demo_project
    d = tmp_path_factory.mktemp("demo")
    write_demo_project(d / "demo.h5", n_embryos=n_embryos, n_frames=n_frames, seed=seed,
                       frame_shape=shape).close()
    return d


def copy_project(demo_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(demo_dir, dst)
    return dst / "demo.h5"


def open_window(qtbot, tmp_path: Path, path=None, size=(1200, 800)):
    from PySide6 import QtCore

    from embryo_gui.gui.main_window import MainWindow
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp_path / "recovery", ask=False)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    if path is not None:
        assert win.open_project(path)
    return win


def tiny_training(win) -> dict:
    """Trainer settings for tests: one epoch of a tiny model on 16 px frames, on the CPU."""
    win.trainer.epochs.setValue(1)
    win.trainer.size.setValue(16)
    win.trainer.folds.setValue(2)
    win.trainer.rounds.setValue(0)
    s = win.trainer.settings()
    s.update({"batch_size": 8, "width": 4, "threads": 1, "device": "cpu", "min_error": 0.0})
    return s
