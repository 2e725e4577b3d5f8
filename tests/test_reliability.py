"""Issue 12: one writer at a time, no debris after a crash, every bad input a one-line error.

Every refusal is checked for its exact exit status, a single stderr line naming the file, and the
files left byte for byte as they were.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import make_frames, rising_counts
from embryo_gui import edits
from embryo_gui.cli.main import main
from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project
from embryo_gui.model import lock as lockmod

REPO = Path(__file__).resolve().parents[1]


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def cli(*args, timeout=120, **extra):
    """Run embryo-repair in a fresh process: (rc, stdout, stderr)."""
    r = subprocess.run([sys.executable, "-m", "embryo_gui.cli.main", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, env=env(**extra), cwd=REPO)
    return r.returncode, r.stdout, r.stderr


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(err: str, *needles) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


HOLD = r"""
import sys, time
from embryo_gui.model import Project
from embryo_gui.model.lock import set_default_holder
from embryo_gui.model.atomic import new_temp, real_target
set_default_holder("test holder")
p = Project.open(sys.argv[1], write=True)
if len(sys.argv) > 2:  # leave debris as a killed import would: a temp and a complete orphan frame file
    import numpy as np
    p.write_frames(iter([np.zeros((24, 32, 3), np.uint8)] * 3), (24, 32, 3))
    t = new_temp(real_target(p.path), p.path)
    t.write_bytes(b"x" * 1000)
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tiny_project):
    """Start a process that holds ``tiny_project`` for writing; yields (Popen, project path)."""
    procs = []

    def start(debris=False):
        path = tiny_project.path
        tiny_project.close()
        args = [sys.executable, "-c", HOLD, str(path)] + (["debris"] if debris else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env(), cwd=REPO)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "ready"
        return proc, path

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


# --- the write lock ----------------------------------------------------------------------------------

def test_second_writer_waits_then_refuses_naming_the_holder(holder, tmp_path):
    proc, path = holder()
    before = snapshot(tmp_path)
    t = time.monotonic()
    rc, out, err = cli("detect", path, EMBRYO_GUI_LOCK_WAIT=0.5)
    waited = time.monotonic() - t
    assert rc == 2
    line = one_line(err, path, "is being changed by test holder", f"pid {proc.pid}", "since", "waited 0.5 s")
    assert "nothing was changed" in line
    assert waited >= 0.5
    assert snapshot(tmp_path) == before


def test_readers_never_wait_for_a_writer(holder):
    proc, path = holder()
    # a writer would wait 10 minutes for the holder: a reader that waited would hit the 120 s timeout
    rc, out, err = cli("info", path, "--json", EMBRYO_GUI_LOCK_WAIT=600, timeout=120)
    assert rc == 0, err
    assert [e["name"] for e in json.loads(out)["embryos"]] == ["emb0", "emb1"]
    rc, out, err = cli("detect", path, "--json", "--no-save", EMBRYO_GUI_LOCK_WAIT=600, timeout=120)
    assert rc == 0, err
    assert proc.poll() is None  # the writer still holds the project


def test_killed_writer_lock_is_recovered_and_its_debris_removed(holder, tmp_path):
    proc, path = holder(debris=True)
    frames_dir = path.with_name("tiny.frames")
    debris = sorted(set(snapshot(tmp_path)) - {"tiny.h5.lock"})
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lockmod.read_holder(path)["holder"] == "test holder"  # the stale line is still there
    n_frames = len(list(frames_dir.glob("*.h5")))
    assert n_frames == 3  # two embryos + the orphan
    rc, out, err = cli("detect", path, EMBRYO_GUI_LOCK_WAIT=0.5)
    assert rc == 0, err
    line = one_line(err, "removed 2 files left by an interrupted writer")
    assert ".tiny.h5." in line and "tiny.frames" in line
    assert len(list(frames_dir.glob("*.h5"))) == 2
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert not [n for n in left if n.endswith((".tmp", ".lock"))], left
    assert debris  # there was something to clean
    assert len(Project.open(path).embryos) == 2


def test_concurrent_writers_take_turns_no_update_lost(tiny_project, tmp_path):
    import cv2
    path = tiny_project.path
    tiny_project.close()
    sources = []
    for k in range(3):
        d = tmp_path / f"src{k}"
        d.mkdir()
        for i, f in enumerate(make_frames(6, seed=10 + k)):
            cv2.imwrite(str(d / f"f{i:02d}.png"), f)
        sources.append(d)
    procs = [subprocess.Popen([sys.executable, "-m", "embryo_gui.cli.main", "import", str(path), str(s),
                               "--name", f"new{k}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env(EMBRYO_GUI_LOCK_WAIT=60), cwd=REPO) for k, s in enumerate(sources)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(rc == 0 for rc, _ in results), results
    q = Project.open(path)
    assert sorted(q.names) == ["emb0", "emb1", "new0", "new1", "new2"]
    used = {e.frames.path.name for e in q.embryos}
    assert {p.name for p in (tmp_path / "tiny.frames").glob("*.h5")} == used
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.rglob("*.tmp"))


def test_two_readers_saving_in_turn_second_is_refused(tiny_project):
    path = tiny_project.path
    tiny_project.close()
    a, b = Project.open(path), Project.open(path)
    a.embryos[0].history.push(edits.SetValues([0], [11]))
    b.embryos[0].history.push(edits.SetValues([1], [22]))
    a.save()
    after_a = path.read_bytes()
    with pytest.raises(EmbryoError, match="was changed by another process since it was opened; nothing was saved"):
        b.save()
    assert path.read_bytes() == after_a
    assert Project.open(path).embryos[0].current[0, 7] == 11


def test_open_for_writing_holds_until_close_and_refuses_quickly(tiny_project):
    path = tiny_project.path
    tiny_project.close()
    p = Project.open(path, write=True, holder="embryo-gui app")
    assert p.held and lockmod.is_locked(path)
    assert lockmod.read_holder(path)["holder"] == "embryo-gui app"
    code = ("import sys; from embryo_gui.model import Project\n"
            "try:\n Project.open(sys.argv[1], write=True, wait=0.2)\n"
            "except Exception as e:\n print(type(e).__name__, e); sys.exit(3)")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env(), cwd=REPO)
    assert r.returncode == 3 and "ProjectLockedError" in r.stdout and "embryo-gui app" in r.stdout, r.stdout + r.stderr
    p.close()
    assert not p.held and not lockmod.is_locked(path) and not lockmod.lock_path(path).exists()


def test_garbled_holder_line_of_a_dead_process_is_harmless(tiny_project):
    path = tiny_project.path
    lockmod.lock_path(path).write_bytes(b"\x00\xff{half")
    assert lockmod.read_holder(path) is None
    p = Project.open(path, write=True, wait=0)
    assert lockmod.read_holder(path)["pid"] == os.getpid()
    p.close()


# --- cleanup ------------------------------------------------------------------------------------------

def test_save_reports_and_removes_debris_but_keeps_referenced_files(tiny_project, tmp_path):
    p = tiny_project
    orphan = p.frames_dir / "0123456789ab.h5"
    orphan.write_bytes(b"x" * 5000)
    stale = tmp_path / ".tiny.h5.abcdefgh.tmp"
    stale.write_bytes(b"y" * 10)
    foreign = p.frames_dir / "notes.txt"
    foreign.write_text("mine")
    other_tmp = tmp_path / ".other.h5.abcdefgh.tmp"  # another project's temp: not ours to remove
    other_tmp.write_text("z")
    p.embryos[0].history.push(edits.SetValues([0], [3]))
    report = p.save()
    assert sorted(Path(x).name for x in report.removed) == sorted([orphan.name, stale.name])
    assert report.bytes == 5010
    assert "removed 2 files left by an interrupted writer (4.9 KB)" in report.message()
    assert foreign.exists() and other_tmp.exists()
    assert all(e.frames.path.exists() for e in p.embryos)


def test_autosave_copy_keeps_its_frames_until_it_is_gone(tiny_project, tmp_path):
    p = tiny_project
    p.add_embryo("new", iter(make_frames(4, seed=5)), 4, (24, 32, 3), rising_counts(4))
    copy = tmp_path / "recovery" / "r.h5"
    copy.parent.mkdir()
    p.save_copy(copy)  # the app's autosave: it refers to the new, unsaved embryo's frames
    new_frames = p.embryo("new").frames.path
    p.close()
    q = Project.open(p.path, write=True)  # the app died before saving: the new frames are an orphan ...
    assert not q.cleaned and new_frames.exists()  # ... kept while the recovery copy exists
    copy.unlink()
    assert [Path(x).name for x in q.save().removed].count(new_frames.name) == 1
    q.close()


# --- export: both files or neither -----------------------------------------------------------------------

KILL_AT_SECOND_REPLACE = r"""
import os, sys
import embryo_gui.model.atomic as atomic
from embryo_gui.app.exporting import export_dataset
from embryo_gui.model import Project
real_replace = os.replace
calls = []
def replace(a, b):
    real_replace(a, b)
    if not str(b).endswith(".commit"):
        calls.append(b)
        if len(calls) == 1:
            os._exit(9)  # killed between the two renames
atomic.os.replace = replace
export_dataset(Project.open(sys.argv[1]), sys.argv[2], csv_path=sys.argv[3], overwrite=True)
"""


def _pair_consistent(h5, csv) -> bool:
    with h5py.File(h5, "r") as f:
        pop = f["population"][()]
    rows = csv.read_text().strip().splitlines()[1:]
    return len(rows) == len(pop) and all(float(r.split(",")[3]) == v for r, v in zip(rows, pop))


def test_export_pair_killed_between_renames_is_rolled_forward(tiny_project, tmp_path):
    path = tiny_project.path
    out, csv = tmp_path / "out.h5", tmp_path / "out.csv"
    assert main(["export", str(path), str(out), "--csv", str(csv)]) == 0
    p = Project.open(path)
    p.embryos[0].history.push(edits.SetExcluded((0, 10)))  # the next export has 10 frames fewer
    p.save()
    old_csv = csv.read_bytes()
    r = subprocess.run([sys.executable, "-c", KILL_AT_SECOND_REPLACE, str(path), str(out), str(csv)],
                       env=env(), cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 9, r.stderr
    assert csv.read_bytes() == old_csv and not _pair_consistent(out, csv)  # half committed ...
    journal = tmp_path / ".out.h5.commit"
    assert journal.exists()
    from embryo_gui.model.atomic import recover_group
    assert recover_group(out) == [str(csv)]  # ... rolled forward on restart
    assert _pair_consistent(out, csv) and not journal.exists() and not list(tmp_path.glob(".*.tmp"))
    with h5py.File(out, "r") as f:
        assert len(f["population"]) == 40


def test_export_killed_before_commit_leaves_old_pair_and_next_export_cleans(tiny_project, tmp_path):
    path = tiny_project.path
    out, csv = tmp_path / "out.h5", tmp_path / "out.csv"
    assert main(["export", str(path), str(out), "--csv", str(csv)]) == 0
    before = {out.name: out.read_bytes(), csv.name: csv.read_bytes()}
    code = KILL_AT_SECOND_REPLACE.replace("    real_replace(a, b)\n    if not", "    if str(b).endswith('.commit'):\n        real_replace(a, b)\n    if not").replace(
        "if len(calls) == 1:", "if True:")
    r = subprocess.run([sys.executable, "-c", code, str(path), str(out), str(csv)], env=env(), cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 9, r.stderr
    assert {out.name: out.read_bytes(), csv.name: csv.read_bytes()} == before  # rolled back: old pair
    assert (tmp_path / ".out.h5.commit").exists()
    rc, o, err = cli("export", path, out, "--csv", csv, "--force")
    assert rc == 0, err
    assert _pair_consistent(out, csv)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- modes and symlinks -----------------------------------------------------------------------------------

def test_save_keeps_mode_and_writes_through_symlink(tiny_project, tmp_path):
    p = tiny_project
    os.chmod(p.path, 0o640)
    p.embryos[0].history.push(edits.SetValues([0], [5]))
    p.save()
    assert (p.path.stat().st_mode & 0o777) == 0o640
    link = tmp_path / "elsewhere" / "link.h5"
    link.parent.mkdir()
    link.symlink_to(p.path)
    p.close()
    q = Project.open(link, write=True)
    q.embryos[0].history.push(edits.SetValues([1], [6]))
    q.save()
    q.close()
    assert link.is_symlink() and link.resolve() == p.path.resolve()
    assert (p.path.stat().st_mode & 0o777) == 0o640
    assert Project.open(p.path).embryos[0].current[1, 7] == 6
    assert Project.open(link).embryos[0].frames[0].shape == (24, 32, 3)
    assert not list(link.parent.glob(".*")) and not list(link.parent.glob("*.bak"))


def test_export_writes_through_symlink_with_mode(tiny_project, tmp_path):
    out_real = tmp_path / "real.h5"
    assert main(["export", str(tiny_project.path), str(out_real)]) == 0
    os.chmod(out_real, 0o664)
    link = tmp_path / "link.h5"
    link.symlink_to(out_real)
    ino = out_real.stat().st_ino
    assert main(["export", str(tiny_project.path), str(link), "--force"]) == 0
    assert link.is_symlink() and out_real.stat().st_ino != ino and (out_real.stat().st_mode & 0o777) == 0o664


# --- full and read-only disks -----------------------------------------------------------------------------

@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs (needs root and mount); skipped where it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_import_and_export_one_line_nothing_left(tiny_disk, tiny_project, tmp_path):
    import cv2
    src = tmp_path / "big"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        cv2.imwrite(str(src / f"f{i:02d}.png"), rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))
    proj = tiny_disk / "p.h5"
    rc, out, err = cli("import", proj, src)
    assert rc == 2, (out, err)
    one_line(err, "no space left on the disk")
    assert snapshot(tiny_disk) == {}
    # a project that fits, then an export that does not
    small = tmp_path / "small"
    small.mkdir()
    for i in range(3):
        cv2.imwrite(str(small / f"f{i}.png"), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    assert cli("import", proj, small)[0] == 0
    (tiny_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 2 * (proj.stat().st_size + 65536)))
    before = snapshot(tiny_disk)
    rc, out, err = cli("export", tiny_project.path, tiny_disk / "out.h5", "--csv", tiny_disk / "out.csv")
    assert rc == 2, (out, err)
    one_line(err, "out.h5", "no space left on the disk")
    assert snapshot(tiny_disk) == before
    # a save that would not fit: refused before HDF5 writes, the project as it was
    rc, out, err = cli("autoclean", proj)
    assert rc == 2, (out, err)
    one_line(err, "p.h5", "no space left on the disk")
    assert snapshot(tiny_disk) == before


def test_read_only_disk_writers_refuse_readers_work(tiny_disk, tiny_project, tmp_path):
    import shutil
    shutil.copy(tiny_project.path, tiny_disk / "tiny.h5")
    shutil.copytree(tiny_project.frames_dir, tiny_disk / "tiny.frames")
    r = subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot remount read-only here")
    before = snapshot(tiny_disk)
    for args in (("detect", tiny_disk / "tiny.h5"), ("export", tiny_project.path, tiny_disk / "o.h5"),
                 ("import", tiny_disk / "new.h5", tiny_project.frames_dir)):
        rc, out, err = cli(*args)
        assert rc == 2, (args, out, err)
        one_line(err, "read-only")
    assert cli("info", tiny_disk / "tiny.h5")[0] == 0
    assert snapshot(tiny_disk) == before


def test_enospc_in_the_middle_of_a_save_leaves_previous_file(tiny_project, monkeypatch):
    """Fault injection (no mount needed): HDF5's write fails with errno 28 halfway through a save."""
    import embryo_gui.model.project as mp
    p = tiny_project
    before = snapshot(p.path.parent)
    p.embryos[0].history.push(edits.SetValues([0], [5]))
    real = mp.h5py.File

    class Full:
        def __init__(self, *a, **k):
            self.f = real(*a, **k)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

        def create_dataset(self, name, *a, **k):
            if name == "current":
                raise OSError("Can't write data (file write failed: time = now, filename = 'x', "
                              "errno = 28, error message = 'No space left on device')")
            return self.f.create_dataset(name, *a, **k)

    monkeypatch.setattr(mp.h5py, "File", Full)
    with pytest.raises(EmbryoError, match=r"tiny.h5: cannot write: no space left on the disk; the "
                                          "previous file is unchanged"):
        p.save()
    monkeypatch.undo()
    assert snapshot(p.path.parent) == before
    assert not p.held


# --- bad input: one line, exit 2, nothing changed -----------------------------------------------------------

@pytest.fixture
def stack(tmp_path):
    import tifffile
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.random.default_rng(1).integers(0, 255, (10, 24, 32), dtype=np.uint8))
    return path


BAD_CSV = {
    "huge_index.csv": ("frame,population\n0,3\n100000000000000000000000,4\n", "implausibly large"),
    "huge_count.csv": ("frame,population\n0,3\n1,1e300\n", "implausible (an embryo has at most 5000 cells)"),
    "lineage_sum.csv": ("frame,A,E\n0,3000,3000\n", "add up to more than 5000 cells"),
    "long_field.csv": ("frame,population\n0,3\n1," + "9" * 140000 + "\n", "longer than 131072 characters"),
    "epic_long.csv": ("cellTime,cell,time\nABa_1,ABa,1\nx,ABp," + "9" * 140000 + "\n",
                      "longer than 131072 characters"),
    "epic_time.csv": ("cellTime,cell,time\nABa_1,ABa,1\nx,ABp,1e23\n", "implausibly large"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSV))
def test_bad_annotation_files(tmp_path, capsys, stack, name):
    text, needle = BAD_CSV[name]
    bad = tmp_path / name
    bad.write_text(text)
    assert main(["import", str(tmp_path / "p.h5"), str(stack)]) == 0
    capsys.readouterr()
    before = snapshot(tmp_path)
    rc = main(["import", str(tmp_path / "p.h5"), str(stack), "--annotations", str(bad), "--name", "x"])
    assert rc == 2
    one_line(capsys.readouterr().err, bad, needle)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("opt", [("--time-offset", "1e20"), ("--time-offset", "99999999999999999999"),
                                 ("--frames-per-timepoint", "1e300"), ("--frames-per-timepoint", "nan")])
def test_implausible_options_one_line(tmp_path, stack, opt):
    before = snapshot(tmp_path)
    rc, out, err = cli("import", tmp_path / "p.h5", stack, *opt)
    assert rc == 2
    one_line(err, opt[0], opt[1])
    assert snapshot(tmp_path) == before


def test_paths_that_cannot_hold_files(tiny_project, stack, tmp_path):
    before = snapshot(tmp_path)
    for args, needle in ((("export", tiny_project.path, "/proc/x.h5"), "/proc/x.h5"),
                         (("export", tiny_project.path, "/proc/self/x.h5", "--csv", "/proc/x.csv"), "/proc/"),
                         (("import", "/proc/p.h5", stack), "/proc/p.h5"),
                         (("import", "/proc/self/p.h5", stack), "/proc/self/p.h5")):
        rc, out, err = cli(*args)
        assert rc == 2, (args, err)
        one_line(err, needle)
    assert snapshot(tmp_path) == before


def test_damaged_frame_chunks_one_line(tmp_path):
    frames = [np.full((24, 32, 3), i, np.uint8) for i in range(12)]  # compressible: Blosc really compresses
    p = Project.create(tmp_path / "tiny.h5")
    e = p.add_embryo("e", iter(frames), 12, (24, 32, 3), rising_counts(12))
    p.save()
    p.close()
    f = e.frames.path
    b = bytearray(f.read_bytes())
    with h5py.File(f, "r") as h:  # damage the compressed chunks of frame 5 (their Blosc headers)
        for name in ("frames", "small"):
            info = h[name].id.get_chunk_info(5)
            assert info.filter_mask == 0
            b[info.byte_offset:info.byte_offset + 16] = b"\xff" * 16
    f.write_bytes(bytes(b))
    before = snapshot(tmp_path)
    for args in (("detect", p.path), ("export", p.path, tmp_path / "o.h5")):
        rc, out, err = cli(*args)
        assert rc == 2, err
        one_line(err, f, "frame 5 cannot be read: the frame file is damaged")
    assert snapshot(tmp_path) == before


def test_png_renamed_mp4_refused_and_ffmpeg_noise_silenced(tmp_path):
    import cv2
    png = tmp_path / "img.png"
    cv2.imwrite(str(png), np.full((24, 32, 3), 50, np.uint8))
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(png.read_bytes())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)  # an MP4 without its moov atom
    before = snapshot(tmp_path)
    rc, out, err = cli("import", tmp_path / "p.h5", fake)
    assert rc == 2
    one_line(err, fake, "is a PNG image, not a video")
    rc, out, err = cli("import", tmp_path / "p.h5", cut)
    assert rc == 2
    one_line(err, cut, "cannot be opened as a video")
    assert "moov" not in err and "WARN" not in err
    assert snapshot(tmp_path) == before


def test_truncated_tiff_imported_with_explicit_report(tmp_path, stack):
    half = tmp_path / "half.tif"
    data = stack.read_bytes()
    half.write_bytes(data[:len(data) // 2])
    rc, out, err = cli("import", tmp_path / "p.h5", half)
    assert rc == 0, err
    assert err == ""  # no tifffile log line
    assert "the file has 10 pages" in out and "pages are lost" in out and "truncated" in out
    e = Project.open(tmp_path / "p.h5").embryos[0]
    assert 0 < e.n_frames < 10 and e.source["declared_frames"] == 10


# --- history compaction ------------------------------------------------------------------------------------

def test_history_compaction_bound_and_undo_back_to_original(tiny_project):
    from embryo_gui.policy import HISTORY_KEEP_STEPS
    p = tiny_project
    e = p.embryos[0]
    for k in range(HISTORY_KEEP_STEPS + 50):
        e.history.push(edits.SetValues([k % 30], [k + 1000]))
    p.save()
    size_1 = p.path.stat().st_size
    current = e.current.copy()
    q = Project.open(p.path)
    f = q.embryos[0]
    assert len(f.history) == HISTORY_KEEP_STEPS + 1 and f.history.position == HISTORY_KEEP_STEPS + 1
    assert f.history.entries[0].label == "50 older steps (squashed)"
    while f.history.can_undo:
        f.history.undo()
    assert np.array_equal(f.current, f.original, equal_nan=True)
    while f.history.can_redo:
        f.history.redo()
    assert np.array_equal(f.current, current, equal_nan=True)
    # 300 more steps: the file does not grow with them
    for k in range(300):
        e.history.push(edits.SetValues([k % 30], [k + 5000]))
    p.save()
    assert p.path.stat().st_size < size_1 * 1.3
    r = Project.open(p.path).embryos[0]
    assert r.history.entries[0].label == "350 older steps (squashed)"
    while r.history.can_undo:
        r.history.undo()
    assert np.array_equal(r.current, r.original, equal_nan=True)
