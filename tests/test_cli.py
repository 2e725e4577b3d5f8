"""The embryo-repair CLI: exit codes, one-line errors, files left as they were."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from embryo_gui.cli.main import main


def write_video(path, n=24, shape=(48, 64)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 7, (shape[1], shape[0]))
    for i in range(n):
        f = np.zeros(shape + (3,), np.uint8)
        cv2.circle(f, (8 + i, shape[0] // 2), 4, (0, 220, 0), -1)
        w.write(f)
    w.release()
    return path


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def video_and_csv(tmp_path):
    v = write_video(tmp_path / "emb.mp4")
    csv = tmp_path / "emb.csv"
    csv.write_text("frame,A,E\n" + "".join(f"{i},{2 ** (i // 6)},1\n" for i in range(20)))
    return v, csv


def test_import_then_info_json(tmp_path, capsys, video_and_csv):
    v, csv = video_and_csv
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--annotations", csv)
    assert rc == 0, err
    assert "20 annotated frames -> frames 0-19 of 24; 4 frames unannotated" in out
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--name", "second")
    assert rc == 0, err
    rc, out, _ = run(capsys, "info", tmp_path / "p.h5", "--json")
    d = json.loads(out)
    assert d["format_version"] == 1
    e0, e1 = d["embryos"]
    assert (e0["name"], e0["n_frames"], e0["frame_shape"], e0["annotated_frames"]) == ("emb", 24, [48, 64, 3], 20)
    assert e0["lineages"] == ["A", "E"] and e1["annotated_frames"] == 0
    assert set(e0["flags"]) >= {"black", "red_artifact", "outlier", "cliff", "lossy", "excluded", "edited"}


def test_import_with_epic_offset_reports_alignment(tmp_path, capsys):
    from conftest import EPIC_DIR
    epic = EPIC_DIR / "CD20080731_ceh-32_4_L2.csv"
    if not epic.exists():
        pytest.skip(f"real EPIC data not found at {EPIC_DIR}")
    v = write_video(tmp_path / "m.mp4", n=60)
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--annotations", epic, "--time-offset", "5")
    assert rc == 0, err
    assert "dropped" in out or "past the end" in out  # 140 timepoints do not fit 60 frames: said, not hidden
    from embryo_gui.model import Project
    e = Project.open(tmp_path / "p.h5").embryos[0]
    assert np.isnan(e.original[:5, 7]).all()
    assert e.original[5, 7] == 2  # L2 has 2 cells at time 1
    assert e.alignment["offset"] == 5


BAD_CSVS = {
    "no_count.csv": ("frame,foo\n0,1\n", "count column"),
    "text.csv": ("frame,A\n0,abc\n", "not a number"),
    "negative.csv": ("frame,A\n0,-3\n", "negative"),
    "dup.csv": ("frame,A\n0,1\n0,2\n", "appears twice"),
    "beyond.csv": ("frame,A\n0,1\n500,2\n", "frames"),
    "nan.csv": ("frame,A\n0,nan\n", "nan"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSVS))
def test_bad_annotations_one_line_error_and_nothing_changed(tmp_path, capsys, video_and_csv, name):
    v, csv = video_and_csv
    assert run(capsys, "import", tmp_path / "p.h5", v, "--annotations", csv)[0] == 0
    text, needle = BAD_CSVS[name]
    bad = tmp_path / name
    bad.write_text(text)
    before = snapshot(tmp_path)
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--annotations", bad, "--name", "x")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and needle.lower() in lines[0].lower(), err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_bad_sources_leave_no_files(tmp_path, capsys):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video at all")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    for src in (fake, empty, tmp_path / "missing.avi"):
        rc, out, err = run(capsys, "import", tmp_path / "new.h5", src)
        assert rc == 2 and str(src) in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "new.h5").exists() and not (tmp_path / "new.frames").exists()


def test_truncated_video_uses_frames_that_decode(tmp_path, capsys):
    v = write_video(tmp_path / "t.avi", n=60)
    data = v.read_bytes()
    v.write_bytes(data[: int(len(data) * 0.6)])
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v)
    assert rc == 0, err
    from embryo_gui.model import Project
    e = Project.open(tmp_path / "p.h5").embryos[0]
    assert 0 < e.n_frames < 60
    assert e.source["declared_frames"] in (None, 60) and e.source["decoded_frames"] == e.n_frames
    # frames are distinct (no stale repeats): the moving disc's position changes every frame
    def centre_x(f):
        g = f[:, :, 1].astype(float)
        return (g.sum(axis=0) * np.arange(g.shape[1])).sum() / g.sum()
    xs = np.array([centre_x(e.frames[i]) for i in range(e.n_frames)])
    assert np.all(np.diff(xs) > 0.5), xs


def test_damaged_project_and_foreign_file(tmp_path, capsys, video_and_csv):
    v, _ = video_and_csv
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    before = junk.read_bytes()
    rc, out, err = run(capsys, "import", junk, v)
    assert rc == 2 and "junk.h5" in err and len(err.strip().splitlines()) == 1
    assert junk.read_bytes() == before


def test_read_only_output_folder(tmp_path, capsys, video_and_csv, monkeypatch):
    v, _ = video_and_csv
    ro = tmp_path / "ro"
    ro.mkdir()
    import embryo_gui.model.atomic as atomic
    real = atomic.os.access
    monkeypatch.setattr(atomic.os, "access", lambda p, m: False if str(p).startswith(str(ro)) else real(p, m))
    rc, out, err = run(capsys, "import", ro / "p.h5", v)
    assert rc == 2 and "read-only" in err and len(err.strip().splitlines()) == 1
    assert list(ro.iterdir()) == []


def test_usage_errors_and_help(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["export", "a.h5", "b.h5", "--size", "12by4"])
    assert ei.value.code == 2
    with pytest.raises(SystemExit) as ei:
        main(["--help"])
    assert ei.value.code == 0
    assert "import" in capsys.readouterr().out


def test_cli_starts_without_torch_or_qt(tmp_path):
    code = ("import sys; from embryo_gui.cli.main import main; main(['info', sys.argv[1]]) if False else None; "
            "import embryo_gui.cli.commands, embryo_gui.model, embryo_gui.app.autoclean, embryo_gui.app.exporting, "
            "embryo_gui.app.importing; bad=[m for m in sys.modules if m.split('.')[0] in ('torch','PySide6','pyqtgraph')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_frame_codec_none_stores_frames_uncompressed(tmp_path, capsys, video_and_csv):
    from embryo_gui.model import Project
    v, csv = video_and_csv
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--frame-codec", "none", "--json")
    assert rc == 0, err
    assert json.loads(out)["frame_codec"] == "none"
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--name", "next", "--json")
    assert rc == 0, err
    assert json.loads(out)["frame_codec"] == "none"      # as the project's last embryo
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--name", "packed", "--frame-codec", "lz4", "--json")
    assert rc == 0, err
    assert json.loads(out)["frame_codec"] == "lz4"
    p = Project.open(tmp_path / "p.h5")
    raw, _, packed = p.embryos
    assert raw.frames.codec["clevel"] == 0 and packed.frames.codec["clevel"] == 1
    assert all(np.array_equal(raw.frames[i], packed.frames[i]) for i in (0, 7, 23))
    p.close()
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["import", str(tmp_path / "p.h5"), str(v), "--name", "x", "--frame-codec", "zip"])
    assert exc.value.code == 2 and "invalid choice: 'zip'" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_a_frame_file_with_damaged_metadata_is_one_line_and_does_not_stop_the_next_import(
        tmp_path, capsys, video_and_csv):
    from embryo_gui.app.importing import frame_storage, project_frame_codec
    from embryo_gui.errors import EmbryoError
    from embryo_gui.model import Project
    v, csv = video_and_csv
    rc, _, err = run(capsys, "import", tmp_path / "p.h5", v, "--frame-codec", "none")
    assert rc == 0, err
    p = Project.open(tmp_path / "p.h5")
    frames_file = p.embryos[0].frames.path
    p.close()
    b = bytearray(frames_file.read_bytes())
    b[200:2000] = bytes(1800)                       # its object headers: it opens, its metadata does not read
    frames_file.write_bytes(bytes(b))
    p = Project.open(tmp_path / "p.h5")
    e = p.embryos[0]
    with pytest.raises(EmbryoError, match="damaged") as exc:
        e.frames[0]
    assert str(frames_file) in str(exc.value) and "\n" not in str(exc.value)
    assert frame_storage(e) is None and project_frame_codec(p) is None
    p.close()
    rc, out, err = run(capsys, "import", tmp_path / "p.h5", v, "--name", "next", "--json")
    assert rc == 0, err                             # the next import: the default codec
    assert json.loads(out)["frame_codec"] == "lz4"
