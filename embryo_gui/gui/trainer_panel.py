"""Trainer panel: settings, Start / Cancel, progress, live loss curve, and the per-frame loss
plot with a draggable top-% threshold line.

The panel holds no training logic: it emits ``startRequested(settings_dict)`` /
``cancelRequested()`` / ``thresholdApplied(fraction)`` and is fed with the core's progress dicts
(:meth:`on_progress`) and the final per-frame losses (:meth:`set_frame_loss`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as exporters
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from .items import uncached


def top_fraction_threshold(loss: np.ndarray, fraction: float) -> float:
    """The loss value above which the top ``fraction`` of the scored (finite) frames lie."""
    v = np.asarray(loss, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    k = int(round(float(fraction) * v.size))
    if k <= 0:
        return float(v.max()) + 1e-9
    return float(np.sort(v)[::-1][min(k, v.size) - 1])


def error_text(before: float, after: float) -> str:
    """The trainer's result in words: the mean population error (cells) of the held-out frames
    with every frame in the training set and after leaving the lossy frames out."""
    if not np.isfinite(before):
        return ""
    if not np.isfinite(after):
        return f"mean population error on held-out frames: {before:.2f} cells (ranking only, no refit)"
    verdict = ("better without the lossy frames" if after < before else
               "worse without them: the frames marked lossy may be right; look at them before excluding")
    return (f"mean population error on held-out frames: {before:.2f} cells with every frame, "
            f"{after:.2f} without the lossy ones ({verdict})")


def round_text(r: int, rounds: int) -> str:
    """Which fit the trainer is in: the marking rounds (1-based, of ``rounds``), then the final fit."""
    if rounds <= 0:
        return "ranking fit"
    if r < rounds:
        return f"marking round {r + 1} of {rounds}"
    return "final fit without the lossy frames"


def export_figure(plot: pg.PlotWidget, path) -> Path:
    """Save a pyqtgraph plot as PNG (pixels, 2x) or SVG (vector), chosen by the file's suffix."""
    path = Path(path)
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValueError(f"{path}: figures are saved as .png or .svg")
    with uncached(item.scene()):  # vectors in the SVG, full resolution in the 2x PNG
        if suffix == ".svg":
            try:
                exporters.SVGExporter(item).export(str(path))
            except ValueError:
                # pyqtgraph's SVG exporter cannot parse the closed paths ("... Z") newer Qt writes
                # (pyqtgraph issue #3495): render the widget through Qt's own SVG generator instead
                _render_svg(plot, path)
        else:
            ex = exporters.ImageExporter(item)
            ex.parameters()["width"] = int(max(item.sceneBoundingRect().width(), 200) * 2)
            ex.export(str(path))
    return path


def _render_svg(widget: QtWidgets.QWidget, path: Path) -> None:
    gen = QtSvg.QSvgGenerator()
    gen.setFileName(str(path))
    size = widget.size()
    gen.setSize(size)
    gen.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
    gen.setTitle(path.stem)
    painter = QtGui.QPainter(gen)
    try:
        widget.render(painter)
    finally:
        painter.end()


def fraction_above(loss: np.ndarray, threshold: float) -> float:
    v = np.asarray(loss, np.float64)
    v = v[np.isfinite(v)]
    return float((v >= threshold).mean()) if v.size else 0.0


class TrainerPanel(QtWidgets.QWidget):
    startRequested = QtCore.Signal(dict)
    cancelRequested = QtCore.Signal()
    thresholdApplied = QtCore.Signal(float)  # loss threshold: frames at or above it are lossy

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        form = QtWidgets.QFormLayout()
        self.epochs = QtWidgets.QSpinBox(minimum=1, maximum=500, value=8)
        self.drop = QtWidgets.QDoubleSpinBox(minimum=0.0, maximum=90.0, value=10.0, singleStep=1.0, suffix=" %")
        self.rounds = QtWidgets.QSpinBox(minimum=0, maximum=10, value=1)
        self.folds = QtWidgets.QSpinBox(minimum=2, maximum=10, value=3)
        self.size = QtWidgets.QSpinBox(minimum=16, maximum=512, value=96, singleStep=16, suffix=" px")
        self.epochs.setToolTip("Passes over the training frames per fit")
        self.drop.setToolTip("Share of scored frames marked lossy per round")
        self.rounds.setToolTip("Rank -> drop rounds")
        self.folds.setToolTip("Out-of-fold: each frame is scored by a model that never saw it")
        self.size.setToolTip("Frames are downsampled to this size before training")
        for label, w in (("Epochs", self.epochs), ("Drop", self.drop), ("Rounds", self.rounds),
                         ("Folds", self.folds), ("Size", self.size)):
            form.addRow(label, w)
        self.start_button = QtWidgets.QPushButton("Start training")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(lambda: self.startRequested.emit(self.settings()))
        self.cancel_button.clicked.connect(self.cancelRequested)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QtWidgets.QLabel("idle")
        self.status.setWordWrap(True)

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setMinimumHeight(110)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setTitle("training loss", size="9pt")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((30, 120, 220), width=2))
        self.loss_history: list[float] = []

        self.frame_plot = pg.PlotWidget()
        self.frame_plot.setMinimumHeight(110)
        self.frame_plot.setLabel("left", "loss")
        self.frame_plot.setLabel("bottom", "frame")
        self.frame_plot.setTitle("per-frame loss", size="9pt")
        self.frame_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(30, 120, 220, 160))
        self.frame_plot.addItem(self.frame_points)
        self.threshold_line = pg.InfiniteLine(angle=0, movable=True, pen=pg.mkPen((220, 40, 40), width=2),
                                              label="loss ≥ {value:.3g}", labelOpts={"position": 0.9})
        self.threshold_line.hide()
        self.frame_plot.addItem(self.threshold_line, ignoreBounds=True)
        self.threshold_line.sigPositionChanged.connect(self._threshold_moved)
        self.threshold_label = QtWidgets.QLabel("")
        self.apply_threshold = QtWidgets.QPushButton("Mark frames above the line lossy")
        self.apply_threshold.setEnabled(False)
        self.apply_threshold.clicked.connect(lambda: self.thresholdApplied.emit(float(self.threshold_line.value())))
        self.frame_loss: np.ndarray | None = None
        self.lossy: np.ndarray | None = None
        self._rounds = 1
        self.save_loss_button = QtWidgets.QPushButton("Save plot...")
        self.save_loss_button.setToolTip("Save the per-frame loss plot as PNG or SVG")
        self.save_loss_button.clicked.connect(lambda: self._save_dialog(self.frame_plot, "frame_loss"))

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.loss_plot, 1)
        lay.addWidget(self.frame_plot, 1)
        lay.addWidget(self.threshold_label)
        self.threshold_label.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.apply_threshold, 1)
        row.addWidget(self.save_loss_button)
        lay.addLayout(row)

    def settings(self) -> dict:
        return {"epochs": self.epochs.value(), "drop": self.drop.value() / 100.0,
                "rounds": self.rounds.value(), "folds": self.folds.value(), "size": self.size.value()}

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.epochs, self.drop, self.rounds, self.folds, self.size):
            w.setEnabled(not running)
        if running:
            self._rounds = self.rounds.value()
            self.loss_history.clear()
            self.loss_curve.setData([], [])
            self.progress.setValue(0)
            self.status.setText("starting...")

    def on_progress(self, info: dict) -> None:
        """Show one progress dict of the core (keys used when present: fraction, done/total,
        message/stage, loss)."""
        frac = info.get("fraction")
        if frac is None and info.get("total"):
            frac = float(info.get("done", 0)) / float(info["total"])
        if frac is not None:
            self.progress.setValue(int(round(1000 * min(max(float(frac), 0.0), 1.0))))
        msg = info.get("message")
        if not msg and info.get("stage") == "train" and "epoch" in info:
            msg = (f"training: {round_text(int(info.get('round', 0)), self._rounds)}, "
                   f"fold {int(info.get('fold', 0)) + 1}, epoch {int(info['epoch']) + 1}")
        if not msg and info.get("stage") == "round" and isinstance(info.get("lossy"), dict):
            n = sum(len(v) for v in info["lossy"].values())
            msg = f"{round_text(int(info.get('round', 0)), self._rounds)} done: {n} frames marked lossy so far"
        msg = msg or info.get("stage")
        if msg:
            self.status.setText(str(msg))
        loss = info.get("loss", info.get("train_loss"))
        if loss is not None and np.isscalar(loss) and np.isfinite(loss):
            self.loss_history.append(float(loss))
            self.loss_curve.setData(np.arange(len(self.loss_history)), np.asarray(self.loss_history))

    def finish(self, text: str, complete: bool | None = None) -> None:
        """Training ended: ``complete`` (default: ``text`` starts with "done") fills the progress
        bar; a cancelled or failed run empties it instead of leaving it where it stopped."""
        self.set_running(False)
        if complete is None:
            complete = text.startswith("done")
        self.progress.setValue(1000 if complete else 0)
        self.progress.setFormat("%p%" if complete else text.split(";")[0])
        self.status.setText(text)

    def set_frame_loss(self, loss: np.ndarray | None, fraction: float | None = None,
                       lossy: np.ndarray | None = None) -> None:
        """Plot per-frame losses (NaN = not scored) and put the threshold at the top ``fraction``;
        ``lossy`` (the frames marked now) lets the label say how the line differs from the marks."""
        self.lossy = None if lossy is None else np.asarray(lossy, bool)
        self.frame_loss = None if loss is None else np.asarray(loss, np.float64)
        if self.frame_loss is None or not np.isfinite(self.frame_loss).any():
            self.frame_points.setData([], [])
            self.threshold_line.hide()
            self.apply_threshold.setEnabled(False)
            self.threshold_label.setText("")
            return
        ok = np.isfinite(self.frame_loss)
        x = np.flatnonzero(ok)
        self.frame_points.setData(x.astype(float), self.frame_loss[ok])
        frac = self.drop.value() / 100.0 if fraction is None else fraction
        self.threshold_line.setValue(top_fraction_threshold(self.frame_loss, frac))
        self.threshold_line.show()
        self.apply_threshold.setEnabled(True)
        self._threshold_moved()

    def _threshold_moved(self) -> None:
        if self.frame_loss is None:
            return
        thr = float(self.threshold_line.value())
        n = int((self.frame_loss[np.isfinite(self.frame_loss)] >= thr).sum())
        text = f"{n} frames at or above {thr:.4g} (top {100 * fraction_above(self.frame_loss, thr):.1f} %)"
        if self.lossy is not None and len(self.lossy) == len(self.frame_loss):
            m = int(self.lossy.sum())
            if m != n:
                text += (f"; {m} are marked lossy now (the trainer marks per round, on the frames still "
                         "kept; the line is on the final losses). 'Mark' replaces the marks with the "
                         f"{n} above the line")
            else:
                text += f"; all {m} marked lossy"
        self.threshold_label.setText(text)

    def _save_dialog(self, plot, stem: str) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save figure", f"{stem}.png",
                                                        "PNG image (*.png);;SVG vector (*.svg)")
        if path:
            export_figure(plot, path)
