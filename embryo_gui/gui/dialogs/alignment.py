"""The alignment check, shown after an import (:class:`ImportReportDialog`) and in the embryo's
properties (:class:`EmbryoPropertiesDialog`): the mapping used, the one the pixels fit best, a
warning with a one-click re-import when they differ, and a plot of the nuclei counted against the
lineage curve.  A thin face over :mod:`embryo_gui.app.alignment_report` (all the words come
from there)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ...app.alignment_report import alignment_curves, reimport_blocker, summarize
from ...app.importing import frame_storage

WARN_STYLE = ("QLabel { background: #fff1d6; color: #6b3d00; border: 1px solid #e0a040; "
              "border-radius: 4px; padding: 6px; }")


class AlignmentPanel(QtWidgets.QWidget):
    """Headline, warning (hidden when the mapping used fits best), how it was measured, and the
    plot of the early frames.  ``reimport`` / ``keep`` buttons exist only when they differ."""

    reimportRequested = QtCore.Signal(int, float)
    keepRequested = QtCore.Signal()

    def __init__(self, embryo, parent: QtWidgets.QWidget | None = None, offer_reimport: bool = True) -> None:
        super().__init__(parent)
        self.summary = summarize(embryo.alignment)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        s = self.summary
        self.headline = QtWidgets.QLabel(s.headline if s is not None else
                                         "Alignment: not checked against the pixels (no annotations, or "
                                         "imported before the check existed)")
        self.headline.setObjectName("alignmentHeadline")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        lay.addWidget(self.headline)
        self.warning = QtWidgets.QLabel(s.warning if s is not None else "")
        self.warning.setObjectName("alignmentWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARN_STYLE)
        self.warning.setVisible(bool(s is not None and s.warning))
        lay.addWidget(self.warning)
        self.detail = QtWidgets.QLabel(s.detail if s is not None else "")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("alignmentDetail")
        lay.addWidget(self.detail)
        self.plot = self._plot(embryo)
        if self.plot is not None:
            lay.addWidget(self.plot, 1)
        self.reimport_button: QtWidgets.QPushButton | None = None
        self.keep_button: QtWidgets.QPushButton | None = None
        if s is not None and s.suggestion is not None and offer_reimport:
            row = QtWidgets.QHBoxLayout()
            o, f = s.suggestion
            self.reimport_button = QtWidgets.QPushButton(
                f"Re-import with offset {o}" + (f", {f:g} frames per timepoint" if f != s.fpt_used else ""))
            blocker = reimport_blocker(embryo)
            self.reimport_button.setEnabled(not blocker)
            self.reimport_button.setToolTip(blocker or "Decode the video again and map the lineage with the "
                                            "mapping the pixels fit (replaces this embryo)")
            self.reimport_button.clicked.connect(lambda: self.reimportRequested.emit(int(o), float(f)))
            self.keep_button = QtWidgets.QPushButton(f"Keep offset {s.offset_used}")
            self.keep_button.setToolTip("Keep the mapping used (you know it is right)")
            self.keep_button.clicked.connect(self.keepRequested.emit)
            row.addWidget(self.reimport_button)
            row.addWidget(self.keep_button)
            row.addStretch(1)
            lay.addLayout(row)

    def _plot(self, embryo) -> pg.PlotWidget | None:
        c = alignment_curves(embryo)
        if c is None:
            return None
        w = pg.PlotWidget()
        w.setObjectName("alignmentPlot")
        w.setMinimumHeight(170)
        w.setLogMode(x=False, y=True)
        w.showGrid(x=True, y=True, alpha=0.2)
        w.setLabel("bottom", "frame")
        w.setLabel("left", "cells")
        w.addLegend(offset=(-10, -30))   # bottom right: the curves rise from the bottom left
        s = self.summary

        def pos(y):
            return np.where(np.isfinite(y) & (y > 0), y, np.nan)
        w.plot(c.frames, pos(c.counted), pen=None, symbol="o", symbolSize=4, symbolBrush=(40, 150, 60),
               symbolPen=None, name=f"nuclei counted (x{c.scale:.2g})")
        label = "lineage, offset used" + (f" ({s.offset_used})" if s is not None else "")
        w.plot(c.frames, pos(c.used), pen=pg.mkPen((60, 90, 200), width=2), connect="finite", name=label)
        if c.best is not None and s is not None:
            w.plot(c.frames, pos(c.best), pen=pg.mkPen((220, 120, 0), width=2, style=QtCore.Qt.PenStyle.DashLine),
                   connect="finite", name=f"lineage, offset {s.offset_best} (best fit)")
        self.curves = c
        return w


def _embryo_lines(embryo) -> list[str]:
    src = embryo.source or {}
    al = embryo.alignment or {}
    h, w = embryo.frame_shape[:2]
    fps = src.get("fps")
    ann = int(np.isfinite(embryo.original[:, -1]).sum())
    lines = [f"{embryo.n_frames} frames of {w}x{h}" + (f" at {fps:g} fps" if fps else "")
             + f", {ann} annotated", f"Video: {src.get('path', '(unknown)')}"]
    storage = frame_storage(embryo)
    if storage:
        lines.append(storage)
    if al.get("annotations"):
        lines.append(f"Annotations: {al['annotations']}")
    if al.get("message"):
        lines.append(str(al["message"]))
    if al.get("reimported_from"):
        r = al["reimported_from"]
        lines.append(f"Re-imported (it was imported with offset {r.get('offset')}, "
                     f"{float(r.get('frames_per_timepoint', 1.0)):g} frames per timepoint)")
    return lines


class _EmbryoDialog(QtWidgets.QDialog):
    reimportRequested = QtCore.Signal(str, int, float)

    def __init__(self, embryo, title: str, intro: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.name = embryo.name
        lay = QtWidgets.QVBoxLayout(self)
        self.info = QtWidgets.QLabel("\n".join(intro))
        self.info.setObjectName("embryoInfo")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.info)
        self.panel = AlignmentPanel(embryo, self)
        lay.addWidget(self.panel, 1)
        self.panel.reimportRequested.connect(self._reimport)
        self.panel.keepRequested.connect(self.accept)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.resize(640, 480 if self.panel.plot is not None else 260)

    @property
    def summary(self):
        return self.panel.summary

    def _reimport(self, offset: int, fpt: float) -> None:
        self.reimportRequested.emit(self.name, offset, fpt)
        self.accept()


class ImportReportDialog(_EmbryoDialog):
    """Shown (non-modal) when an import has decoded its frames: what was imported, the import's
    messages, and the alignment check."""

    def __init__(self, embryo, messages=(), parent=None) -> None:
        notes = [m for m in messages if "alignment checked" not in m and "WARNING: the pixels fit" not in m]
        super().__init__(embryo, f"Imported {embryo.name}", _embryo_lines(embryo)[:1] + list(notes), parent)


class EmbryoPropertiesDialog(_EmbryoDialog):
    """The current embryo: source, frames, annotations, alignment and its check (stored in the project)."""

    def __init__(self, embryo, parent=None) -> None:
        super().__init__(embryo, f"Embryo {embryo.name}", _embryo_lines(embryo), parent)
