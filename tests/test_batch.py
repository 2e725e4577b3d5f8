"""embryo-repair batch / batch-merge: discovery, one task per embryo on a Dask LocalCluster of 2
workers (a bad movie among good ones), --task-index + batch-merge equal to the Dask run, idempotent
reruns, the report."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from embryo_gui.batch import BatchSettings, discover
from embryo_gui.batch.demo import write_demo_inputs
from embryo_gui.batch.task import run_task, task_paths
from embryo_gui.cli.main import main
from embryo_gui.errors import EmbryoError

N_GOOD = 3


def cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Three tiny demo movies (two mp4, one TIFF stack) with CSVs, and a truncated movie."""
    folder = tmp_path_factory.mktemp("batch_in")
    movies = write_demo_inputs(folder, N_GOOD, n_frames=24, size=(96, 64), seed=3, tiff=(1,))
    (folder / "bad_movie.mp4").write_bytes(movies[0].read_bytes()[:2000])  # truncated: no index
    (folder / "notes.txt").write_text("not a movie")
    return folder


_RECORDING_CLI = """
import json, sys
from embryo_gui.cli import batch_commands
from embryo_gui.cli.main import main
events = []
class Recording(batch_commands._Display):
    def __call__(self, ev):
        events.append(ev)
        super().__call__(ev)
batch_commands._Display = Recording
rc = main(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    json.dump({"rc": rc, "events": events}, fh)
"""


def run_recording_cli(args, events_file, timeout=240):
    """The CLI in a child process (Dask's threads never live in the test process, where they could
    run the garbage collector on Qt objects of later GUI tests), recording the display's events."""
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-c", _RECORDING_CLI, str(events_file), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    assert events_file.exists(), res.stderr[-3000:]
    d = json.loads(events_file.read_text())
    return d["rc"], d["events"], res


@pytest.fixture(scope="module")
def dask_run(inputs, tmp_path_factory):
    """The Dask run (LocalCluster, 2 workers) through the CLI, shared by the tests below."""
    out = tmp_path_factory.mktemp("batch_dask")
    rc, events, res = run_recording_cli(["batch", inputs, out, "--workers", "2", "--json"],
                                        out.parent / "events.json")
    json.loads(res.stdout)  # --json: stdout is JSON only (the per-embryo lines went to stderr)
    assert "[4/4]" in res.stderr
    return out, rc, events


# --- discovery ---------------------------------------------------------------------------------
def test_discover_pairs_movies_with_csv_epic_and_nothing(tmp_path):
    for name in ("b.mp4", "20080731_x_L1.mov", "c.tif", "a.avi"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "b.csv").write_text("frame,A\n0,1\n")
    (tmp_path / "CD20080731_x_L1.csv").write_text("cell,time\nABa,1\n")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "0001.png").write_bytes(b"x")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "lonely.csv").write_text("frame,A\n")
    jobs = discover(tmp_path)
    assert [j.name for j in jobs] == ["20080731_x_L1", "a", "b", "c", "frames"]
    ann = {j.name: j.annotations and Path(j.annotations).name for j in jobs}
    assert ann == {"20080731_x_L1": "CD20080731_x_L1.csv", "a": None, "b": "b.csv", "c": None, "frames": None}


def test_manifest_overrides_guessing_and_bad_manifests_name_the_line(tmp_path):
    for name in ("m1.mp4", "m2.mp4"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "lin.csv").write_text("cell,time\n")
    (tmp_path / "m2.csv").write_text("frame,A\n")
    (tmp_path / "manifest.csv").write_text(
        "Movie,Annotations,Time offset,Frames per timepoint,Name\n"
        "m1.mp4,lin.csv,1,2.5,first\nm2.mp4,,0,,\n")
    jobs = discover(tmp_path)
    assert [(j.name, Path(j.movie).name, j.annotations and Path(j.annotations).name, j.time_offset,
             j.frames_per_timepoint) for j in jobs] == [("first", "m1.mp4", "lin.csv", 1, 2.5),
                                                          ("m2", "m2.mp4", "m2.csv", 0, 1.0)]
    bad = tmp_path / "bad.csv"
    for text, problem in [("movie,colour\nm1.mp4,red\n", "unknown manifest column 'colour'"),
                          ("movie,time_offset\nm1.mp4,1.5\n", "line 2: time offset '1.5' is not a whole number"),
                          ("movie\nm1.mp4\nnope.mp4\n", "line 3: no such movie 'nope.mp4'"),
                          ("movie,name\nm1.mp4,x\nm2.mp4,x\n", "two embryos would be named 'x'")]:
        bad.write_text(text)
        with pytest.raises(EmbryoError) as ei:
            discover(tmp_path, manifest=bad)
        assert problem in str(ei.value) and str(bad) in str(ei.value) and "\n" not in str(ei.value)


def test_cli_bad_input_folders_give_one_line_errors(tmp_path, capsys):
    rc, _, err = cli(capsys, "batch", tmp_path / "nope", tmp_path / "out")
    assert rc == 2 and "no such input folder" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    rc, _, err = cli(capsys, "batch", tmp_path / "empty", tmp_path / "out")
    assert rc == 2 and "no movies found" in err
    assert not (tmp_path / "out").exists()
    rc, _, err = cli(capsys, "batch-merge", tmp_path / "empty")
    assert rc == 2 and "no batch results" in err


# --- the Dask run ------------------------------------------------------------------------------
def test_dask_run_with_a_bad_movie_among_good_ones(dask_run, inputs, capsys):
    out, rc, _ = dask_run
    assert rc == 1  # one embryo failed; the others were processed
    report = json.loads((out / "report.json").read_text())
    rows = {r["name"]: r for r in report["embryos"]}
    assert sorted(rows) == ["bad_movie", "demo_00", "demo_01", "demo_02"]
    bad = rows["bad_movie"]
    assert bad["status"] == "failed" and str(inputs / "bad_movie.mp4") in bad["error"]
    assert "\n" not in bad["error"] and not task_paths(out, "bad_movie")["project"].exists()
    good = [rows[f"demo_{i:02d}"] for i in range(N_GOOD)]
    assert all(r["status"] == "ok" for r in good)
    # tasks ran on two different worker processes (one task per embryo)
    assert len({r["pid"] for r in good}) == 2 and os.getpid() not in {r["pid"] for r in good}
    from embryo_gui.model import Project
    for r in good:
        p = Project.open(out / r["project"])
        e = p.embryos[0]
        assert (e.name, e.n_frames) == (r["name"], 24)
        assert e.history.entries[-1].type == "autoclean"  # the auto-clean workflow ran on it
        assert r["kept"] == int(np.sum(~e.flags.mask("excluded") & np.isfinite(e.current[:, -1]))) or \
            r["state"] == "unusable"
        p.close()
    # progress came back per embryo and stage; only small summaries came back through the scheduler
    events = dask_run[2]
    stages = {(e["embryo"], e["stage"]) for e in events if e["kind"] == "progress"}
    for r in good:
        assert {(r["name"], s) for s in ("import", "autoclean", "export", "ok")} <= stages or \
            r["state"] == "unusable" and (r["name"], "import") in stages
    done = [e["row"] for e in events if e["kind"] == "done"]
    assert len(done) == N_GOOD + 1 and max(len(json.dumps(d)) for d in done) < 4000
    assert all("curve" not in d for d in done)
    usable = [r for r in good if r["state"] != "unusable" and r["kept"]]
    with h5py.File(out / "cleaned_dataset.h5", "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["embryo_names"][()]]
        assert names == [r["name"] for r in usable]
        assert f["frames"].shape[0] == sum(r["kept"] for r in usable) == report["totals"]["frames_kept"]
        from embryo_gui.model.format import EXPORT_FORMAT_NAME
        assert f.attrs["format"] == EXPORT_FORMAT_NAME
    for r in usable:  # the per-embryo export has the embryo's kept frames
        with h5py.File(out / r["export"]["path"], "r") as f:
            assert f["frames"].shape[0] == r["kept"]


def test_report_html_is_self_contained_and_lists_every_embryo(dask_run):
    out, _, _ = dask_run
    text = (out / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing from the network
    for name in ("bad_movie", "demo_00", "demo_01", "demo_02"):
        assert name in text
    assert text.count("<polyline") >= 2 * N_GOOD and "<script>" in text
    assert 'href="projects/demo_00.h5"' in text and f"embryo-gui {out / 'projects' / 'demo_00.h5'}" in text
    assert "cannot be opened as a video" in text


def test_task_index_then_merge_equals_the_dask_run(dask_run, inputs, tmp_path, capsys):
    out_dask, _, _ = dask_run
    out = tmp_path / "array"
    rc, listing, _ = cli(capsys, "batch", inputs, out, "--list", "--json")
    names = [d["name"] for d in json.loads(listing)["embryos"]]
    assert names == ["bad_movie", "demo_00", "demo_01", "demo_02"]
    for i, name in enumerate(names):  # like a SLURM array: one embryo per call, index from the environment
        os.environ["SLURM_ARRAY_TASK_ID"] = str(i)
        try:
            rc, text, err = cli(capsys, "batch", inputs, out)
        finally:
            del os.environ["SLURM_ARRAY_TASK_ID"]
        assert rc == (1 if name == "bad_movie" else 0), err
        assert name in text
    rc, text, err = cli(capsys, "batch-merge", out)
    assert rc == 1 and "1 failed" in text
    a = json.loads((out_dask / "report.json").read_text())
    b = json.loads((out / "report.json").read_text())
    volatile = {"seconds", "pid", "host", "peak_rss_mb", "skipped"}
    strip = lambda r: {k: v for k, v in r.items() if k not in volatile}  # noqa: E731
    assert [strip(r) for r in a["embryos"]] == [strip(r) for r in b["embryos"]]
    assert a["totals"] == b["totals"]
    with h5py.File(out_dask / "cleaned_dataset.h5", "r") as fa, h5py.File(out / "cleaned_dataset.h5", "r") as fb:
        for key in ("frames", "population", "lineages", "embryo", "source_frame", "embryo_names"):
            assert np.array_equal(fa[key][()], fb[key][()], equal_nan=key in ("population", "lineages")), key


def test_rerun_skips_embryos_that_are_up_to_date(inputs, tmp_path):
    out = tmp_path / "out"
    for job in [j for j in discover(inputs) if j.name.startswith("demo")]:
        first = run_task(job, out)
        assert first["status"] == "ok" and not first["skipped"]
        if first["export"]:  # an embryo with an export (not unusable)
            break
    assert first["export"]
    paths = task_paths(out, job.name)
    stamp = {k: paths[k].stat().st_mtime_ns for k in ("project", "export", "summary")}
    again = run_task(job, out)
    assert again["skipped"] and {k: paths[k].stat().st_mtime_ns for k in stamp} == stamp
    # other settings: redone (the fingerprint changed), the export now gray
    gray = run_task(job, out, BatchSettings(gray=True))
    assert gray["status"] == "ok" and not gray["skipped"], gray.get("error")
    with h5py.File(paths["export"], "r") as f:
        assert f["frames"].ndim == 3
    assert run_task(job, out, BatchSettings(gray=True))["skipped"]
    # a newer input: redone; only this embryo's files exist, no staging folder is left behind
    t = time.time() + 5
    os.utime(job.annotations, (t, t))
    assert not run_task(job, out, BatchSettings(gray=True))["skipped"]
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if p.suffix != ".frames" and p.parent.suffix != ".frames" and job.name in p.name)
    assert left == [f"exports/{job.name}.h5", f"projects/{job.name}.h5", f"summaries/{job.name}.json"]
    assert not list(out.glob("projects/.staging*"))
    assert len(list(paths["frames"].iterdir())) == 1  # the old frame file went with the old project


def test_a_failing_task_leaves_no_project_and_reports_one_line(tmp_path):
    movie = tmp_path / "m.mp4"
    write_demo_inputs(tmp_path, 1, n_frames=12, size=(64, 48))
    (tmp_path / "demo_00.mp4").rename(movie)
    (tmp_path / "m.csv").write_text("frame,A,E\n0,1,1\n99,2,2\n")  # names a frame past the end
    (job,) = discover(tmp_path)
    row = run_task(job, tmp_path / "out")
    assert row["status"] == "failed" and "frame 99 but the video has 12 frames" in row["error"]
    assert str(tmp_path / "m.csv") in row["error"]
    out = tmp_path / "out"
    assert not (out / "projects" / "m.h5").exists()
    assert [p.name for p in (out / "projects").iterdir()] == []  # staging removed
    assert json.loads((out / "summaries" / "m.json").read_text())["status"] == "failed"


def test_the_desktop_app_does_not_import_distributed():
    import subprocess
    import sys
    code = ("import sys; import embryo_gui.gui.app, embryo_gui.gui.main_window, embryo_gui.batch.review; "
            "import embryo_gui.cli.main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('distributed', 'dask')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_a_scheduler_nobody_runs_is_a_one_line_error(tmp_path):
    import subprocess
    import sys
    code = ("import sys\n"
            "from embryo_gui.batch.engine import run_dask\n"
            "from embryo_gui.batch import BatchSettings, EmbryoJob\n"
            "from embryo_gui.errors import EmbryoError\n"
            "try:\n"
            f"    run_dask([EmbryoJob('x', 'x.mp4')], {str(tmp_path / 'out')!r}, BatchSettings(),\n"
            "             scheduler='tcp://127.0.0.1:9', connect_timeout=1)\n"
            "except EmbryoError as exc:\n"
            "    print('ERROR', exc)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.startswith("ERROR tcp://127.0.0.1:9: cannot connect to the Dask scheduler"), res.stderr
    assert len(res.stdout.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_batch_review_lists_the_projects_in_report_order(dask_run, tmp_path):
    from embryo_gui.batch.review import BatchReview, is_batch_folder
    out, _, _ = dask_run
    assert is_batch_folder(out) and not is_batch_folder(out / "projects")
    review = BatchReview(out)
    report = json.loads((out / "report.json").read_text())
    expected = [r["name"] for r in report["embryos"] if r["status"] == "ok"]
    assert [e["name"] for e in review.entries] == expected == ["demo_00", "demo_01", "demo_02"]
    assert review.current == out / "projects" / "demo_00.h5" and not review.has_previous
    assert review.step(1) == out / "projects" / "demo_01.h5"
    assert review.step(1) == out / "projects" / "demo_02.h5" and not review.has_next
    assert review.step(1) is None and review.index == 2
    assert review.position_text().startswith("batch project 3 of 3: demo_02")
    (tmp_path / "report.json").write_text('{"format": "something else"}')
    with pytest.raises(EmbryoError, match="not an embryo-gui batch report"):
        BatchReview(tmp_path)


def test_dask_never_ran_in_the_test_process():
    """Dask's threads would outlive the tests and could free Qt objects of later GUI tests in the
    wrong thread: every Dask run above is in a child process."""
    import sys
    assert "distributed" not in sys.modules


def test_batch_frame_codec_none_stores_uncompressed_frames(inputs, tmp_path):
    from embryo_gui.model import Project
    assert BatchSettings(frame_codec="lz4").fingerprint() == BatchSettings().fingerprint()  # outputs stay current
    assert BatchSettings(frame_codec="none").fingerprint() != BatchSettings().fingerprint()
    with pytest.raises(EmbryoError, match="unknown frame codec 'zip'"):
        BatchSettings(frame_codec="zip")
    job = next(j for j in discover(inputs) if j.name.startswith("demo"))
    out = tmp_path / "out"
    row = run_task(job, out, BatchSettings(frame_codec="none"))
    assert row["status"] == "ok", row.get("error")
    p = Project.open(task_paths(out, job.name)["project"])
    assert p.embryos[0].frames.codec["clevel"] == 0
    p.close()
    assert not run_task(job, out)["skipped"]          # the default codec: redone
    p = Project.open(task_paths(out, job.name)["project"])
    assert p.embryos[0].frames.codec["clevel"] == 1
    p.close()
