"""Main-window actions: every QAction with its shortcut, the toolbar, the menus, and which
actions are enabled (project open, embryo shown, no long job running)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from .cheat_sheet import CheatSheet, plain, shortcut_text
from .icons import icon


class ActionsMixin:
    """QActions, toolbar and menus of :class:`~embryo_gui.gui.main_window.MainWindow`."""

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon_name: str | None = None,
                auto_repeat: bool = False) -> QtGui.QAction:
        a = QtGui.QAction(text, self)
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
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        K = QtCore.Qt.Key
        M = QtCore.Qt.KeyboardModifier
        self.act_new = A("&New project from video...", self.new_project_dialog, QtGui.QKeySequence.StandardKey.New)
        self.act_open = A("&Open project...", self.open_dialog, QtGui.QKeySequence.StandardKey.Open,
                          icon_name="open")
        self.act_save = A("&Save", self.save, "Ctrl+S", "Save the project (atomic)", "save")
        self.act_export = A("&Export cleaned dataset...", self.export_dialog, "Ctrl+Shift+E",
                            icon_name="export")
        self.act_quit = A("&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)
        self.act_undo = A("&Undo", self.undo.stack.undo, "Ctrl+Z", icon_name="undo")
        self.act_redo = A("&Redo", self.undo.stack.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], icon_name="redo")
        self.act_set_value = A("Set &value...", self.set_value_dialog, "Ctrl+Shift+V",
                               "Set the edited column on the selected frames")
        self.act_interpolate = A("&Interpolate", self.interpolate, "Ctrl+I",
                                 "Interpolate the selected frames from their annotated neighbours", "interpolate")
        self.act_refit = A("Refit &monotone", self.refit, "Ctrl+M",
                           "Refit the selected frames non-decreasing", "refit")
        self.act_exclude = A("E&xclude", lambda: self.set_excluded(True), "Ctrl+E",
                             "Exclude the selected frames from the dataset", "exclude")
        self.act_include = A("In&clude", lambda: self.set_excluded(False), "Ctrl+Shift+I",
                             "Include the selected frames again", "include")
        self.act_truncate = A("&Truncate after cursor", self.truncate, "Ctrl+Shift+T",
                              "Exclude every frame after the current one", "truncate")
        self.act_accept = A("&Accept cliff at cursor", lambda: self.decide_cliff(None, True), "Ctrl+Shift+A")
        self.act_reject = A("&Reject cliff at cursor", lambda: self.decide_cliff(None, False), "Ctrl+Shift+R")
        self.act_autoclean = A("Auto-&clean", self.autoclean, "Ctrl+Shift+C",
                               "Detect and repair corrupt frames and cliffs (one undo step per embryo)",
                               "autoclean")
        self.act_train = A("Start &training", lambda: self.start_training(self.trainer.settings()), None,
                           "Train the lossy-frame CNN", "train")
        # navigation (none of these changes data)
        self.act_next = A("Next frame", lambda: self.cursor.step(1), K.Key_Right, auto_repeat=True)
        self.act_prev = A("Previous frame", lambda: self.cursor.step(-1), K.Key_Left, auto_repeat=True)
        self.act_next10 = A("Forward 10 frames", lambda: self.cursor.step(10),
                            QtGui.QKeySequence(M.ShiftModifier | K.Key_Right), auto_repeat=True)
        self.act_prev10 = A("Back 10 frames", lambda: self.cursor.step(-10),
                            QtGui.QKeySequence(M.ShiftModifier | K.Key_Left), auto_repeat=True)
        self.act_next100 = A("Forward 100 frames", lambda: self.cursor.step(100), K.Key_PageDown,
                             auto_repeat=True)
        self.act_prev100 = A("Back 100 frames", lambda: self.cursor.step(-100), K.Key_PageUp, auto_repeat=True)
        self.act_first = A("First frame", lambda: self.cursor.seek(0), K.Key_Home)
        self.act_last = A("Last frame", lambda: self.cursor.seek(self.cursor.n_frames - 1), K.Key_End)
        self.act_play = A("Play", self.toggle_play, K.Key_Space, icon_name="play")
        self.act_next_flag = A("Next flagged frame", lambda: self.jump_flag(True), K.Key_N, icon_name="next-flag")
        self.act_prev_flag = A("Previous flagged frame", lambda: self.jump_flag(False),
                               QtGui.QKeySequence(M.ShiftModifier | K.Key_N), icon_name="previous-flag")
        self.act_goto = A("&Go to frame...", self.goto_dialog, "Ctrl+G")
        self.act_clear_sel = A("Clear selection", self.clear_selection, K.Key_Escape)
        self.act_fit = A("Fit frame", self.video.fit, "Ctrl+0", icon_name="zoom-fit")
        self.act_about = A("&About embryo-gui", self.about_dialog)
        self.act_keys = A("&Keyboard shortcuts", self.show_cheat_sheet, K.Key_F1)
        self.undo.stack.canUndoChanged.connect(self.act_undo.setEnabled)
        self.undo.stack.canRedoChanged.connect(self.act_redo.setEnabled)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)

        # The toolbar fits a 1024 px window: the workflow comes first and keeps its text (Open,
        # Save, Auto-clean, Train, Export, Play/Pause); the editing tools are icons with tooltips.
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
        for a, short in ((self.act_open, "Open"), (self.act_prev_flag, "Prev flag"), (self.act_next_flag, "Next flag"),
                         (self.act_play, "Play"), (self.act_refit, "Refit"), (self.act_truncate, "Truncate"),
                         (self.act_train, "Train"), (self.act_export, "Export"), (self.act_autoclean, "Auto-clean")):
            a.setIconText(short)
        with_text = (self.act_open, self.act_save, self.act_autoclean, self.act_train, self.act_export, self.act_play)
        for a in (self.act_open, self.act_save, None, self.act_undo, self.act_redo, None, self.act_autoclean,
                  self.act_train, self.act_export, None, self.act_prev_flag, self.act_play, self.act_next_flag, None,
                  self.act_interpolate, self.act_refit, self.act_exclude, self.act_include, self.act_truncate):
            if a is None:
                tb.addSeparator()
                continue
            tb.addAction(a)
            if a in with_text:
                tb.widgetForAction(a).setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar = tb

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for a in (self.act_new, self.act_open):
            f.addAction(a)
        self.recent_menu = f.addMenu("Open &recent")
        self._fill_recent()
        for a in (None, self.act_save, self.act_export, None, self.act_quit):
            f.addSeparator() if a is None else f.addAction(a)
        e = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, None, self.act_set_value, self.act_interpolate, self.act_refit,
                  self.act_exclude, self.act_include, self.act_truncate, None, self.act_accept, self.act_reject,
                  None, self.act_autoclean, self.act_train):
            e.addSeparator() if a is None else e.addAction(a)
        v = mb.addMenu("&View")
        for a in (self.act_goto, self.act_next, self.act_prev, self.act_next10, self.act_prev10, self.act_next100,
                  self.act_prev100, self.act_first, self.act_last, self.act_play, self.act_next_flag,
                  self.act_prev_flag, self.act_clear_sel, self.act_fit, None):
            v.addSeparator() if a is None else v.addAction(a)
        for d in (self.embryo_dock, self.trainer_dock, self.history_dock):
            v.addAction(d.toggleViewAction())
        h = mb.addMenu("&Help")
        h.addAction(self.act_keys)
        h.addAction(self.act_about)
        self._menus = [(m.title().replace("&", ""), [a for a in m.actions() if not a.isSeparator()])
                       for m in (f, e, v, h)]

    def _update_enabled(self) -> None:
        has = self.embryo is not None
        idle = self._busy is None
        for a in (self.act_set_value, self.act_interpolate, self.act_refit, self.act_exclude, self.act_include,
                  self.act_truncate, self.act_accept, self.act_reject):
            a.setEnabled(has and idle)
        for a in (self.act_autoclean, self.act_train, self.act_export):
            a.setEnabled(self.project is not None and bool(self.project.embryos) and idle)
        self.act_save.setEnabled(self.project is not None and idle)
        self.trainer.start_button.setEnabled(self.project is not None and idle)
        self.undo_view.setEnabled(idle)
        if not idle:
            self.act_undo.setEnabled(False)
            self.act_redo.setEnabled(False)
        else:
            self.act_undo.setEnabled(self.undo.stack.canUndo())
            self.act_redo.setEnabled(self.undo.stack.canRedo())

    def show_cheat_sheet(self) -> None:
        """F1: the keyboard cheat sheet (non-modal; F1 again or Esc closes it)."""
        sheet = getattr(self, "cheat_sheet", None)
        if sheet is not None and sheet.isVisible():
            sheet.close()
            return
        self.cheat_sheet = CheatSheet(self._menus, self)
        self.cheat_sheet.show()

    def about_dialog(self) -> None:
        from .dialogs.about import AboutDialog
        AboutDialog(self).exec()
