"""The Session's own editing rules (issue 17), for every face (GUI, CLI, scripts):

* a project opened read-only (``Session.open(path, read_only=True)``, no lock taken) refuses every
  change -- edits, undo/redo, save, import, auto-clean, detection, training -- with one line, while
  an export to another file still works and writes nothing into the project;
* a push (undo, redo, save) while a job that holds editing (auto-clean, import) runs is refused;
  training, detection and export let editing go on (``policy.JOBS_ALLOWING_EDITS``)."""

import hashlib
import shutil

import pytest

from conftest import demo_project_fixtures
from embryo_gui import edits
from embryo_gui.app.jobs import Job
from embryo_gui.app.session import Session
from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project
from embryo_gui.model.lock import is_locked
from embryo_gui.policy import JOBS_ALLOWING_EDITS


demo_file, demo = demo_project_fixtures(2, 14, 3, (32, 48, 3))


def tree_digest(folder):
    """Names, sizes and contents of every file under ``folder`` (the project and its frames)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_a_read_only_session_refuses_every_change_in_one_line(demo, tmp_path, tmp_path_factory):
    s = Session()
    s.open(demo, read_only=True)
    assert s.read_only and not is_locked(demo)      # a reader takes no lock
    other = Project.open(demo, write=True, wait=0)   # so a writer can take the project meanwhile
    other.close()                                    # (it leaves its lock file: digest from here)
    before = tree_digest(demo.parent)
    e = s.embryo
    value = float(e.current[3, 7])
    refusals = {
        "push": lambda: s.push(edits.SetValues([3], value + 5, columns=["population"])),
        "save": s.save,
        "autoclean": s.autoclean_job,
        "detect": s.detect_job,
        "import": lambda: s.import_job(tmp_path / "x.avi"),
        "training": lambda: s.begin_job(Job("train", lambda p, c: None, label="training")),
    }
    for what, call in refusals.items():
        with pytest.raises(EmbryoError) as ei:
            call()
        msg = str(ei.value)
        assert "read-only" in msg and demo.name in msg and "\n" not in msg, (what, msg)
    assert float(e.current[3, 7]) == value and not s.modified and s.job is None
    # undo / redo are refused the same way (a reader's stack is the file's, not its own)
    with pytest.raises(EmbryoError, match="read-only"):
        s.undo()
    with pytest.raises(EmbryoError, match="read-only"):
        s.redo()
    # scrubbing and reading still work
    assert s.set_frame(9) == 9
    s.select_embryo(s.embryos[1])
    # an export to another file works and writes nothing into the project
    out = tmp_path_factory.mktemp("elsewhere") / "data.h5"
    report = s.run_job(s.export_job(out, size=(24, 16)))
    assert out.exists() and report["n_frames"] > 0
    s.close()
    assert tree_digest(demo.parent) == before


def test_a_read_only_session_names_the_holder(demo):
    holder = Project.open(demo, write=True, holder="a colleague's window")
    try:
        s = Session()
        s.open(demo, read_only=True)
        assert "a colleague's window" in s.read_only_holder
        with pytest.raises(EmbryoError, match="a colleague's window"):
            s.save()
        s.close()
    finally:
        holder.close()
    s = Session()
    s.open(demo)                                     # an ordinary open is not read-only
    assert not s.read_only and s.read_only_holder is None
    s.close()


@pytest.mark.parametrize("name,label", [("autoclean", "auto-clean"), ("import", "import")])
def test_push_undo_and_save_are_refused_while_a_job_that_holds_editing_runs(demo, name, label):
    s = Session()
    s.open(demo)
    assert s.push(edits.SetExcluded([2]))
    job = Job(name, lambda p, c: None, label=label)
    s.begin_job(job)
    for call in (lambda: s.push(edits.SetExcluded([4])), s.undo, s.save):
        with pytest.raises(EmbryoError) as ei:
            call()
        assert f"while {label} is running" in str(ei.value) and "\n" not in str(ei.value)
    assert not s.editing_allowed
    assert not bool(s.embryo.flags.mask("excluded")[4])
    job.compute()
    s.end_job(job)
    assert s.editing_allowed and s.push(edits.SetExcluded([4]))
    s.close()


@pytest.mark.parametrize("name", JOBS_ALLOWING_EDITS)
def test_jobs_that_allow_editing_let_push_undo_and_save_go_on(demo, name):
    s = Session()
    s.open(demo)
    job = Job(name, lambda p, c: None)
    s.begin_job(job)
    assert s.editing_allowed
    assert s.push(edits.SetExcluded([5]))
    s.undo()
    s.redo()
    s.save()
    job.compute()
    s.end_job(job)
    s.close()


def test_reopening_ones_own_project_read_only_names_no_holder(demo):
    """The project this session holds, opened again read-only: the switch gives its lock back, so
    the reader is told of no holder (it used to name this very process: 'held by ... pid <own>',
    and 'open it again when it is free' of a project nobody held any more)."""
    s = Session()
    s.open(demo)
    assert is_locked(demo)
    s.open(demo, read_only=True)
    assert s.read_only and not is_locked(demo)
    assert s.read_only_holder is None
    with pytest.raises(EmbryoError) as err:
        s.save()
    assert "read-only" in str(err.value) and "held by" not in str(err.value)
    s.close()
    # another process's (here: another Project's) lock is still named
    holder = Project.open(demo, write=True, holder="a colleague's window")
    try:
        s = Session()
        s.open(demo, read_only=True)
        assert "a colleague's window" in s.read_only_holder
        s.close()
    finally:
        holder.close()


def test_a_read_only_session_follows_the_holders_saves_and_sees_it_let_go(demo):
    from holder import Holder

    from embryo_gui.app.session import ReadOnlyStatus
    from embryo_gui.model.lock import ProjectLockedError
    holder = Holder(demo)
    try:
        s = Session()
        s.open(demo, read_only=True)
        name = s.embryos[1]
        s.select_embryo(name)
        s.set_frame(9)
        assert s.read_only_status() == ReadOnlyStatus(changed=False, free=False)
        with pytest.raises(ProjectLockedError, match="a colleague's window"):
            s.reopen_for_editing(wait=0)
        assert s.read_only and s.embryo_name == name     # refused: still the read-only project
        # the holder edits and saves: the reader sees a change and reloads, on the same embryo and frame
        value = float(s.embryo.current[4, 7]) + 11
        holder.set_and_save(name, 4, value)
        assert s.read_only_status() == ReadOnlyStatus(changed=True, free=False)
        old = s.project
        seen = []
        s.events.project_changed.connect(lambda ev: seen.append(("project", ev.reloaded)))
        s.events.embryo_changed.connect(lambda ev: seen.append((ev.name, ev.reloaded)))
        s.reload()
        assert seen == [("project", True), (name, True)]   # one reload, on the same embryo: views keep zoom
        assert s.project is not old and s.read_only and "a colleague's window" in s.read_only_holder
        assert (s.embryo_name, s.frame) == (name, 9)
        assert s.embryo.current[4, 7] == value
        assert s.read_only_status() == ReadOnlyStatus(changed=False, free=False)
    finally:
        holder.stop()
    # the holder lets go: free; reopening for editing takes the lock, same embryo and frame
    assert s.read_only_status() == ReadOnlyStatus(changed=False, free=True)
    s.reopen_for_editing(wait=0)
    assert not s.read_only and s.read_only_status() is None and is_locked(demo)
    assert (s.embryo_name, s.frame) == (name, 9)
    assert s.push(edits.SetValues([5], 3.0, columns=["population"]))   # editing now
    with pytest.raises(EmbryoError, match="not open read-only"):
        s.reload()
    s.close()


def test_a_reload_that_cannot_read_the_file_keeps_the_project_and_waits_for_the_next_change(demo, tmp_path):
    copy = tmp_path / "copy.h5"
    shutil.copy(demo, copy)
    shutil.copytree(demo.with_suffix(".frames"), copy.with_suffix(".frames"))
    s = Session()
    s.open(copy, read_only=True)
    shown = s.project
    good = copy.read_bytes()
    copy.write_bytes(b"not an HDF5 file at all")    # e.g. damaged by another program
    assert s.read_only_status().changed
    with pytest.raises(EmbryoError, match="copy.h5"):
        s.reload()
    assert s.project is shown and s.read_only
    assert not s.read_only_status().changed          # not retried until the file changes again
    copy.write_bytes(good)                           # mended
    assert s.read_only_status().changed
    s.reload()
    assert s.project is not shown
    s.close()
