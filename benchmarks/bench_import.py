"""Import and frame-store benchmark (issue 14).  Prints figures; asserts nothing.

    python benchmarks/bench_import.py [--frames 2000] [--demo-frames 300] [--real DIR] [--skip-real]

For the demo movie (a 752x512 MPEG-4 'mp4v' video made here from demo frames) and each real movie
in ../shared/data/epic/, measured in one run as ratios (this machine is shared and noisy):

- codec table: bytes per frame, compression and decompression time per frame, for Blosc LZ4,
  LZ4 + bit-shuffle, Zstd level 1 and level 0 (uncompressed; the frame store's choices are marked);
- import / plain OpenCV decode, with the CPU floor beside it (decode + small copy + compression in
  the same 2-thread pool, nothing written), without and with the detector features (each with its
  own floor);
- time to the first frame of an import (what the window shows while it imports);
- random frame read from the store vs an OpenCV seek + read (median and p99 speed-up);
- reading every frame (full, small) back from the store / plain decode;
- detection (the detect workflow on the embryo of the default import, which stored the detector
  features; and on one imported without them, from the full frames) / plain decode;
- export at full size / copying the stored chunks as they are; export resized + gray;
- file size per frame (full, small, features); peak memory of an import (fresh process);
- the same (import, random and full reads, detection, export, size) for a store imported with
  ``--frame-codec none`` (uncompressed);
- save of a 100-embryo project after one edit; start-up of `embryo-repair info`.

Before any timing, the modules an import and a detection use are loaded once and a 12-frame import is
detected (:func:`warm_up`), as in a running app: the figures are of the work, not of start-up.  Before
each import and the export, what earlier steps left dirty in the page cache is written back
(:func:`quiesce`), so that one step's fsync does not pay for another's writes, and 2 GB of memory is
touched and freed (:func:`common.back_memory`): on these VMs a page left free for ~2 s goes back to
the host and costs a host fault on its next first touch (a page-cache write 4-9x slower here), which
a desktop's RAM does not.  The first line printed measures that effect on the machine at hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import back_memory, page_backing, plain_decode  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CODECS = {"lz4": dict(cname="lz4", clevel=1, shuffle=0),
          "lz4+bitshuffle": dict(cname="lz4", clevel=1, shuffle=2),
          "zstd-1": dict(cname="zstd", clevel=1, shuffle=0),
          "none (level 0)": dict(cname="lz4", clevel=0, shuffle=0)}


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


def codec_table(video: Path, n_max: int = 300) -> dict:
    from embryo_gui.io import open_frame_source
    from embryo_gui.model.framestore import compress_chunk, decompress_into
    frames = []
    with open_frame_source(video) as src:
        for f in src:
            frames.append(f)
            if len(frames) >= n_max:
                break
    out = {}
    for name, codec in CODECS.items():
        t = time.perf_counter()
        chunks = [compress_chunk(f, codec) for f in frames]
        t_c = (time.perf_counter() - t) / len(frames)
        buf = np.empty_like(frames[0])
        t = time.perf_counter()
        for c in chunks:
            decompress_into(c, buf)
        t_d = (time.perf_counter() - t) / len(frames)
        out[name] = (np.mean([len(c) for c in chunks]), t_c, t_d)
    return out


def cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) this process has used."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def source_decode(video: Path) -> float:
    """Seconds to iterate the import's frame source (decode + BGR->RGB + stale-frame check)."""
    from embryo_gui.io import open_frame_source
    t = time.perf_counter()
    with open_frame_source(video) as src:
        for _ in src:
            pass
    return time.perf_counter() - t


def cpu_floor(video: Path, features: bool = False, codec: str | None = None) -> float:
    """Seconds to decode (the import's frame source) + make the small copy (and, with ``features``,
    the detector features, as the default import does) + compress, in the import's 2-thread pool,
    writing nothing: what the import would take if writing the file cost nothing."""
    from embryo_gui.app.importing import detector_features
    from embryo_gui.io import open_frame_source
    from embryo_gui.model.framestore import compress_chunk, pyramid, resolve_frame_codec
    c = resolve_frame_codec(codec)

    def work(f):
        half, small = pyramid(f)
        feats = detector_features(f, small, half) if features else None
        return compress_chunk(f, c), compress_chunk(small, c), feats

    t = time.perf_counter()
    with open_frame_source(video) as src, ThreadPoolExecutor(2) as pool:
        pending = []
        for f in src:
            pending.append(pool.submit(work, f))
            if len(pending) > 8:
                pending.pop(0).result()
        for p in pending:
            p.result()
    return time.perf_counter() - t


def discard(*paths: Path) -> None:
    """Delete what a step wrote and no later step reads (a project: its file, its ``.frames`` folder
    and its backup), then :func:`quiesce`.  On this VM (a Firecracker guest) a page the guest has not
    touched yet costs the host a fault on first use, so every gigabyte of files left behind makes
    later writes slower: measured in one process, the real movie's default import took 6.5x the
    decode after the demo section with the demo's files kept, 3.3x with them deleted (its
    export: 1.14 s against 0.09 s).  Deleted files give their page-cache pages back for reuse.  (The
    cause, found later: the guest hands idle free pages back to the host, see
    :func:`common.back_memory`, which :func:`quiesce` now calls.)"""
    import shutil
    for p in paths:
        for q in (p, p.with_suffix(".frames"), p.with_name(p.name + ".bak")):
            if q.is_dir():
                shutil.rmtree(q, ignore_errors=True)
            elif q.exists():
                q.unlink()
    quiesce()


def quiesce() -> None:
    """Write back what earlier steps left dirty in the page cache before the next timing: the demo
    section writes ~2 GB, and an fsync of a later step (every save and import ends with one) would
    otherwise wait for that writeback too (seen: a 243-frame import taking 3x its usual time right
    after the demo section).  Then :func:`common.back_memory`: the step starts on memory the host has
    backed (this VM gives idle free pages back to its host; off with ``--no-back-memory``)."""
    os.sync()
    time.sleep(0.2)
    back_memory()


def import_into(project_path: Path, video: Path, features: bool, annotations: Path | None = None,
                codec: str | None = None) -> tuple[float, float]:
    """(seconds of the import, seconds to its first frame) into a new project (with ``annotations``:
    the lineage file too, so the alignment check runs)."""
    from embryo_gui.app.importing import detector_features, import_embryo
    from embryo_gui.model import Project
    p = Project.create(project_path)
    first = []
    t = time.perf_counter()
    import_embryo(p, video, annotations, features=detector_features if features else None,
                  on_frame=lambda i, f: first.append(time.perf_counter()) if not first else None,
                  frame_codec=codec)
    p.save()
    return time.perf_counter() - t, first[0] - t


def peak_rss_of_import(project_path: Path, video: Path) -> tuple[float, float]:
    """(RSS high-water mark after loading the libraries, after the import) of a fresh process, in MB."""
    code = (
        "import sys\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "import cv2, h5py, numpy\n"
        "from embryo_gui.app.importing import import_embryo\n"
        "from embryo_gui.model import Project\n"
        "import embryo_gui.detect\n"
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


def full_reads(project_path: Path) -> tuple[float, float]:
    """Seconds to read every frame (full), and every small copy, from the store."""
    from embryo_gui.model import Project
    e = Project.open(project_path).embryos[0]
    t = time.perf_counter()
    for _ in e.frames:
        pass
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    for a in range(0, e.n_frames, 64):
        e.frames.read_small(np.arange(a, min(a + 64, e.n_frames)))
    return t_full, time.perf_counter() - t


def detection(project_path: Path) -> float:
    from embryo_gui.app.detecting import detect_embryo
    from embryo_gui.model import Project
    e = Project.open(project_path).embryos[0]
    t = time.perf_counter()
    detect_embryo(e)
    return time.perf_counter() - t


def export_vs_copy(project_path: Path, tmp: Path) -> tuple[float, float, float]:
    """(export at full size, plain copy of the stored chunks into a new file, export 188x128 gray) seconds."""
    from embryo_gui.app.exporting import export_dataset
    from embryo_gui.model import Project
    from embryo_gui.model.atomic import fsync_path
    from embryo_gui.model.framestore import frame_compression
    p = Project.open(project_path)
    e = p.embryos[0]
    e.current[:] = 1.0  # every frame annotated (in memory only): every frame is exported
    t = time.perf_counter()
    export_dataset(p, tmp / "export_full.h5")
    t_exp = time.perf_counter() - t
    discard(tmp / "export_full.h5")   # (each write starts from the same page cache: see discard)
    src_ds = h5py.File(e.frames.path, "r")["frames"]
    t = time.perf_counter()
    with h5py.File(tmp / "copy.h5", "w") as f:
        ds = f.create_dataset("frames", shape=src_ds.shape, dtype=np.uint8, chunks=src_ds.chunks,
                              **frame_compression())
        for i in range(src_ds.shape[0]):
            mask, data = src_ds.id.read_direct_chunk((i, 0, 0, 0))
            ds.id.write_direct_chunk((i, 0, 0, 0), data, filter_mask=mask)
    fsync_path(tmp / "copy.h5")  # as the export's atomic write does
    t_copy = time.perf_counter() - t
    src_ds.file.close()
    discard(tmp / "copy.h5")
    t = time.perf_counter()
    export_dataset(p, tmp / "export_small.h5", size=(188, 128), gray=True)
    t_small = time.perf_counter() - t
    discard(tmp / "export_small.h5")
    return t_exp, t_copy, t_small


def sizes(project_path: Path) -> dict:
    from embryo_gui.model import Project
    e = Project.open(project_path).embryos[0]
    out = {}
    with h5py.File(e.frames.path, "r") as f:
        n = f["frames"].shape[0]
        out["full"] = f["frames"].id.get_storage_size() / n
        out["small"] = f["small"].id.get_storage_size() / n
        feats = 0
        if "features" in f:
            for k in f["features"]:
                feats += f["features"][k].id.get_storage_size()
        out["features"] = feats / n
        out["raw"] = int(np.prod(f["frames"].shape[1:]))
    out["file"] = e.frames.path.stat().st_size / n
    return out


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


def bench_movie(label: str, video: Path, tmp: Path, detect: bool = True) -> None:
    from embryo_gui.model.framestore import CODEC, FRAME_CODECS
    tmp.mkdir()
    n, t_dec = plain_decode(video)
    cap = cv2.VideoCapture(str(video))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    print(f"\n== {label}: {n} frames {w}x{h} ({video.stat().st_size / 1e6:.1f} MB); load average "
          f"{os.getloadavg()[0]:.1f}")
    table = codec_table(video)
    print("codec (Blosc)            bytes/frame   compress ms   decompress ms")
    for name, (size, t_c, t_d) in table.items():
        mark = ("  <- frame store (default)" if CODECS[name] == CODEC else
                "  <- import --frame-codec none" if CODECS[name] == FRAME_CODECS["none"] else "")
        print(f"  {name:22s} {size / 1e3:8.0f} kB {t_c * 1e3:10.2f} {t_d * 1e3:14.2f}{mark}")
    # decode timed before and after what it is compared with (the load on this machine drifts)
    c0 = cpu_seconds()
    _, t_dec1 = plain_decode(video)
    c_dec = cpu_seconds() - c0
    t_src = source_decode(video)
    t_floor = cpu_floor(video)
    t_floor_f = cpu_floor(video, features=True)
    quiesce()
    c0 = cpu_seconds()
    t_imp, t_first = import_into(tmp / "p.h5", video, features=False)
    c_imp = cpu_seconds() - c0
    quiesce()
    t_imp_f, _ = import_into(tmp / "pf.h5", video, features=True)
    lineage = video.with_name(f"CD{video.stem}.csv")
    quiesce()
    t_imp_a = import_into(tmp / "pa.h5", video, True, lineage)[0] if lineage.exists() else None
    discard(tmp / "pa.h5")
    _, t_dec2 = plain_decode(video)
    t_dec = (t_dec1 + t_dec2) / 2
    print(f"plain OpenCV decode : {t_dec:6.2f} s ({n / t_dec:5.0f} frames/s; {t_dec1:.2f} s before, {t_dec2:.2f} s "
          f"after the imports); the import's frame source (RGB, checks) {t_src / t_dec:.2f}x")
    print(f"import / decode     : {t_imp / t_dec:5.2f}x (target <= 2.2x); CPU floor (decode + small + "
          f"compress, nothing written) {t_floor / t_dec:.2f}x")
    print(f"  default import (+ detector features): {t_imp_f / t_dec:5.2f}x; its CPU floor (the same work, "
          f"nothing written) {t_floor_f / t_dec:.2f}x")
    if t_imp_a is not None:
        print(f"with the lineage file ({lineage.name}: annotations aligned, alignment check on the "
              f"nuclei counted in every small copy): {t_imp_a / t_dec:.2f}x")
    print(f"CPU time (all threads, less sensitive to the load): import {c_imp:.2f} s / decode {c_dec:.2f} s = "
          f"{c_imp / max(c_dec, 1e-9):.2f}x, i.e. >= {c_imp / max(c_dec, 1e-9) / 2:.2f}x wall on 2 idle cores")
    print(f"first frame         : {t_first * 1e3:6.0f} ms after the import started (target < 1 s)")
    t_dec = print_reads(tmp / "p.h5", video)
    if detect:
        quiesce()   # (the imports' writeback, done by the kernel's flusher threads, ran beside it otherwise)
        t_det = detection(tmp / "pf.h5")
        t_det_full = detection(tmp / "p.h5")
        print(f"detection / decode  : {t_det / t_dec:.2f}x (target < 1x)  ({t_det:.2f} s) from the features stored "
              f"by the default import; {t_det_full / t_dec:.2f}x from the full frames (an import without them)")
    quiesce()
    t_exp, t_copy, t_small_exp = export_vs_copy(tmp / "p.h5", tmp)
    print(f"export full size    : {t_exp:.2f} s = {t_exp / t_copy:.2f}x the chunk copy ({t_copy:.2f} s) "
          f"(target <= 1.5x); 188x128 gray {t_small_exp:.2f} s")
    s = sizes(tmp / "p.h5")
    sf = sizes(tmp / "pf.h5")
    print(f"size per frame      : full {s['full'] / 1e3:.0f} kB ({s['full'] / s['raw']:.0%} of raw), small "
          f"{s['small'] / 1e3:.1f} kB, features {sf['features'] / 1e3:.1f} kB; file {s['file'] / 1e3:.0f} kB")
    base_mb, peak_mb = peak_rss_of_import(tmp / "p2.h5", video)
    print(f"import peak RSS     : {peak_mb:.0f} MB (libraries loaded: {base_mb:.0f} MB)")
    discard(tmp / "p2.h5", tmp / "p.h5", tmp / "pf.h5")   # (the next movie starts from a clean page cache)
    uncompressed(video, tmp, s["full"], detect)


def print_reads(project_path: Path, video: Path) -> float:
    """Print the random-read speed-up over an OpenCV seek and the full-embryo read / decode of the
    project's first embryo; returns the decode time measured beside them."""
    t_proj, t_cv = random_reads(project_path, video, 300, 60)
    med_p, p99_p = np.median(t_proj), np.percentile(t_proj, 99)
    med_c, p99_c = np.median(t_cv), np.percentile(t_cv, 99)
    print(f"random frame read   : store median {med_p:.2f} ms p99 {p99_p:.2f} ms; OpenCV seek+read median "
          f"{med_c:.1f} ms p99 {p99_c:.1f} ms; speed-up median {med_c / med_p:.0f}x p99 {p99_c / p99_p:.0f}x "
          "(target >= 20x)")
    _, t_dec = plain_decode(video)
    t_full, t_small = full_reads(project_path)
    print(f"full-embryo read    : {t_full / t_dec:.2f}x decode (target < 1x); small copies {t_small / t_dec:.3f}x")
    return t_dec


def uncompressed(video: Path, tmp: Path, lz4_bytes: float, detect: bool) -> None:
    """The same measurements for a store imported with ``--frame-codec none`` (Blosc level 0)."""
    print("-- uncompressed store (import --frame-codec none):")
    _, t_dec1 = plain_decode(video)
    t_floor = cpu_floor(video, codec="none")
    t_floor_f = cpu_floor(video, features=True, codec="none")
    quiesce()
    t_imp, _ = import_into(tmp / "pn.h5", video, features=False, codec="none")
    quiesce()
    t_imp_f, _ = import_into(tmp / "pnf.h5", video, features=True, codec="none")
    _, t_dec2 = plain_decode(video)
    t_dec = (t_dec1 + t_dec2) / 2
    print(f"import / decode     : {t_imp / t_dec:5.2f}x (target <= 2.2x); CPU floor {t_floor / t_dec:.2f}x; "
          f"default import (+ detector features) {t_imp_f / t_dec:.2f}x, its floor {t_floor_f / t_dec:.2f}x")
    t_dec = print_reads(tmp / "pn.h5", video)
    if detect:
        quiesce()
        t_det = detection(tmp / "pnf.h5")
        print(f"detection / decode  : {t_det / t_dec:.2f}x (target < 1x) from the stored features")
    quiesce()
    t_exp, t_copy, t_small_exp = export_vs_copy(tmp / "pn.h5", tmp)
    print(f"export full size    : {t_exp:.2f} s (blosc: the frames are compressed, not copied) = "
          f"{t_exp / t_copy:.2f}x the chunk copy ({t_copy:.2f} s); 188x128 gray {t_small_exp:.2f} s")
    s = sizes(tmp / "pn.h5")
    print(f"size per frame      : full {s['full'] / 1e3:.0f} kB ({s['full'] / lz4_bytes:.2f}x lz4's), small "
          f"{s['small'] / 1e3:.1f} kB; file {s['file'] / 1e3:.0f} kB")
    discard(tmp / "pn.h5", tmp / "pnf.h5")


def warm_up(tmp: Path) -> None:
    """Load, once per process as the app and the CLI do, the modules an import and a detection use
    (the detectors' modules alone take 0.1-0.3 s to import), and let OpenCV and HDF5 set themselves
    up, so that the timings below are of the work, not of start-up: a 12-frame import with features,
    then a detection of it."""
    from embryo_gui.app.detecting import detect_embryo
    from embryo_gui.app.importing import import_embryo
    from embryo_gui.model import Project
    tmp.mkdir()
    video = tmp / "w.mp4"
    make_video(video, 12, 12)
    p = Project.create(tmp / "w.h5")
    e, _ = import_embryo(p, video)
    detect_embryo(e)
    p.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--demo-frames", type=int, default=300)
    ap.add_argument("--real", default=str(REPO.parent / "shared" / "data" / "epic"))
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--no-detect", action="store_true", help="skip the detection timing")
    ap.add_argument("--no-back-memory", action="store_true",
                    help="do not touch 2 GB of memory before each timed write (see common.back_memory)")
    args = ap.parse_args()
    if args.no_back_memory:
        common.BACK_BYTES = 0
    real_dir = Path(args.real)
    if not args.skip_real and not real_dir.is_dir():
        print(f"(no real movies: {real_dir} is not a folder; give --real DIR)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        video = tmp / "long.mp4"
        make_video(video, args.frames, args.demo_frames)
        t_idle, t_backed = page_backing(tmp)
        print(f"this machine: 512 MB written to a new file in {t_idle:.2f} s after 5 s idle, {t_backed:.2f} s "
              f"right after touching 2 GB ({t_idle / t_backed:.1f}x: host page backing; the timed writes "
              f"below start {'on backed memory' if common.BACK_BYTES else 'as they come (--no-back-memory)'})")
        warm_up(tmp / "warm")
        bench_movie(f"demo {args.frames} frames mp4v", video, tmp / "demo", not args.no_detect)
        real = sorted(real_dir.glob("*.mov")) if not args.skip_real else []
        for k, mov in enumerate(real):
            bench_movie(mov.name, mov, tmp / f"real{k}", not args.no_detect)
        print()
        print(f"save 100 embryos    : {save_100(tmp):7.1f} ms after one edit (target < 50 ms)")
        t_cli, mods = cli_start(tmp / "warm" / "w.h5")
        print(f"CLI start (info)    : {t_cli * 1e3:7.0f} ms; torch/Qt imported: {mods or 'none'}")


if __name__ == "__main__":
    main()
