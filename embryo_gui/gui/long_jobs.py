"""Long work of the window, each a Qt-free :class:`~embryo_gui.app.jobs.Job` run by the
:class:`~embryo_gui.gui.job_runner.JobRunner` (compute off the GUI thread, apply on it, one job at
a time, as the Session rules): auto-clean, detection, export, import, and training (in a child
process, see :mod:`.train_process`).

Training (and detection on open) runs on a copy of the state it was started on; editing, saving
and undo stay available meanwhile.  Its result is applied to that state: frames changed since (by an edit, an undo, a
flag) keep what the user made of them and are reported (:func:`embryo_gui.app.training.apply_checked`),
never silently merged.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6 import QtCore, QtWidgets

from ..app.detecting import decision_notes
from ..app.jobs import Job
from ..errors import EmbryoError
from .job_runner import JobHandle, JobRunner, function_job


class LongJobs(QtCore.QObject):
    #: "train", "train-cancelled", "autoclean", "export", "import", "detect", "...-failed"
    workFinished = QtCore.Signal(str)
    #: (job name, progress dict), after the window's own handling
    jobProgress = QtCore.Signal(str, object)
    #: (frame) a frame of an import in progress was shown
    importPreviewShown = QtCore.Signal(int)
    #: (number of embryos) the detectors ran (on open, through the triage dock)
    detectionFinished = QtCore.Signal(int)
    #: an auto-clean draft was computed, applied or discarded
    draftChanged = QtCore.Signal()

    def __init__(self, session: Any, runner: JobRunner, notifier: Any, trainer: Any, timeline: Any,
                 video: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner, self.notifier = session, runner, notifier
        self.trainer, self.timeline, self.video = trainer, timeline, video
        self.curve: Any = None  # set by the window (the draft is drawn on it)
        self._import_timer: QtCore.QTimer | None = None
        #: Auto-clean shows a draft first; pressing it again applies it (the app turns it on)
        self.autoclean_draft = False
        #: embryo name -> AutocleanDraft while a draft is shown (a proposal, not the model's state)
        self.draft: dict | None = None
        self.parent_widget = parent
        self.handle: JobHandle | None = None
        self.last_result: Any = None
        self.last_summary: list | None = None
        self.last_training: Any = None  # what the last apply of a training result reported
        self.last_detection_notes: list[str] = []  # the notes of the last detection on open
        self.import_report: Any = None  # the report of the last import while it is shown

    @property
    def busy(self) -> str | None:
        """The running job's name (None when idle)."""
        job = self.session.job
        return None if job is None else job.name

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    # -- one runner for all ---------------------------------------------------------------------
    def run(self, job: Job, on_done: Callable[[Any], None] | None = None,
            on_progress: Callable[[dict], None] | None = None,
            on_end: Callable[[str], None] | None = None) -> JobHandle | None:
        kind = job.name

        def progress(info: dict) -> None:
            if on_progress is not None:
                on_progress(info)
            self.jobProgress.emit(kind, info)

        def end(outcome: str) -> None:
            self.handle = None
            if on_end is not None:
                on_end(outcome)

        def done(value: Any) -> None:
            end("done")
            if on_done is not None:
                on_done(value)
            self.workFinished.emit(kind)

        def failed(msg: str) -> None:
            end("failed")
            self.notifier.error(msg.splitlines()[0] if msg else f"{kind} failed", detail=msg)
            self.workFinished.emit(f"{kind}-failed")

        def cancelled() -> None:
            end("cancelled")
            self.notifier.message(f"{job.label} cancelled; nothing was changed", 5000)
            self.workFinished.emit(f"{kind}-cancelled")

        try:
            self.handle = self.runner.start(job, on_progress=progress, on_done=done, on_failed=failed,
                                            on_cancelled=cancelled)
        except EmbryoError as exc:
            self.notifier.error(str(exc))
            return None
        return self.handle

    def _make(self, factory: Callable[[], Job]) -> Job | None:
        """Build a job (its planning runs here); a bad request is reported."""
        if self.session.job is not None:
            self.notifier.error(f"{self.session.job.label} is already running; wait for it or cancel it")
            return None
        try:
            return factory()
        except EmbryoError as exc:
            self.notifier.error(str(exc))
            return None

    # -- the workflows --------------------------------------------------------------------------
    def autoclean(self) -> JobHandle | None:
        """Auto-clean every embryo (one undo step each).  With the review workflow on, the first
        press computes a draft shown on the curve and the timeline, the second applies it."""
        s = self.session
        if s.project is None:
            return None
        if self.draft is not None:
            self.apply_draft()
            return None
        if self.autoclean_draft:
            return self.autoclean_preview()
        job = self._make(s.autoclean_job)
        if job is None:
            return None

        def done(summary) -> None:
            self.last_summary = summary
            self._summary(summary)

        return self.run(job, on_done=done)

    def _summary(self, summary: list) -> None:
        if self.notifier.ask and summary:
            from .dialogs.summary import SummaryDialog
            SummaryDialog(summary, self.parent_widget).exec()
        else:
            self.notifier.message(f"auto-clean done on {len(summary)} embryos", 5000)

    # -- auto-clean as a reviewable draft -------------------------------------------------------
    def autoclean_preview(self) -> JobHandle | None:
        """Compute what auto-clean would do (off the GUI thread, on snapshots) and show it on the
        curve and the timeline; nothing changes until :meth:`apply_draft` (Auto-clean again)."""
        from ..app.draft import compute_drafts
        from ..app.training import ProjectSnapshot
        p = self.session.project
        if p is None:
            return None
        snap = ProjectSnapshot(p)  # taken here, read off-thread: the live project is never read there
        job = self._make(lambda: function_job("autoclean-draft", compute_drafts, snap))
        if job is None:
            return None

        def done(drafts) -> None:
            self.draft = {d.name: d for d in drafts}
            self.show_draft()
            n = sum(d.n_changes for d in drafts)
            self.notifier.message(
                f"auto-clean draft: {n} frames would change on {sum(1 for d in drafts if d.n_changes)} "
                "embryos (hatched); press Auto-clean again to apply it all, any edit discards it", 0)
            self.draftChanged.emit()

        return self.run(job, on_done=done)

    def apply_draft(self) -> list[dict]:
        """Apply the shown draft: per embryo "run detectors" (if the draft ran them) and
        "auto-clean", each one undo step; returns the summaries."""
        drafts, self.draft = self.draft or {}, None
        summary = []
        p = self.session.project
        for e in p.embryos if p is not None else []:
            d = drafts.get(e.name)
            if d is None:
                continue
            edits_ = d.edits(e)
            for x in edits_:
                self.session.push(x, e)
            s = dict(edits_[-1].summary)
            s["changed"] = not edits_[-1].is_empty
            summary.append(s)
        self.show_draft()
        self.last_summary = summary
        self.draftChanged.emit()
        self._summary(summary)
        self.workFinished.emit("autoclean")
        return summary

    def discard_draft(self) -> None:
        if self.draft is not None:
            self.draft = None
            self.show_draft()
            self.notifier.window.statusBar().clearMessage()
            self.draftChanged.emit()

    def show_draft(self) -> None:
        e = self.session.embryo
        d = (self.draft or {}).get(e.name) if e is not None else None
        if d is None:
            if self.curve is not None:
                self.curve.set_draft(None)
            self.timeline.set_draft(None)
        else:
            if self.curve is not None:
                self.curve.set_draft(d.current, d.newly_excluded)
            self.timeline.set_draft({"excluded": d.newly_excluded, "repaired": d.repaired & ~d.newly_excluded})

    def run_detection(self, job: Job) -> JobHandle | None:
        """Run a detection job of the Session (the triage dock's detection on open).  Editing,
        deciding, undo and save stay available meanwhile: the result is applied to the state it
        finds, the decisions made while it ran are kept and reported in the status bar."""
        n = len(self.session.embryos)

        def done(notes) -> None:
            self.last_detection_notes = list(notes or [])
            kept = decision_notes(self.last_detection_notes)  # decisions kept, dropped, skipped
            if kept:
                self.notifier.message(" ".join(kept), 15000)
            self.detectionFinished.emit(n)

        return self.run(job, on_done=done)

    def detect(self) -> JobHandle | None:
        s = self.session
        if s.project is None:
            return None
        job = self._make(s.detect_job)
        if job is None:
            return None
        return self.run(job, on_done=lambda notes: self.notifier.message(
            "detection done" + (f": {' '.join(notes)}" if notes else ""), 8000))

    def export(self, out_path, size: tuple[int, int] | None = None, gray: bool = False, csv_path=None,
               overwrite: bool = False, **options) -> JobHandle | None:
        """Export the cleaned dataset (``size`` is (width, height) or None); an existing output
        file is replaced only with ``overwrite`` (the dialog asks first)."""
        s = self.session
        if s.project is None:
            return None
        job = self._make(lambda: s.export_job(out_path, size=size, gray=gray, csv_path=csv_path,
                                              overwrite=overwrite, **options))
        if job is None:
            return None

        def done(result) -> None:
            self.last_result = result
            msg = result.get("message") if isinstance(result, dict) else None
            self.notifier.info("Export finished", msg or f"exported to {out_path}")

        return self.run(job, on_done=done)

    def import_video(self, project_path, video, annotations=None, name=None, time_offset: int = 0,
                     frames_per_timepoint: float = 1.0, frame_base=None, frame_codec: str | None = None,
                     maybe_save: Callable[[], bool] | None = None) -> JobHandle | None:
        """Add an embryo from a video (+ annotations) to the open project, or to a new one at
        ``project_path``; decoding runs off the GUI thread, the Session then selects the embryo."""
        s = self.session
        project_path = Path(project_path)
        if s.project is None or Path(s.project.path).resolve() != project_path.resolve():
            if maybe_save is not None and not maybe_save():
                return None
            try:
                s.open(project_path) if project_path.exists() else s.create(project_path)
            except EmbryoError as exc:
                self.notifier.error(str(exc))
                return None
        live, preview = self._import_preview(video)
        job = self._make(lambda: s.import_job(video, annotations, name=name, time_offset=time_offset,
                                              frames_per_timepoint=frames_per_timepoint, frame_base=frame_base,
                                              frame_codec=frame_codec, on_frame=live.add))
        if job is None:
            preview.stop()
            return None

        def ended(outcome: str) -> None:
            preview.stop()
            if outcome != "done":
                self.video.refresh()  # back to what was shown before

        h = self.run(job, on_done=self._import_done, on_end=ended)
        if h is None:
            preview.stop()
        return h

    def reimport(self, name: str, time_offset: int, frames_per_timepoint: float) -> JobHandle | None:
        """Import embryo ``name`` again from its video and annotations with another mapping (the
        alignment check's suggestion); the embryo is replaced when the frames are decoded."""
        from ..app.alignment_report import reimport_job
        s = self.session
        if s.project is None:
            return None
        job = self._make(lambda: reimport_job(s.project, name, time_offset, frames_per_timepoint))
        if job is None:
            return None
        return self.run(job, on_done=self._import_done)

    def _import_done(self, result) -> None:
        """After an import: the messages in the status bar, and the import report (non-modal:
        what was decoded and the alignment check, with its re-import button)."""
        embryo, messages = result
        if messages:
            self.notifier.message(" ".join(messages), 10000)
        from .dialogs.alignment import ImportReportDialog
        old = self.import_report
        if old is not None:
            old.close()
        dlg = ImportReportDialog(embryo, messages, self.parent_widget)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.reimportRequested.connect(self.reimport)

        def closed(_code: int) -> None:
            if self.import_report is dlg:
                self.import_report = None

        dlg.finished.connect(closed)
        self.import_report = dlg
        dlg.show()

    def _import_preview(self, video):
        """While an import runs, show its frames as they are decoded (the first within a fraction of
        a second, whatever the length of the movie): a timer polls a Qt-free
        :class:`~embryo_gui.model.framestore.LiveFrames` the import thread fills."""
        from ..model.framestore import LiveFrames
        live = LiveFrames(budget_bytes=64 << 20)
        timer = QtCore.QTimer(self, interval=40)
        shown = {"i": -1}

        def poll() -> None:
            i, frame = live.latest()
            if frame is not None and i != shown["i"]:
                shown["i"] = i
                self.video.show_frame(frame)
                self.notifier.window.statusBar().showMessage(f"importing {Path(video).name}: frame {i}")
                self.importPreviewShown.emit(i)

        timer.timeout.connect(poll)
        timer.start()
        self._import_timer = timer
        return live, timer

    def import_preview_active(self) -> bool:
        """Whether the window is showing the frames of an import in progress."""
        t = self._import_timer
        return t is not None and t.isActive()

    # -- training -------------------------------------------------------------------------------
    def start_training(self, settings: dict) -> JobHandle | None:
        """Train in a child process (:mod:`.train_process`) on a copy of the current state; the
        result is applied here to that state, one undo step per embryo, conflicts reported.
        This process never imports torch."""
        s = self.session
        p = s.project
        if p is None:
            return None
        why = s.job_refusal("train", "training")   # another job runs, or the project is read-only
        if why is not None:
            self.notifier.error(why)
            return None
        from ..app.training import TrainingStart, apply_checked
        from ..train import TrainSettings  # torch-free
        from .train_process import snapshot_project, train_in_subprocess
        try:
            ts = TrainSettings(**dict(settings))
            start = TrainingStart.of(p)               # the state it is started on
            copy, tmp = snapshot_project(p)           # the same state, for the child
        except (EmbryoError, TypeError) as exc:
            self.notifier.error(str(exc))
            return None
        live: dict[str, np.ndarray] = {}

        def compute(progress, cancel):
            return train_in_subprocess(copy, ts.to_dict(), progress=progress, cancel=cancel, remove_dir=tmp,
                                       display_path=p.path)

        def apply(result):
            return result, apply_checked(p, result, start)

        job = Job("train", compute, apply, label="training",
                  discard=lambda _r: shutil.rmtree(tmp, ignore_errors=True))

        def on_progress(info: dict) -> None:
            self.trainer.on_progress(info)
            lossy = info.get("lossy")
            if isinstance(lossy, dict):
                for name, frames in lossy.items():
                    try:
                        n = p.embryo(name).n_frames
                    except KeyError:
                        continue
                    m = np.zeros(n, bool)
                    idx = np.asarray(frames, np.int64)
                    m[idx[(idx >= 0) & (idx < n)]] = True
                    live[name] = m
                self.timeline.set_live_lossy(live)

        def on_end(outcome: str) -> None:
            self.timeline.set_live_lossy({})
            if outcome == "failed":
                self.trainer.finish("failed")
            elif outcome == "cancelled":
                self.trainer.finish("cancelled; nothing was changed")

        def done(value) -> None:
            result, report = value
            self.last_result, self.last_training = result, report
            self.trainer.show_loss(ts.drop)
            fps = result.timing.get("train_frames_per_s", 0.0)
            self.trainer.finish(f"done: {report.n_lossy} lossy frames; population error "
                                f"{result.val_error_before:.2f} -> {result.val_error_after:.2f} cells"
                                + (f"; {fps:.0f} frames/s" if fps else ""))
            if report.conflicts or report.dropped:
                self.notifier.info("Training result", report.message())

        self.trainer.set_running(True)
        h = self.run(job, on_done=done, on_progress=on_progress, on_end=on_end)
        if h is None:
            shutil.rmtree(tmp, ignore_errors=True)
            self.trainer.set_running(False)
        return h
