"""Regression tests from a critical review of the core: data safety, damaged files, undo, CLI output."""

import hashlib
import json
import shutil

import h5py
import numpy as np
import pytest

from conftest import make_frames, rising_counts
from embryo_gui import edits
from embryo_gui.cli.main import main
from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def one_line_error(capsys, path) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("embryo-repair: error: ") and str(path) in err, err
    return err


# --- modified flag ----------------------------------------------------------------------------------

def test_modified_is_not_fooled_by_a_recycled_edit_id(tiny_project):
    """Undo + a new edit must always count as a change, even when the new edit object happens to be
    allocated where the (freed) saved edit was."""
    p = tiny_project
    e = p.embryos[0]
    e.history.push(edits.SetValues([1], 50.0))
    p.save()
    for k in range(50):
        e.history.undo()
        e.history.push(edits.SetValues([2], 60.0 + k))
        assert p.modified, f"round {k}: a changed project reported as saved"


# --- imports that fail after the frames are written --------------------------------------------------

def test_import_interrupted_after_decoding_leaves_no_frame_file(tmp_path, monkeypatch):
    import cv2

    import embryo_gui.app.importing as importer

    src = tmp_path / "imgs"
    src.mkdir()
    for i, f in enumerate(make_frames(5)):
        cv2.imwrite(str(src / f"f{i:03d}.png"), f)
    p = Project.create(tmp_path / "p.h5")

    def interrupted(path):
        raise KeyboardInterrupt  # e.g. Ctrl-C while hashing a large source

    monkeypatch.setattr(importer, "source_fingerprint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        importer.import_embryo(p, src)
    assert not list(p.frames_dir.glob("*")) if p.frames_dir.exists() else True
    assert p.embryos == [] and p.pending_frames == frozenset()
    p.save()  # and the project still saves and reopens empty
    assert Project.open(p.path).embryos == []


def test_cli_import_failing_midway_keeps_existing_project(tmp_path, capsys, monkeypatch):
    import cv2

    import embryo_gui.app.importing as importer

    proj = tmp_path / "p.h5"
    src = tmp_path / "imgs"
    src.mkdir()
    for i, f in enumerate(make_frames(5)):
        cv2.imwrite(str(src / f"f{i:03d}.png"), f)
    assert main(["import", str(proj), str(src), "--name", "first"]) == 0
    before = digest(proj)
    frames_before = sorted(x.name for x in (tmp_path / "p.frames").iterdir())

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(importer, "source_fingerprint", interrupted)
    assert main(["import", str(proj), str(src), "--name", "second"]) == 130
    assert digest(proj) == before
    assert sorted(x.name for x in (tmp_path / "p.frames").iterdir()) == frames_before


# --- frame files shared with another project file -----------------------------------------------------

def test_saving_a_copied_project_never_deletes_frames_of_the_original(tiny_project, tmp_path):
    """A project file copied in the same folder (file manager 'duplicate') shares the frames folder;
    saving either must not delete the frames of an embryo only the other one has."""
    p = tiny_project
    copy_path = tmp_path / "tiny copy.h5"
    shutil.copy(p.path, copy_path)
    # the original gets a new embryo, the copy loses one
    p.add_embryo("new", iter(make_frames(6, seed=9)), 6, (24, 32, 3), rising_counts(6))
    p.save()
    q = Project.open(copy_path)
    q.remove_embryo("emb1")
    q.save()
    q.save()
    r = Project.open(p.path)
    for e in r.embryos:
        assert e.frames.path.exists(), f"frames of {e.name} were deleted"
        assert e.frames[0].shape == (24, 32, 3)


def test_removed_embryo_frames_are_collected_once_no_file_refers_to_them(tiny_project):
    p = tiny_project
    gone = p.embryo("emb1").frames.path
    p.remove_embryo("emb1")
    p.save()
    assert gone.exists()  # the .bak still refers to it
    p.save()
    assert not gone.exists()
    assert p.embryo("emb0").frames.path.exists()


# --- damaged project files: one line, never a traceback ---------------------------------------------

def _rewrite(path, key, data):
    with h5py.File(path, "r+") as f:
        attrs = dict(f[key].attrs)
        del f[key]
        ds = f.create_dataset(key, data=data)
        for k, v in attrs.items():
            ds.attrs[k] = v


def _rewrite_table(path, fn):
    with h5py.File(path, "r+") as f:
        table = json.loads(f["embryos"][()])
        del f["embryos"]
        f.create_dataset("embryos", data=json.dumps(fn(table)))


def _damage(path, how):
    str_t = h5py.string_dtype()
    if how == "short_current":
        with h5py.File(path, "r") as f:
            cur = f["current"][()]
        _rewrite(path, "current", cur[:40])
    elif how == "short_training":
        _rewrite(path, "training", np.array(["[]"], dtype=object).astype(str_t))
    elif how == "short_history":
        _rewrite(path, "history", np.array(["[]"], dtype=object).astype(str_t))
    elif how == "short_score":
        with h5py.File(path, "r+") as f:
            f["scores"].create_dataset("black_score", data=np.zeros(3, np.float32))
        _rewrite_table(path, lambda t: [dict(t[0], scores=["black_score"]), t[1]])
    elif how == "detections_not_dict":
        _rewrite_table(path, lambda t: [dict(t[0], detections=[1, 2]), t[1]])
    elif how == "alignment_not_dict":
        _rewrite_table(path, lambda t: [dict(t[0], alignment="x"), t[1]])
    elif how == "table_not_list":
        _rewrite_table(path, lambda t: {"a": 1})
    elif how == "history_bad_delta":
        bad = json.dumps([{"type": "set_values", "label": "x", "delta": {"rows": {"idx": 3}}}])
        _rewrite(path, "history", np.array([bad, "[]"], dtype=object).astype(str_t))
        _rewrite_table(path, lambda t: [dict(t[0], history_position=1), t[1]])
    else:  # pragma: no cover
        raise AssertionError(how)


DAMAGES = ["short_current", "short_training", "short_history", "short_score", "detections_not_dict",
           "alignment_not_dict", "table_not_list", "history_bad_delta"]


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_project_is_one_line_error(tiny_project, how):
    path = tiny_project.path
    tiny_project.close()
    _damage(path, how)
    with pytest.raises(EmbryoError) as exc:
        Project.open(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("how", ["short_current", "short_training", "detections_not_dict"])
@pytest.mark.parametrize("cmd", ["info", "detect", "autoclean", "export"])
def test_cli_on_damaged_project_exits_2_with_one_line(tiny_project, tmp_path, capsys, how, cmd):
    path = tiny_project.path
    tiny_project.close()
    _damage(path, how)
    before = digest(path)
    argv = [cmd, str(path)] + ([str(tmp_path / "out.h5")] if cmd == "export" else [])
    assert main(argv) == 2
    one_line_error(capsys, path)
    assert digest(path) == before
    assert not (tmp_path / "out.h5").exists()


def _replace_frames(project, index, n, shape):
    from embryo_gui.model import write_frame_file
    path = project.embryos[index].frames.path
    project.close()
    path.unlink()
    write_frame_file(path, iter(make_frames(n, shape)), shape)
    return path


@pytest.mark.parametrize("n, shape", [(10, (24, 32, 3)), (30, (12, 16, 3))])
@pytest.mark.parametrize("cmd", ["detect", "export"])
def test_frame_file_not_matching_the_project_is_one_line_error(tiny_project, tmp_path, capsys, n, shape, cmd):
    frames = _replace_frames(tiny_project, 0, n, shape)
    argv = [cmd, str(tiny_project.path)] + ([str(tmp_path / "out.h5")] if cmd == "export" else [])
    assert main(argv) == 2
    problem = one_line_error(capsys, frames).split(f"{frames}: ", 1)[1]
    assert ("expects 30" if n != 30 else "expects (24, 32, 3)") in problem
    assert not (tmp_path / "out.h5").exists()


def test_open_a_folder_says_so(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    err = one_line_error(capsys, tmp_path)
    assert "is a folder" in err.split(f"{tmp_path}: ", 1)[1]


# --- export never overwrites the user's project data ---------------------------------------------

def test_export_csv_over_the_project_is_refused(tiny_project, tmp_path, capsys):
    path = tiny_project.path
    before = digest(path)
    assert main(["export", str(path), str(tmp_path / "out.h5"), "--csv", str(path)]) == 2
    one_line_error(capsys, path)
    assert digest(path) == before
    assert not (tmp_path / "out.h5").exists()
    assert Project.open(path).names == ["emb0", "emb1"]


@pytest.mark.parametrize("target", ["frame_file", "bak", "other_project"])
def test_export_over_project_data_is_refused(tiny_project, tmp_path, capsys, target):
    p = tiny_project
    p.save()  # so a .bak exists
    other = Project.create(tmp_path / "other.h5")
    out = {"frame_file": p.embryos[0].frames.path, "bak": p.path.with_name(p.path.name + ".bak"),
           "other_project": other.path}[target]
    before = digest(out)
    assert main(["export", str(p.path), str(out)]) == 2
    one_line_error(capsys, out)
    assert digest(out) == before


def test_export_csv_same_as_dataset_is_refused(tiny_project, tmp_path, capsys):
    out = tmp_path / "out.h5"
    assert main(["export", str(tiny_project.path), str(out), "--csv", str(out)]) == 2
    one_line_error(capsys, out)
    assert not out.exists()


def test_export_csv_into_missing_folder_writes_nothing(tiny_project, tmp_path, capsys):
    out = tmp_path / "out.h5"
    bad = tmp_path / "missing" / "labels.csv"
    assert main(["export", str(tiny_project.path), str(out), "--csv", str(bad)]) == 2
    one_line_error(capsys, bad)
    assert not out.exists()


def test_export_over_previous_export_needs_force(tiny_project, tmp_path, capsys):
    out = tmp_path / "out.h5"
    assert main(["export", str(tiny_project.path), str(out)]) == 0
    before = digest(out)
    capsys.readouterr()
    assert main(["export", str(tiny_project.path), str(out), "--gray"]) == 2
    assert "--force" in one_line_error(capsys, out)
    assert digest(out) == before
    assert main(["export", str(tiny_project.path), str(out), "--gray", "--force"]) == 0
    with h5py.File(out, "r") as f:
        assert f["frames"].ndim == 3 and len(f["population"]) == 50


# --- edits --------------------------------------------------------------------------------------------

def test_interpolate_failing_on_one_column_changes_no_column(tiny_project):
    """An accepted cliff whose interpolation fails for one lineage is excluded with its values untouched."""
    e = tiny_project.embryos[0]
    # E annotated only inside the cliff: no neighbour to interpolate E from; A has neighbours
    counts = e.current.copy()
    e.history.push(edits.SetValues(np.r_[0:12, 16:30], np.nan, columns=["E"]))
    e.history.push(edits.SetValues(np.arange(12, 16), 0.0, columns=["A"]))
    before = e.current.copy()
    e.history.push(edits.SetFlags(detections={"cliffs": [{"start": 12, "stop": 16, "kind": "dip",
                                                          "lineage": "population", "status": "pending"}]}))
    e.history.push(edits.AcceptDetection(0))
    assert np.array_equal(e.current, before, equal_nan=True)
    assert e.flags.mask("excluded")[12:16].all() and not e.flags.mask("repaired").any()
    assert e.detections["cliffs"][0]["repair"] == "excluded"
    assert counts.shape == e.current.shape


def test_reject_pending_cliff_keeps_a_manual_repair(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues(np.arange(12, 16), 0.0))
    e.history.push(edits.Interpolate(12, 16))  # the user repairs the dip by hand
    repaired = e.current.copy()
    e.history.push(edits.SetFlags(detections={"cliffs": [{"start": 12, "stop": 16, "kind": "dip",
                                                          "lineage": "population", "status": "pending"}]}))
    e.history.push(edits.RejectDetection(0))
    assert np.array_equal(e.current, repaired, equal_nan=True)
    assert e.flags.mask("repaired")[12:16].all()


def test_reject_accepted_cliff_restores_original_and_undo_is_exact(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetFlags(detections={"cliffs": [{"start": 12, "stop": 16, "kind": "dip",
                                                          "lineage": "population", "status": "pending"}]}))
    e.history.push(edits.SetValues(np.arange(12, 16), 1.0))
    s0 = e.current.copy(), e.flags.bits.copy()
    e.history.push(edits.AcceptDetection(0))
    assert not np.array_equal(e.current, s0[0], equal_nan=True)
    e.history.push(edits.RejectDetection(0))
    assert np.array_equal(e.current[12:16], e.original[12:16], equal_nan=True)
    tiny_project.save()
    f = Project.open(tiny_project.path).embryos[0]
    f.history.undo()
    f.history.undo()
    assert np.array_equal(f.current, s0[0], equal_nan=True) and np.array_equal(f.flags.bits, s0[1])


@pytest.mark.parametrize("make", [
    lambda: edits.SetValues([40], 3.0),
    lambda: edits.SetValues([-1], 3.0),
    lambda: edits.SetExcluded([0, 31]),
    lambda: edits.Interpolate(40, 50),
    lambda: edits.RefitMonotone(31, 35),
    lambda: edits.Truncate(-5),
])
def test_edit_out_of_range_is_value_error_and_leaves_no_trace(tiny_project, make):
    e = tiny_project.embryos[0]
    cur, bits = e.current.copy(), e.flags.bits.copy()
    with pytest.raises(ValueError, match="out of range|empty frame range"):
        e.history.push(make())
    assert np.array_equal(e.current, cur, equal_nan=True) and np.array_equal(e.flags.bits, bits)
    assert len(e.history) == 0 and not tiny_project.modified


# --- JSON output -------------------------------------------------------------------------------------

def test_print_json_never_writes_nan(capsys):
    from embryo_gui.cli.commands import _print_json
    _print_json({"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.array([np.nan, 2.0])})
    out = capsys.readouterr().out
    assert json.loads(out) == {"a": None, "b": [None, 1.5], "c": [None, 2.0]}


# --- saves on file systems without hard links (FAT / exFAT USB drives, some network shares) ----------

def test_save_works_without_hard_links(tiny_project, monkeypatch):
    import os

    import embryo_gui.model.atomic as atomic

    p = tiny_project
    previous = open(p.path, "rb").read()

    def no_links(*a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_links)
    p.embryos[0].history.push(edits.SetValues([4], 77.0))
    p.save()
    assert Project.open(p.path).embryos[0].current[4, 7] == 77.0
    assert open(p.path.with_name(p.path.name + ".bak"), "rb").read() == previous
    assert not [x for x in os.listdir(p.path.parent) if x.endswith(".tmp")]


# --- auto-clean idempotence with user decisions ------------------------------------------------------

def test_autoclean_twice_with_manual_edits_and_decisions_changes_nothing(tmp_path, capsys):
    from embryo_gui.app.detecting import detect_embryo

    path = tmp_path / "d.h5"
    assert main(["demo", str(path), "--embryos", "2", "--frames", "60", "--size", "94x64", "--seed", "0"]) == 0
    p = Project.open(path)
    decided = 0
    for e in p.embryos:
        detect_embryo(e)
        cliffs = e.detections.get("cliffs") or []
        if len(cliffs) >= 2:
            e.history.push(edits.AcceptDetection(0))
            e.history.push(edits.RejectDetection(1))
            decided += 1
        e.history.push(edits.SetValues([5], 3.0, columns=["A"]))
        e.history.push(edits.SetExcluded([7]))
    assert decided, "the demo should have an embryo with two cliffs"
    p.save()
    assert main(["autoclean", str(path)]) == 0
    before = digest(path)
    q = Project.open(path)
    state = [(e.current.copy(), e.flags.bits.copy()) for e in q.embryos]
    assert main(["autoclean", str(path)]) == 0
    assert digest(path) == before
    for e, (cur, bits) in zip(Project.open(path).embryos, state):
        assert np.array_equal(e.current, cur, equal_nan=True) and np.array_equal(e.flags.bits, bits)
        assert e.flags.mask("excluded")[7]
        cl = e.detections.get("cliffs") or []
        if len(cl) >= 2:
            assert cl[0]["status"] == "accepted" and cl[1]["status"] == "rejected"


@pytest.mark.parametrize("make", [
    lambda: edits.SetValues((25, 40), 3.0),
    lambda: edits.SetValues((40, 50), 3.0),
    lambda: edits.SetExcluded((-2, 5)),
    lambda: edits.SetExcluded((5, 5)),
    lambda: edits.Interpolate(25, 40),
    lambda: edits.Interpolate(-1, 4),
    lambda: edits.RefitMonotone(20, 31),
])
def test_frame_range_partly_outside_is_value_error_not_clamped(tiny_project, make):
    e = tiny_project.embryos[0]  # 30 frames
    cur, bits = e.current.copy(), e.flags.bits.copy()
    with pytest.raises(ValueError, match="out of range|empty"):
        e.history.push(make())
    assert np.array_equal(e.current, cur, equal_nan=True) and np.array_equal(e.flags.bits, bits)
    assert len(e.history) == 0


def test_frame_range_at_the_ends_is_accepted(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetExcluded((0, 30)))
    assert e.flags.mask("excluded").all()
    e.history.push(edits.SetValues((28, 30), 5.0))
    assert (e.current[28:, 7] == 5.0).all()


def test_missing_key_in_embryo_table_is_named(tiny_project):
    path = tiny_project.path
    tiny_project.close()
    _rewrite_table(path, lambda t: [{k: v for k, v in t[0].items() if k != "uid"}, t[1]])
    with pytest.raises(EmbryoError, match=r"damaged project file \(missing 'uid'\)"):
        Project.open(path)


def test_frames_file_shared_by_two_embryos_survives_removing_one(tiny_project):
    p = tiny_project
    path = p.path
    p.close()
    shared = p.embryo("emb0").frames.path.name
    # a second embryo reading the same frames (same length and shape)
    _rewrite_table(path, lambda t: [t[0], dict(t[1], frames_file=shared, n_frames=20)])
    q = Project.open(path)
    q.remove_embryo("emb1")
    q.save()
    q.save()
    assert (q.frames_dir / shared).exists()
    assert Project.open(path).embryo("emb0").frames[0].shape == (24, 32, 3)
