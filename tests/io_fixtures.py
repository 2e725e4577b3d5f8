"""Helpers for the io tests: tiny test videos whose frames say their own index, MP4 'faststart'
rewriting (so a truncated MP4 keeps its header) and byte truncation."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

GRID_COLS, GRID_ROWS, CELL = 8, 6, 8  # 64x48 frames: an 8x6 grid of 8x8 cells


def marker_frame(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    """RGB frame whose bright white cell sits at grid position i (row-major) on a green ramp."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = 40
    r, c = divmod(i % (GRID_COLS * GRID_ROWS), GRID_COLS)
    img[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = 255
    return img


def marker_index(frame: np.ndarray) -> int:
    """Grid position of the brightest cell of a (decoded, possibly lossy) marker frame."""
    gray = frame.astype(np.float64).mean(axis=2)
    cells = gray[:GRID_ROWS * CELL, :GRID_COLS * CELL].reshape(GRID_ROWS, CELL, GRID_COLS, CELL).mean(axis=(1, 3))
    return int(np.argmax(cells))


def write_video(path: Path, fourcc: str, n: int, fps: float = 10.0, w: int = 64, h: int = 48) -> Path:
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened(), f"cannot write {path} with {fourcc}"
    for i in range(n):
        vw.write(cv2.cvtColor(marker_frame(i, w, h), cv2.COLOR_RGB2BGR))
    vw.release()
    return path


def _atoms(data: bytes, start: int, end: int):
    """(type, start, size, header) of each box between start and end."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        yield kind.decode("latin-1"), pos, size, header
        pos += size


_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "edts", "mvex"}


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, pos, size, header in _atoms(bytes(moov), start, end):
        body = pos + header
        if kind in _CONTAINERS:
            _shift_chunk_offsets(moov, body, pos + size, delta)
        elif kind in ("stco", "co64"):
            count = struct.unpack(">I", moov[body + 4:body + 8])[0]
            width, fmt = (4, ">I") if kind == "stco" else (8, ">Q")
            for k in range(count):
                at = body + 8 + k * width
                (off,) = struct.unpack(fmt, moov[at:at + width])
                moov[at:at + width] = struct.pack(fmt, off + delta)


def faststart(src: Path, dst: Path) -> Path:
    """Rewrite an MP4 with its 'moov' index before the media data (as cameras and QuickTime do), so
    that a truncated copy still opens and declares every frame."""
    data = src.read_bytes()
    boxes = list(_atoms(data, 0, len(data)))
    moov_box = next(b for b in boxes if b[0] == "moov")
    moov = bytearray(data[moov_box[1]:moov_box[1] + moov_box[2]])
    _shift_chunk_offsets(moov, 0, len(moov), len(moov))
    out = bytearray()
    for kind, pos, size, _ in boxes:
        if kind == "moov":
            continue
        if kind == "ftyp":
            out += data[pos:pos + size] + moov
        else:
            out += data[pos:pos + size]
    dst.write_bytes(bytes(out))
    return dst


def truncate(src: Path, dst: Path, keep: float) -> Path:
    """Copy of src with only the first ``keep`` fraction of its bytes."""
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * keep)])
    return dst
