"""The window's actions: every QAction with its shortcut (shown in its tooltip), the toolbar, the
menus, and which actions are enabled (project open, embryo shown, the Session's running job).

Editing, saving and undo stay enabled while the trainer, the detectors or an export run (each
works on the state it was started on, its result applied to the state it finds, conflicts and
decisions made meanwhile reported: :mod:`.long_jobs`, :func:`embryo_gui.app.detecting.detection_apply`,
:func:`embryo_gui.app.exporting.changed_since`); auto-clean and import change the whole project, so
edits wait for them.  The Session decides (``policy.JOBS_ALLOWING_EDITS``, ``Session.editing_allowed``,
its read-only state); this only shows it.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6 import QtCore, QtGui

from .cheat_sheet import plain, shortcut_text
from .icons import icon


def action(win: Any, text: str, slot: Callable[[], Any], shortcut=None, tip: str = "",
           icon_name: str | None = None, auto_repeat: bool = False) -> QtGui.QAction:
    a = QtGui.QAction(text, win)
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
        a.setShortcuts([QtGui.QKeySequence(k) for k in keys])
        a.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    a.setAutoRepeat(auto_repeat)
    tip = tip or plain(text)
    keys_text = shortcut_text(a)
    a.setToolTip(f"{tip} ({keys_text})" if keys_text else tip)  # shortcuts in every tooltip
    a.setStatusTip(tip)
    if icon_name:
        a.setIcon(icon(icon_name))
    a.triggered.connect(lambda _=False: slot())
    win.addAction(a)
    return a


def build(win: Any) -> None:
    """Create ``win.act_*``, the toolbar ``win.toolbar`` and the menus."""
    A = lambda *a, **k: action(win, *a, **k)  # noqa: E731
    K = QtCore.Qt.Key
    M = QtCore.Qt.KeyboardModifier
    SK = QtGui.QKeySequence.StandardKey
    s, nav, ed, work, files = win.session, win.nav, win.edits, win.work, win.files
    win.act_new = A("&New project from video...", win.new_project_dialog, SK.New)
    win.act_open = A("&Open project...", files.open_dialog, SK.Open, icon_name="open")
    win.act_open_read_only = A("Open &read-only...", files.open_read_only_dialog, None,
                               "Open a project to look at it, without changing it (even one another "
                               "window or script holds)")
    win.act_reopen_edit = A("Reopen for &editing", files.reopen_for_editing, None,
                            "Open the read-only project for editing, once nobody else holds it")
    win.act_save = A("&Save", win.save, "Ctrl+S", "Save the project (atomic)", "save")
    win.act_export = A("&Export cleaned dataset...", win.export_dialog, "Ctrl+Shift+E", icon_name="export")
    win.act_properties = A("Embryo &properties...", win.embryo_properties_dialog, "Ctrl+Shift+P",
                           "The embryo's video, annotations, and its alignment checked against the pixels")
    win.act_quit = A("&Quit", win.close, SK.Quit)
    win.act_undo = A("&Undo", win.undo, "Ctrl+Z", "Undo the last step (whichever embryo)", "undo")
    win.act_redo = A("&Redo", win.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", "redo")
    win.act_set_value = A("Set &value...", ed.set_value_dialog, "Ctrl+Shift+V",
                          "Set the edited column on the selected frames")
    win.act_interpolate = A("&Interpolate", ed.interpolate, "Ctrl+I",
                            "Interpolate the selected frames from their annotated neighbours", "interpolate")
    win.act_refit = A("Refit &monotone", ed.refit, "Ctrl+M", "Refit the selected frames non-decreasing", "refit")
    win.act_exclude = A("E&xclude", lambda: ed.set_excluded(True), "Ctrl+E",
                        "Exclude the selected frames from the dataset", "exclude")
    win.act_include = A("In&clude", lambda: ed.set_excluded(False), "Ctrl+Shift+I",
                        "Include the selected frames again", "include")
    win.act_truncate = A("&Truncate after cursor", ed.truncate, "Ctrl+Shift+T",
                         "Exclude every frame after the current one", "truncate")
    win.act_accept = A("&Accept cliff at cursor", lambda: ed.decide_cliff(None, True), "Ctrl+Shift+A")
    win.act_reject = A("&Reject cliff at cursor", lambda: ed.decide_cliff(None, False), "Ctrl+Shift+R")
    win.act_autoclean = A("Auto-&clean", work.autoclean, "Ctrl+Shift+C",
                          "Detect and repair corrupt frames and cliffs (one undo step per embryo)", "autoclean")
    win.act_detect = A("&Detect problems", work.detect, "Ctrl+Shift+D",
                       "Run the detectors (corrupt frames, cliffs, spikes) on every embryo")
    win.act_train = A("Start &training", lambda: win.start_training(win.trainer.settings()), None,
                      "Train the lossy-frame CNN (in the background: keep working)", "train")
    # navigation (none of these changes data)
    win.act_next = A("Next frame", lambda: nav.step(1), K.Key_Right, auto_repeat=True)
    win.act_prev = A("Previous frame", lambda: nav.step(-1), K.Key_Left, auto_repeat=True)
    win.act_next10 = A("Forward 10 frames", lambda: nav.step(10), QtGui.QKeySequence(M.ShiftModifier | K.Key_Right),
                       auto_repeat=True)
    win.act_prev10 = A("Back 10 frames", lambda: nav.step(-10), QtGui.QKeySequence(M.ShiftModifier | K.Key_Left),
                       auto_repeat=True)
    win.act_next100 = A("Forward 100 frames", lambda: nav.step(100), K.Key_PageDown, auto_repeat=True)
    win.act_prev100 = A("Back 100 frames", lambda: nav.step(-100), K.Key_PageUp, auto_repeat=True)
    win.act_first = A("First frame", lambda: nav.goto(0), K.Key_Home)
    win.act_last = A("Last frame", nav.last, K.Key_End)
    win.act_play = A("Play", nav.toggle_play, K.Key_Space, icon_name="play")
    win.act_next_flag = A("Next flagged frame", lambda: nav.jump_flag(True), K.Key_N, icon_name="next-flag")
    win.act_prev_flag = A("Previous flagged frame", lambda: nav.jump_flag(False),
                          QtGui.QKeySequence(M.ShiftModifier | K.Key_N), icon_name="previous-flag")
    win.act_goto = A("&Go to frame...", nav.goto_dialog, "Ctrl+G")
    win.act_clear_sel = A("Clear selection", win.selection.clear, K.Key_Escape)
    win.act_fit = A("Fit frame", win.video.fit, "Ctrl+0", icon_name="zoom-fit")
    win.act_zoom_in = A("Zoom in on the frame", lambda: win.video.zoom_by(1.25), ["Ctrl++", "Ctrl+="])
    win.act_zoom_out = A("Zoom out of the frame", lambda: win.video.zoom_by(0.8), "Ctrl+-")
    win.act_keys = A("&Keyboard shortcuts", win.show_cheat_sheet, K.Key_F1)
    win.act_about = A("&About embryo-gui", win.about_dialog)
    nav.playingChanged.connect(lambda playing: show_playing(win, playing))

    # The toolbar fits a 1024 px window: the workflow comes first and keeps its text (Open, Save,
    # Auto-clean, Train, Export, Play/Pause); the editing tools are icons with tooltips.
    tb = win.addToolBar("Main")
    tb.setObjectName("toolbar_main")
    tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
    for a, short in ((win.act_open, "Open"), (win.act_prev_flag, "Prev flag"), (win.act_next_flag, "Next flag"),
                     (win.act_play, "Play"), (win.act_refit, "Refit"), (win.act_truncate, "Truncate"),
                     (win.act_train, "Train"), (win.act_export, "Export"), (win.act_autoclean, "Auto-clean")):
        a.setIconText(short)
    with_text = (win.act_open, win.act_save, win.act_autoclean, win.act_train, win.act_export, win.act_play)
    for a in (win.act_open, win.act_save, None, win.act_undo, win.act_redo, None, win.act_autoclean,
              win.act_train, win.act_export, None, win.act_prev_flag, win.act_play, win.act_next_flag, None,
              win.act_interpolate, win.act_refit, win.act_exclude, win.act_include, win.act_truncate):
        if a is None:
            tb.addSeparator()
            continue
        tb.addAction(a)
        if a in with_text:
            tb.widgetForAction(a).setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    win.toolbar = tb

    mb = win.menuBar()
    f = mb.addMenu("&File")
    for a in (win.act_new, win.act_open, win.act_open_read_only, win.act_reopen_edit):
        f.addAction(a)
    win.recent_menu = f.addMenu("Open &recent")
    fill_recent(win)
    win.files.recentChanged.connect(lambda: fill_recent(win))
    for a in (None, win.act_save, win.act_export, win.act_properties, None, win.act_quit):
        f.addSeparator() if a is None else f.addAction(a)
    e = mb.addMenu("&Edit")
    for a in (win.act_undo, win.act_redo, None, win.act_set_value, win.act_interpolate, win.act_refit,
              win.act_exclude, win.act_include, win.act_truncate, None, win.act_accept, win.act_reject,
              None, win.act_detect, win.act_autoclean, win.act_train):
        e.addSeparator() if a is None else e.addAction(a)
    v = mb.addMenu("&View")
    for a in (win.act_goto, win.act_next, win.act_prev, win.act_next10, win.act_prev10, win.act_next100,
              win.act_prev100, win.act_first, win.act_last, win.act_play, win.act_next_flag,
              win.act_prev_flag, win.act_clear_sel, win.act_fit, win.act_zoom_in, win.act_zoom_out, None):
        v.addSeparator() if a is None else v.addAction(a)
    win.view_menu = v
    for d in (win.embryo_dock, win.trainer_dock, win.history_dock):
        v.addAction(d.toggleViewAction())
    h = mb.addMenu("&Help")
    h.addAction(win.act_keys)
    h.addAction(win.act_about)
    win.menus = [(m.title().replace("&", ""), [a for a in m.actions() if not a.isSeparator()])
                 for m in (f, e, v, h)]


def fill_recent(win: Any) -> None:
    win.recent_menu.clear()
    for path in win.files.recent_files():
        a = win.recent_menu.addAction(path)
        a.triggered.connect(lambda _=False, p=path: win.open_project(p))
    win.recent_menu.setEnabled(bool(win.files.recent_files()))


def show_playing(win: Any, playing: bool) -> None:
    """Play turns into Pause while playing (icon, text, tooltip)."""
    a = win.act_play
    word = "Pause" if playing else "Play"
    a.setIcon(icon("pause" if playing else "play"))
    a.setIconText(word)
    a.setText(word)
    a.setToolTip(f"{word} (Space)")


def update_enabled(win: Any) -> None:
    s = win.session
    has = s.embryo is not None
    idle = s.job is None
    edit = s.editing_allowed   # not read-only, no job that holds editing: the Session's rule
    for a in (win.act_set_value, win.act_interpolate, win.act_refit, win.act_exclude, win.act_include,
              win.act_truncate, win.act_accept, win.act_reject):
        a.setEnabled(has and edit)
    win.act_properties.setEnabled(has)
    project = s.project is not None and bool(s.embryos)
    writable = not s.read_only
    for a in (win.act_autoclean, win.act_detect, win.act_train):
        a.setEnabled(project and idle and writable)
    win.act_export.setEnabled(project and idle)   # an export writes another file: read-only too
    win.act_reopen_edit.setEnabled(s.read_only and idle)
    win.act_save.setEnabled(s.project is not None and edit)
    win.trainer.start_button.setEnabled(s.project is not None and idle and writable)
    win.history.setEnabled(edit)
    win.act_undo.setEnabled(edit and s.can_undo)
    win.act_redo.setEnabled(edit and s.can_redo)
    win.act_undo.setText(f"&Undo {s.undo_text}" if s.can_undo else "&Undo")
    win.act_redo.setText(f"&Redo {s.redo_text}" if s.can_redo else "&Redo")
