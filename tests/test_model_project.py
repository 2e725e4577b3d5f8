import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from conftest import make_frames, rising_counts
from embryo_gui import edits
from embryo_gui.errors import EmbryoError
from embryo_gui.model import FORMAT_VERSION, Project


def bits_equal(a, b):
    return np.array_equal(np.ascontiguousarray(a).view(np.uint64), np.ascontiguousarray(b).view(np.uint64))


def test_roundtrip_keeps_everything(tiny_project):
    p = tiny_project
    e = p.embryos[0]
    e.history.push(edits.SetValues([3, 4], [7], columns=["A"]))
    e.history.push(edits.SetExcluded((10, 13)))
    e.history.push(edits.SetFlags({"lossy": np.arange(30) % 7 == 0}, scores={"loss": np.linspace(0, 1, 30)},
                                  detections={"note": {"x": 1}}))
    e.history.undo()
    p.save()
    q = Project.open(p.path)
    f = q.embryo("emb0")
    assert bits_equal(f.current, e.current)
    assert bits_equal(f.original, e.original)
    assert np.array_equal(f.flags.bits, e.flags.bits)
    assert f.history.position == 2 and len(f.history) == 3
    f.history.redo()
    assert f.detections == {"note": {"x": 1}}
    assert np.allclose(f.flags.scores["loss"], np.linspace(0, 1, 30))
    assert f.flags.mask("lossy").sum() == 5
    f.history.undo(); f.history.undo(); f.history.undo()
    assert bits_equal(f.current, f.original)
    assert not f.flags.bits.any()
    assert np.array_equal(f.frames[5], make_frames(30, seed=0)[5])
    assert q.embryo("emb1").n_frames == 20


def test_original_is_read_only(tiny_project):
    e = tiny_project.embryos[0]
    with pytest.raises(ValueError, match="read-only"):
        e.original[0, 0] = 5


def test_save_keeps_backup_and_never_rewrites_frames(tiny_project):
    p = tiny_project
    frame_file = p.embryos[0].frames.path
    st = frame_file.stat()
    before = p.path.read_bytes()
    p.embryos[0].history.push(edits.SetValues([0], [1]))
    p.save()
    assert p.path.with_name("tiny.h5.bak").read_bytes() == before
    assert frame_file.stat().st_mtime_ns == st.st_mtime_ns and frame_file.stat().st_ino == st.st_ino
    assert not p.modified


def test_modified_tracks_undo_to_saved_state(tiny_project):
    p = tiny_project
    e = p.embryos[1]
    assert not p.modified
    e.history.push(edits.SetValues([0], [9]))
    assert p.modified
    e.history.undo()
    assert not p.modified


def test_failed_save_leaves_previous_file(tiny_project, monkeypatch):
    p = tiny_project
    before = p.path.read_bytes()
    p.embryos[0].history.push(edits.SetValues([1], [5]))
    import embryo_gui.model.project as mp

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(mp, "dumps", boom)
    with pytest.raises(EmbryoError, match="could not save project.*disk full"):
        p.save()
    assert p.path.read_bytes() == before
    assert not [x for x in p.path.parent.iterdir() if x.name.endswith(".tmp")]


def test_kill_during_saves_leaves_a_good_project(tmp_path):
    """A process killed at a random moment while saving in a loop leaves an openable project."""
    p = Project.create(tmp_path / "k.h5")
    p.add_embryo("a", iter(make_frames(200, shape=(8, 8, 3))), 200, (8, 8, 3), rising_counts(200))
    p.save()
    script = textwrap.dedent(f"""
        import numpy as np
        from embryo_gui.model import Project
        from embryo_gui import edits
        p = Project.open({str(p.path)!r})
        e = p.embryos[0]
        i = 0
        while True:
            e.history.push(edits.SetValues([i % 200], [i % 50]))
            p.save()
            if i == 0:
                print("saved", flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    import time
    # kill it while it saves in a loop (after its first save, however slow the machine is to start it)
    assert proc.stdout.readline().strip() == "saved"
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    q = Project.open(p.path)
    assert q.embryos[0].n_frames == 200
    assert len(q.embryos[0].history) >= 1


def test_newer_version_is_a_clear_error(tiny_project):
    with h5py.File(tiny_project.path, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(EmbryoError) as ei:
        Project.open(tiny_project.path)
    msg = str(ei.value)
    assert str(tiny_project.path) in msg and "newer" in msg and "\n" not in msg


def test_foreign_hdf5_is_a_clear_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(EmbryoError, match="not an embryo-gui project"):
        Project.open(path)


def test_truncated_project_is_a_clear_error(tiny_project, tmp_path):
    data = tiny_project.path.read_bytes()
    bad = tmp_path / "trunc.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(EmbryoError, match="truncated or damaged"):
        Project.open(bad)


def test_not_hdf5_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("hello")
    with pytest.raises(EmbryoError, match="not an HDF5 file"):
        Project.open(bad)


@pytest.mark.skipif(os.geteuid() == 0 and not os.environ.get("FORCE_RO_TEST"), reason="root ignores permissions")
def test_read_only_folder_is_a_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(EmbryoError, match="read-only"):
            Project.create(ro / "p.h5")
    finally:
        ro.chmod(0o755)


def test_read_only_folder_checked_even_as_root(tmp_path, monkeypatch):
    import embryo_gui.model.atomic as atomic
    monkeypatch.setattr(atomic.os, "access", lambda *a, **k: False)
    with pytest.raises(EmbryoError, match="read-only"):
        Project.create(tmp_path / "p.h5")
    assert not (tmp_path / "p.h5").exists()


def test_duplicate_embryo_name_rejected(tiny_project):
    with pytest.raises(EmbryoError, match="already exists"):
        tiny_project.add_embryo("emb0", iter(make_frames(3)), 3, (24, 32, 3))


def test_counts_length_mismatch_removes_frame_file(tiny_project):
    before = set(tiny_project.frames_dir.iterdir())
    with pytest.raises(EmbryoError, match="annotation rows"):
        tiny_project.add_embryo("x", iter(make_frames(5)), 5, (24, 32, 3), rising_counts(6))
    assert set(tiny_project.frames_dir.iterdir()) == before


def test_save_of_100_embryos_is_fast(tmp_path):
    import time
    p = Project.create(tmp_path / "big.h5")
    e = p.add_embryo("e0", iter(make_frames(400, shape=(4, 4, 3))), 400, (4, 4, 3), rising_counts(400))
    for i in range(1, 100):
        p.attach_embryo(f"e{i}", e.frames.path, 400, (4, 4, 3), rising_counts(400))
    p.save()
    p.embryos[50].history.push(edits.SetValues([3], [1]))
    t = time.perf_counter()
    p.save()
    dt = time.perf_counter() - t
    assert Project.open(p.path).embryos[50].current[3, 7] == 1
    assert dt < 1.0  # the benchmark measures the real figure; this only guards against a blow-up


def test_mark_modified_until_next_save(tiny_project):
    p = tiny_project
    assert not p.modified
    p.mark_modified()
    assert p.modified
    p.save()
    assert not p.modified


def test_state_counts_only_problems_left_to_look_at(tiny_project):
    e = tiny_project.embryos[0]  # 30 frames
    assert e.state() == "clean"
    m = np.zeros(30, bool)
    m[2] = True
    e.history.push(edits.SetFlags({"black": m}))
    assert e.state() == "flagged"
    e.history.push(edits.SetExcluded([2]))
    assert e.state() == "clean"  # the only problem frame is excluded
    s = np.zeros(30, bool)
    s[7] = True
    e.history.push(edits.SetFlags({"spike": s}))
    assert e.state() == "flagged"
    e.history.push(edits.Interpolate(7, 8))
    assert e.state() == "clean"  # the spike was repaired
    e.history.push(edits.SetExcluded((0, 13)))
    assert e.state() == "unusable"  # 13 of 30 frames lost
