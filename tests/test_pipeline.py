"""demo -> detect -> auto-clean -> export, through the CLI and the core, on a tiny demo project."""

import json

import h5py
import numpy as np
import pytest

from embryo_gui import edits
from embryo_gui.cli.main import main
from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    path = d / "demo.h5"
    assert main(["demo", str(path), "--embryos", "4", "--frames", "60", "--size", "128x96", "--seed", "3"]) == 0
    return path


def copy_project(src, dst_dir):
    import shutil
    shutil.copy(src, dst_dir / src.name)
    shutil.copytree(src.with_name(src.stem + ".frames"), dst_dir / (src.stem + ".frames"))
    return dst_dir / src.name


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_detect_json_schema_and_flags_stored(demo_path, tmp_path, capsys):
    path = copy_project(demo_path, tmp_path)
    rc, out, err = run(capsys, "detect", path, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert [e["name"] for e in d["embryos"]] == Project.open(path).names
    p = Project.open(path)
    # the checks on cliffs below must see some (the demo has cliffs; a detector finding none fails here)
    assert sum(len(rec["cliffs"]) for rec in d["embryos"]) > 0
    for rec, e in zip(d["embryos"], p.embryos):
        assert rec["n_frames"] == e.n_frames == 60
        assert set(rec["corrupt_frames"]) == {"black", "red_artifact", "outlier", "out_of_order"}
        for kind, frames in rec["corrupt_frames"].items():
            assert frames == np.flatnonzero(e.flags.mask(kind)).tolist()
        for c in rec["cliffs"]:
            assert 0 <= c["start"] < c["stop"] <= 60 and c["kind"] in ("dip", "to_end")
            assert c["lineage"] in ("population", "A", "E", "M", "P", "C", "D", "Z")
            assert e.flags.mask("cliff")[c["start"]:c["stop"]].all()
        assert e.history.entries[-1].label == "run detectors"
        assert rec["spikes"] == np.flatnonzero(e.flags.mask("spike")).tolist()
        flagged = set().union(*map(set, rec["corrupt_frames"].values()))
        assert {int(k) for k in rec["reasons"]} <= flagged and all(rec["reasons"].values())


def test_autoclean_is_detect_then_one_step_idempotent_and_undoable(demo_path, tmp_path, capsys):
    path = copy_project(demo_path, tmp_path)
    rc, out, err = run(capsys, "autoclean", path, "--json")
    assert rc == 0, err
    first = json.loads(out)["embryos"]
    p = Project.open(path)
    assert sum(len(e.detections.get("cliffs", [])) for e in p.embryos) > 0  # the loop below checks some
    assert any(s["cliffs_repaired"] for s in first)
    for s, e in zip(first, p.embryos):
        # the detectors' step, then the policy's (undoing the auto-clean keeps the detections)
        assert [x.label for x in e.history.entries] == ["run detectors"] + (["auto-clean"] if s["changed"] else [])
        ex = e.flags.mask("excluded")
        assert not (e.flags.any_of(["black", "red_artifact"]) & ~ex).any()  # corrupt frames excluded
        for c in e.detections.get("cliffs", []):
            assert c["status"] == "accepted"
            sl = slice(c["start"], c["stop"])
            if c["repair"] == "excluded":
                assert ex[sl].all()
            else:
                assert e.flags.mask("repaired")[sl].all()
        spikes = e.flags.mask("spike") & ~ex
        assert e.flags.mask("repaired")[spikes].all()
        assert s["spikes"] == int(e.flags.mask("spike").sum())
    assert sum(s["spikes"] for s in first) > 0  # the demo injects isolated mislabels
    before = path.read_bytes()
    rc, out, err = run(capsys, "autoclean", path, "--json")
    second = json.loads(out)["embryos"]
    assert not any(s["changed"] for s in second)
    assert path.read_bytes() == before  # nothing changed, nothing saved
    # undoing every step restores the original state exactly
    for e in p.embryos:
        while e.history.can_undo:
            e.history.undo()
        assert np.array_equal(e.current.view(np.uint64), e.original.view(np.uint64))
        assert not e.flags.bits.any()


def test_export_layout_and_values(demo_path, tmp_path, capsys):
    path = copy_project(demo_path, tmp_path)
    assert run(capsys, "autoclean", path)[0] == 0
    out_h5, out_csv = tmp_path / "clean.h5", tmp_path / "clean.csv"
    rc, out, err = run(capsys, "export", path, out_h5, "--size", "64x48", "--csv", out_csv, "--include-unusable")
    assert rc == 0, err
    p = Project.open(path)
    with h5py.File(out_h5, "r") as f:
        n = f["population"].shape[0]
        assert f["frames"].shape == (n, 48, 64, 3) and f["frames"].dtype == np.uint8
        assert f["lineages"].shape == (n, 7) and list(f["lineages"].attrs["names"]) == list("AEMPCDZ")
        names = [x.decode() if isinstance(x, bytes) else x for x in f["embryo_names"][()]]
        assert names == p.names
        emb, src = f["embryo"][()], f["source_frame"][()]
        dropped = json.loads(f.attrs["dropped"])
        assert f.attrs["format"] == "embryo-gui-dataset" and json.loads(f.attrs["policy"])["size"] == [64, 48]
        total_excluded = sum(int(e.flags.mask("excluded").sum()) for e in p.embryos)
        assert dropped["excluded"] == total_excluded and n == sum(e.n_frames for e in p.embryos) - total_excluded
        for k in np.random.default_rng(0).choice(n, 10, replace=False):
            e = p.embryos[emb[k]]
            assert not e.flags.mask("excluded")[src[k]]
            assert f["population"][k] == np.float32(e.current[src[k], 7])
            import cv2
            expect = cv2.resize(e.frames[src[k]], (64, 48), interpolation=cv2.INTER_AREA)
            assert np.array_equal(f["frames"][k], expect)
    rows = out_csv.read_text().splitlines()
    assert rows[0] == "index,embryo,source_frame,population,A,E,M,P,C,D,Z" and len(rows) == n + 1


def test_export_gray_drops_unusable_by_default(demo_path, tmp_path):
    from embryo_gui.app.exporting import export_dataset
    path = copy_project(demo_path, tmp_path)
    p = Project.open(path)
    e = p.embryos[0]
    e.history.push(edits.SetFlags(detections={"autoclean": {"unusable": True}}))
    r = export_dataset(p, tmp_path / "g.h5", gray=True)
    with h5py.File(tmp_path / "g.h5", "r") as f:
        assert f["frames"].ndim == 3 and f["frames"].shape[1:] == (96, 128)
        assert 0 not in set(f["embryo"][()].tolist())
    assert r["dropped"]["unusable_embryo"] == e.n_frames


def test_export_with_nothing_left_writes_no_file(demo_path, tmp_path, capsys):
    path = copy_project(demo_path, tmp_path)
    p = Project.open(path)
    for e in p.embryos:
        e.history.push(edits.SetExcluded((0, e.n_frames)))
    p.save()
    rc, out, err = run(capsys, "export", path, tmp_path / "none.h5")
    assert rc == 2 and "nothing to export" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "none.h5").exists()
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]


def test_detect_without_annotations_skips_cliffs(tmp_path, capsys):
    from conftest import make_frames
    p = Project.create(tmp_path / "na.h5")
    p.add_embryo("frames_only", iter(make_frames(12, shape=(48, 64, 3))), 12, (48, 64, 3))
    p.add_embryo("one_frame", iter(make_frames(1, shape=(48, 64, 3))), 1, (48, 64, 3))
    p.save()
    rc, out, err = run(capsys, "detect", tmp_path / "na.h5")
    assert rc == 0, err
    assert "frames_only: no annotations; cliff detection skipped" in out
    q = Project.open(tmp_path / "na.h5")
    assert q.embryos[0].detections["cliffs"] == []


def test_export_different_sizes_need_size(tmp_path):
    from conftest import make_frames, rising_counts
    from embryo_gui.app.exporting import export_dataset
    p = Project.create(tmp_path / "mix.h5")
    p.add_embryo("a", iter(make_frames(5, shape=(24, 32, 3))), 5, (24, 32, 3), rising_counts(5))
    p.add_embryo("b", iter(make_frames(5, shape=(20, 30, 3))), 5, (20, 30, 3), rising_counts(5))
    with pytest.raises(EmbryoError, match="different frame sizes"):
        export_dataset(p, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()
    r = export_dataset(p, tmp_path / "x.h5", size=(16, 12))
    assert r["n_frames"] == 10


def test_showcase_runs_the_whole_job(tmp_path, capsys):
    out = tmp_path / "show"
    rc, text, err = run(capsys, "showcase", out, "--embryos", "2", "--frames", "16", "--seed", "2")
    assert rc == 0, err
    assert "1. demo project" in text and "2. auto-clean" in text and "3. exported" in text
    with h5py.File(out / "cleaned_dataset.h5", "r") as f:
        n = f["frames"].shape[0]
        assert f["frames"].shape[1:] == (128, 188, 3) and 0 < n <= 32
    assert (out / "cleaned_labels.csv").read_text().count("\n") == n + 1
    rc, text, err = run(capsys, "showcase", out)
    assert rc == 2 and "already holds a demo project" in err


def test_autoclean_keeps_values_set_by_hand(demo_path, tmp_path):
    from embryo_gui.app.autoclean import autoclean_project
    from embryo_gui.app.detecting import detect_embryo
    path = copy_project(demo_path, tmp_path)
    p = Project.open(path)
    for x in p.embryos:
        detect_embryo(x)
    e = next(x for x in p.embryos if any(c["kind"] == "dip" for c in x.detections["cliffs"]))
    dip = next(c for c in e.detections["cliffs"] if c["kind"] == "dip")
    hand_frame = dip["start"]
    e.history.push(edits.SetValues([hand_frame], [123.0]))
    spikes = np.flatnonzero(e.flags.mask("spike") & ~e.flags.mask("cliff"))
    if spikes.size:
        e.history.push(edits.SetValues([spikes[0]], [77.0]))
    summary = {s["name"]: s for s in autoclean_project(p)}[e.name]
    assert e.current[hand_frame, 7] == 123.0
    assert summary["cliffs_left_for_review"] >= 1
    assert any(c["status"] == "pending" and c["start"] <= hand_frame < c["stop"] for c in e.detections["cliffs"])
    if spikes.size:
        assert e.current[spikes[0], 7] == 77.0
