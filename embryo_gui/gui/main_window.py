"""The main window: video view, timeline, population plot, docks (embryos, trainer, history).

A thin composition: each concern lives in its own mixin module and works on the window's
attributes (set up here):

* :mod:`.window_layout`   widgets, docks, persisted layout
* :mod:`.window_actions`  actions, shortcuts, toolbar, menus, enabled state
* :mod:`.file_ops`        open / save / autosave / recent files / drag and drop
* :mod:`.embryo_display`  the current embryo's frame, marks, curves, embryo list
* :mod:`.navigation`      selection, flag jumps, go to, playback
* :mod:`.edit_commands`   edits on the selection, cliff decisions, lossy threshold
* :mod:`.long_jobs`       auto-clean, training, export, import jobs (:mod:`.job_runner`)
* :mod:`.status_bar`      status-bar line, title, errors

It holds no repair logic.  Every change to an embryo is one core edit pushed through
:class:`~embryo_gui.gui.undo.UndoController`; long work runs in :mod:`~embryo_gui.gui.job_runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from ..model import Project
from .edit_commands import EditCommandsMixin
from .embryo_display import EmbryoDisplayMixin
from .file_ops import AUTOSAVE_MS, FileOpsMixin, _default_recovery_dir
from .frame_cache import FrameCache
from . import gc_guard
from .icons import app_icon
from .job_runner import JobHandle, JobRunner
from .key_guard import TypingKeyGuard, guard_typing
from .long_jobs import LongJobsMixin
from .navigation import NavigationMixin
from .status_bar import StatusMixin
from .undo import UndoController
from .view_model import FrameCursor
from .window_actions import ActionsMixin
from .window_layout import LayoutMixin


class MainWindow(LayoutMixin, ActionsMixin, FileOpsMixin, EmbryoDisplayMixin, NavigationMixin,
                 EditCommandsMixin, LongJobsMixin, StatusMixin, QtWidgets.QMainWindow):
    """The embryo-gui main window (the mixins come first so their Qt event handlers, e.g.
    ``closeEvent`` and ``dropEvent``, override QMainWindow's)."""

    projectChanged = QtCore.Signal()
    frameShown = QtCore.Signal(int)
    importPreviewShown = QtCore.Signal(int)  # frame of an import in progress shown (gui/long_jobs.py)
    workFinished = QtCore.Signal(str)  # "train", "train-cancelled", "autoclean", "export", "import", "...-failed"
    jobProgress = QtCore.Signal(str, object)  # (job kind, progress dict), after the window's own handling

    def __init__(self, settings: QtCore.QSettings | None = None, recovery_dir: Path | None = None,
                 autosave_ms: int = AUTOSAVE_MS, ask: bool = True) -> None:
        super().__init__()
        # the frame cache's read-ahead thread and the job threads must never run the cyclic
        # collector (it would destroy Qt objects there): collect in this thread while the window lives
        gc_guard.hold()
        self._gc_held = True
        self.settings = settings if settings is not None else QtCore.QSettings("embryo-gui", "embryo-gui")
        self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else _default_recovery_dir()
        self.ask = ask  # False in tests: never block on a modal question
        self.project: Project | None = None
        self.embryo: Any = None
        self.cursor = FrameCursor()
        self.cursor.add_listener(self._on_cursor)
        self.undo = UndoController(self)
        self.undo.changed.connect(self._on_embryo_changed)
        self.undo.stack.cleanChanged.connect(self._on_stack_changed)
        self.undo.stack.indexChanged.connect(self._on_stack_changed)
        self._masks: dict[str, np.ndarray] = {}
        self._restored_dirty = False
        self._busy: str | None = None
        self.jobs = JobRunner(self)
        self.worker: JobHandle | None = None
        self.last_result: Any = None
        self.last_summary: list | None = None
        self.last_error: str | None = None
        self.live_lossy: dict[str, np.ndarray] = {}  # frames the running trainer marked so far

        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_widgets()
        self.key_guard = TypingKeyGuard(self)
        guard_typing(self, self.key_guard)  # keys typed in a spin box never move the frame
        self._build_actions()
        self._build_menus()
        self._restore_layout()
        self._update_title()
        self._update_enabled()

        self.status_timer = QtCore.QTimer(self, singleShot=True, interval=40)
        self.status_timer.timeout.connect(self.update_status)
        self.frame_cache: FrameCache | None = None
        self._direction = 1
        self.prefetch_timer = QtCore.QTimer(self, singleShot=True, interval=3)  # after the paint
        self.prefetch_timer.timeout.connect(self._prefetch)
        self.play_timer = QtCore.QTimer(self)
        self.play_timer.timeout.connect(self._play_tick)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(int(autosave_ms))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()


__all__ = ["MainWindow"]
