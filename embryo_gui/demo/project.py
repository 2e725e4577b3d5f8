"""Write a whole demo project (several demo embryos with ground truth) to a new project file."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Optional

from ..errors import EmbryoError
from ..progress import CancelToken, ProgressCallback, check
from .embryo import make_demo_embryo


def write_demo_project(path: "str | os.PathLike[str]", n_embryos: int = 4, n_frames: int = 300, seed: int = 0,
                       frame_shape: tuple[int, int, int] = (512, 752, 3),
                       progress: Optional[ProgressCallback] = None,
                       cancel: Optional[CancelToken] = None, codec: str = "mp4v"):
    """Create the project ``path`` holding ``n_embryos`` demo embryos (``demo_00`` ...) and save it.

    Embryo ``i`` is ``make_demo_embryo(i, seed, n_frames, frame_shape, codec)``; every 4th (i % 4 == 3) is
    clean.  Progress reports ``{"stage": "demo", "embryo": i, "n_embryos", "done", "total"}`` in frames
    over all embryos (an embryo's first half is rendering + mp4v encoding, the second decoding + storing).  When cancelled (or on error) the project file and its frames are removed again.
    """
    from ..model import Project  # the model imports h5py; keep `import embryo_gui.demo` light

    if int(n_embryos) < 1:
        raise EmbryoError(f"a demo project needs at least one embryo, got {n_embryos}", path)
    path = Path(path)
    check(cancel)
    project = Project.create(path)
    n = int(n_frames)
    total = int(n_embryos) * n
    try:
        for i in range(int(n_embryos)):
            check(cancel)
            demo = make_demo_embryo(i, seed, n_frames, frame_shape, codec=codec)

            def report(done: int, i: int = i) -> None:
                if progress is not None:
                    progress({"stage": "demo", "embryo": i, "n_embryos": int(n_embryos), "done": i * n + done,
                              "total": total, "name": demo.name})

            # first half of an embryo's progress: rendering + mp4v encoding (nothing for other codecs);
            # second half: decoding + storing
            project.add_embryo(
                demo.name, demo.frames(cancel=cancel, on_encoded=lambda k: report((k + 1) // 2)),
                n_frames=demo.n_frames, frame_shape=demo.frame_shape,
                counts=demo.counts, source={"kind": "demo", "seed": int(seed), "index": i},
                alignment={"offset": 0, "frames_per_timepoint": 1.0}, truth=demo.truth,
                progress=lambda info: report((n + int(info.get("done") or 0)) // 2), cancel=cancel)
        check(cancel)
        project.save()
    except BaseException:
        _remove(project)
        raise
    if progress is not None:
        progress({"stage": "demo", "embryo": int(n_embryos) - 1, "n_embryos": int(n_embryos), "done": total,
                  "total": total})
    return project


def _remove(project) -> None:
    """Undo a partly written demo project: its frame files, the project file, an empty frames folder."""
    with contextlib.suppress(Exception):
        project.close()  # closes the frame files and gives the project's write lock back
    for e in list(project.embryos):
        with contextlib.suppress(OSError, AttributeError):
            e.frames.close()
        with contextlib.suppress(OSError, AttributeError):
            Path(e.frames.path).unlink()
    for p in (project.path, Path(str(project.path) + ".bak")):
        with contextlib.suppress(OSError):
            p.unlink()
    frames_dir = Path(project.frames_dir)
    with contextlib.suppress(OSError):
        if frames_dir.is_dir() and not any(frames_dir.iterdir()):
            shutil.rmtree(frames_dir)
