"""Frames -> small uint8 tensors for the CNN (numpy + OpenCV only).

Each frame is padded to a square with black (fluorescence background), keeping its aspect ratio,
and shrunk with ``cv2.INTER_AREA`` to ``size x size``; one channel (green, or gray) is kept as
uint8.  When ``size`` is no larger than the frame store's 1/4-size copy (188 px on the long side for
752x512 movies, so the usual 64-128 px inputs), the input is made from that copy
(:func:`embryo_gui.model.framestore.small_frame`), which the frame file stores at import: training
reads 1/16 of the pixels and never a full frame.  :func:`downsample_full` does the same from full
frames (prediction on frames outside a project), so both paths give identical tensors.  Frames are
read from the frame store in batches and each embryo's downsampled frames are cached for the
process, keyed by the embryo's frame file and the preprocessing settings.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import cv2
import numpy as np

from ..errors import EmbryoError
from ..model.framestore import small_frame, small_size
from ..progress import CancelToken, check

READ_BATCH = 32


def downsample(frames: np.ndarray, size: int, channel: str = "green") -> np.ndarray:
    """(k,H,W,3) or (k,H,W) uint8 frames (or a list of frames of any sizes) -> (k,1,size,size) uint8."""
    if not isinstance(frames, np.ndarray):  # a list of frames, possibly of mixed sizes
        frames = list(frames)
    elif frames.ndim not in (3, 4):
        raise EmbryoError(f"frames must be (k,H,W,3) or (k,H,W) arrays, not shape {frames.shape}")
    out = np.empty((len(frames), 1, size, size), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i, 0] = downsample_one(frame, size, channel)
    return out


def uses_small(frame_shape, size: int) -> bool:
    """Whether inputs of ``size`` px are made from the small copy of frames of ``frame_shape``."""
    sw, sh = small_size(int(frame_shape[1]), int(frame_shape[0]))
    return int(size) <= max(sw, sh)


def downsample_full(frames, size: int, channel: str = "green") -> np.ndarray:
    """Full-size frames -> (k,1,size,size) uint8, exactly as :func:`embryo_tensors` makes them from the
    frame store (through the small copy where :func:`uses_small`)."""
    frames = list(frames) if not isinstance(frames, np.ndarray) else frames
    return downsample([small_frame(f) if uses_small(np.shape(f), size) else f for f in frames], size, channel)


def _one_channel(frame: np.ndarray, channel: str) -> np.ndarray:
    if frame.ndim == 2:
        plane = frame
    elif frame.ndim == 3 and frame.shape[2] == 3:
        if channel == "green":
            plane = frame[:, :, 1]
        else:  # gray: luma of RGB
            plane = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    else:
        raise EmbryoError(f"a frame must be (H,W,3) RGB or (H,W) gray, not shape {frame.shape}")
    if plane.dtype != np.uint8:
        if np.issubdtype(plane.dtype, np.integer) and plane.dtype.itemsize == 2:
            plane = (plane >> 8).astype(np.uint8)
        else:
            plane = np.clip(plane, 0, 255).astype(np.uint8)
    return plane


def downsample_one(frame: np.ndarray, size: int, channel: str = "green") -> np.ndarray:
    """One frame -> (size,size) uint8, aspect kept by black padding to a square."""
    plane = _one_channel(np.asarray(frame), channel)
    h, w = plane.shape
    if h == 0 or w == 0:
        raise EmbryoError(f"a frame is empty (shape {frame.shape})")
    side = max(h, w)
    if h != w:
        square = np.zeros((side, side), dtype=np.uint8)
        y0, x0 = (side - h) // 2, (side - w) // 2
        square[y0 : y0 + h, x0 : x0 + w] = plane
        plane = square
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(plane), (size, size), interpolation=interp)


# ---- per-process cache of downsampled embryos ------------------------------------------------

_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT_BYTES = 512 * 1024 * 1024


def _cache_key(embryo: Any, size: int, channel: str) -> tuple:
    frames = embryo.frames
    ident = None
    for attr in ("path", "filename", "file"):
        value = getattr(frames, attr, None)
        if value is not None:
            ident = str(value)
            break
    if ident is None:
        ident = f"id:{id(frames)}"
    try:
        import os

        stamp = os.stat(ident).st_mtime_ns if not ident.startswith("id:") else 0
    except OSError:
        stamp = 0
    return (ident, stamp, str(embryo.name), int(embryo.n_frames), tuple(embryo.frame_shape), size, channel)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def embryo_tensors(
    embryo: Any,
    indices: np.ndarray,
    size: int,
    channel: str = "green",
    cancel: CancelToken | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Downsampled frames ``indices`` of ``embryo`` as (k,1,size,size) uint8.

    Frames not yet cached are read with ``embryo.frames.read_small`` (or ``read`` for inputs larger
    than the small copy) in batches of READ_BATCH; the cache is only updated once all of them were
    read (a cancelled read leaves it as it was).
    """
    indices = np.asarray(indices, dtype=np.int64)
    key = _cache_key(embryo, size, channel)
    n = int(embryo.n_frames)
    with _cache_lock:
        entry = _cache.get(key)
    if entry is None:
        data, have = np.zeros((n, 1, size, size), np.uint8), np.zeros(n, bool)
    else:
        data, have = entry[0].copy(), entry[1].copy()
    missing = np.unique(indices[~have[indices]])
    small = uses_small(embryo.frame_shape, size) and hasattr(embryo.frames, "read_small")
    read = embryo.frames.read_small if small else embryo.frames.read
    for start in range(0, len(missing), READ_BATCH):
        check(cancel)
        chunk = missing[start : start + READ_BATCH]
        data[chunk] = downsample(read(chunk), size, channel)
        if on_batch is not None:
            on_batch(len(chunk))
    if len(missing):
        have[missing] = True
        with _cache_lock:
            total = sum(v[0].nbytes for v in _cache.values())
            if total + data.nbytes > _CACHE_LIMIT_BYTES:
                _cache.clear()
            _cache[key] = (data, have)
    return data[indices]
