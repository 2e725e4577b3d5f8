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
from .atomic import atomic_target, check_writable_dir
from .edit import Edit, check_delta
from .embryo import Embryo
from ..policy import FLAG_KINDS
from .flags import Flags
from ..jsoncodec import dumps, loads
from .format import FORMAT_NAME, FORMAT_VERSION
from .framestore import write_frame_file
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

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def new(cls, path: "str | os.PathLike[str]") -> "Project":
        """A new empty project for ``path`` (which must not exist, end in .h5 and be in a writable
        folder), in memory: nothing is written before :meth:`save`."""
        path = Path(path)
        if path.exists():
            raise EmbryoError("file already exists; open it or choose another name", path)
        if path.suffix.lower() not in (".h5", ".hdf5"):
            raise EmbryoError("a project file name must end in .h5", path)
        check_writable_dir(path)
        return cls(path)

    @classmethod
    def create(cls, path: "str | os.PathLike[str]") -> "Project":
        """A new empty project, written to ``path`` at once (see :meth:`new`)."""
        p = cls.new(path)
        p.save()
        return p

    @classmethod
    def open(cls, path: "str | os.PathLike[str]") -> "Project":
        path = Path(path)
        if not path.exists():
            raise EmbryoError("no such project file", path)
        if path.is_dir():
            raise EmbryoError("is a folder, not a project file", path)
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            kind = "not an HDF5 file" if _is_not_hdf5(path) else "truncated or damaged HDF5 file"
            raise EmbryoError(f"cannot open project: {kind} ({first_line(exc)})", path) from None
        try:
            with f:
                return cls._read(path, f)
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
        frames_dir = path.parent / str(f.attrs.get("frames_dir", frames_dir_for(path).name))
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
        self.frames_dir.mkdir(exist_ok=True)
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
    def save(self) -> None:
        """Atomically write the project file (the previous one is kept as ``.bak``)."""
        self._write(self.path, backup=True)
        self._mark_saved()
        self._collect_orphans()

    def save_copy(self, path: "str | os.PathLike[str]") -> None:
        """Write the project to another file (autosave / recovery), leaving :attr:`path` as it is.
        The copy refers to the same frames folder."""
        self._write(Path(path), backup=False)

    def _write(self, target: Path, backup: bool) -> None:
        offsets = np.cumsum([0] + [e.n_frames for e in self.embryos])
        total = int(offsets[-1])
        score_names = sorted({k for e in self.embryos for k in e.flags.scores})
        table = []
        for e, off in zip(self.embryos, offsets[:-1]):
            table.append({
                "name": e.name, "uid": e.uid, "n_frames": e.n_frames, "frame_shape": list(e.frame_shape),
                "frames_file": e.frames.path.name, "offset": int(off), "source": e.source,
                "alignment": e.alignment, "detections": e.detections,
                "history_position": e.history.position, "scores": sorted(e.flags.scores),
            })
        frames_rel = os.path.relpath(self.frames_dir, target.parent.resolve() if target.parent.exists() else ".")
        try:
            with atomic_target(target, backup=backup) as tmp:
                with h5py.File(tmp, "w", libver="latest") as f:
                    f.attrs["format"] = FORMAT_NAME
                    f.attrs["format_version"] = FORMAT_VERSION
                    f.attrs["tool_version"] = __version__
                    f.attrs["created"] = self.created
                    f.attrs["saved"] = _now()
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
                    f.create_dataset("history", data=np.array(
                        ["[" + ",".join(x.to_json() for x in e.history.entries) + "]" for e in self.embryos],
                        dtype=object), dtype=str_t)
                    f.create_dataset("training", data=np.array([dumps(e.training) for e in self.embryos],
                                                               dtype=object), dtype=str_t)
                    f.create_dataset("undo_order", data=dumps(self.undo_stack.to_dict()))
        except EmbryoError:
            raise
        except OSError as exc:
            raise EmbryoError(f"could not save project ({first_line(exc)}); the previous file is unchanged",
                              target) from None

    def _collect_orphans(self) -> None:
        """Delete the frame files of embryos removed in this session once no file refers to them:
        not this project, not its .bak, not any other project file in its folder that uses the same
        frames folder (a copied project file shares it).  Other files in the frames folder are never
        touched: they may belong to another project file."""
        if not self._removed_frames or not self.frames_dir.is_dir():
            return
        keep = {e.frames.path.name for e in self.embryos} | self._pending_frames
        frames_dir = self.frames_dir.resolve()
        for other in {self.path.with_name(self.path.name + ".bak"), *self.path.parent.glob("*.h5"),
                      *self.path.parent.glob("*.hdf5")}:
            if other.resolve() != self.path.resolve():
                keep |= _frame_files_used(other, frames_dir)
        for name in sorted(self._removed_frames):
            if name in keep:
                continue
            with contextlib.suppress(OSError):
                (self.frames_dir / name).unlink()
            if not (self.frames_dir / name).exists():
                self._removed_frames.discard(name)

    def close(self) -> None:
        for e in self.embryos:
            e.frames.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r}, embryos={self.names})"


def _frame_files_used(path: Path, frames_dir: Path) -> set[str]:
    """Frame file names a project file refers to in ``frames_dir`` (empty for anything else)."""
    try:
        with h5py.File(path, "r") as f:
            if _s(f.attrs.get("format", "")) != FORMAT_NAME:
                return set()
            own = (path.parent / _s(f.attrs.get("frames_dir", frames_dir_for(path).name))).resolve()
            if own != frames_dir:
                return set()
            return {str(m["frames_file"]) for m in loads(f["embryos"][()])}
    except Exception:
        return set()


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
