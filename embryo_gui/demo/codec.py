"""Lossy codec round trips for demo frames: MPEG-4 part 2 ('mp4v', like the EPIC movies) or JPEG.

The mp4v round trip encodes a whole video with OpenCV's ``VideoWriter`` (fourcc 'mp4v', 7 fps) into a
temporary .mp4 and decodes it back sequentially with ``VideoCapture``.  Frames are streamed both ways
(rendered frames are written as they come; decoded frames are yielded one by one); only the encoded
bytes (~5-15 KB per 752x512 frame) are kept.  Odd frame sizes are padded (edge pixels) to even ones for
the codec and cropped back after decoding.  OpenCV's mp4v writer ignores ``VIDEOWRITER_PROP_QUALITY``:
the quantisation is OpenCV/FFmpeg's default.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Iterable, Iterator, Optional

import cv2
import numpy as np

from ..errors import EmbryoError
from ..progress import CancelToken, check

CODECS = ("mp4v", "jpeg", "none")
FPS = 7.0


def jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """JPEG encode/decode one uint8 RGB frame (4:2:0 chroma where OpenCV supports choosing it)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise EmbryoError("OpenCV could not JPEG-encode a demo frame")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _even(n: int) -> int:
    return n + (n % 2)


def encode_mp4v(frames: Iterable[np.ndarray], n_frames: int, height: int, width: int,
                cancel: Optional[CancelToken] = None,
                on_frame: Optional[Callable[[int], None]] = None) -> bytes:
    """Encode ``n_frames`` uint8 RGB frames (H, W, 3) as an mp4v .mp4 at 7 fps; return the file's bytes.

    ``on_frame(k)`` is called after frame ``k`` was written; ``cancel`` is checked before every frame.
    """
    he, we = _even(int(height)), _even(int(width))
    pad = ((0, he - height), (0, we - width), (0, 0))
    with tempfile.TemporaryDirectory(prefix="embryo_demo_") as tmp:
        path = os.path.join(tmp, "demo.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (we, he))
        try:
            if not writer.isOpened():
                raise EmbryoError("OpenCV cannot write mp4v video (no FFmpeg backend?); "
                                  "use codec='jpeg' or 'none'", path)
            k = 0
            for rgb in frames:
                check(cancel)
                if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
                    raise EmbryoError(f"demo frame {k} is {rgb.dtype} {rgb.shape}, expected uint8 "
                                      f"{(height, width, 3)}")
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                if he != height or we != width:
                    bgr = np.pad(bgr, pad, mode="edge")
                writer.write(bgr)
                if on_frame is not None:
                    on_frame(k)
                k += 1
        finally:
            writer.release()
        if k != n_frames:
            raise EmbryoError(f"encoded {k} demo frames, expected {n_frames}", path)
        with open(path, "rb") as fh:
            return fh.read()


def decode_mp4v(data: bytes, n_frames: int, height: int, width: int,
                stop: Optional[int] = None) -> Iterator[np.ndarray]:
    """Decode the .mp4 ``data`` sequentially, yielding uint8 RGB frames cropped to (height, width).

    Raises EmbryoError when the video does not hold exactly ``n_frames`` frames.  With ``stop`` only
    the first ``stop`` frames are decoded (no count check).
    """
    with tempfile.TemporaryDirectory(prefix="embryo_demo_") as tmp:
        path = os.path.join(tmp, "demo.mp4")
        with open(path, "wb") as fh:
            fh.write(data)
        cap = cv2.VideoCapture(path)
        try:
            if not cap.isOpened():
                raise EmbryoError("OpenCV cannot read back the demo mp4v video", path)
            limit = n_frames if stop is None else min(int(stop), n_frames)
            k = 0
            while k < limit:
                ok, bgr = cap.read()
                if not ok:
                    break
                if bgr.shape[0] != height or bgr.shape[1] != width:
                    bgr = np.ascontiguousarray(bgr[:height, :width])
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                k += 1
            if stop is None and k == n_frames and cap.read()[0]:
                k += 1  # one frame too many
            if k != limit:
                raise EmbryoError(f"decoded {k} demo frames from the mp4v video, expected {limit}", path)
        finally:
            cap.release()
