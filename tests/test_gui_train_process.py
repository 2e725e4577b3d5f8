"""The trainer's child process (Qt-free): errors name the user's project, an early cancel
kills the child within about a second, and the temporary copy is removed."""

import threading
import time

import pytest

from embryo_gui.errors import CancelledError, EmbryoError
from embryo_gui.gui.train_process import snapshot_project, train_in_subprocess
from embryo_gui.progress import CancelToken


def test_child_error_names_the_users_project_and_copy_is_removed(tiny_project):
    copy, tmp = snapshot_project(tiny_project)
    assert copy.exists()
    with pytest.raises(EmbryoError) as err:
        # 50 usable frames; 10 folds need 80
        train_in_subprocess(copy, {"folds": 10, "epochs": 1, "size": 16, "threads": 1}, remove_dir=tmp,
                            display_path=tiny_project.path)
    assert str(err.value).startswith(f"{tiny_project.path}: only 50 annotated")
    assert not tmp.exists()


def test_cancel_while_the_child_starts_kills_it_quickly(tiny_project):
    copy, tmp = snapshot_project(tiny_project)
    token = CancelToken()
    got = []
    threading.Timer(0.3, token.cancel).start()  # the child is still importing numpy/torch then
    t0 = time.monotonic()
    with pytest.raises(CancelledError):
        train_in_subprocess(copy, {"epochs": 50, "size": 16, "threads": 1, "folds": 2}, progress=got.append,
                            cancel=token, remove_dir=tmp)
    assert time.monotonic() - t0 < 0.3 + 1.0 + 1.5  # grace 1 s, then terminate
    assert got == [] and not tmp.exists()
