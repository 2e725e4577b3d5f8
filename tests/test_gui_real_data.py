"""The window on EPIC-like annotations: lineages with zero counts, NaN (unannotated) frames at the
end, as an EPIC lineage file of 140 timepoints gives for a 150-frame video."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from embryo_gui.gui.main_window import MainWindow  # noqa: E402
from embryo_gui.model import Project  # noqa: E402

T, ANNOTATED = 30, 26


def _epic_like_counts() -> np.ndarray:
    """A: doubling, E/M/C/D/Z: 0 until they appear, P: 1 then 0 (its cells became Z); NaN tail."""
    c = np.zeros((T, 8))
    t = np.arange(T)
    c[:, 0] = np.minimum(2 ** (t // 6), 16)
    c[:, 1] = (t >= 8).astype(float)
    c[:, 3] = (t < 20).astype(float)
    c[:, 6] = (t >= 20) * 2.0
    c[:, 7] = c[:, :7].sum(axis=1)
    c[ANNOTATED:] = np.nan
    return c


@pytest.fixture
def win(qtbot, tmp_path):
    p = Project.create(tmp_path / "epic.h5")
    rng = np.random.default_rng(0)
    frames = (rng.integers(0, 255, (16, 24, 3), dtype=np.uint8) for _ in range(T))
    p.add_embryo("L2", frames, n_frames=T, frame_shape=(16, 24, 3), counts=_epic_like_counts(),
                 source={"fps": 7.0})
    p.save()
    p.close()
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(settings, tmp_path / "recovery", ask=False)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    assert w.open_project(tmp_path / "epic.h5")
    yield w
    w.ask = False


def _runs(item) -> list[tuple[int, int]]:
    return list(zip(item.starts.tolist(), item.stops.tolist()))


def test_unannotated_tail_is_marked_on_plot_timeline_status_and_list(qtbot, win):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN RuntimeWarning anywhere on the way
        for c in "AEMPCDZ":
            win.edit_bar.lineage_toggles[c].setChecked(True)
        QtCore.QCoreApplication.processEvents()
        assert _runs(win.curve.unannotated_item) == [(ANNOTATED, T)]
        assert _runs(win.timeline.plot.unannotated_item) == [(ANNOTATED, T)]
        win.session.set_frame(T - 1)
        win.update_status()
        text = win.status_label.text()
        assert "frame 29 of 0-29" in text and "not annotated" in text and "population" not in text
        win.session.set_frame(ANNOTATED - 1)  # P has no cell any more: a real 0, shown as such
        win.update_status()
        text = win.status_label.text()
        assert "population 19" in text and "P 0" in text and "Z 2" in text and "A 16" in text
        assert "26 annotated" in win.embryo_list.item(0).toolTip()
        win.grab()  # paints the hatched bands without errors


def test_annotating_a_tail_frame_updates_the_marks_and_undo_restores_them(qtbot, win):
    win.session.set_frame(T - 1)
    assert win.set_value(40.0)
    assert _runs(win.curve.unannotated_item) == [(ANNOTATED, T - 1)]
    assert _runs(win.timeline.plot.unannotated_item) == [(ANNOTATED, T - 1)]
    assert "29 annotated" not in win.embryo_list.item(0).toolTip()  # population only: still 26 + 1
    assert "27 annotated" in win.embryo_list.item(0).toolTip()
    win.session.undo()
    assert _runs(win.curve.unannotated_item) == [(ANNOTATED, T)]
    assert _runs(win.timeline.plot.unannotated_item) == [(ANNOTATED, T)]


def test_autoclean_on_epic_like_counts_leaves_the_tail_unannotated(qtbot, win):
    with qtbot.waitSignal(win.workFinished, timeout=20000) as sig:
        win.autoclean()
    assert sig.args == ["autoclean"]
    e = win.embryo
    assert np.isnan(e.current[ANNOTATED:, 7]).all()
    assert _runs(win.curve.unannotated_item) == [(ANNOTATED, T)]
    # a range edit over unannotated frames is refused with a message or applied, never raised
    win.select_range(ANNOTATED, T - 1)
    before = len(win.session.steps())
    ok = win.interpolate()
    assert ok == (len(win.session.steps()) == before + 1)
