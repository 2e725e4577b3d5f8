"""The Session: the one Qt-free state of the application (napari's ``ViewerModel``).

It holds the open project, the current embryo and frame, the running job and the project's one
undo stack across embryos, and tells subscribers what changed through plain-Python events
(:mod:`embryo_gui.app.events`).  The GUI's views take the Session in their constructor, connect to
``session.events`` and copy none of its state; the CLI and the tests drive the same object headless.

Threading: a Session belongs to the thread that created it (the GUI thread, the CLI's main thread).
Every method that changes the model, and every event, runs on that thread; long work runs as a
:class:`~embryo_gui.app.jobs.Job` whose *compute* half runs elsewhere and never touches the model.
A history change made on another thread raises RuntimeError (it is a bug: the model is never
changed off its thread).

API
---
Project::

    s = Session()                      # or Session(project)
    s.open(path) / s.create(path) / s.set_project(project) / s.close()
    s.open(path, read_only=True)       # a reader: no lock; every change refused (EmbryoError, one line)
    s.save()                           # atomic; project_changed(saved=True), modified_changed(False)
    s.project, s.path, s.modified, s.read_only, s.read_only_holder
    s.read_only_status() -> ReadOnlyStatus(changed, free) | None   # the holder saved / let go
    s.reload() / s.reopen_for_editing(wait)   # same embryo and frame; reload: still read-only
    s.editing_allowed, s.check_editing(what)   # read-only, or a job that holds editing (policy)

Current embryo and frame::

    s.embryo, s.embryo_name, s.embryos (names)
    s.select_embryo(name)              # embryo_changed(name)
    s.frame, s.set_frame(i)            # clamped to the embryo; frame_changed(embryo, frame)

Edits and the one undo stack (``project.undo_stack``; saved in the project file)::

    s.push(edit, embryo=None)          # applied to the current (or named) embryo; False if it changed nothing
    s.undo() / s.redo()                # the last step of the whole project, whichever embryo; -> (name, edit)
    s.can_undo, s.can_redo, s.undo_text, s.redo_text, s.steps() -> [(name, label, applied)]
    # history_changed(HistoryChanged(action, embryo, label, frames, detections, scores, training))

Jobs (one at a time)::

    job = s.detect_job() / s.autoclean_job(policy) / s.export_job(out, ...) / s.import_job(src, ...)
    s.run_job(job)                     # compute on the session's thread pool, wait, apply here -> outcome
    s.start_job(job); s.poll(); s.wait_job(job)   # the same, without blocking (poll() delivers
                                                  # progress and applies a finished job here)
    s.begin_job(job) / s.report_progress(job, info) / s.end_job(job)   # for another runner (Qt)
    s.job                              # the running job or None
    # job_started / job_progress / job_finished (JobEvent), all on the session's thread

Events: ``s.events.project_changed``, ``embryo_changed``, ``frame_changed``, ``history_changed``,
``modified_changed``, ``job_started``, ``job_progress``, ``job_finished``; ``connect(fn)`` with
``fn(payload)``.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import EmbryoError
from ..model import Project
from ..model.lock import describe_holder, is_locked, read_holder
from ..policy import JOBS_ALLOWING_EDITS, READ_ONLY_JOBS
from ..model.edit import Edit
from .events import EmbryoChanged, FrameChanged, HistoryChanged, JobEvent, ProjectChanged, SessionEvents
from .jobs import Job


class Session:
    def __init__(self, project: Optional[Project] = None) -> None:
        self.events = SessionEvents()
        self._owner = threading.get_ident()
        self._project: Optional[Project] = None
        self._embryo_name: Optional[str] = None
        self._frame = 0
        self._job: Optional[Job] = None
        self._future: Optional[Future] = None
        self._progress: "queue.SimpleQueue[tuple[Job, dict]]" = queue.SimpleQueue()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._modified = False
        self._read_only = False
        self._read_only_holder: Optional[str] = None
        self._read_only_file: Optional[tuple] = None   # the file's identity when it was opened read-only
        if project is not None:
            self.set_project(project)

    # --- project -----------------------------------------------------------------------------------
    @property
    def project(self) -> Optional[Project]:
        return self._project

    @property
    def path(self) -> Optional[Path]:
        return None if self._project is None else Path(self._project.path)

    @property
    def modified(self) -> bool:
        return self._project is not None and self._project.modified

    @property
    def read_only(self) -> bool:
        """True while the project was opened with ``read_only=True``: every change is refused."""
        return self._project is not None and self._read_only

    @property
    def read_only_holder(self) -> Optional[str]:
        """Who held the project's write lock when it was opened read-only (None: nobody, or not read-only)."""
        return self._read_only_holder if self.read_only else None

    def open(self, path, wait: Optional[float] = None, read_only: bool = False, *, _start=None) -> Project:
        """Open a project file for editing: the session holds its write lock until it is closed
        (``model.lock``; another writer gets a one-line refusal naming this process, and so does this
        call when another process holds it, after waiting up to ``wait`` seconds: default
        ``policy.LOCK_WAIT_SECONDS``).  EmbryoError on a bad one; the current project stays open then.

        ``read_only=True``: open it as a reader (``Project.open(path, write=False)``), taking no lock
        and never waiting, even while another process holds it; edits, undo, redo, save and every
        job but an export to another file (``policy.READ_ONLY_JOBS``) are then refused."""
        self._check_idle("open a project")
        if not read_only:
            return self.set_project(Project.open(path, write=True, wait=wait), _start=_start)
        signature = _file_signature(path)   # before reading: a save in between is seen as a change
        project = Project.open(path, write=False)
        # the project this session holds, opened again read-only: its lock goes with the switch
        ours = self._project is not None and self._project.held and _same_file(self._project.path, project.path)
        holder = describe_holder(read_holder(path) or {}) if is_locked(path) and not ours else None
        self._read_only_file = signature   # (first: a listener that fails must not leave it stale)
        self.set_project(project, _read_only=(True, holder), _start=_start)
        return project

    def read_only_status(self) -> Optional["ReadOnlyStatus"]:
        """For a project open read-only (else None): whether its file changed since it was opened
        (the holder saved: :meth:`reload` shows it) and whether anybody holds its write lock now
        (nobody: :meth:`reopen_for_editing` can take it).  Two ``stat`` calls and a lock probe."""
        if not self.read_only:
            return None
        path = self._project.path
        return ReadOnlyStatus(changed=_file_signature(path) != self._read_only_file, free=not is_locked(path))

    def reload(self) -> Project:
        """Open the read-only project again from its file (what its holder saved since), on the same
        embryo and frame where they still exist.  EmbryoError if it cannot be read: the project as
        it was stays open, and :meth:`read_only_status` reports a change again only once the file
        changes again."""
        return self._reopen(read_only=True, what="reload the project")

    def reopen_for_editing(self, wait: Optional[float] = None) -> Project:
        """Open the read-only project for editing (its write lock taken, ``wait`` as :meth:`open`),
        on the same embryo and frame.  ProjectLockedError (one line, naming the holder) while
        somebody holds it: the read-only project stays open."""
        return self._reopen(read_only=False, what="reopen the project for editing", wait=wait)

    def _reopen(self, read_only: bool, what: str, wait: Optional[float] = None) -> Project:
        if not self.read_only:
            raise EmbryoError(f"cannot {what}: it is not open read-only", self.path)
        self._check_idle(what)
        path = self._project.path
        seen = _file_signature(path)
        try:
            return self.open(path, wait=wait, read_only=read_only, _start=(self._embryo_name, self._frame))
        except EmbryoError:
            if read_only:   # this version of the file cannot be read: not "changed" again until the next
                self._read_only_file = seen
            raise

    def create(self, path) -> Project:
        """Create a new empty project at ``path`` (which must not exist) and make it current."""
        self._check_idle("create a project")
        return self.set_project(Project.create(path, hold=True))

    def set_project(self, project: Optional[Project], *, _read_only=(False, None), _start=None) -> Optional[Project]:
        """Make ``project`` the session's project (None: none); the previous one is closed unless
        it is the same object.  A project set here is not read-only (see :meth:`open`).  (``_start``:
        ``(embryo name, frame)`` of a reload, which starts there and says ``reloaded``.)"""
        self._check_thread()
        old = self._project
        if old is project:
            return project
        if old is not None:
            old.undo_stack.remove_listener(self._on_step)
            old.close()
        self._read_only, self._read_only_holder = _read_only if project is not None else (False, None)
        self._project = project
        self._frame = 0
        self._embryo_name = project.embryos[0].name if project is not None and project.embryos else None
        reloaded = False
        if project is not None and _start is not None and _start[0] in project.names:
            self._embryo_name = _start[0]
            self._frame = min(max(0, int(_start[1])), max(0, project.embryo(_start[0]).n_frames - 1))
            reloaded = True
        if project is not None:
            project.undo_stack.add_listener(self._on_step)
        self.events.project_changed.emit(ProjectChanged(project, None if project is None else str(project.path),
                                                        reloaded=reloaded))
        self.events.embryo_changed.emit(EmbryoChanged(self._embryo_name, list_changed=True, reloaded=reloaded))
        self.events.frame_changed.emit(FrameChanged(self._embryo_name, self._frame))
        self._emit_modified()
        return project

    def close(self) -> None:
        """Close the project (unsaved changes are dropped: ask first) and stop the thread pool."""
        self._check_idle("close the project")
        self.set_project(None)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def save(self) -> None:
        """Save the project atomically (its undo order included)."""
        self._check_thread()
        p = self._need_project()
        self.check_editing("save")
        p.save()
        self.events.project_changed.emit(ProjectChanged(p, str(p.path), saved=True))
        self._emit_modified()

    # --- current embryo and frame ----------------------------------------------------------------------
    @property
    def embryos(self) -> list[str]:
        return [] if self._project is None else self._project.names

    @property
    def embryo_name(self) -> Optional[str]:
        return self._embryo_name

    @property
    def embryo(self):
        """The current Embryo (None when the project has none)."""
        if self._project is None or self._embryo_name is None:
            return None
        try:
            return self._project.embryo(self._embryo_name)
        except KeyError:
            return None

    def select_embryo(self, name: Optional[str]) -> None:
        self._check_thread()
        if name is not None:
            self._need_project().embryo(name)  # KeyError for an unknown name
        if name == self._embryo_name:
            return
        self._embryo_name = name
        self.events.embryo_changed.emit(EmbryoChanged(name))
        e = self.embryo
        clamped = 0 if e is None else min(self._frame, max(0, e.n_frames - 1))
        if clamped != self._frame:
            self._frame = clamped
        self.events.frame_changed.emit(FrameChanged(name, self._frame))

    @property
    def frame(self) -> int:
        return self._frame

    def set_frame(self, frame: int) -> int:
        """Go to ``frame`` (0-based), clamped to the current embryo; returns the frame shown."""
        self._check_thread()
        e = self.embryo
        f = 0 if e is None else int(min(max(int(frame), 0), max(0, e.n_frames - 1)))
        if f != self._frame:
            self._frame = f
            self.events.frame_changed.emit(FrameChanged(self._embryo_name, f))
        return f

    # --- edits and the undo stack --------------------------------------------------------------------
    def push(self, edit: Edit, embryo=None) -> bool:
        """Apply ``edit`` to ``embryo`` (an Embryo or a name; default the current one) as one undo
        step.  Returns False when it changed nothing (nothing is recorded).  An edit that fails
        raises and leaves the embryo as it was."""
        self._check_thread()
        e = self._resolve(embryo)
        self.check_editing("edit")
        e.history.push(edit)
        return not edit.is_empty

    @property
    def editing_allowed(self) -> bool:
        """Whether edits, undo, redo and save are allowed now (see :meth:`editing_refusal`)."""
        return self.editing_refusal() is None

    def editing_refusal(self, what: str = "edit") -> Optional[str]:
        """Why ``what`` (an edit, undo, save...) is refused now, in one line, or None when allowed:
        the project is read-only, or a job that holds editing runs (any job not in
        ``policy.JOBS_ALLOWING_EDITS``: auto-clean, import)."""
        if self.read_only:
            return self._read_only_text(what)
        job = self._job
        if job is not None and job.name not in JOBS_ALLOWING_EDITS:
            return f"cannot {what} while {job.label} is running; wait for it or cancel it"
        return None

    def check_editing(self, what: str = "edit") -> None:
        """Raise EmbryoError (one line) when :meth:`editing_refusal` refuses ``what``."""
        why = self.editing_refusal(what)
        if why is not None:
            raise EmbryoError(why)

    def _read_only_text(self, what: str) -> str:
        held = f", held by {self._read_only_holder}" if self._read_only_holder else ""
        return (f"cannot {what}: {self.path.name} is open read-only{held}; "
                "open it again when it is free to change it")

    @property
    def can_undo(self) -> bool:
        return self._project is not None and self._project.undo_stack.can_undo

    @property
    def can_redo(self) -> bool:
        return self._project is not None and self._project.undo_stack.can_redo

    @property
    def undo_text(self) -> str:
        nxt = None if self._project is None else self._project.undo_stack.next_undo()
        return "" if nxt is None else f"{nxt[0].name}: {nxt[1].label}"

    @property
    def redo_text(self) -> str:
        nxt = None if self._project is None else self._project.undo_stack.next_redo()
        return "" if nxt is None else f"{nxt[0].name}: {nxt[1].label}"

    def undo(self, select: bool = True) -> tuple[str, Edit]:
        """Undo the last step of the project, whichever embryo it belongs to (IndexError when
        there is none); with ``select`` that embryo becomes the current one."""
        self._check_thread()
        self._need_project()
        self.check_editing("undo")
        embryo, edit = self._project.undo_stack.undo()
        if select:
            self.select_embryo(embryo.name)
        return embryo.name, edit

    def redo(self, select: bool = True) -> tuple[str, Edit]:
        self._check_thread()
        self._need_project()
        self.check_editing("redo")
        embryo, edit = self._project.undo_stack.redo()
        if select:
            self.select_embryo(embryo.name)
        return embryo.name, edit

    def steps(self) -> list[tuple[str, str, bool]]:
        """The undo stack for display: ``(embryo name, label, applied)`` oldest first."""
        if self._project is None:
            return []
        st = self._project.undo_stack
        return [(e.name, x.label, k < st.position) for k, (e, x) in enumerate(st.steps())]

    def _on_step(self, action: str, embryo, edit: Edit) -> None:
        if threading.get_ident() != self._owner:
            raise RuntimeError(f"{embryo.name}: {action} of {edit.label!r} off the session's thread; "
                               "the model is only changed on its thread (run long work as a Job)")
        ch = edit.changes()
        self.events.history_changed.emit(HistoryChanged(action, embryo.name, edit.label, ch["frames"],
                                                        ch["detections"], ch["scores"], ch["training"]))
        self._emit_modified()

    def _emit_modified(self) -> None:
        m = self.modified
        if m != self._modified:
            self._modified = m
            self.events.modified_changed.emit(m)

    # --- jobs ------------------------------------------------------------------------------------------
    @property
    def job(self) -> Optional[Job]:
        """The running job (None when idle)."""
        return self._job

    def begin_job(self, job: Job) -> None:
        """Mark ``job`` as the running one (EmbryoError if another runs); job_started."""
        self._check_thread()
        why = self.job_refusal(job.name, job.label)
        if why is not None:
            raise EmbryoError(why)
        self._job = job
        self.events.job_started.emit(JobEvent(job))

    def report_progress(self, job: Job, info: dict) -> None:
        """job_progress, on the session's thread (a runner calls this with what compute reported)."""
        self._check_thread()
        self.events.job_progress.emit(JobEvent(job, info))

    def end_job(self, job: Job) -> Any:
        """Apply (or discard) a job whose compute has finished, here; job_finished.  Returns the outcome."""
        self._check_thread()
        if job is not self._job:
            raise RuntimeError(f"{job!r} is not the session's running job")
        names = self.embryos
        objects = self._embryo_objects()
        try:
            outcome = job.finish()
        finally:
            self._job, self._future = None, None
            after = self._embryo_objects()
            if after != objects:           # added, removed, or replaced under the same name (re-import)
                if self._embryo_name not in self.embryos:
                    self._embryo_name = None
                new = [n for n in self.embryos if n not in names]
                replaced = [e.name for e in (self._project.embryos if self._project is not None else [])
                            if e.name in names and id(e) not in objects]
                self.events.embryo_changed.emit(EmbryoChanged(self._embryo_name, list_changed=True))
                if new:
                    self.select_embryo(new[-1])
                elif replaced:             # a re-imported embryo is shown (views re-read it either way)
                    self.select_embryo(replaced[-1])
                self._emit_modified()
            self.events.job_finished.emit(JobEvent(job))
        return outcome

    def job_refusal(self, name: str, label: Optional[str] = None) -> Optional[str]:
        """Why a job named ``name`` cannot start now (one line), or None: another job runs, or the
        project is read-only and the job is not one that writes nothing into it
        (``policy.READ_ONLY_JOBS``).  A face asks before it prepares a job (the trainer's copy)."""
        if self._job is not None:
            return f"{self._job.label} is already running; wait for it or cancel it"
        if self.read_only and name not in READ_ONLY_JOBS:
            return self._read_only_text(f"run {label or name}")
        return None

    def start_job(self, job: Job) -> Future:
        """Run ``job``'s compute on the session's thread pool; :meth:`poll` / :meth:`wait_job`
        deliver its progress and apply it on this thread."""
        self.begin_job(job)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embryo-job")
        job.on_progress = lambda info, _job=job: self._progress.put((_job, info))
        try:
            self._future = self._pool.submit(job.compute)
        except BaseException:
            self._job = None
            raise
        return self._future

    def poll(self) -> Optional[Any]:
        """Deliver queued progress and, when the running job's compute is over, apply it here.
        Returns the job's outcome when it was applied in this call, else None."""
        self._check_thread()
        self._drain()
        if self._job is not None and self._future is not None and self._future.done():
            self._future.result()  # compute never raises; a crash of the runner itself would show here
            self._drain()
            return self.end_job(self._job)
        return None

    def wait_job(self, job: Optional[Job] = None, timeout: Optional[float] = None) -> Any:
        """Block until the running job's compute is over, delivering its progress here, then apply
        it here.  Raises what made it fail (EmbryoError, CancelledError) after job_finished.
        Ctrl-C cancels the job (nothing is changed) and re-raises."""
        self._check_thread()
        job = job or self._job
        if job is None or job is not self._job or self._future is None:
            raise RuntimeError("no job started with start_job() is running")
        fut = self._future
        try:
            while not fut.done():
                try:
                    j, info = self._progress.get(timeout=0.05 if timeout is None else min(0.05, timeout))
                    self.events.job_progress.emit(JobEvent(j, info))
                except queue.Empty:
                    pass
        except KeyboardInterrupt:
            job.cancel()
            fut.result()
            self._drain()
            self.end_job(job)
            raise
        self._drain()
        outcome = self.end_job(job)
        job.raise_for_state()
        return outcome

    def run_job(self, job: Job) -> Any:
        """Run ``job`` to its end: compute off this thread, apply on it; returns the outcome and
        raises what made it fail (EmbryoError, CancelledError)."""
        self.start_job(job)
        return self.wait_job(job)

    def cancel_job(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _drain(self) -> None:
        while True:
            try:
                j, info = self._progress.get_nowait()
            except queue.Empty:
                return
            self.events.job_progress.emit(JobEvent(j, info))

    # --- workflows (each returns a Job; see embryo_gui.app.*) -----------------------------------------
    def detect_job(self, names=None, **settings) -> Job:
        from .detecting import detect_job
        return detect_job(self._need_writable("run the detectors"), names, **settings)

    def autoclean_job(self, policy=None, names=None) -> Job:
        from .autoclean import autoclean_job
        return autoclean_job(self._need_writable("auto-clean"), policy, names)

    def export_job(self, out_path, **options) -> Job:
        from .exporting import export_job
        return export_job(self._need_project(), out_path, **options)

    def import_job(self, source_path, annotations_path=None, **options) -> Job:
        from .importing import import_job
        return import_job(self._need_writable("import"), source_path, annotations_path, **options)

    # --- internals ---------------------------------------------------------------------------------------
    def _embryo_objects(self) -> list:
        return [] if self._project is None else [id(e) for e in self._project.embryos]

    def _need_project(self) -> Project:
        if self._project is None:
            raise EmbryoError("no project is open")
        return self._project

    def _need_writable(self, what: str) -> Project:
        """The project, unless it is open read-only (EmbryoError, one line): a job that would
        change it is refused before it plans anything."""
        p = self._need_project()
        if self.read_only:
            raise EmbryoError(self._read_only_text(what))
        return p

    def _resolve(self, embryo):
        if embryo is None:
            e = self.embryo
            if e is None:
                raise EmbryoError("no embryo is selected")
            return e
        return self._need_project().embryo(embryo) if isinstance(embryo, str) else embryo

    def _check_thread(self) -> None:
        if threading.get_ident() != self._owner:
            raise RuntimeError("a Session is used only on the thread that created it")

    def _check_idle(self, what: str) -> None:
        if self._job is not None:
            raise EmbryoError(f"cannot {what} while {self._job.label} is running")

    def __repr__(self) -> str:
        return f"Session({self.path}, embryo={self._embryo_name!r}, frame={self._frame})"


@dataclass(frozen=True)
class ReadOnlyStatus:
    """:meth:`Session.read_only_status`: ``changed``: the file is not the one opened (saved since,
    replaced or gone); ``free``: nobody holds its write lock."""
    changed: bool
    free: bool


def _file_signature(path) -> Optional[tuple]:
    """What tells one version of a file from the next: (inode, size, mtime); None if it is gone.
    (A save replaces the file: a new inode; an in-place change moves the mtime.)"""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _same_file(a, b) -> bool:
    """Whether two paths name one file (False when either is gone)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
