"""Write-once frame files: one HDF5 file per embryo, one compressed chunk per frame.

Frames are decoded once at import and never rewritten; a project save touches only the small
project file.  Reading any frame costs one chunk read, whatever the codec of the source and however
far apart its keyframes are.

At import the frame file also stores, while the frames pass by, what later steps need so that
nothing has to read the full frames again:

* ``/small``: a 1/4-size copy of every frame (:func:`small_frame`), for detection, thumbnails and
  the trainer's input;
* ``/features/NAME``: per-frame values computed by a function the import workflow passes in
  (``features=``; the model never imports the detectors).

The pipeline (:func:`write_frame_file`): the source is decoded in one thread, each frame's chunks
(full and small) are compressed in a small pool of threads (python-blosc releases the GIL), and the
compressed chunks are written in order with ``write_direct_chunk`` (no HDF5 filter runs on the
writer).  Reads go the other way: ``read_direct_chunk`` + ``blosc.decompress_ptr`` straight into the
output array.

Compression: Blosc (HDF5 filter 32001, the one ``hdf5plugin`` registers), codec chosen by
measurement (docs/BENCHMARKS.md: LZ4 level 1 without shuffle writes and reads several times faster
than LZ4 + bit-shuffle for about 10-25% more bytes).  Any h5py reads these files after
``import hdf5plugin``; nothing else of this project is needed.
"""

from __future__ import annotations

import collections
import os
import queue
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Optional

import h5py
import hdf5plugin  # noqa: F401  (registers the Blosc filter with HDF5)
import numpy as np

from ..errors import EmbryoError, first_line
from ..policy import DEFAULT_FRAME_CODEC
from ..progress import CancelToken, Throttle, check, ordered_map, quick_gil_handover
from .atomic import atomic_target, ensure_space
from .format import FRAMES_FORMAT_NAME, FRAMES_FORMAT_VERSION

_blosc_module = None


def _blosc():
    """python-blosc, imported on first use (it and OpenCV are a fifth of a second of start-up that
    opening and saving a project do not need), set to release the GIL (the pool needs it) and to
    one internal thread (parallelism comes from our pool, one frame per thread)."""
    global _blosc_module
    if _blosc_module is None:
        import blosc
        blosc.set_releasegil(True)
        blosc.set_nthreads(1)
        blosc.set_blocksize(BLOSC_BLOCKSIZE)
        _blosc_module = blosc
    return _blosc_module

BLOSC_FILTER_ID = 32001
#: Blosc block size of the chunks we compress (python-blosc's default for LZ4 level 1 is 64 kB): 256 kB
#: blocks decompress a frame 1.3-1.6x faster and compress it no slower, for < 2% more bytes
#: (docs/BENCHMARKS.md, "codec"); any Blosc reader reads them (the size is in each chunk's header)
BLOSC_BLOCKSIZE = 1 << 18
SMALL_FACTOR = 4
_WORKERS = 2         # compression threads (the machine has 2 cores; decode runs beside them)
_IN_FLIGHT = 8       # frames submitted to the pool and not yet written (bounds memory)
_FEATURE_BLOCK = 64  # per-frame feature rows buffered before one HDF5 write
_SPACE_EVERY = 16    # frames written between two free-space checks (each asks for room for 2 x 16 frames)

# The codecs of new frame files, by the names ``policy.FRAME_CODEC_NAMES`` (docs/BENCHMARKS.md,
# "codec"); ``shuffle`` 0 = none, 1 = byte, 2 = bit.  ``none`` is Blosc at level 0: each chunk is the
# frame's bytes behind a 16-byte Blosc header (the same filter, the same readers): on the real 676x457
# movies ~2.2x the bytes of ``lz4`` (927 against 400-420 kB a frame), a random frame read in ~0.1 ms
# against 0.3-0.4 ms; the import is no faster (writing the bigger file costs what compressing saved).
# docs/BENCHMARKS.md, "uncompressed store".
FRAME_CODECS = {"lz4": {"cname": "lz4", "clevel": 1, "shuffle": 0},
                "none": {"cname": "lz4", "clevel": 0, "shuffle": 0}}
CODEC = FRAME_CODECS[DEFAULT_FRAME_CODEC]   # the codec of new frame files unless told otherwise


def resolve_frame_codec(name: Optional[str]) -> dict:
    """The Blosc codec called ``name`` in :data:`FRAME_CODECS` (None: the default); EmbryoError for
    another name."""
    key = DEFAULT_FRAME_CODEC if name is None else str(name)
    if key not in FRAME_CODECS:
        raise EmbryoError(f"unknown frame codec {key!r}; choose one of {', '.join(FRAME_CODECS)}")
    return dict(FRAME_CODECS[key])


def frame_codec_name(codec: Optional[dict]) -> Optional[str]:
    """The name in :data:`FRAME_CODECS` of a codec (:func:`dataset_codec`), None if it has none."""
    for name, c in FRAME_CODECS.items():
        if codec == c:
            return name
    return None

# ``features(frame, small, half)`` (the frame and its :func:`pyramid`) returns for one frame
# {name: scalar | ndarray | str}; every frame the same names, shapes and dtypes (strings are stored as
# UTF-8 strings).  A ``version`` attribute of the function, if any, is stored as ``/features`` attribute
# ``version`` (readers tell features computed by an older method).
FeatureFunction = Callable[[np.ndarray, np.ndarray, Optional[np.ndarray]], dict]


def small_frame(frame: np.ndarray) -> np.ndarray:
    """The 1/4-size copy of a frame stored at import (:func:`pyramid`)."""
    return pyramid(frame)[1]


def pyramid(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(half, small): the frame area-averaged over 2 x 2 and over 4 x 4 blocks.

    The frame is cropped to a multiple of 4 (at most 3 rows / columns dropped) so that both steps are
    exact halvings: ``cv2.resize`` (INTER_AREA) then takes its integer-scale path, 3-10x faster than
    a 1/4 resize of a size that is not a multiple of 4 (on 676x457 real movies: 1.3 ms a frame
    against 0.17 ms).  ``small`` is ``half`` halved again, so it equals the area-pooled maps the
    detectors compute from ``half``.  Tiny test frames (under 4 px a side) get one resize to at least
    1 pixel each way, and ``half`` is None for them."""
    import cv2
    h, w = frame.shape[:2]
    sw, sh = small_size(w, h)
    if h < SMALL_FACTOR or w < SMALL_FACTOR:
        return None, cv2.resize(np.ascontiguousarray(frame), (sw, sh), interpolation=cv2.INTER_AREA)
    crop = frame[: sh * SMALL_FACTOR, : sw * SMALL_FACTOR]
    half = cv2.resize(crop, (2 * sw, 2 * sh), interpolation=cv2.INTER_AREA)
    return half, cv2.resize(half, (sw, sh), interpolation=cv2.INTER_AREA)


def small_size(w: int, h: int) -> tuple[int, int]:
    """(width, height) of the small copy of a ``w x h`` frame."""
    return max(1, int(w) // SMALL_FACTOR), max(1, int(h) // SMALL_FACTOR)


def frame_compression(codec: Optional[dict] = None) -> dict:
    """h5py dataset keywords of the frame compression (Blosc, :data:`CODEC` by default)."""
    c = dict(CODEC, **(codec or {}))
    return dict(hdf5plugin.Blosc(cname=c["cname"], clevel=int(c["clevel"]), shuffle=int(c["shuffle"])))


def compress_chunk(arr: np.ndarray, codec: Optional[dict] = None) -> bytes:
    """One chunk compressed as the Blosc HDF5 filter would (readable with ``write_direct_chunk``)."""
    c = dict(CODEC, **(codec or {}))
    a = np.ascontiguousarray(arr)
    return _blosc().compress_ptr(a.__array_interface__["data"][0], a.size, typesize=a.itemsize,
                              clevel=int(c["clevel"]), shuffle=int(c["shuffle"]), cname=c["cname"])


def decompress_into(data, out: np.ndarray) -> None:
    """Decompress one Blosc chunk into the contiguous array ``out`` (no intermediate copy).  The chunk's
    header is checked first (a damaged header would make Blosc write past ``out``)."""
    check_chunk_header(data, out.nbytes)
    n = _blosc().decompress_ptr(data, out.__array_interface__["data"][0])
    if n != out.nbytes:
        raise ValueError(f"chunk holds {n} bytes, expected {out.nbytes}")


def check_chunk_header(data, nbytes_expected: int) -> None:
    """ValueError unless ``data`` starts with a Blosc header for ``nbytes_expected`` bytes in
    ``len(data)`` (a damaged header would make Blosc write past its output)."""
    if len(data) < 16:
        raise ValueError("chunk too short for a Blosc header")
    nbytes, _, cbytes = struct.unpack_from("<III", data, 4)
    if nbytes != nbytes_expected or cbytes != len(data):
        raise ValueError(f"damaged Blosc chunk header ({nbytes} bytes in {cbytes}, expected {nbytes_expected} in "
                         f"{len(data)})")


def is_blosc(ds) -> bool:
    """Whether an HDF5 dataset is compressed with the Blosc filter (and nothing else)."""
    plist = ds.id.get_create_plist()
    return plist.get_nfilters() == 1 and plist.get_filter(0)[0] == BLOSC_FILTER_ID


def dataset_codec(ds) -> Optional[dict]:
    """The Blosc codec of a dataset (``cname``, ``clevel``, ``shuffle``), None if not Blosc."""
    if not is_blosc(ds):
        return None
    cd = ds.id.get_create_plist().get_filter(0)[2]
    names = {0: "blosclz", 1: "lz4", 2: "lz4hc", 3: "snappy", 4: "zlib", 5: "zstd"}
    return {"cname": names.get(int(cd[6]) if len(cd) > 6 else 0, "blosclz"),
            "clevel": int(cd[4]) if len(cd) > 4 else 5, "shuffle": int(cd[5]) if len(cd) > 5 else 1}


class FeatureRows:
    """Rows of a stored per-frame feature read one HDF5 chunk block at a time: ``rows[t]`` reads the
    block holding ``t`` (and keeps it, so an in-order pass reads every block once)."""

    def __init__(self, ds):
        self.ds = ds
        self.block = int(ds.chunks[0]) if ds.chunks else _FEATURE_BLOCK
        self.start, self.rows = -1, None

    def __len__(self) -> int:
        return int(self.ds.shape[0])

    def __getitem__(self, t: int) -> np.ndarray:
        t = int(t)
        if not 0 <= t < len(self):
            raise IndexError(t)
        if self.rows is None or not self.start <= t < self.start + len(self.rows):
            self.start = t - t % self.block
            self.rows = self.ds[self.start:self.start + self.block]
        return self.rows[t - self.start]


class _Features:
    """Per-frame feature rows buffered in blocks and written to ``/features`` (shapes from frame 0)."""

    def __init__(self, f: h5py.File, cap: int, version=None):
        self.f, self.cap, self.version = f, cap, version
        self.ds: dict[str, h5py.Dataset] = {}
        self.buf: dict[str, list] = {}
        self.start = 0

    def add(self, i: int, values: dict) -> None:
        if not self.ds:
            g = self.f.create_group("features")
            if self.version is not None:
                g.attrs["version"] = self.version
            for name, v in values.items():
                if isinstance(v, str):
                    self.ds[name] = g.create_dataset(name, shape=(self.cap,), maxshape=(None,),
                                                     dtype=h5py.string_dtype(), chunks=(_FEATURE_BLOCK,))
                else:
                    a = np.asarray(v)
                    self.ds[name] = g.create_dataset(
                        name, shape=(self.cap,) + a.shape, maxshape=(None,) + a.shape, dtype=a.dtype,
                        chunks=(_FEATURE_BLOCK,) + a.shape, **frame_compression())
                self.buf[name] = []
        if set(values) != set(self.ds):
            raise ValueError(f"frame {i}: features {sorted(values)} differ from frame 0's {sorted(self.ds)}")
        for name, v in values.items():
            self.buf[name].append(v)
        if len(next(iter(self.buf.values()))) == _FEATURE_BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self.ds:
            return
        k = len(next(iter(self.buf.values())))
        if not k:
            return
        for name, ds in self.ds.items():
            if self.start + k > ds.shape[0]:
                ds.resize(max(self.start + k, 2 * ds.shape[0]), axis=0)
            rows = self.buf[name]
            ds[self.start:self.start + k] = rows if ds.dtype.kind == "O" else np.asarray(rows, ds.dtype)
            rows.clear()
        self.start += k

    def finish(self, n: int) -> None:
        self.flush()
        for ds in self.ds.values():
            ds.resize(n, axis=0)


def write_frame_file(
    path: "str | os.PathLike[str]",
    frames: Iterable[np.ndarray],
    frame_shape: tuple[int, int, int],
    expected_frames: Optional[int] = None,
    progress=None,
    cancel: Optional[CancelToken] = None,
    truth: Optional[dict] = None,
    features: Optional[FeatureFunction] = None,
    on_frame: Optional[Callable[[int, np.ndarray], None]] = None,
    codec: Optional[dict] = None,
) -> int:
    """Write ``frames`` (uint8 RGB) to a new frame file atomically; return the number written.

    Stores beside each frame its small copy (:func:`small_frame`) and, with ``features`` given,
    ``features(frame, small, half)`` (a dict, see :data:`FeatureFunction`) under ``/features``.
    ``on_frame(i, frame)`` is called on the writer thread as each frame arrives from the decoder, in
    order, before it is compressed (a live preview: :class:`LiveFrames`).  ``truth`` (demo ground truth, arrays by name) is stored
    beside the frames.

    Decoding (the iterator) runs in its own thread, compression in a pool, writing here; memory stays
    bounded (a small queue and a few frames in flight).  The threads hand the GIL over every 0.5 ms
    (:func:`~embryo_gui.progress.quick_gil_handover`), not every 5 ms: the decoder and the writer
    return from each native call to wait for it.
    """
    path = Path(path)
    h, w, c = (int(x) for x in frame_shape)
    sw, sh = small_size(w, h)
    codec = dict(CODEC, **(codec or {}))
    throttle = Throttle(progress)
    q: "queue.Queue" = queue.Queue(maxsize=_IN_FLIGHT)
    stop = threading.Event()
    sentinel = object()

    def produce():
        try:
            for fr in frames:
                if stop.is_set():
                    return
                q.put(fr)
            q.put(sentinel)
        except BaseException as exc:  # hand decoder errors to the writer thread
            q.put(exc)

    def work(fr: np.ndarray):
        half, small = pyramid(fr)
        feats = features(fr, small, half) if features is not None else None
        return compress_chunk(fr, codec), compress_chunk(small, codec), small, feats

    t = threading.Thread(target=produce, name="frame-decoder", daemon=True)
    n = 0
    pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="frame-compress")
    pending: "collections.deque" = collections.deque()
    with quick_gil_handover(), atomic_target(path) as tmp:
        try:
            with h5py.File(tmp, "w", libver="latest") as f:
                f.attrs["format"] = FRAMES_FORMAT_NAME
                f.attrs["format_version"] = FRAMES_FORMAT_VERSION
                cap = int(expected_frames) if expected_frames and expected_frames > 0 else 256
                ds = f.create_dataset("frames", shape=(cap, h, w, c), maxshape=(None, h, w, c), dtype=np.uint8,
                                      chunks=(1, h, w, c), **frame_compression(codec))
                small_ds = f.create_dataset("small", shape=(cap, sh, sw, c), maxshape=(None, sh, sw, c),
                                            dtype=np.uint8, chunks=(1, sh, sw, c), **frame_compression(codec))
                small_ds.attrs["factor"] = SMALL_FACTOR
                small_ds.attrs["method"] = ("frame cropped to (4*(h//4), 4*(w//4)), then cv2.resize INTER_AREA to 1/2 "
                                             "and again to 1/4 (exact halvings)")
                feat = _Features(f, cap, getattr(features, "version", None))
                written = 0
                full_id, small_id = ds.id, small_ds.id

                def write_one():
                    nonlocal written, cap
                    fr, fut = pending.popleft()
                    full, small_c, small, feats = fut.result()
                    if written >= cap:  # (the capacity is kept here: h5py's Dataset.shape asks HDF5 each time)
                        cap = max(written + 1, 2 * cap)
                        ds.resize(cap, axis=0)
                        small_ds.resize(cap, axis=0)
                    if written % _SPACE_EVERY == 0:   # stop before HDF5 meets a full disk (statvfs: not every frame)
                        ensure_space(tmp, 2 * _SPACE_EVERY * (len(full) + len(small_c)))
                    full_id.write_direct_chunk((written, 0, 0, 0), full)
                    small_id.write_direct_chunk((written, 0, 0, 0), small_c)
                    if feats is not None:
                        feat.add(written, feats)
                    written += 1
                    throttle({"stage": "import", "done": written, "total": expected_frames})

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
                    pending.append((fr, pool.submit(work, fr)))
                    if on_frame is not None:
                        on_frame(n, fr)
                    n += 1
                    while len(pending) > _IN_FLIGHT or (pending and pending[0][1].done()):
                        write_one()
                while pending:
                    check(cancel)
                    write_one()
                if n == 0:
                    raise EmbryoError("no frame could be decoded", path)
                ds.resize(n, axis=0)
                small_ds.resize(n, axis=0)
                feat.finish(n)
                f.attrs["n_frames"] = n
                if truth:
                    g = f.create_group("truth")
                    for key, value in truth.items():
                        g.create_dataset(key, data=np.asarray(value))
            throttle({"stage": "import", "done": n, "total": n}, force=True)
        finally:
            stop.set()
            for _, fut in pending:
                fut.cancel()
            pool.shutdown(wait=True)
            # drain so the producer can finish
            while t.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
    return n


class _ChunkReader:
    """Reads whole one-frame chunks of a dataset: ``read_direct_chunk`` + Blosc when the dataset is
    Blosc-compressed, HDF5's own path otherwise (LZF or uncompressed files of older versions)."""

    def __init__(self, ds):
        self.ds = ds
        self.shape = tuple(int(x) for x in ds.shape)
        self.fast = is_blosc(ds) and ds.chunks == (1,) + self.shape[1:]
        self._zero = (0,) * (len(self.shape) - 1)

    def read_into(self, i: int, out: np.ndarray) -> None:
        try:
            if self.fast:
                mask, data = self.ds.id.read_direct_chunk((i,) + self._zero)
                if mask & 1:  # the filter was skipped for this chunk: stored raw
                    out[...] = np.frombuffer(data, np.uint8).reshape(out.shape)
                else:
                    decompress_into(data, out)
            else:
                self.ds.read_direct(out, np.s_[i], np.s_[...])
        except EmbryoError:
            raise
        except (OSError, ValueError, RuntimeError) as exc:  # a damaged chunk: HDF5's or Blosc's refusal
            raise EmbryoError(f"frame {i} cannot be read: the frame file is damaged ({first_line(exc)}); re-import "
                              "the embryo from its video", self.ds.file.filename) from None

    def read(self, i: int) -> np.ndarray:
        out = np.empty(self.shape[1:], self.ds.dtype)
        self.read_into(i, out)
        return out


EXPORT_COMPRESSIONS = ("blosc", "lzf", "none")


def create_frames_dataset(f: h5py.File, name: str, n: int, fshape: tuple, compression: str = "blosc"):
    """A ``(n,) + fshape`` uint8 dataset, one chunk per frame, compressed with ``compression``:
    ``blosc`` (:data:`CODEC`; readers ``import hdf5plugin``), ``lzf`` (built into every h5py) or
    ``none``."""
    if compression not in EXPORT_COMPRESSIONS:
        raise EmbryoError(f"unknown compression {compression!r}; choose one of {', '.join(EXPORT_COMPRESSIONS)}")
    kw = frame_compression() if compression == "blosc" else {"compression": "lzf"} if compression == "lzf" else {}
    ds = f.create_dataset(name, shape=(int(n),) + tuple(fshape), dtype=np.uint8, chunks=(1,) + tuple(fshape), **kw)
    ds.attrs["compression"] = compression
    return ds


def copy_frames(ds, start: int, reader: "FrameReader", indices, size: Optional[tuple[int, int]] = None,
                gray: bool = False, cancel: Optional[CancelToken] = None,
                on_frames: Optional[Callable[[int], None]] = None) -> int:
    """Write frames ``indices`` of ``reader`` into ``ds`` (from :func:`create_frames_dataset`) from row
    ``start``, resized to ``size`` (w, h) with area interpolation and/or converted to gray; return the
    next row.

    At full size into a Blosc dataset of the store's codec the stored chunks are copied as they are
    (``read_direct_chunk`` -> ``write_direct_chunk``: no decompression at all).  Otherwise frames are decompressed,
    transformed and compressed in a pool of threads with the same codec and written in order
    (LZF goes through h5py's own filter on this thread: the portable option is the slow one).
    ``on_frames(k)`` is called as frames are written (k since the last call)."""
    import cv2
    idx = np.asarray(indices, dtype=np.int64).ravel()
    reader._open()
    src = reader._full
    out_shape = tuple(int(x) for x in ds.shape[1:])
    h0, w0 = reader.shape[1:3]
    w, h = (int(size[0]), int(size[1])) if size else (w0, h0)
    resize = (w, h) != (w0, h0)
    mode = ds.attrs.get("compression", "blosc" if is_blosc(ds) else "other")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    pos = int(start)
    # the stored chunks are copied when they are what the export asks for: Blosc with the export's
    # codec (a store imported with ``--frame-codec none`` is compressed here, in the pool, instead)
    if (not resize and not gray and mode == "blosc" and src.fast and out_shape == src.shape[1:]
            and dataset_codec(src.ds) == dataset_codec(ds)):
        zero = (0,) * len(out_shape)
        for k, i in enumerate(idx):
            if k % 64 == 0:
                check(cancel)
            mask, data = src.ds.id.read_direct_chunk((int(i),) + zero)
            if not mask & 1:  # copied without decompression: a damaged chunk must not pass unseen
                try:
                    check_chunk_header(data, int(np.prod(out_shape)))
                except ValueError as exc:
                    raise EmbryoError(f"frame {int(i)} cannot be read: the frame file is damaged ({exc}); re-import "
                                      "the embryo from its video", reader.path) from None
            ds.id.write_direct_chunk((pos,) + zero, data, filter_mask=mask)
            pos += 1
            if on_frames is not None and (k % 32 == 31 or k == len(idx) - 1):
                on_frames(k % 32 + 1)
        return pos

    def work(i: int):
        fr = src.read(int(i))
        if resize:
            fr = cv2.resize(fr, (w, h), interpolation=cv2.INTER_AREA)
        if gray:
            fr = cv2.cvtColor(fr, cv2.COLOR_RGB2GRAY)
        if fr.shape != out_shape:
            raise EmbryoError(f"frame {i} gives shape {fr.shape}, the dataset holds {out_shape}")
        if mode == "blosc":
            return compress_chunk(fr)
        if mode == "none":
            return np.ascontiguousarray(fr).tobytes()
        return fr

    zero = (0,) * len(out_shape)
    pending: "collections.deque" = collections.deque()
    done_since = 0
    with quick_gil_handover(), ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="export-compress") as pool:
        try:
            it = iter(idx)
            for i in it:
                pending.append(pool.submit(work, int(i)))
                while len(pending) > _IN_FLIGHT or (pending and pending[0].done()):
                    check(cancel)
                    pos = _put(ds, pos, pending.popleft().result(), mode, zero)
                    done_since += 1
                    if on_frames is not None and done_since >= 32:
                        on_frames(done_since)
                        done_since = 0
            while pending:
                check(cancel)
                pos = _put(ds, pos, pending.popleft().result(), mode, zero)
                done_since += 1
        finally:
            for fut in pending:
                fut.cancel()
    if on_frames is not None and done_since:
        on_frames(done_since)
    return pos


def _put(ds, pos: int, item, mode: str, zero: tuple) -> int:
    if mode in ("blosc", "none"):
        ds.id.write_direct_chunk((pos,) + zero, item)
    else:
        ds[pos] = item
    return pos + 1


class FrameReader:
    """Random access to the frames of one embryo (opened lazily, read-only).

    With ``n_frames`` / ``frame_shape`` given (what the project expects), opening a frame file that
    holds other frames is a one-line :class:`EmbryoError` naming it.  Frame files of version 1 (no
    small copy) are read as before; their small copy is computed from the full frames on demand.
    """

    def __init__(self, path: "str | os.PathLike[str]", n_frames: Optional[int] = None,
                 frame_shape: Optional[tuple] = None):
        self.path = Path(path)
        self.expected_frames = None if n_frames is None else int(n_frames)
        self.expected_shape = None if frame_shape is None else tuple(int(x) for x in frame_shape)
        self._file: Optional[h5py.File] = None
        self._ds = None
        self._full: Optional[_ChunkReader] = None
        self._small: Optional[_ChunkReader] = None
        self.version = 0
        self._lock = threading.RLock()

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
                        raise EmbryoError(f"cannot read frame file ({first_line(exc)})", self.path) from None
                    try:
                        self._check_and_bind(f)
                    except EmbryoError:
                        f.close()
                        raise
                    except (KeyError, OSError, ValueError, RuntimeError, TypeError) as exc:
                        # the file opens but its metadata is damaged (HDF5 says KeyError / OSError)
                        f.close()
                        raise EmbryoError(f"the frame file is damaged ({first_line(exc)}); re-import the embryo "
                                          "from its video", self.path) from None
        return self._ds

    def _check_and_bind(self, f: h5py.File) -> None:
        if _s(f.attrs.get("format")) != FRAMES_FORMAT_NAME or "frames" not in f:
            raise EmbryoError("not an embryo-gui frame file", self.path)
        version = int(f.attrs.get("format_version", 1))
        if version > FRAMES_FORMAT_VERSION:
            raise EmbryoError(f"frame file of format version {version} is newer than this version "
                              f"of embryo-gui reads ({FRAMES_FORMAT_VERSION}); update embryo-gui", self.path)
        ds = f["frames"]
        problem = self._mismatch(ds.shape)
        if problem:
            raise EmbryoError(problem, self.path)
        full = _ChunkReader(ds)
        small = _ChunkReader(f["small"]) if "small" in f and f["small"].shape[0] == ds.shape[0] else None
        self._full, self._small, self.version = full, small, version
        self._file, self._ds = f, ds

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

    @property
    def small_shape(self) -> tuple[int, int, int]:
        """(h, w, 3) of the small copy of a frame (:func:`small_frame`)."""
        h, w, c = self.shape[1:]
        sw, sh = small_size(w, h)
        return (sh, sw, c)

    @property
    def codec(self) -> Optional[dict]:
        """The Blosc codec of the stored frames (:func:`dataset_codec`; None: not Blosc, older files)."""
        return dataset_codec(self._open())

    @property
    def has_small(self) -> bool:
        """Whether the file stores the small copy (version 2 on); else it is computed on demand."""
        self._open()
        return self._small is not None

    def _index(self, i) -> int:
        n = self._open().shape[0]
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {i} out of range 0..{n - 1}")
        return i

    def __getitem__(self, i: int) -> np.ndarray:
        i = self._index(i)
        return self._full.read(i)

    def read(self, indices) -> np.ndarray:
        """Frames at ``indices`` (any order) as one ``(k, H, W, 3)`` array."""
        ds = self._open()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        out = np.empty((len(idx),) + ds.shape[1:], np.uint8)
        for j, i in enumerate(idx):
            self._full.read_into(self._index(i), out[j])
        return out

    def read_small(self, indices) -> np.ndarray:
        """Small copies (:func:`small_frame`) of the frames at ``indices`` as one ``(k, h, w, 3)`` array;
        for a version-1 file without them, computed from the full frames."""
        self._open()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        out = np.empty((len(idx),) + self.small_shape, np.uint8)
        if self._small is not None:
            for j, i in enumerate(idx):
                self._small.read_into(self._index(i), out[j])
        else:
            full = np.empty(self.shape[1:], np.uint8)
            for j, i in enumerate(idx):
                self._full.read_into(self._index(i), full)
                out[j] = small_frame(full)
        return out

    def features(self, lazy_bytes: Optional[int] = None) -> dict:
        """The per-frame features stored at import (``{name: array (T, ...)}``), ``{}`` if none.

        With ``lazy_bytes``, a feature larger than that (a per-frame map) is a :class:`FeatureRows`
        instead, read in blocks as its rows are asked for, so that a long video's maps are never
        all in memory."""
        f = self._open().file
        if "features" not in f:
            return {}
        g = f["features"]
        out = {}
        for k in g:
            ds = g[k]
            if ds.dtype.kind == "O":
                out[k] = ds.asstr()[()]
            elif lazy_bytes is not None and ds.size * ds.dtype.itemsize > lazy_bytes:
                out[k] = FeatureRows(ds)
            else:
                out[k] = ds[()]
        return out

    def features_version(self):
        """The ``version`` the features function that stored ``/features`` had (None: none, or no
        features)."""
        f = self._open().file
        if "features" not in f:
            return None
        v = f["features"].attrs.get("version")
        return None if v is None else int(v)

    def __iter__(self):
        """Every frame in order; a small pool decompresses a few frames ahead (Blosc releases the
        GIL), so a whole embryo reads back in a fraction of its video's decode time."""
        self._open()
        n = self._ds.shape[0]
        if n < 2 * _WORKERS:
            for i in range(n):
                yield self._full.read(i)
            return
        yield from ordered_map(self._full.read, range(n), _WORKERS, _IN_FLIGHT + 1, "frame-read")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except Exception:
                    pass
            self._file = self._ds = self._full = self._small = None


class LiveFrames:
    """Frames of an import in progress, for a preview before the frame file exists (no Qt).

    Pass :meth:`add` as ``on_frame`` to :func:`write_frame_file`: it keeps every frame decoded so far
    up to ``budget_bytes`` (then only the latest), so a window can show the first frames within a
    fraction of a second of the start of an import and let the user scrub what has arrived.
    Thread-safe: written by the import thread, read by any.
    """

    def __init__(self, budget_bytes: int = 256 << 20):
        self.budget = int(budget_bytes)
        self._frames: dict[int, np.ndarray] = {}
        self._bytes = 0
        self._latest = -1
        self._extra: Optional[int] = None
        self._lock = threading.Lock()
        self.done = False
        self.changed = threading.Event()

    def add(self, i: int, frame: np.ndarray) -> None:
        with self._lock:
            if self._extra is None and self._bytes + frame.nbytes <= self.budget:
                self._bytes += frame.nbytes           # within budget: kept
            else:                                     # beyond it: only the newest is kept
                if self._extra is not None:
                    self._frames.pop(self._extra, None)
                self._extra = i
            self._frames[i] = frame
            self._latest = i
        self.changed.set()

    def finish(self) -> None:
        self.done = True
        self.changed.set()

    @property
    def count(self) -> int:
        """Frames imported so far."""
        return self._latest + 1

    def get(self, i: int) -> Optional[np.ndarray]:
        """Frame ``i`` if it has arrived and is kept, else None."""
        with self._lock:
            return self._frames.get(int(i))

    def latest(self) -> tuple[int, Optional[np.ndarray]]:
        with self._lock:
            return self._latest, self._frames.get(self._latest)


def _s(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x) if x is not None else ""


