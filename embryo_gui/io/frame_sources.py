"""Frame sources: video files, multi-page TIFF stacks and folders of numbered images (no Qt).

Every source yields ``uint8`` RGB frames ``(H, W, 3)`` one at a time, each a fresh array, and never
holds more than one or two frames in memory.  Sources are opened with :func:`open_frame_source`.

Conversion rules (applied once, here):

- OpenCV's BGR is converted to RGB; gray frames are replicated into the three channels; an alpha
  channel is dropped.
- TIFF pages that are not ``uint8`` (16-bit, 32-bit, float, ...) are scaled with **one factor for the
  whole stack**: ``out = round(clip(value, 0, M) * 255 / M)`` where ``M`` is the largest sample value
  of the stack (found in a first pass over the pages, one page at a time, before the first frame is
  yielded).  Relative brightness between frames is kept, so a dim or black frame stays dim or black.
  A stack whose maximum is 0 gives black frames.
- Images in a folder are read with ``cv2.imdecode(..., IMREAD_COLOR)``; OpenCV turns 16-bit images
  into 8-bit by dividing by 256.

Videos are decoded sequentially (``cap.read()``, never a seek).  The frame count in a video header
can be wrong (truncated files): iteration yields the frames that really decode, stops at the first
failure, and records :attr:`FrameSource.decoded_frames`; :meth:`FrameSource.report` then says how the
header and the decoded count differ.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
import sys
from pathlib import Path
from typing import Iterator

# FFmpeg / OpenCV print to the process's stderr ("moov atom not found", "[ WARN:0@0.03] ...
# VIDEOIO(FFMPEG) ...") before the error we raise anyway: keep them quiet (read when FFmpeg starts)
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tifffile  # noqa: E402

from ..errors import EmbryoError  # noqa: E402

with contextlib.suppress(Exception):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

# suffixes the GUI can offer in its file dialog (any file not a TIFF or an image is tried as a video)
VIDEO_SUFFIXES = frozenset({".mov", ".mp4", ".m4v", ".avi", ".mkv", ".mpg", ".mpeg", ".wmv", ".webm"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})


class FrameSource:
    """Base class of the frame sources: sequential iteration over ``uint8`` RGB frames.

    Attributes: ``path``, ``kind`` (``"video"``, ``"tiff"`` or ``"images"``), ``frame_shape``
    ``(H, W, 3)``, ``declared_frames`` (what the header or listing claims, ``None`` if unknown),
    ``fps`` (``None`` if unknown) and ``decoded_frames`` (``None`` until one iteration has run to its
    end; then the number of frames that really decoded).
    """

    kind: str = ""

    def __init__(self, path: str) -> None:
        self.path = path
        self.frame_shape: tuple[int, int, int] = (0, 0, 3)
        self.declared_frames: int | None = None
        self.fps: float | None = None
        self.decoded_frames: int | None = None
        self.stop_reason: str = ""  # why decoding stopped early ('' when it ran to the end)

    # -- iteration -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def count_frames(self) -> int:
        """Decode every frame once (keeping none) and return :attr:`decoded_frames`."""
        for _ in self:
            pass
        assert self.decoded_frames is not None
        return self.decoded_frames

    # -- reporting -------------------------------------------------------------------------------
    def report(self) -> str:
        """One line saying how the declared and decoded frame counts differ ('' when they agree or
        are not known yet)."""
        if self.decoded_frames is None or self.declared_frames is None:
            return ""
        if self.decoded_frames == self.declared_frames:
            return ""
        unit = "pages" if self.kind == "tiff" else "frames"
        who = "the file has" if self.kind == "tiff" else "header claims"
        text = f"{who} {self.declared_frames} {unit}, {self.decoded_frames} decode"
        if self.stop_reason:
            text += f" ({self.stop_reason})"
        return text

    def describe(self) -> dict:
        """JSON-able description of the source (stored with an imported embryo)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "frame_shape": list(self.frame_shape),
            "declared_frames": self.declared_frames,
            "decoded_frames": self.decoded_frames,
            "fps": self.fps,
            "report": self.report(),
        }

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Release any open file handle (iteration afterwards reopens what it needs)."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path!r}, shape={self.frame_shape}, "
                f"declared={self.declared_frames}, decoded={self.decoded_frames})")


def _same_frame(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two decoded frames are bit-identical.  Every 16th row (contiguous runs of pixels spread
    over the whole frame, 0.03 ms) settles nearly every pair, so the full comparison runs only for
    frames that really may repeat (a first-row test settled nothing on movies whose border is black,
    and cost the decoder thread ~0.3 ms a frame)."""
    if a.shape != b.shape or not np.array_equal(a[::16], b[::16]):
        return False
    if a.flags.c_contiguous and b.flags.c_contiguous and a.nbytes % 8 == 0:
        return np.array_equal(a.reshape(-1).view(np.uint64), b.reshape(-1).view(np.uint64))
    return np.array_equal(a, b)


#: a frame is "the previous one again" (:func:`_concealed_copy`) when this share of its lit pixels ...
CONCEALED_SHARE = 0.95
#: ... are within this many grey levels of the previous frame's; lit = above ``_LIT`` in either frame
CONCEALED_LEVELS = 2
_LIT = 16


def _concealed_copy(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether frame ``a`` is frame ``b`` again but for a few pixels: what FFmpeg's error concealment
    makes of a frame whose data was cut off (it copies the previous frame where the data is missing;
    a movie cut inside a frame ends with one).  Consecutive frames of real movies are nowhere near:
    on the EPIC movies at most 30% of the lit pixels stay within 2 levels (docs/RELIABILITY.md).  Only
    asked of the last frame of a video that stopped before its header's count."""
    if a.shape != b.shape:
        return False
    lit = (a > _LIT) | (b > _LIT)
    k = int(np.count_nonzero(lit))
    if k < max(16, lit.size // 1000):
        return False  # (nearly) black: exact repeats are the stale test's business
    close = np.abs(a.astype(np.int16) - b.astype(np.int16)) <= CONCEALED_LEVELS
    return int(np.count_nonzero(close & lit)) >= CONCEALED_SHARE * k


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """A fresh uint8 (H, W, 3) RGB array from a BGR / BGRA / gray OpenCV image."""
    if frame.ndim == 2:
        return np.ascontiguousarray(np.repeat(frame[:, :, None], 3, axis=2))
    if frame.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(frame, 3, axis=2))
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


@contextlib.contextmanager
def quiet_native_stderr():
    """Send file descriptor 2 to /dev/null for the duration (native libraries write there directly,
    past Python's ``sys.stderr``); Python-level errors are raised as usual."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# signatures of still-image files that FFmpeg would "decode" as a one-frame video
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)


def sniff_not_video(path: str) -> str:
    """What a file named like a video really is when its first bytes say it is not one ('' if unknown)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return ""
    for magic, what in _IMAGE_MAGIC:
        if head.startswith(magic):
            if magic == b"BM" and len(head) >= 6 and int.from_bytes(head[2:6], "little") < 26:
                continue  # "BM" alone is too weak a signature; a BMP header states its size
            return what
    return ""


# ================================================================================================
# Video files (OpenCV / FFmpeg)
# ================================================================================================
#: FFmpeg decoding threads of a video source (see VideoSource._open_capture)
DECODE_THREADS = 1


def _also(reason: str, more: str) -> str:
    """``reason`` with ``more`` appended ("; "-separated)."""
    return f"{reason}; {more}" if reason else more


class VideoSource(FrameSource):
    """A video file decoded with OpenCV's FFmpeg backend, strictly sequentially (never a seek).

    Stale frames: when a truncated file's last packets are damaged, the decoder may hand back an
    exact copy of the previous frame.  A frame bit-identical to the previous one is therefore held
    back; it is yielded as soon as new content follows (legitimately repeated frames, e.g. black
    frames, are kept) or when decoding reaches the header's frame count, and dropped (and reported)
    when decoding fails before that count.  An identical frame whose position did not advance, or
    one past the header's count, ends decoding.

    A movie cut inside a frame's data ends, instead, with a frame that FFmpeg's error concealment
    filled from the previous one: nearly, not exactly, a copy.  Every frame is therefore yielded one
    frame late (when the next one has decoded); when decoding fails before the header's count and
    the last frame is the previous one again but for a few pixels (:func:`_concealed_copy`), it is
    dropped (and reported) too.
    """

    kind = "video"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._cap = None
        cap = self._open_capture()
        try:
            count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.declared_frames = int(round(count)) if np.isfinite(count) and count > 0 else None
            self.fps = float(fps) if np.isfinite(fps) and fps > 0 else None
            ok, first = cap.read()
            if not ok or first is None or first.size == 0:
                raise EmbryoError("no frame could be decoded (empty, truncated or not a video)", path)
            rgb = _to_rgb(first)
            self.frame_shape = (int(rgb.shape[0]), int(rgb.shape[1]), 3)
        finally:
            cap.release()

    def _open_capture(self):
        what = sniff_not_video(self.path)
        if what:
            raise EmbryoError(f"is {what}, not a video (renamed?); to import images give their folder", self.path)
        with quiet_native_stderr():
            # one decoding thread: the import is CPU-bound on 2 cores (compression runs beside the
            # decoder), and FFmpeg's frame threads cost more CPU than they save there (demo movie:
            # 1.2 s of CPU against 1.8 s for the same frames, with the same or less wall time)
            cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, DECODE_THREADS])
        if not cap.isOpened():
            cap.release()
            raise EmbryoError("cannot be opened as a video (not a video file, truncated before its "
                              "index, or an unsupported codec)", self.path)
        return cap

    def __iter__(self) -> Iterator[np.ndarray]:
        cap = self._open_capture()
        self._cap = cap
        declared = self.declared_frames
        n = 0                # frames yielded
        held = 0             # exact repeats of prev_raw read but not yielded yet (see class docstring)
        reason = ""
        prev_raw: np.ndarray | None = None    # the latest new frame read (BGR, as decoded) ...
        pending: np.ndarray | None = None     # ... as RGB, not yielded yet (see class docstring)
        before_raw: np.ndarray | None = None  # the new frame read before prev_raw
        prev_pos = -1.0

        def read() -> int:  # new frames and repeats read so far, yielded or not
            return n + held + (pending is not None)

        try:
            while True:
                ok, raw = cap.read()
                if not ok or raw is None or raw.size == 0:
                    break
                pos = cap.get(cv2.CAP_PROP_POS_FRAMES)
                if prev_raw is not None:
                    if np.may_share_memory(raw, prev_raw):
                        reason = f"stopped at frame {read()}: the decoder returned its previous buffer"
                        break
                    if _same_frame(raw, prev_raw):
                        if pos <= prev_pos:
                            reason = f"stopped at frame {read()}: the decoder repeated the previous frame"
                            break
                        if declared is not None and read() + 1 > declared:
                            reason = (f"stopped at frame {read()}: repeated frames past the "
                                      "header's count")
                            break
                        held += 1
                        prev_pos = pos
                        continue
                rgb = _to_rgb(raw)
                if rgb.shape != self.frame_shape:
                    reason = (f"stopped at frame {read()}: its size {rgb.shape[1]}x{rgb.shape[0]} "
                              f"differs from {self.frame_shape[1]}x{self.frame_shape[0]}")
                    break
                if pending is not None:  # new content followed it: the pending frame and its repeats are real
                    n += 1
                    yield pending
                    while held:
                        held -= 1
                        n += 1
                        yield _to_rgb(prev_raw)
                before_raw, prev_raw, pending, prev_pos = prev_raw, raw, rgb, pos
            if self._cap is not cap:
                return  # closed while iterating: not the end of the video
            early = declared is not None and read() < declared
            if pending is not None and early and held == 0 and before_raw is not None \
                    and _concealed_copy(prev_raw, before_raw):
                pending = None
                reason = _also(reason, "its last frame, the previous one again but for a few pixels (the "
                               "decoder's cover for data cut off), dropped as stale")
            if pending is not None:
                n += 1
                yield pending
            if held:
                if not early:
                    while held:
                        held -= 1
                        n += 1
                        yield _to_rgb(prev_raw)
                else:
                    reason = _also(reason, f"{held} repeated frame{'s' if held > 1 else ''} before the "
                                   "failure dropped as stale")
            if n == 0:
                raise EmbryoError("no frame could be decoded", self.path)
            self.decoded_frames = n
            self.stop_reason = reason
        finally:
            cap.release()
            if self._cap is cap:
                self._cap = None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ================================================================================================
# Multi-page TIFF stacks
# ================================================================================================
class _TiffLog(logging.Handler):
    """Collects what tifffile logs (it reports a cut page list as a log line, not an exception) and
    keeps it off the user's terminal while collecting."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        self._logger = logging.getLogger("tifffile")
        self._propagate = True

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())

    def __enter__(self) -> "_TiffLog":
        self._logger.addHandler(self)
        self._propagate, self._logger.propagate = self._logger.propagate, False
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.propagate = self._propagate

    def problem(self) -> str:
        for text in self.records:
            low = text.lower()
            if "offset" in low or "truncat" in low or "corrupt" in low or "eof" in low:
                return re.sub(r"<tifffile\.\w+ @\d+>\s*", "", " ".join(text.split()))[:120]
        return ""


class TiffSource(FrameSource):
    """A multi-page TIFF stack read one page at a time with tifffile.

    Reduced-resolution pages (thumbnails, ``subfiletype`` bit 0) are skipped.  Pages may be gray,
    gray+alpha, RGB or RGBA, contiguous or planar; all pages must have the same size.
    """

    kind = "tiff"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._tif = None
        self.truncation = ""
        self._open()
        h, w = self._layouts[0][0], self._layouts[0][1]
        self._needs_scaling = any(p.dtype != np.uint8 for p in self._pages)
        self._scale_max: float | None = None
        self.frame_shape = (h, w, 3)
        self.declared_frames = len(self._pages)
        if self.truncation:
            stated = self._stated_pages()
            if stated is not None and stated > len(self._pages):
                self.declared_frames = stated
            size = os.path.getsize(self.path)
            self.stop_reason = (f"the file is truncated ({self.truncation}, {size} bytes): "
                                + (f"{stated - len(self._pages)} of its {stated} pages are lost"
                                   if stated is not None and stated > len(self._pages)
                                   else f"the pages after page {len(self._pages)} are lost"))

    def _stated_pages(self) -> int | None:
        """Number of frames the file's own metadata states (tifffile or ImageJ description), if any."""
        try:
            desc = str(self._tif.pages[0].description or "")
        except Exception:
            return None
        m = re.search(r'"shape":\s*\[(\d+)', desc) or re.search(r"images=(\d+)", desc)
        return int(m.group(1)) if m else None

    def report(self) -> str:
        text = super().report()
        if self.truncation and self.decoded_frames is not None and self.stop_reason and not text:
            text = f"the file has {self.decoded_frames} readable pages ({self.stop_reason})"
        return text

    def _open(self) -> None:
        """Open the file and read every page's header (no pixel data); check the page sizes."""
        path = self.path
        log = _TiffLog()
        with log:
            try:
                self._tif = tifffile.TiffFile(path)
            except Exception as exc:  # tifffile raises several types for bad files
                raise EmbryoError(f"cannot be read as a TIFF file ({_short(exc)})", path) from None
        try:
            with log:
                self._check_series()
                pages = []
                for page in self._tif.pages:
                    page = page.aspage() if hasattr(page, "aspage") else page
                    if getattr(page, "is_reduced", False):
                        continue
                    pages.append(page)
            self.truncation = log.problem()  # e.g. "invalid page offset 30976" (its page list is cut)
            if not pages:
                raise EmbryoError("the TIFF file has no image pages", path)
            layouts = [self._layout(p, i) for i, p in enumerate(pages)]
            h0, w0 = layouts[0][0], layouts[0][1]
            for i, (h, w, _, _) in enumerate(layouts):
                if (h, w) != (h0, w0):
                    raise EmbryoError(f"mixed page sizes: page {i + 1} is {w}x{h} but page 1 is "
                                      f"{w0}x{h0}", path)
        except BaseException:
            self.close()
            raise
        self._pages = pages
        self._layouts = layouts

    def _check_series(self) -> None:
        """Reject hyperstacks whose pages are not frames (e.g. ImageJ ``TCYX``: one page per channel)."""
        try:
            series = self._tif.series
        except Exception:  # metadata tifffile cannot parse: fall back to plain pages
            return
        if not series:
            return
        axes, shape = str(series[0].axes), tuple(series[0].shape)
        extra = [a for a, n in zip(axes, shape) if a in "CZ" and n > 1]
        if extra:
            raise EmbryoError(f"is a hyperstack with axes {axes} {shape}; import needs one page (gray or "
                              "RGB) per frame: save each channel or z-plane as its own stack", self.path)

    def _layout(self, page, index: int) -> tuple[int, int, int, str]:
        """(height, width, samples, axes) of a page; EmbryoError for layouts that are not images."""
        axes = str(page.axes)
        shape = tuple(int(s) for s in page.shape)
        if axes == "YX":
            return shape[0], shape[1], 1, axes
        if axes == "YXS":
            return shape[0], shape[1], shape[2], axes
        if axes == "SYX":
            return shape[1], shape[2], shape[0], axes
        raise EmbryoError(f"page {index + 1} has an unsupported layout {axes} {shape}", self.path)

    def _page_array(self, i: int) -> np.ndarray:
        """Page ``i`` as an (H, W, S) array in its own dtype."""
        data = self._pages[i].asarray()
        axes = self._layouts[i][3]
        if axes == "YX":
            data = data.reshape(data.shape[0], data.shape[1], 1)
        elif axes == "SYX":
            data = np.moveaxis(data, 0, -1)
        return data

    def _compute_scale_max(self) -> float:
        m = 0.0
        for i in range(len(self._pages)):
            data = self._page_array(i)[:, :, :3]
            if data.size:
                m = max(m, float(np.nanmax(data)))
        return m

    def _to_uint8(self, data: np.ndarray) -> np.ndarray:
        if data.dtype == np.uint8:
            return data
        if data.dtype == np.bool_:
            return data.astype(np.uint8) * 255
        m = self._scale_max or 0.0
        if m <= 0:
            return np.zeros(data.shape, np.uint8)
        x = data.astype(np.float32)  # one float32 working copy, updated in place
        np.nan_to_num(x, copy=False, nan=0.0)
        np.clip(x, 0.0, m, out=x)
        x *= 255.0
        x /= m
        np.rint(x, out=x)
        return x.astype(np.uint8)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._tif is None:
            self._open()
        tif = self._tif
        if self._needs_scaling and self._scale_max is None:
            try:
                self._scale_max = self._compute_scale_max()
            except Exception as exc:
                raise EmbryoError(f"cannot read the TIFF pages ({_short(exc)})", self.path) from None
        n = 0
        reason = ""
        for i in range(len(self._pages)):
            if self._tif is not tif:
                return  # closed while iterating: not a decoding failure
            try:
                data = self._page_array(i)
            except Exception as exc:
                if self._tif is not tif:
                    return  # closed while iterating: not a decoding failure
                reason = f"stopped at page {i + 1}: {_short(exc)}"
                break
            data = self._to_uint8(data)
            s = data.shape[2]
            if s >= 3:
                rgb = np.ascontiguousarray(data[:, :, :3])
            else:  # gray (or gray + alpha)
                rgb = np.repeat(data[:, :, :1], 3, axis=2)
            if rgb.base is not None or not rgb.flags.owndata:
                rgb = rgb.copy()
            n += 1
            yield rgb
        if n == 0:
            raise EmbryoError("no page of the TIFF file could be decoded", self.path)
        self.decoded_frames = n
        if reason or not self.truncation:
            self.stop_reason = reason if not self.truncation else f"{reason}; {self.stop_reason}"

    def close(self) -> None:
        if self._tif is not None:
            self._tif.close()
            self._tif = None


# ================================================================================================
# Folders of numbered images
# ================================================================================================
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``frame2`` < ``frame10``."""
    parts = _DIGITS.split(name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)) + (name,)


def list_images(folder: str) -> list[str]:
    """Image files (png, jpg, jpeg, tif, tiff, bmp) directly in ``folder``, in natural order;
    hidden files are ignored."""
    names = [n for n in os.listdir(folder)
             if not n.startswith(".") and Path(n).suffix.lower() in IMAGE_SUFFIXES
             and os.path.isfile(os.path.join(folder, n))]
    names.sort(key=natural_key)
    return [os.path.join(folder, n) for n in names]


def image_size(file: str) -> tuple[int, int] | None:
    """(width, height) read from the header of a PNG, BMP, JPEG or TIFF file without decoding it;
    ``None`` when the header cannot be understood (the decoder then has the last word)."""
    try:
        with open(file, "rb") as f:
            head = f.read(32)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                return struct.unpack(">II", head[16:24])
            if head[:2] == b"BM" and len(head) >= 26:
                w, h = struct.unpack("<ii", head[18:26])
                return abs(w), abs(h)
            if head[:2] == b"\xff\xd8":
                return _jpeg_size(f)
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                with tifffile.TiffFile(file) as tif:
                    shape = tif.pages[0].shape
                    axes = tif.pages[0].axes
                return (shape[2], shape[1]) if axes.startswith("S") else (shape[1], shape[0])
    except Exception:
        return None
    return None


def _jpeg_size(f) -> tuple[int, int] | None:
    """Frame size from the first SOFn marker of a JPEG file."""
    f.seek(2)
    while True:
        byte = f.read(1)
        while byte and byte != b"\xff":
            byte = f.read(1)
        while byte == b"\xff":
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        seg = f.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return w, h
        f.seek(length - 2, os.SEEK_CUR)


class ImageFolderSource(FrameSource):
    """A folder of numbered images, read one by one in natural order.

    The first image fixes the frame size.  At open, the sizes in the other images' headers are
    compared with it (PNG, BMP, JPEG, TIFF headers; no pixel decoding), so a folder with an image
    of another size is refused before any frame is used; iteration checks every decoded image again.
    An image of another size, or one that cannot be decoded, raises :class:`EmbryoError` naming it.
    """

    kind = "images"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        try:
            self.files = list_images(path)
        except OSError as exc:
            raise EmbryoError(f"cannot list the folder ({_short(exc)})", path) from None
        if not self.files:
            if not os.listdir(path):
                raise EmbryoError("the folder is empty", path)
            raise EmbryoError("the folder has no images (png, jpg, tif, bmp)", path)
        first = self._read(self.files[0])
        self.frame_shape = (int(first.shape[0]), int(first.shape[1]), 3)
        self.declared_frames = len(self.files)
        for file in self.files[1:]:
            size = image_size(file)
            if size is not None and (size[1], size[0]) != self.frame_shape[:2]:
                raise self._size_error(file, size[0], size[1])

    def _size_error(self, file: str, w: int, h: int) -> EmbryoError:
        return EmbryoError(f"image size {w}x{h} differs from the first image's "
                           f"{self.frame_shape[1]}x{self.frame_shape[0]} ({os.path.basename(self.files[0])})",
                           file)

    @staticmethod
    def _read(file: str) -> np.ndarray:
        try:
            # np.fromfile + imdecode also works for non-ASCII paths (cv2.imread does not everywhere)
            img = cv2.imdecode(np.fromfile(file, dtype=np.uint8), cv2.IMREAD_COLOR)
        except (OSError, cv2.error):
            img = None
        if img is None or img.size == 0:
            raise EmbryoError("cannot be read as an image", file)
        return _to_rgb(img)

    def __iter__(self) -> Iterator[np.ndarray]:
        n = 0
        for file in self.files:
            rgb = self._read(file)
            if rgb.shape != self.frame_shape:
                raise self._size_error(file, rgb.shape[1], rgb.shape[0])
            n += 1
            yield rgb
        self.decoded_frames = n


# ================================================================================================
def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def open_frame_source(path: "str | os.PathLike[str]") -> FrameSource:
    """Open a video file, a multi-page TIFF stack or a folder of numbered images.

    Raises :class:`EmbryoError` naming the file for a missing path, a file that is not a readable
    video / TIFF, a video with no decodable frame, an empty folder, a folder without images, and
    TIFF stacks with mixed page sizes.
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise EmbryoError("no such file or folder", p)
    if os.path.isdir(p):
        return ImageFolderSource(p)
    suffix = Path(p).suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return TiffSource(p)
    if suffix in IMAGE_SUFFIXES:
        raise EmbryoError("is a single image; to import numbered images give their folder", p)
    if os.path.getsize(p) == 0:
        raise EmbryoError("the file is empty", p)
    return VideoSource(p)
