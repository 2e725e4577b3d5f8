"""New project from a video + annotations, with a live preview of the timepoint -> frame alignment
(the report of ``embryo_gui.io.alignment.align_annotations``)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from ...errors import EmbryoError


def alignment_preview(video: str, annotations: str | None, offset: int, fpt: float,
                      frame_base: int | None = None) -> str:
    """One-line preview: how the annotations land on the video's frames (or what is wrong),
    including the frame base of a per-frame CSV (detected, or ``frame_base`` 0 / 1)."""
    from ...io import Alignment, align_annotations, open_frame_source, read_annotations
    from ...io.annotations import resolve_frame_base
    if not video:
        return "choose a video (or TIFF stack / image folder)"
    try:
        src = open_frame_source(video)
    except EmbryoError as exc:
        return f"error: {exc}"
    try:
        n = src.declared_frames
        shape = src.frame_shape
        fps = src.fps
    finally:
        src.close()
    head = f"{n if n is not None else '?'} frames of {shape[1]}x{shape[0]}" + (f" at {fps:g} fps" if fps else "")
    if not annotations:
        return head + "; no annotations (the embryo will be unannotated)"
    try:
        ann = read_annotations(annotations)
        if n is None:
            return head + f"; {len(ann)} annotation rows (frame count known only after decoding)"
        ann, base_report = resolve_frame_base(ann, n, frame_base)
        _counts, report = align_annotations(ann, n, Alignment(int(offset), float(fpt)))
    except (EmbryoError, ValueError) as exc:
        return head + f"; error: {exc}"
    return head + "; " + "; ".join(x for x in (base_report, str(report.get("message", ""))) if x)


class NewProjectDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None, video: str | None = None,
                 annotations: str | None = None, project_path: str | None = None,
                 frame_codec: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an embryo from a video")
        self.video = QtWidgets.QLineEdit(video or "")
        self.annotations = QtWidgets.QLineEdit(annotations or "")
        self.project = QtWidgets.QLineEdit(project_path or "")
        self.name = QtWidgets.QLineEdit("")
        self.name.setPlaceholderText("(the video's file name)")
        self.offset = QtWidgets.QSpinBox(minimum=-100000, maximum=100000, value=0)
        self.fpt = QtWidgets.QDoubleSpinBox(minimum=0.01, maximum=1000.0, value=1.0, decimals=3)
        self.frame_base = QtWidgets.QComboBox()
        for text, base in (("detect from the file", None), ("0 (first frame is 0)", 0),
                           ("1 (first frame is 1)", 1)):
            self.frame_base.addItem(text, base)
        self.frame_base.setToolTip("What the CSV's frame column calls the first video frame. Detected when the "
                                   "file makes it unambiguous (a frame 0, or a frame numbered like the frame "
                                   "count); otherwise choose it here.")
        self.storage = QtWidgets.QComboBox()
        for text, codec in (("compressed (LZ4)", "lz4"), ("uncompressed: faster frame reads, about 2.2x the disk", "none")):
            self.storage.addItem(text, codec)
        # what the project's last embryo uses (app.importing.project_frame_codec), else compressed
        self.storage.setCurrentIndex(max(0, self.storage.findData(frame_codec or "lz4")))
        self.storage.setToolTip("How the decoded frames are kept in the project's frames folder. Compressed "
                                "frames take less than half the disk; uncompressed ones read 3-5x faster "
                                "(embryo-repair import --frame-codec none).")
        self.preview = QtWidgets.QLabel("")
        self.preview.setWordWrap(True)
        self.preview.setObjectName("alignmentPreview")
        form = QtWidgets.QFormLayout(self)
        form.addRow("Video / stack", self._with_browse(self.video, self._browse_video))
        form.addRow("Annotations", self._with_browse(self.annotations, self._browse_annotations))
        form.addRow("Project file", self._with_browse(self.project, self._browse_project))
        form.addRow("Embryo name", self.name)
        form.addRow("First-timepoint frame (offset)", self.offset)
        form.addRow("Frames per timepoint", self.fpt)
        form.addRow("CSV frame numbers start at", self.frame_base)
        form.addRow("Frame storage", self.storage)
        form.addRow("Alignment", self.preview)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                                  | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._timer = QtCore.QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.update_preview)
        for w in (self.video, self.annotations, self.project):
            w.textChanged.connect(self._changed)
        self.offset.valueChanged.connect(self._changed)
        self.fpt.valueChanged.connect(self._changed)
        self.frame_base.currentIndexChanged.connect(self._changed)
        self.resize(640, 300)
        self._changed()
        self.update_preview()

    def _with_browse(self, edit: QtWidgets.QLineEdit, slot) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        b = QtWidgets.QPushButton("Browse...")
        b.clicked.connect(slot)
        lay.addWidget(b)
        return w

    def _browse_video(self) -> None:
        p, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Video or TIFF stack", "",
                                                     "Videos and stacks (*.avi *.mp4 *.mov *.mkv *.tif *.tiff);;All (*)")
        if p:
            self.video.setText(p)

    def _browse_annotations(self) -> None:
        p, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Annotations", "", "CSV (*.csv *.txt);;All (*)")
        if p:
            self.annotations.setText(p)

    def _browse_project(self) -> None:
        p, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Project file", self.project.text(),
                                                     "embryo-gui project (*.h5)",
                                                     options=QtWidgets.QFileDialog.Option.DontConfirmOverwrite)
        if p:
            self.project.setText(p if p.endswith((".h5", ".hdf5")) else p + ".h5")

    def _changed(self, *_args) -> None:
        if not self.project.text() and self.video.text():
            v = Path(self.video.text())
            self.project.setText(str(v.with_suffix(".h5")) if v.suffix else str(v) + ".h5")
        ok = bool(self.video.text()) and bool(self.project.text())
        self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        self._timer.start()

    def update_preview(self) -> str:
        text = alignment_preview(self.video.text(), self.annotations.text() or None, self.offset.value(),
                                 self.fpt.value(), self.frame_base.currentData())
        self.preview.setText(text)
        return text

    def values(self) -> dict:
        return {"project_path": self.project.text(), "video": self.video.text(),
                "annotations": self.annotations.text() or None, "name": self.name.text() or None,
                "time_offset": self.offset.value(), "frames_per_timepoint": self.fpt.value(),
                "frame_base": self.frame_base.currentData(), "frame_codec": self.storage.currentData()}
