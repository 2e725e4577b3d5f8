"""Review a batch in the window: ``embryo-gui OUT_DIR`` (a folder written by ``embryo-repair batch``)
opens its first project; File > Next project / Previous project go through the others in report
order.  The list itself is Qt-free (:class:`embryo_gui.batch.review.BatchReview`)."""

from __future__ import annotations

import os

from PySide6 import QtCore, QtGui

from ..batch.review import BatchReview, is_batch_folder
from ..errors import EmbryoError


def open_path(win, path: "str | os.PathLike[str]") -> bool:
    """Open a project file, or a batch output folder as a list of projects to review."""
    if is_batch_folder(path):
        return open_batch(win, path)
    return win.open_project(path)


def open_batch(win, out_dir) -> bool:
    try:
        review = BatchReview(out_dir)
    except EmbryoError as exc:
        win.notifier.error(str(exc))
        return False
    if not win.open_project(review.current):
        return False
    _install(win, review)
    return True


def _install(win, review: BatchReview) -> None:
    old = getattr(win, "batch_review", None)
    win.batch_review = review
    if old is None:
        win.act_next_project = _action(win, "Next &project", lambda: step_project(win, 1), "Ctrl+Alt+PgDown",
                                       "Open the next project of the batch (report order)")
        win.act_prev_project = _action(win, "Pre&vious project", lambda: step_project(win, -1), "Ctrl+Alt+PgUp",
                                       "Open the previous project of the batch (report order)")
        file_menu = win.menuBar().actions()[0].menu()
        before = getattr(win, "act_save", None)
        if before is not None and before in file_menu.actions():
            file_menu.insertActions(before, [win.act_prev_project, win.act_next_project])
            file_menu.insertSeparator(before)
        else:
            file_menu.addActions([win.act_prev_project, win.act_next_project])
    _update(win)


def _action(win, text: str, slot, key: str, tip: str) -> QtGui.QAction:
    a = QtGui.QAction(text, win)
    a.setShortcut(QtGui.QKeySequence(key))
    a.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    a.setToolTip(f"{tip} ({key})")
    a.setStatusTip(tip)
    a.triggered.connect(lambda _=False: slot())
    win.addAction(a)
    return a


def step_project(win, delta: int) -> bool:
    """Open the next (``delta=1``) or previous (``-1``) project of the batch; False at either end,
    when the user keeps the current one (unsaved changes, Cancel) or it cannot be opened."""
    review: BatchReview = win.batch_review
    k = review.index
    path = review.step(delta)
    if path is None:
        win.statusBar().showMessage("no " + ("next" if delta > 0 else "previous") + " project in this batch", 4000)
        return False
    if not win.open_project(path):
        review.index = k
        _update(win)
        return False
    _update(win)
    return True


def _update(win) -> None:
    review: BatchReview = win.batch_review
    win.act_next_project.setEnabled(review.has_next)
    win.act_prev_project.setEnabled(review.has_previous)
    win.statusBar().showMessage(review.position_text(), 10000)
    title = win.windowTitle()
    tag = f"  [{review.index + 1}/{len(review)}]"
    if not title.endswith(tag):
        win.setWindowTitle(title.split("  [")[0] + tag)
