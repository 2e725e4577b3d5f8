"""The project: many embryos in one versioned HDF5 file (layout in docs/FORMAT.md).

A project is two things on disk: ``NAME.h5`` (annotations, flags, detections, history, training;
small, rewritten atomically on every save) and the folder ``NAME.frames/`` (one write-once frame
file per embryo).  Saving never touches the frames.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import uuid
from pathlib import Path
from typing import Iterable, Optional

import h5py
import numpy as np

from .. import __version__
from ..errors import EmbryoError, first_line
from ..lineages import COLUMNS, N_COLUMNS
from .atomic import atomic_target, check_writable_dir, disk_problem, ensure_space, real_target
from .edit import Edit, check_delta
from .embryo import Embryo
from ..policy import FLAG_KINDS
from .flags import Flags
from ..jsoncodec import dumps, loads
from .format import FORMAT_NAME, FORMAT_VERSION
from .framestore import write_frame_file
from .lock import ProjectLock
from .cleanup import CleanupReport, cleanup_project, register_live, unregister_live, write_copy_pin
from .compaction import compacted_history
from .history import History
from .undo import UndoStack


def frames_dir_for(path: Path) -> Path:
    return path.with_name(path.stem + ".frames")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Project:
    def __init__(self, path: "str | os.PathLike[str]", frames_dir: Optional[Path] = None):
        self.path = Path(path)
        # absolute, so that frame files are still found if the process changes directory
        self.frames_dir = (Path(frames_dir) if frames_dir is not None else frames_dir_for(self.path)).absolute()
        self.embryos: list[Embryo] = []
        #: the one undo order across embryos (saved in the file; see model/undo.py)
        self.undo_stack = UndoStack()
        self.created = _now()
        self._saved_positions: dict[str, tuple[Optional[Edit], int]] = {}
        self._structure_dirty = False
        self._pending_frames: set[str] = set()
        self._removed_frames: set[str] = set()  # frame files of removed embryos, deleted once unreferenced
        self._lock: Optional[ProjectLock] = None
        self._hold = False        # opened for writing: the lock is kept until close()
        self._holder: Optional[str] = None
        self._disk: Optional[tuple] = None  # (real path, stat key, generation) of the file last read/written
        #: what the last cleanup removed (files left by a killed writer): see :meth:`cleanup`
        self.cleaned = CleanupReport()
        register_live(self)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: "str | os.PathLike[str]", hold: bool = False, holder: Optional[str] = None,
               wait: Optional[float] = None) -> "Project":
        """A new empty project, written to ``path`` at once (which must not exist).  With ``hold``
        the write lock is kept until :meth:`close` (as :meth:`open` with ``write=True``)."""
        path = Path(path)
        cls.check_new_path(path)
        p = cls(path)
        p._holder = holder
        p.hold(wait)
        try:
            if path.exists():  # created by another process while we waited for the lock
                raise EmbryoError("file already exists; open it or choose another name", path)
            p.save()
        except BaseException:
            p.release()
            raise
        if not hold:
            p.release()
        return p

    @classmethod
    def new(cls, path: "str | os.PathLike[str]") -> "Project":
        """A new empty project for ``path`` (which must not exist, end in .h5 and be in a writable
        folder), in memory: nothing is written before :meth:`save` (which takes the write lock;
        :meth:`hold` takes it at once)."""
        path = Path(path)
        cls.check_new_path(path)
        return cls(path)

    @staticmethod
    def check_new_path(path: Path) -> None:
        """Refuse a path a new project cannot be created at (exists, wrong suffix, no writable folder)."""
        if path.exists():
            raise EmbryoError("file already exists; open it or choose another name", path)
        if path.suffix.lower() not in (".h5", ".hdf5"):
            raise EmbryoError("a project file name must end in .h5", path)
        check_writable_dir(path)

    @classmethod
    def open(cls, path: "str | os.PathLike[str]", write: bool = False, holder: Optional[str] = None,
             wait: Optional[float] = None) -> "Project":
        """Open a project.  ``write=False`` (a reader) takes no lock and never waits.  ``write=True``
        takes the project's write lock first (waiting up to ``wait`` seconds, default
        ``model.lock.LOCK_WAIT_SECONDS``; :class:`~embryo_gui.model.lock.ProjectLockedError` names the
        holder otherwise), reads the file, removes what killed writers left behind (reported in
        :attr:`cleaned`) and keeps the lock until :meth:`close`.

        A project opened without ``write`` still takes the lock for the moment of each write (frames
        or save) and refuses to save over a file another process changed since it was read."""
        path = Path(path)
        if not path.exists():
            raise EmbryoError("no such project file", path)
        if path.is_dir():
            raise EmbryoError("is a folder, not a project file", path)
        if not write:
            return cls._open_read(path)
        lock = ProjectLock(path, holder)
        lock.acquire(wait)
        try:
            p = cls._open_read(path)
        except BaseException:
            lock.release()
            raise
        p._holder, p._lock, p._hold = holder, lock, True
        try:
            p.cleaned = p.cleanup()
        except BaseException:
            p.release()
            raise
        return p

    @classmethod
    def _open_read(cls, path: Path) -> "Project":
        before = _stat_key(path)  # taken before reading: a replace in between is then noticed at save
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            kind = "not an HDF5 file" if _is_not_hdf5(path) else "truncated or damaged HDF5 file"
            raise EmbryoError(f"cannot open project: {kind} ({first_line(exc)})", path) from None
        try:
            with f:
                p = cls._read(path, f)
                p._disk = (os.path.realpath(path), before, _s(f.attrs.get("generation", "")))
                return p
        except EmbryoError:
            raise
        except KeyError as exc:
            raise EmbryoError(f"damaged project file (missing {first_line(exc)})", path) from None
        except (ValueError, OSError, TypeError, IndexError, AttributeError) as exc:
            raise EmbryoError(f"damaged project file ({first_line(exc)})", path) from None

    @classmethod
    def _read(cls, path: Path, f: h5py.File) -> "Project":
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT_NAME:
            raise EmbryoError(f"not an embryo-gui project (format attribute is {fmt!r})", path)
        version = int(f.attrs.get("format_version", -1))
        if version > FORMAT_VERSION:
            raise EmbryoError(f"project format version {version} is newer than this embryo-gui "
                              f"{__version__} supports ({FORMAT_VERSION}); update embryo-gui", path)
        if version < 1:
            raise EmbryoError(f"invalid project format version {version}", path)
        # relative to the real file's folder (a symlinked project is read and written through its link)
        frames_dir = Path(os.path.realpath(path)).parent / str(f.attrs.get("frames_dir", frames_dir_for(path).name))
        p = cls(path, frames_dir)
        p.created = str(f.attrs.get("created", ""))
        table = loads(f["embryos"][()])
        if not isinstance(table, list) or not all(isinstance(m, dict) for m in table):
            raise EmbryoError("damaged project file (the embryo table is not a list of embryos)", path)
        original, current, bits = f["original"][()], f["current"][()], f["flags"][()]
        kinds = [k.decode() if isinstance(k, bytes) else str(k) for k in f["flags"].attrs["kinds"]]
        bits = _remap_bits(bits, kinds)
        scores_all = {name: f["scores"][name][()] for name in f["scores"]} if "scores" in f else {}
        histories = f["history"][()] if "history" in f else [b"[]"] * len(table)
        trainings = f["training"][()] if "training" in f else [b"[]"] * len(table)
        total = sum(int(m["n_frames"]) for m in table)
        arrays = {"original": original, "current": current, "flags": bits,
                  **{f"scores/{k}": v for k, v in scores_all.items()}}
        for key, arr in arrays.items():
            if len(arr) != total:
                raise EmbryoError(f"damaged project file (/{key} has {len(arr)} rows, the embryos have {total})",
                                  path)
        for key, arr in (("history", histories), ("training", trainings)):
            if len(arr) != len(table):
                raise EmbryoError(f"damaged project file (/{key} has {len(arr)} entries for {len(table)} embryos)",
                                  path)
        for i, meta in enumerate(table):
            a, n = int(meta["offset"]), int(meta["n_frames"])
            if n < 0 or a < 0 or a + n > total:
                raise EmbryoError(f"damaged project file (embryo {i}: rows {a}..{a + n} outside 0..{total})", path)
            for key, typ in (("detections", dict), ("source", dict), ("alignment", dict), ("scores", list)):
                if not isinstance(meta.get(key) or typ(), typ):
                    raise EmbryoError(f"damaged project file (embryo {i}: {key} is not a {typ.__name__})", path)
            training = loads(trainings[i])
            if not isinstance(training, list):
                raise EmbryoError(f"damaged project file (embryo {i}: training is not a list)", path)
            sl = slice(a, a + n)
            scores = {k: v[sl].copy() for k, v in scores_all.items() if k in meta.get("scores", [])}
            e = Embryo(meta["name"], meta["uid"], n, meta["frame_shape"], original[sl],
                       frames_dir / meta["frames_file"], current=current[sl], flags=Flags(n, bits[sl], scores),
                       detections=meta.get("detections") or {}, training=training,
                       source=meta.get("source") or {}, alignment=meta.get("alignment") or {})
            entries = [Edit.from_json(_s(t)) for t in _split_history(histories[i])]
            for x in entries:
                check_delta(x.delta, n)
            e.history = History(e, entries, meta.get("history_position", len(entries)))
            p.embryos.append(e)
            p.undo_stack.attach(e)
        p.undo_stack.restore(loads(f["undo_order"][()]) if "undo_order" in f else None)
        p._mark_saved()
        return p

    # --- embryos ------------------------------------------------------------------------------
    def embryo(self, name: str) -> Embryo:
        for e in self.embryos:
            if e.name == name:
                return e
        raise KeyError(f"no embryo named {name!r} in {self.path}")

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.embryos]

    def write_frames(self, frames: Iterable[np.ndarray], frame_shape, expected_frames=None, truth=None,
                     progress=None, cancel=None, features=None, on_frame=None) -> tuple[Path, int]:
        """Write a new frame file into the project's frames folder; return (path, frames written).
        Takes the write lock (kept until the next :meth:`save` or :meth:`close`).

        ``features`` / ``on_frame``: see :func:`~.framestore.write_frame_file`."""
        path = self.new_frames_path()
        try:
            n = write_frame_file(path, frames, frame_shape, expected_frames, progress, cancel, truth=truth,
                                 features=features, on_frame=on_frame)
        except BaseException:
            self.discard_frames(path)
            raise
        return path, n

    def new_frames_path(self) -> Path:
        """Reserve the path of a new frame file in the frames folder (created if needed; EmbryoError
        if it cannot be written).  The file may then be written on any thread; attach it with
        :meth:`attach_embryo` or give it up with :meth:`discard_frames`."""
        check_writable_dir(self.frames_dir)  # parent folder must be writable
        self._begin_write()
        register_live(self)
        try:
            self.frames_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise EmbryoError(f"cannot create the frames folder ({disk_problem(exc) or first_line(exc)})",
                              self.frames_dir) from None
        if not os.access(self.frames_dir, os.W_OK):
            raise EmbryoError("cannot write: folder is read-only", self.frames_dir)
        path = self.frames_dir / f"{uuid.uuid4().hex[:12]}.h5"
        self._pending_frames.add(path.name)
        return path

    def discard_frames(self, path: Path) -> None:
        """Give up a reserved frame file that no embryo uses: it is deleted (no orphan is left)."""
        path = Path(path)
        if path.name in {e.frames.path.name for e in self.embryos}:
            raise ValueError(f"frame file {path.name} belongs to an embryo")
        self._pending_frames.discard(path.name)
        with contextlib.suppress(OSError):
            path.unlink()

    @property
    def pending_frames(self) -> frozenset:
        """Names of reserved frame files not yet attached to an embryo."""
        return frozenset(self._pending_frames)

    def add_embryo(self, name: str, frames: Iterable[np.ndarray], n_frames: int, frame_shape, counts=None,
                   source: Optional[dict] = None, alignment: Optional[dict] = None, truth: Optional[dict] = None,
                   progress=None, cancel=None) -> Embryo:
        """Write the frames and add an embryo (in memory; call :meth:`save`).  ``counts`` must have one
        row per frame that really decodes; use :meth:`write_frames` + :meth:`attach_embryo` when
        the number of frames is only known after decoding."""
        if name in self.names:
            raise EmbryoError(f"an embryo named {name!r} already exists", self.path)
        path, n = self.write_frames(frames, frame_shape, n_frames, truth, progress, cancel)
        try:
            if counts is not None and len(counts) != n:
                raise EmbryoError(f"{len(counts)} annotation rows for {n} decoded frames", self.path)
            return self.attach_embryo(name, path, n, frame_shape, counts, source, alignment)
        except BaseException:
            self.discard_frames(path)
            raise

    def attach_embryo(self, name: str, frames_path: Path, n_frames: int, frame_shape, counts=None,
                      source: Optional[dict] = None, alignment: Optional[dict] = None) -> Embryo:
        if name in self.names:
            raise EmbryoError(f"an embryo named {name!r} already exists", self.path)
        counts = np.full((n_frames, N_COLUMNS), np.nan) if counts is None else np.asarray(counts, np.float64)
        e = Embryo(name, Path(frames_path).stem, n_frames, frame_shape, counts, Path(frames_path),
                   source=source, alignment=alignment)
        self.embryos.append(e)
        self.undo_stack.attach(e)
        self._pending_frames.discard(Path(frames_path).name)
        self._structure_dirty = True
        return e

    def remove_embryo(self, name: str) -> None:
        """Remove an embryo from the project (its frame file is deleted at the next save)."""
        e = self.embryo(name)
        self.embryos.remove(e)
        self.undo_stack.detach(e)
        e.frames.close()
        self._removed_frames.add(e.frames.path.name)
        self._structure_dirty = True

    # --- state ----------------------------------------------------------------------------------
    def _mark_saved(self) -> None:
        # the top edit itself is kept (not its id(): a freed edit's id can be reused by a new one)
        self._saved_positions = {e.uid: (_top_edit(e), e.history.position) for e in self.embryos}
        self._structure_dirty = False

    def mark_modified(self) -> None:
        """Treat the project as changed since its last save (e.g. after restoring a recovery copy)."""
        self._structure_dirty = True

    @property
    def modified(self) -> bool:
        """True when there are changes since the last save or open."""
        if self._structure_dirty or len(self._saved_positions) != len(self.embryos):
            return True
        for e in self.embryos:
            saved = self._saved_positions.get(e.uid)
            if saved is None or saved[0] is not _top_edit(e) or saved[1] != e.history.position:
                return True
        return False

    # --- saving -----------------------------------------------------------------------------------
    def save(self) -> CleanupReport:
        """Atomically write the project file (the previous one is kept as ``.bak``), under the write
        lock, then remove what killed writers left behind and the frame files no file refers to any
        more; returns what was removed (also in :attr:`cleaned`).

        Refuses (one-line :class:`EmbryoError`, nothing written) when another process holds the
        project, or when the file on disk changed since this project was read (another writer's
        work would be lost)."""
        self._begin_write()
        try:
            self._generation = uuid.uuid4().hex
            self._write(self.path, backup=True)
            real = real_target(self.path)
            self._disk = (os.path.realpath(self.path), _stat_key(real), self._generation)
            self._mark_saved()
            self.cleaned = self.cleanup()
            return self.cleaned
        finally:
            if not self._hold:
                self.release()

    def save_copy(self, path: "str | os.PathLike[str]") -> None:
        """Write the project to another file (autosave / recovery), leaving :attr:`path` as it is.
        The copy refers to the same frames folder; the frame files it refers to are kept by
        :meth:`cleanup` as long as the copy exists."""
        path = Path(path)
        self._generation = uuid.uuid4().hex
        self._write(path, backup=False)
        write_copy_pin(self, path)

    # --- the write lock -----------------------------------------------------------------------
    @property
    def held(self) -> bool:
        """True while this project holds its write lock."""
        return self._lock is not None and self._lock.held

    def hold(self, wait: Optional[float] = None) -> None:
        """Take the write lock now and keep it until :meth:`close` (what the app does while a
        project is open).  Raises :class:`~embryo_gui.model.lock.ProjectLockedError` naming the
        holder, or :class:`EmbryoError` when the file changed since it was read."""
        self._begin_write(wait)
        self._hold = True

    def release(self) -> None:
        """Give the write lock back (a no-op when not held)."""
        self._hold = False
        if self._lock is not None:
            self._lock.release()

    def _begin_write(self, wait: Optional[float] = None) -> None:
        if not self.held:
            check_writable_dir(real_target(self.path))
            self._lock = ProjectLock(self.path, self._holder)
            self._lock.acquire(wait)
        try:
            self._check_unchanged()
        except BaseException:
            if not self._hold:
                self.release()
            raise

    def _check_unchanged(self) -> None:
        """Refuse to write when the file on disk is not the one this project last read or wrote."""
        disk = self._disk
        real = os.path.realpath(self.path)
        if disk is None:
            if os.path.lexists(self.path):
                raise EmbryoError("was created by another process since this project was started; nothing was "
                                  "saved (open it instead)", self.path)
            return
        if disk[0] != real:
            return  # saved under another name (e.g. a restored recovery copy): nothing to compare with
        now = _stat_key(real)
        if now == disk[1]:
            return
        if now is None:
            raise EmbryoError("was deleted or moved by another process since it was opened; nothing was saved",
                              self.path)
        gen = _generation_on_disk(real)
        if disk[2] and gen == disk[2]:
            return  # touched, not rewritten
        raise EmbryoError("was changed by another process since it was opened; nothing was saved (reopen it "
                          "to see the other changes)", self.path)

    # --- cleanup --------------------------------------------------------------------------------
    def cleanup(self) -> CleanupReport:
        """Remove what killed writers left behind: temp files of this project file and of its frames
        folder, and complete frame files that no project file (this one, its ``.bak``, another
        project file of the folder sharing the frames folder, a live autosave copy) refers to.
        Runs only under the write lock (so no live writer can own those files); returns the report."""
        if not self.held:
            return CleanupReport()
        return cleanup_project(self)

    def _write(self, target: Path, backup: bool) -> None:
        offsets = np.cumsum([0] + [e.n_frames for e in self.embryos])
        total = int(offsets[-1])
        score_names = sorted({k for e in self.embryos for k in e.flags.scores})
        table = []
        histories = [compacted_history(e.history) for e in self.embryos]
        for e, off, (_, hpos) in zip(self.embryos, offsets[:-1], histories):
            table.append({
                "name": e.name, "uid": e.uid, "n_frames": e.n_frames, "frame_shape": list(e.frame_shape),
                "frames_file": e.frames.path.name, "offset": int(off), "source": e.source,
                "alignment": e.alignment, "detections": e.detections,
                "history_position": hpos, "scores": sorted(e.flags.scores),
            })
        real_parent = real_target(target).parent
        frames_rel = os.path.relpath(self.frames_dir, real_parent.resolve() if real_parent.exists() else ".")
        try:
            history_json = ["[" + ",".join(x.to_json() for x in entries) + "]" for entries, _ in histories]
            with atomic_target(target, backup=backup) as tmp:
                # stop before HDF5 itself meets a full disk (it cannot close a file it failed to write)
                ensure_space(tmp, 2 * (sum(map(len, history_json)) + total * (2 * N_COLUMNS * 8 + 2 + 4 * len(
                    score_names)) + 65536), target)
                with h5py.File(tmp, "w", libver="latest") as f:
                    f.attrs["format"] = FORMAT_NAME
                    f.attrs["format_version"] = FORMAT_VERSION
                    f.attrs["tool_version"] = __version__
                    f.attrs["created"] = self.created
                    f.attrs["saved"] = _now()
                    f.attrs["generation"] = getattr(self, "_generation", "") or uuid.uuid4().hex
                    f.attrs["frames_dir"] = frames_rel
                    f.attrs["columns"] = list(COLUMNS)
                    f.create_dataset("embryos", data=dumps(table))
                    cat = (lambda arrs, shape, dt: np.concatenate(arrs) if arrs else np.zeros(shape, dt))
                    f.create_dataset("original", data=cat([e.original for e in self.embryos], (0, N_COLUMNS), "f8"))
                    f.create_dataset("current", data=cat([e.current for e in self.embryos], (0, N_COLUMNS), "f8"))
                    fl = f.create_dataset("flags", data=cat([e.flags.bits for e in self.embryos], (0,), "u2"))
                    fl.attrs["kinds"] = list(FLAG_KINDS)
                    g = f.create_group("scores")
                    for name in score_names:
                        col = np.full(total, np.nan, np.float32)
                        for e, off in zip(self.embryos, offsets[:-1]):
                            if name in e.flags.scores:
                                col[off:off + e.n_frames] = e.flags.scores[name]
                        g.create_dataset(name, data=col)
                    str_t = h5py.string_dtype()
                    f.create_dataset("history", data=np.array(history_json, dtype=object), dtype=str_t)
                    f.create_dataset("training", data=np.array([dumps(e.training) for e in self.embryos],
                                                               dtype=object), dtype=str_t)
                    f.create_dataset("undo_order", data=dumps(self.undo_stack.to_dict()))
        except EmbryoError:
            raise
        except OSError as exc:
            why = disk_problem(exc) or first_line(exc)
            raise EmbryoError(f"could not save project ({why}); the previous file is unchanged",
                              target) from None

    def close(self) -> None:
        """Close the frame files and give the write lock back (a closed project no longer keeps its
        unsaved frame files from another writer's cleanup)."""
        for e in self.embryos:
            e.frames.close()
        self.release()
        unregister_live(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r}, embryos={self.names})"


def _stat_key(path) -> Optional[tuple]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _generation_on_disk(path) -> str:
    try:
        with h5py.File(path, "r") as f:
            return _s(f.attrs.get("generation", ""))
    except Exception:
        return ""


def _top_edit(e: Embryo) -> Optional[Edit]:
    """The last applied edit of an embryo's history (None when nothing is applied)."""
    return e.history.entries[e.history.position - 1] if e.history.position else None


def _s(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _split_history(text) -> list[str]:
    """Split the saved JSON list of edits back into one JSON text per edit."""
    import json
    items = json.loads(_s(text))
    return [json.dumps(d, separators=(",", ":")) for d in items]


def _remap_bits(bits: np.ndarray, kinds: list[str]) -> np.ndarray:
    if list(kinds) == list(FLAG_KINDS):
        return bits.astype(np.uint16)
    out = np.zeros_like(bits, dtype=np.uint16)
    for i, k in enumerate(kinds):
        if k in FLAG_KINDS:
            out |= ((bits >> i) & 1).astype(np.uint16) << FLAG_KINDS.index(k)
    return out


def _is_not_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head != b"\x89HDF\r\n\x1a\n"
