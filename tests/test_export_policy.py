"""Data policies of issue 10: export drops lossy frames unless cleared and says what it drops,
refuses to overwrite without --force; CSV frame base explicit; a point edit keeps the row consistent."""

import csv
import json

import h5py
import numpy as np
import pytest

from conftest import make_frames, rising_counts
from embryo_gui import edits
from embryo_gui.cli.main import main
from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project


def _lossy(p, name, frames):
    e = p.embryo(name)
    m = np.zeros(e.n_frames, bool)
    m[list(frames)] = True
    e.history.push(edits.RecordTraining([{"round": 0}], lossy=m, loss=m.astype(np.float32)))
    return e


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --- export policy ----------------------------------------------------------------------------------

def test_export_drops_lossy_frames_and_says_so(tiny_project, tmp_path, capsys):
    p = tiny_project
    _lossy(p, "emb0", [3, 4, 17])
    p.save()
    out, out_csv = tmp_path / "d.h5", tmp_path / "d.csv"
    assert main(["export", str(p.path), str(out), "--csv", str(out_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dropped"]["lossy"] == 3 and report["n_frames"] == 50 - 3
    assert any("3 lossy" in line for line in report["lines"])
    rows = _csv_rows(out_csv)
    emb0 = {int(r["source_frame"]) for r in rows if r["embryo"] == "emb0"}
    assert not emb0 & {3, 4, 17} and len(emb0) == 27
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["dropped"])["lossy"] == 3
        src = f["source_frame"][()][f["embryo"][()] == 0]
        assert not set(src.tolist()) & {3, 4, 17}
    # the plain CLI line names the reason too
    assert main(["export", str(p.path), str(tmp_path / "e.h5")]) == 0
    assert "3 lossy" in capsys.readouterr().out


def test_lossy_frame_cleared_by_a_person_is_exported(tiny_project, tmp_path):
    from embryo_gui.app.exporting import export_dataset
    p = tiny_project
    e = _lossy(p, "emb0", [3, 4])
    e.history.push(edits.ReviewFrames("lossy", [4], "rejected"))
    r = export_dataset(p, tmp_path / "d.h5", csv_path=tmp_path / "d.csv")
    assert r["dropped"]["lossy"] == 1
    emb0 = {int(x["source_frame"]) for x in _csv_rows(tmp_path / "d.csv") if x["embryo"] == "emb0"}
    assert 4 in emb0 and 3 not in emb0
    e.history.undo()  # the decision is an edit like any other
    r = export_dataset(p, tmp_path / "d.h5", overwrite=True)
    assert r["dropped"]["lossy"] == 2


def test_export_reports_unreviewed_flags_it_keeps(tiny_project, tmp_path):
    from embryo_gui.app.exporting import export_dataset, plan_export
    p = tiny_project
    e = p.embryo("emb1")
    m = np.zeros(e.n_frames, bool)
    m[[2, 5]] = True
    e.history.push(edits.SetFlags({"black": m}))
    plan = plan_export(p)
    assert plan["unreviewed"]["black"] == 2 and plan["n_frames"] == 50
    r = export_dataset(p, tmp_path / "d.h5")
    assert "2 black" in r["message"] and "not reviewed" in r["message"]


def test_export_refuses_to_overwrite_without_force(tiny_project, tmp_path, capsys):
    out, out_csv = tmp_path / "d.h5", tmp_path / "d.csv"
    out_csv.write_text("mine\n")
    assert main(["export", str(tiny_project.path), str(out), "--csv", str(out_csv)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(out_csv) in err and "--force" in err
    assert out_csv.read_text() == "mine\n" and not out.exists()
    assert main(["export", str(tiny_project.path), str(out), "--csv", str(out_csv), "--force"]) == 0
    assert out_csv.read_text().startswith("index,embryo")


# --- CSV frame base ---------------------------------------------------------------------------------

def _video(tmp_path, n):
    import cv2
    d = tmp_path / "imgs"
    d.mkdir()
    for i, f in enumerate(make_frames(n, shape=(24, 32, 3))):
        cv2.imwrite(str(d / f"f{i:03d}.png"), f)
    return d


@pytest.mark.parametrize("rows,given,expect_base", [
    (range(0, 10), None, 0),        # a frame 0: 0-based
    (range(1, 11), None, 1),        # names frame 10 of a 10-frame video: 1-based
    (range(1, 6), 1, 1),            # ambiguous, given
    (range(1, 6), 0, 0),
])
def test_csv_frame_base_detected_or_given_and_reported(tmp_path, capsys, rows, given, expect_base):
    src = _video(tmp_path, 10)
    ann = tmp_path / "a.csv"
    ann.write_text("frame,population\n" + "".join(f"{i},{100 + i}\n" for i in rows))
    args = ["import", str(tmp_path / "p.h5"), str(src), "--annotations", str(ann)]
    if given is not None:
        args += ["--frame-base", str(given)]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"frame column counts from {expect_base}" in out
    e = Project.open(tmp_path / "p.h5").embryos[0]
    first = min(rows)
    # the file's frame k is video frame k - base: value 100 + k lands there, nowhere else
    assert e.original[first - expect_base, 7] == 100 + first
    assert e.alignment["frame_base"] == expect_base


def test_ambiguous_csv_frame_base_is_refused_with_one_line(tmp_path, capsys):
    src = _video(tmp_path, 10)
    ann = tmp_path / "a.csv"
    ann.write_text("frame,population\n" + "".join(f"{i},5\n" for i in range(1, 6)))
    assert main(["import", str(tmp_path / "p.h5"), str(src), "--annotations", str(ann)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(ann) in err and "--frame-base" in err
    assert not (tmp_path / "p.h5").exists()


def test_frame_base_one_with_a_frame_zero_is_refused(tmp_path):
    from embryo_gui.io.annotations import read_frame_csv, resolve_frame_base
    ann = tmp_path / "a.csv"
    ann.write_text("frame,population\n0,1\n1,2\n")
    with pytest.raises(EmbryoError, match="names frame 0"):
        resolve_frame_base(read_frame_csv(ann), 5, 1)


# --- a point edit keeps the row consistent ----------------------------------------------------------

def test_setting_population_alone_clears_lineages_that_no_longer_sum(tiny_project):
    e = tiny_project.embryos[0]
    row = e.current[7].copy()
    assert np.nansum(row[:7]) == row[7]
    edit = edits.SetValues([7], 51.0, columns=["population"])
    e.history.push(edit)
    assert e.current[7, 7] == 51.0 and np.isnan(e.current[7, :7]).all()
    assert edit.cleared_lineages == 1
    e.history.undo()
    assert np.array_equal(e.current[7], row, equal_nan=True)
    # a population equal to the lineages' sum keeps them
    e.history.push(edits.SetValues([7], float(row[7]), columns=["population"]))
    assert np.array_equal(e.current[7], row, equal_nan=True)


def test_setting_a_lineage_re_derives_the_population(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues([7], 10.0, columns=["A"]))
    assert e.current[7, 7] == np.nansum(e.current[7, :7]) == 10.0 + e.current[7, 1]


def test_exported_rows_are_consistent_after_point_edits(tiny_project, tmp_path):
    from embryo_gui.app.exporting import export_dataset
    p = tiny_project
    e = p.embryos[0]
    e.history.push(edits.SetValues([3], 51.0, columns=["population"]))
    e.history.push(edits.Interpolate(10, 14, columns=["population"]))
    export_dataset(p, tmp_path / "d.h5", csv_path=tmp_path / "d.csv")
    for r in _csv_rows(tmp_path / "d.csv"):
        lin = [float(r[c]) for c in "AEMPCDZ" if r[c] != ""]
        if lin:
            assert sum(lin) == float(r["population"]), r


def test_rising_counts_fixture_is_consistent():
    c = rising_counts(12)
    assert np.array_equal(np.nansum(c[:, :7], axis=1), c[:, 7])
