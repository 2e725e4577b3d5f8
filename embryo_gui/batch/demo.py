"""Tiny batch inputs made from demo embryos: movies (mp4v or TIFF stacks) with per-frame CSVs
beside them, for tests, benchmarks and trying ``embryo-repair batch`` without real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..lineages import COLUMNS


def write_demo_inputs(folder, n_embryos: int = 3, n_frames: int = 24, size=(96, 64), seed: int = 0,
                      tiff: tuple[int, ...] = ()) -> list[Path]:
    """Write ``n_embryos`` demo movies ``demo_NN.mp4`` (``demo_NN.tif`` for the indices in ``tiff``)
    of ``size`` (W, H) with ``demo_NN.csv`` beside each; returns the movie paths."""
    from ..demo import make_demo_embryo
    from ..demo.codec import encode_mp4v

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    out = []
    for i in range(n_embryos):
        e = make_demo_embryo(i, seed, n_frames=n_frames, frame_shape=(h, w, 3), codec="none")
        frames = list(e.frames())
        if i in tiff:
            import tifffile
            path = folder / f"{e.name}.tif"
            tifffile.imwrite(path, np.stack(frames), photometric="rgb")
        else:
            path = folder / f"{e.name}.mp4"
            path.write_bytes(encode_mp4v(iter(frames), n_frames, h, w))
        write_counts_csv(folder / f"{e.name}.csv", e.counts)
        out.append(path)
    return out


def write_counts_csv(path, counts: np.ndarray) -> None:
    """A per-frame CSV (``frame`` + lineage columns + population) of the annotated rows."""
    lines = ["frame," + ",".join(COLUMNS)]
    for f, row in enumerate(counts):
        if np.isfinite(row[-1]):
            lines.append(f"{f}," + ",".join("" if not np.isfinite(v) else f"{v:g}" for v in row))
    Path(path).write_text("\n".join(lines) + "\n")
