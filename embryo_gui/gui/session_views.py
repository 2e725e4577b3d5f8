"""The views bound to the Session: each takes the Session in its constructor, follows its events
and reads the model when it draws; none keeps a copy of the Session's state (napari's
``QtDimsSlider(dims)`` pattern).  The widgets they extend (:mod:`.timeline`, :mod:`.curve_plot`,
:mod:`.embryo_list`, :mod:`.trainer_panel`) only draw and emit requests.

* :class:`TimelineView`  flag marks, unannotated frames, cursor, selection; clicks seek
* :class:`CurveView`     the curves, cliffs, excluded frames, cursor, selection; clicks seek
* :class:`EmbryoListView` one row per embryo; choosing one selects it in the Session
* :class:`HistoryView`   the project's ONE undo stack (every embryo); a click goes back or forward to that step
* :class:`TrainerView`   the trainer panel showing the current embryo's per-frame loss
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .curve_plot import CurvePlot
from .embryo_list import EmbryoList, list_row
from .timeline import Timeline
from .trainer_panel import TrainerPanel
from .view_model import Selection, Subscriptions, flag_masks, unannotated_mask


def bind(view: QtCore.QObject, session: Any) -> Subscriptions:
    """Give ``view`` its Session and its subscriptions, dropped when the widget goes (or on
    ``view.subs.disconnect_all()``, which the window calls when it closes)."""
    view.session = session
    view.subs = Subscriptions()
    view.destroyed.connect(view.subs.disconnect_all)
    return view.subs


def bind_frame_view(view: Any, session: Any, selection: Selection) -> Subscriptions:
    """The wiring the two frame-axis views (timeline, curve) share: follow the current embryo, the
    frame and the history; show and set the shared ``selection``; clicks seek.  ``view`` gives
    ``reload()``, ``set_cursor``, ``set_selection``, ``_on_history`` and the signals
    ``frameRequested`` / ``rangeSelected``."""
    subs = bind(view, session)
    view.selection = selection
    # (a reload of the same file on the same embryo keeps the zoom: events.ProjectChanged.reloaded)
    subs.connect(session.events.embryo_changed, lambda ev: view.reload(keep_view=ev.reloaded))
    subs.connect(session.events.frame_changed, lambda ev: view.set_cursor(ev.frame))
    subs.connect(session.events.history_changed, view._on_history)
    selection.add_listener(view.set_selection)
    view.frameRequested.connect(session.set_frame)
    view.rangeSelected.connect(functools.partial(_select_range, view))
    return subs


def _select_range(view: Any, a: int, b: int) -> None:
    e = view.session.embryo
    if e is not None:
        view.selection.set(a, b, e.n_frames)


def _cliffs(e: Any) -> list:
    d = e.detections if isinstance(e.detections, dict) else {}
    return d.get("cliffs", []) or []


class TimelineView(Timeline):
    def __init__(self, session: Any, selection: Selection, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.live_lossy: dict[str, np.ndarray] = {}  # the running trainer's marks, not in the model yet
        bind_frame_view(self, session, selection)
        self.reload()

    def _on_history(self, ch) -> None:
        if ch.embryo == self.session.embryo_name:
            self.refresh_marks()

    def reload(self, keep_view: bool = False) -> None:
        e = self.session.embryo
        n = 0 if e is None else e.n_frames
        if not keep_view or n != self.plot.n_frames:
            self.set_length(n)
        self.refresh_marks()
        self.set_selection(self.selection.range)
        self.set_cursor(self.session.frame)

    def refresh_marks(self) -> None:
        e = self.session.embryo
        if e is None:
            self.set_marks({})
            self.set_unannotated(None)
            return
        masks = flag_masks(e)
        live = self.live_lossy.get(e.name)
        if live is not None and len(live) == e.n_frames:
            masks["lossy"] = masks["lossy"] | live
        self.set_marks(masks)
        self.set_unannotated(unannotated_mask(e.current))

    def set_live_lossy(self, live: dict[str, np.ndarray]) -> None:
        """Show the frames the running trainer marked so far (with the saved lossy flags)."""
        self.live_lossy = dict(live)
        self.refresh_marks()


class CurveView(CurvePlot):
    def __init__(self, session: Any, selection: Selection, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        bind_frame_view(self, session, selection)
        self.reload()

    def _on_history(self, ch) -> None:
        if ch.embryo == self.session.embryo_name:
            self.reload(keep_view=True)

    def reload(self, keep_view: bool = False) -> None:
        e = self.session.embryo
        if e is None:
            self.set_data(None)
            return
        self.set_data(e.current, e.original, e.flags.mask("excluded"), _cliffs(e), keep_view=keep_view)
        self.set_selection(self.selection.range)
        self.set_cursor(self.session.frame)


class EmbryoListView(EmbryoList):
    def __init__(self, session: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        subs = bind(self, session)
        subs.connect(session.events.project_changed, lambda _e: self.reload())
        subs.connect(session.events.embryo_changed, self._on_embryo)
        subs.connect(session.events.history_changed, self._on_history)
        self.embryoSelected.connect(session.select_embryo)
        self.reload()

    def reload(self) -> None:
        p = self.session.project
        if p is None:
            self.clear()
            return
        self.set_embryos([list_row(e) for e in p.embryos], self.session.embryo_name)

    def _on_embryo(self, ev) -> None:
        if ev.list_changed:
            self.reload()
        elif ev.name is not None:
            self.select_name(ev.name)

    def _on_history(self, ch) -> None:
        p = self.session.project
        if p is not None and ch.embryo in p.names:
            self.update_state(*list_row(p.embryo(ch.embryo)))


OPENED = "<opened>"


class HistoryView(QtWidgets.QListWidget):
    """The project's one undo stack: ``<opened>``, then every step ``embryo: label`` oldest first;
    the steps after the current one (undone, redo-able) are greyed.  Clicking a line undoes or
    redoes, across embryos, until that step is the last one applied."""

    def __init__(self, session: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        subs = bind(self, session)
        self._filling = False
        subs.connect(session.events.project_changed, lambda _e: self.reload())
        subs.connect(session.events.history_changed, lambda _e: self.reload())
        self.itemClicked.connect(self._clicked)
        self.reload()

    def texts(self) -> list[str]:
        return [self.item(r).text() for r in range(self.count())]

    def position(self) -> int:
        return sum(1 for _n, _l, applied in self.session.steps() if applied)

    def reload(self) -> None:
        self._filling = True
        try:
            steps = self.session.steps()
            self.clear()
            self.addItem(OPENED)
            grey = QtGui.QBrush(QtGui.QColor(150, 150, 150))
            for name, label, applied in steps:
                item = QtWidgets.QListWidgetItem(f"{name}: {label}")
                if not applied:
                    item.setForeground(grey)
                    f = item.font()
                    f.setItalic(True)
                    item.setFont(f)
                self.addItem(item)
            self.setCurrentRow(self.position())
        finally:
            self._filling = False

    def _clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        if not self._filling:
            self.go_to(self.row(item))

    def go_to(self, position: int) -> None:
        """Undo / redo (whichever embryo) until ``position`` steps are applied."""
        s = self.session
        while self.position() > position and s.can_undo:
            s.undo()
        while self.position() < position and s.can_redo:
            s.redo()


class TrainerView(TrainerPanel):
    """The trainer panel showing the current embryo's per-frame loss (the model's score)."""

    def __init__(self, session: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        subs = bind(self, session)
        subs.connect(session.events.embryo_changed, lambda _e: self.show_loss())
        subs.connect(session.events.history_changed, self._on_history)
        self.show_loss()

    def _on_history(self, ch) -> None:
        if ch.embryo == self.session.embryo_name and ch.scores:
            self.show_loss()

    def show_loss(self, drop: float | None = None) -> None:
        e = self.session.embryo
        loss = None if e is None else e.flags.scores.get("loss")
        lossy = None if e is None else e.flags.mask("lossy")
        self.set_frame_loss(loss, drop, lossy=lossy)


__all__ = ["bind", "TimelineView", "CurveView", "EmbryoListView", "HistoryView", "TrainerView"]
