"""Import and frame-access benchmark (issue: foundation).  Prints figures; asserts nothing.

    python benchmarks/bench_import.py [--frames 2000] [--demo-frames 300]

Measures, in one run (ratios, since this machine is noisy):
- import time of a 752x512 MPEG-4 ('mp4v') video as a ratio to a plain OpenCV sequential decode;
- median / p99 time to read one random frame from the project vs an OpenCV seek-and-read;
- peak resident memory of an import (separate process);
- time to save a project of 100 embryos after one edit;
- start-up time of `embryo-repair info` and whether torch / Qt got imported.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import plain_decode  # noqa: E402


def make_video(path: Path, n: int, demo_frames: int) -> None:
    """A 752x512 mp4v video: demo-rendered frames, cycled (and flipped every cycle) up to n frames."""
    from embryo_gui.demo import make_demo_embryo
    demo = make_demo_embryo(0, seed=1, n_frames=demo_frames)
    frames = list(demo.frames())
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 7, (752, 512))
    for i in range(n):
        f = frames[i % len(frames)]
        if (i // len(frames)) % 2:
            f = f[:, ::-1]
        w.write(np.ascontiguousarray(f[:, :, ::-1]))
    w.release()


def import_into(project_path: Path, video: Path) -> float:
    from embryo_gui.app.importing import import_embryo
    from embryo_gui.model import Project
    p = Project(project_path)
    t = time.perf_counter()
    import_embryo(p, video)
    p.save()
    return time.perf_counter() - t


def peak_rss_of_import(project_path: Path, video: Path) -> tuple[float, float]:
    """(RSS high-water mark after loading the libraries, after the import) of a fresh process, in MB.

    Read from /proc/self/status VmHWM, which starts afresh at exec (ru_maxrss is inherited from the
    parent across fork + exec on Linux, and the parent here holds the rendered demo frames)."""
    code = (
        "import sys\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "import cv2, h5py, numpy\n"
        "from embryo_gui.app.importing import import_embryo\n"
        "from embryo_gui.model import Project\n"
        "base = hwm()\n"
        "p = Project(sys.argv[1]); import_embryo(p, sys.argv[2]); p.save()\n"
        "print(base, hwm())\n")
    out = subprocess.run([sys.executable, "-c", code, str(project_path), str(video)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def random_reads(project_path: Path, video: Path, n_reads: int, n_seeks: int, seed: int = 0):
    from embryo_gui.model import Project
    e = Project.open(project_path).embryos[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, e.n_frames, n_reads)
    e.frames[0]
    t_proj = []
    for i in idx:
        t = time.perf_counter()
        e.frames[int(i)]
        t_proj.append(time.perf_counter() - t)
    cap = cv2.VideoCapture(str(video))
    t_cv = []
    for i in idx[:n_seeks]:
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        cap.read()
        t_cv.append(time.perf_counter() - t)
    cap.release()
    return np.array(t_proj) * 1e3, np.array(t_cv) * 1e3


def save_100(tmp: Path) -> float:
    from embryo_gui import edits
    from embryo_gui.model import Project
    p = Project.create(tmp / "hundred.h5")
    shape = (8, 8, 3)
    e = p.add_embryo("e0", iter(np.zeros((400,) + shape, np.uint8)), 400, shape)
    counts = np.cumsum(np.random.default_rng(0).integers(0, 2, (400, 8)), axis=0).astype(float)
    p.embryos.clear()
    for i in range(100):
        p.attach_embryo(f"e{i}", e.frames.path, 400, shape, counts)
    for x in p.embryos:
        x.history.push(edits.SetExcluded((10, 20)))
    p.save()
    times = []
    for k in range(5):
        p.embryos[k].history.push(edits.SetValues([k], [1.0]))
        t = time.perf_counter()
        p.save()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def cli_start(project: Path) -> tuple[float, list]:
    code = ("import sys, time; t=time.perf_counter(); from embryo_gui.cli.main import main; "
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['info', sys.argv[1]])\n"
            "print(time.perf_counter()-t, [m for m in ('torch','PySide6','pyqtgraph') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True, check=True)
    secs, mods = out.stdout.split(" ", 1)
    return float(secs), eval(mods)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--demo-frames", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        video = tmp / "long.mp4"
        make_video(video, args.frames, args.demo_frames)
        n, t_dec = plain_decode(video)
        t_imp = import_into(tmp / "p.h5", video)
        base_mb, peak_mb = peak_rss_of_import(tmp / "p2.h5", video)
        t_proj, t_cv = random_reads(tmp / "p.h5", video, 300, 60)
        t_save = save_100(tmp)
        t_cli, mods = cli_start(tmp / "p.h5")
        size_mb = sum(f.stat().st_size for f in (tmp / "p.frames").glob("*.h5")) / 1e6
        print(f"video: {n} frames 752x512 mp4v ({video.stat().st_size / 1e6:.1f} MB)")
        print(f"plain OpenCV decode : {t_dec:7.2f} s  ({n / t_dec:6.0f} frames/s)")
        print(f"import into project : {t_imp:7.2f} s  ({n / t_imp:6.0f} frames/s)  ratio {t_imp / t_dec:.2f}x"
              f"  (target <= 1.5x)  frame store {size_mb:.0f} MB")
        print(f"import peak RSS     : {peak_mb:7.0f} MB (process with libraries loaded: {base_mb:.0f} MB)"
              f"  (target < 1000 MB)")
        med_p, p99_p = np.median(t_proj), np.percentile(t_proj, 99)
        med_c, p99_c = np.median(t_cv), np.percentile(t_cv, 99)
        print(f"random frame read   : project median {med_p:.2f} ms p99 {p99_p:.2f} ms;"
              f" OpenCV seek+read median {med_c:.1f} ms p99 {p99_c:.1f} ms;"
              f" speed-up median {med_c / med_p:.0f}x p99 {p99_c / p99_p:.0f}x (target >= 20x)")
        print(f"save 100 embryos    : {t_save:7.1f} ms after one edit (target < 50 ms)")
        print(f"CLI start (info)    : {t_cli * 1e3:7.0f} ms; torch/Qt imported: {mods or 'none'}")


if __name__ == "__main__":
    main()
