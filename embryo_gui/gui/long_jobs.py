"""Main-window long jobs: auto-clean, training (child process), export and import run through
the window's :class:`~embryo_gui.gui.job_runner.JobRunner`; the busy bar shows progress; edits the
core pushed during a job are recorded on the undo stack afterwards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtWidgets

from ..errors import EmbryoError
from ..model import Project
from .job_runner import FunctionJob, JobHandle


class LongJobsMixin:
    """Workers of :class:`~embryo_gui.gui.main_window.MainWindow` (one at a time)."""

    def _run(self, kind: str, fn, *args, on_done=None, on_progress=None, **kwargs) -> JobHandle | None:
        if self._busy:
            self._error(f"{self._busy} is already running")
            return None
        self.stop_play()
        self._busy = kind
        self._update_enabled()
        self.busy_bar.setValue(0)
        self.busy_bar.show()
        def progress(info: dict) -> None:
            frac = info.get("fraction")
            if frac is None and info.get("total"):
                frac = float(info.get("done", 0)) / float(info["total"])
            if frac is not None:
                self.busy_bar.setValue(int(1000 * min(max(float(frac), 0.0), 1.0)))
            if info.get("message"):
                self.statusBar().showMessage(f"{kind}: {info['message']}")
            if on_progress is not None:
                on_progress(info)
            self.jobProgress.emit(kind, info)

        def finished(result) -> None:
            self._end_work()
            if on_done is not None:
                on_done(result)
            self.workFinished.emit(kind)

        def failed(msg: str) -> None:
            self._end_work()
            self.last_error = msg
            if kind == "train":
                self.trainer.finish("failed")
            self._error(msg.splitlines()[0] if msg else f"{kind} failed", detail=msg)
            self.workFinished.emit(f"{kind}-failed")

        def cancelled() -> None:
            self._end_work()
            if kind == "train":
                self.trainer.finish("cancelled; nothing was changed")
            self.statusBar().showMessage(f"{kind} cancelled; nothing was changed", 5000)
            self.workFinished.emit(f"{kind}-cancelled")

        w = self.jobs.start(FunctionJob(kind, fn, *args, **kwargs), on_progress=progress, on_done=finished,
                            on_failed=failed, on_cancelled=cancelled)
        self.worker = w
        return w

    def _end_work(self) -> None:
        self._busy = None
        self.worker = None
        if self.live_lossy:
            self.live_lossy = {}
            if self.embryo is not None:
                self._refresh_masks()
        self.busy_bar.hide()
        self.statusBar().clearMessage()
        self._update_enabled()

    def cancel_work(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _record_new_entries(self, before: dict[str, int]) -> None:
        """Put the history entries the core pushed during a worker run on the undo stack."""
        for e in self.project.embryos:
            for k in range(before.get(e.uid, e.history.position), e.history.position):
                self.undo.record_applied(e, e.history.entries[k])

    def _positions(self) -> dict[str, int]:
        return {e.uid: e.history.position for e in self.project.embryos}

    def autoclean(self) -> JobHandle | None:
        if self.project is None:
            return None
        from ..app.autoclean import autoclean_project
        before = self._positions()

        def done(summary) -> None:
            self._record_new_entries(before)
            self.last_summary = summary
            self._refresh_embryo_list()
            if self.ask:
                from .dialogs.summary import SummaryDialog
                SummaryDialog(summary, self).exec()
            else:
                self.statusBar().showMessage(f"auto-clean done on {len(summary)} embryos", 5000)

        return self._run("autoclean", autoclean_project, self.project, on_done=done)

    def start_training(self, settings: dict) -> JobHandle | None:
        """Train in a child process (see :mod:`~embryo_gui.gui.train_process`) on a copy of the
        current state; the result is applied here, one undo step per embryo.  This process never
        imports torch."""
        if self.project is None:
            return None
        if self._busy:
            self._error(f"{self._busy} is already running")
            return None
        from ..train import TrainSettings, apply_training_result  # torch-free
        from .train_process import snapshot_project, train_in_subprocess
        try:
            ts = TrainSettings(**{k: v for k, v in settings.items()})
            copy, tmp = snapshot_project(self.project)
        except (EmbryoError, TypeError) as exc:
            self._error(str(exc))
            return None
        self.trainer.set_running(True)
        self.live_lossy = {}

        def on_progress(info: dict) -> None:
            self.trainer.on_progress(info)
            lossy = info.get("lossy")
            if isinstance(lossy, dict):
                for name, frames in lossy.items():
                    try:
                        n = self.project.embryo(name).n_frames
                    except KeyError:
                        continue
                    m = np.zeros(n, bool)
                    idx = np.asarray(frames, np.int64)
                    m[idx[(idx >= 0) & (idx < n)]] = True
                    self.live_lossy[name] = m
                self._show_live_lossy()

        def done(result) -> None:
            self.last_result = result
            self.live_lossy = {}
            before = self._positions()
            try:
                apply_training_result(self.project, result)
            except EmbryoError as exc:
                self._error(str(exc))
            self._record_new_entries(before)
            self._refresh_embryo_list()
            if self.embryo is not None and "loss" in self.embryo.flags.scores:
                self.trainer.set_frame_loss(self.embryo.flags.scores["loss"], ts.drop)
            fps = result.timing.get("train_frames_per_s", 0.0)
            self.trainer.finish(f"done: {result.n_lossy} lossy frames; population error "
                                f"{result.val_error_before:.2f} -> {result.val_error_after:.2f} cells"
                                + (f"; {fps:.0f} frames/s" if fps else ""))

        w = self._run("train", train_in_subprocess, copy, ts.to_dict(), remove_dir=tmp,
                      display_path=self.project.path, on_done=done, on_progress=on_progress)
        if w is None:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
            self.trainer.set_running(False)
        return w

    def export_dialog(self) -> None:
        if self.project is None:
            return
        from ..app.exporting import plan_export
        from .dialogs.export import ExportDialog
        dlg = ExportDialog(self.project.path.with_name(self.project.path.stem + "_dataset"), self,
                           plan=plan_export(self.project), ask=self.ask)
        if dlg.exec():
            self.export(**dlg.values(), overwrite=dlg.overwrite)

    def export(self, out_path, size: tuple[int, int] | None = None, gray: bool = False,
               csv_path=None, overwrite: bool = False) -> JobHandle | None:
        """Export the cleaned dataset in a worker (``size`` is (width, height) or None); an
        existing output file is replaced only with ``overwrite`` (the dialog asks first)."""
        if self.project is None:
            return None
        from ..app.exporting import export_dataset

        def done(result) -> None:
            self.last_result = result
            self.statusBar().showMessage(result["message"], 15000)
            if self.ask:
                QtWidgets.QMessageBox.information(self, "Export finished", result["message"])

        return self._run("export", export_dataset, self.project, out_path, size=size, gray=gray, csv_path=csv_path,
                         overwrite=overwrite, on_done=done)

    def import_video(self, project_path, video, annotations=None, name=None, time_offset: int = 0,
                     frames_per_timepoint: float = 1.0, frame_base=None) -> JobHandle | None:
        """Add an embryo from a video (+ annotations) to the open project, or to a new one at
        ``project_path``; decoding runs in a worker."""
        from ..app.importing import import_embryo
        project_path = Path(project_path)
        if self.project is None or Path(self.project.path).resolve() != project_path.resolve():
            if not self.maybe_save():
                return None
            try:
                p = (Project.open(project_path, write=True, wait=1.0) if project_path.exists()
                     else Project.create(project_path, hold=True))
            except EmbryoError as exc:
                self._error(str(exc))
                return None
            self.set_project(p)
            self._add_recent(p.path)

        live, preview = self._import_preview(video)

        def done(result) -> None:
            preview.stop()
            embryo, messages = result
            self._refresh_embryo_list()
            self.set_embryo(embryo.name)
            self._update_enabled()
            self._update_title()
            if messages:
                self.statusBar().showMessage(" ".join(messages), 10000)

        w = self._run("import", import_embryo, self.project, video, annotations, name=name,
                      time_offset=time_offset, frames_per_timepoint=frames_per_timepoint,
                      frame_base=frame_base, on_done=done, on_frame=live.add)
        if w is None:
            preview.stop()
        else:
            def ended(h) -> None:  # failed or cancelled: back to what was shown before
                if h is not w:
                    return
                self.jobs.jobEnded.disconnect(ended)
                preview.stop()
                if h.outcome != "done":
                    if self.embryo is not None:
                        self._show_frame(self.cursor.index)
                    else:
                        self.video.show_frame(None)
            self.jobs.jobEnded.connect(ended)
        return w

    def _import_preview(self, video):
        """While an import runs, show its frames as they are decoded (the first within a fraction of
        a second, whatever the length of the movie): a timer polls a Qt-free
        :class:`~embryo_gui.model.framestore.LiveFrames` the import thread fills."""
        from PySide6 import QtCore

        from ..model.framestore import LiveFrames
        live = LiveFrames(budget_bytes=64 << 20)
        timer = QtCore.QTimer(self, interval=40)
        shown = {"i": -1}

        def poll() -> None:
            i, frame = live.latest()
            if frame is not None and i != shown["i"]:
                shown["i"] = i
                self.video.show_frame(frame)
                self.statusBar().showMessage(f"importing {Path(video).name}: frame {i + 1}")
                self.importPreviewShown.emit(i)

        timer.timeout.connect(poll)
        timer.start()
        self._import_timer = timer
        return live, timer

    def import_preview_active(self) -> bool:
        """Whether the window is showing the frames of an import in progress."""
        t = getattr(self, "_import_timer", None)
        return t is not None and t.isActive()
