"""Write-once frame files: one HDF5 file per embryo, one compressed chunk per frame.

Frames are decoded once at import and never rewritten; a project save touches only the small
project file.  Reading any frame costs one chunk read (about a millisecond for a 752x512 frame),
whatever the codec of the source and however far apart its keyframes are.

Compression: Blosc (LZ4, bit-shuffle) through ``hdf5plugin``: on noisy fluorescence frames it writes
~3x and reads ~3x faster than HDF5's built-in LZF, and its files are smaller (benchmarks/bench_import.py).
Other HDF5 readers need ``import hdf5plugin`` before opening a frame file.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Iterable, Optional

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter with HDF5)
import numpy as np

from ..errors import EmbryoError
from ..progress import CancelToken, Throttle, check
from .atomic import atomic_target, ensure_space
from .format import FRAMES_FORMAT_NAME, FRAMES_FORMAT_VERSION

_BLOCK = 16  # frames written per HDF5 call


def frame_compression() -> dict:
    """h5py dataset keywords of the frame compression (Blosc LZ4, bit-shuffle, level 5)."""
    return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE))


def write_frame_file(
    path: "str | os.PathLike[str]",
    frames: Iterable[np.ndarray],
    frame_shape: tuple[int, int, int],
    expected_frames: Optional[int] = None,
    progress=None,
    cancel: Optional[CancelToken] = None,
    truth: Optional[dict] = None,
) -> int:
    """Write ``frames`` (uint8 RGB) to a new frame file atomically; return the number written.

    ``truth`` (demo ground truth, arrays by name) is stored beside the frames, written once too.

    Decoding (the iterator) runs in a background thread while this thread compresses and writes, so
    import costs little more than the decode itself.  Memory stays bounded (a small queue).
    """
    path = Path(path)
    h, w, c = (int(x) for x in frame_shape)
    throttle = Throttle(progress)
    q: "queue.Queue" = queue.Queue(maxsize=2 * _BLOCK)
    stop = threading.Event()
    sentinel = object()

    def produce():
        try:
            for f in frames:
                if stop.is_set():
                    return
                q.put(f)
            q.put(sentinel)
        except BaseException as exc:  # hand decoder errors to the writer thread
            q.put(exc)

    t = threading.Thread(target=produce, name="frame-decoder", daemon=True)
    n = 0
    with atomic_target(path) as tmp:
        try:
            with h5py.File(tmp, "w", libver="latest") as f:
                f.attrs["format"] = FRAMES_FORMAT_NAME
                f.attrs["format_version"] = FRAMES_FORMAT_VERSION
                cap = int(expected_frames) if expected_frames and expected_frames > 0 else 256
                ds = f.create_dataset(
                    "frames", shape=(cap, h, w, c), maxshape=(None, h, w, c), dtype=np.uint8,
                    chunks=(1, h, w, c), **frame_compression(),
                )
                block = np.empty((_BLOCK, h, w, c), np.uint8)
                k = 0
                t.start()
                while True:
                    check(cancel)
                    item = q.get()
                    if item is sentinel:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    fr = np.asarray(item)
                    if fr.shape != (h, w, c) or fr.dtype != np.uint8:
                        raise EmbryoError(
                            f"frame {n} has shape {fr.shape} {fr.dtype}, expected {(h, w, c)} uint8", path)
                    block[k] = fr
                    k += 1
                    n += 1
                    if k == _BLOCK:
                        _flush(ds, block, n - k, k)
                        k = 0
                    throttle({"stage": "import", "done": n, "total": expected_frames})
                if k:
                    _flush(ds, block, n - k, k)
                if n == 0:
                    raise EmbryoError("no frame could be decoded", path)
                ds.resize(n, axis=0)
                f.attrs["n_frames"] = n
                if truth:
                    g = f.create_group("truth")
                    for key, value in truth.items():
                        g.create_dataset(key, data=np.asarray(value))
            throttle({"stage": "import", "done": n, "total": n}, force=True)
        finally:
            stop.set()
            # drain so the producer can finish
            while t.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
    return n


def _flush(ds, block, start, k):
    ensure_space(ds.file.filename, 2 * block[:k].nbytes)  # stop before HDF5 itself meets a full disk
    if start + k > ds.shape[0]:
        ds.resize(max(start + k, ds.shape[0] * 2), axis=0)
    ds[start:start + k] = block[:k]


class FrameReader:
    """Random access to the frames of one embryo (opened lazily, read-only).

    With ``n_frames`` / ``frame_shape`` given (what the project expects), opening a frame file that
    holds other frames is a one-line :class:`EmbryoError` naming it.
    """

    def __init__(self, path: "str | os.PathLike[str]", n_frames: Optional[int] = None,
                 frame_shape: Optional[tuple] = None):
        self.path = Path(path)
        self.expected_frames = None if n_frames is None else int(n_frames)
        self.expected_shape = None if frame_shape is None else tuple(int(x) for x in frame_shape)
        self._file: Optional[h5py.File] = None
        self._ds = None
        self._lock = threading.Lock()

    def _open(self):
        if self._ds is None:
            with self._lock:
                if self._ds is None:
                    if not self.path.exists():
                        raise EmbryoError("frame file is missing (the project's .frames folder must stay beside it)",
                                          self.path)
                    try:
                        f = h5py.File(self.path, "r")
                    except OSError as exc:
                        raise EmbryoError(f"cannot read frame file ({_short(exc)})", self.path) from None
                    if f.attrs.get("format") != FRAMES_FORMAT_NAME or "frames" not in f:
                        f.close()
                        raise EmbryoError("not an embryo-gui frame file", self.path)
                    ds = f["frames"]
                    problem = self._mismatch(ds.shape)
                    if problem:
                        f.close()
                        raise EmbryoError(problem, self.path)
                    self._file, self._ds = f, ds
        return self._ds

    def _mismatch(self, shape) -> str:
        have_n, have_shape = int(shape[0]), tuple(int(x) for x in shape[1:])
        if self.expected_frames is not None and have_n != self.expected_frames:
            return (f"frame file holds {have_n} frames, the project expects {self.expected_frames} "
                    "(a frame file from another project or version?)")
        if self.expected_shape is not None and have_shape != self.expected_shape:
            return (f"frame file holds frames of shape {have_shape}, the project expects {self.expected_shape} "
                    "(a frame file from another project or version?)")
        return ""

    def __len__(self) -> int:
        return int(self._open().shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._open().shape)

    def __getitem__(self, i: int) -> np.ndarray:
        ds = self._open()
        i = int(i)
        if i < 0:
            i += ds.shape[0]
        if not 0 <= i < ds.shape[0]:
            raise IndexError(f"frame {i} out of range 0..{ds.shape[0] - 1}")
        try:
            return ds[i]
        except OSError as exc:
            raise self._damaged(exc, i) from None

    def read(self, indices) -> np.ndarray:
        """Frames at ``indices`` (any order) as one ``(k, H, W, 3)`` array."""
        ds = self._open()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        out = np.empty((len(idx),) + ds.shape[1:], np.uint8)
        for j, i in enumerate(idx):
            try:
                ds.read_direct(out, np.s_[int(i)], np.s_[j])
            except OSError as exc:
                raise self._damaged(exc, int(i)) from None
        return out

    def _damaged(self, exc: OSError, i: int) -> EmbryoError:
        """A read that HDF5 refused (a damaged chunk: "filter returned failure") as one line."""
        return EmbryoError(f"frame {i} cannot be read: the frame file is damaged ({_short(exc)}); re-import the "
                           "embryo from its video", self.path)

    def __iter__(self):
        ds = self._open()
        for i in range(ds.shape[0]):
            try:
                fr = ds[i]
            except OSError as exc:
                raise self._damaged(exc, i) from None
            yield fr

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except Exception:
                    pass
            self._file = self._ds = None


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
