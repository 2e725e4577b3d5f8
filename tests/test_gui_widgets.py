"""GUI widgets that need only numpy arrays: view model, timeline, curve plot, video view, trainer panel."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtTest  # noqa: E402

from embryo_gui.gui import view_model as vm  # noqa: E402
from embryo_gui.gui.curve_plot import CurvePlot, cliff_span, cliff_status  # noqa: E402
from embryo_gui.gui.timeline import Timeline  # noqa: E402
from embryo_gui.gui.trainer_panel import TrainerPanel, fraction_above, top_fraction_threshold  # noqa: E402
from embryo_gui.gui.video_view import VideoView, channel_view  # noqa: E402

pytestmark = pytest.mark.gui
LEFT = QtCore.Qt.MouseButton.LeftButton
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier


# ----------------------------------------------------------------------------- view model (no Qt)
def test_runs_and_next_flagged():
    m = np.array([0, 1, 1, 0, 0, 1, 0, 1], bool)
    assert vm.runs(m).tolist() == [[1, 3], [5, 6], [7, 8]]
    assert vm.runs(np.zeros(0, bool)).shape == (0, 2)
    assert vm.next_flagged(m, 2) == 5
    assert vm.next_flagged(m, 7) is None
    assert vm.next_flagged(m, 5, forward=False) == 2
    assert vm.next_flagged(m, 1, forward=False) is None


def test_frame_cursor_clamps_selects_and_notifies():
    seen = []
    c = vm.FrameCursor()
    c.add_listener(seen.append)
    c.reset(10)
    assert c.step(25) == 9 and c.step(-100) == 0
    assert seen == [0, 9, 0]
    c.seek(0)  # no change -> no notification
    assert seen == [0, 9, 0]
    assert c.select(7, 3) == (3, 7)
    assert c.target_frames() == (3, 7)
    c.clear_selection()
    c.seek(4)
    assert c.target_frames() == (4, 4)


def test_status_text_and_state():
    counts = np.full((5, 8), np.nan)
    counts[2] = [10, 2, 3, 1, 4, 0, 2, 22]
    s = vm.status_text(2, 5, 7.0, counts, ("A", "E", "M", "P", "C", "D", "Z", "population"), ["black"])
    assert "frame 3 / 5" in s and "population 22" in s and "A 10" in s and "flags: black" in s
    assert "t = 0:00.29" in s
    assert "population —" in vm.status_text(0, 5, None, counts, ("A",) * 7 + ("population",), [])
    masks = {"black": np.array([1, 0, 0, 0], bool), "excluded": np.array([1, 0, 0, 0], bool)}
    assert vm.embryo_state(masks, 4) == "clean"  # the only problem frame is excluded
    masks["lossy"] = np.array([0, 1, 0, 0], bool)
    assert vm.embryo_state(masks, 4) == "flagged"
    masks["excluded"] = np.array([1, 1, 1, 0], bool)
    assert vm.embryo_state(masks, 4) == "unusable"


def test_device_spans_merge_and_stay_visible():
    from embryo_gui.gui.items import device_spans
    # 1 px per frame, offset 10: frame f covers pixels f+9.5 .. f+10.5
    x0, x1 = device_spans(np.array([0, 5, 7]), np.array([1, 6, 9]), 1.0, 10.0, 0, 100)
    assert x0.tolist() == [9, 14] and x1.tolist() == [11, 19]  # pixel spans that touch are merged
    # a million frames into 1000 px: 500k one-frame runs become at most ~1000 rectangles
    starts = np.arange(0, 1_000_000, 2)
    x0, x1 = device_spans(starts, starts + 1, 0.001, 0.0, 0, 1000)
    assert len(x0) <= 1001 and (x1 - x0 >= 1).all()
    # runs outside the visible range are dropped
    x0, _ = device_spans(np.array([5000]), np.array([5001]), 1.0, 0.0, 0, 100)
    assert x0.size == 0


# ----------------------------------------------------------------------------- timeline
@pytest.fixture
def timeline(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(800, 140)
    tl.show()
    tl.set_length(200)
    QtCore.QCoreApplication.processEvents()
    return tl


def test_timeline_click_seeks_to_the_frame_under_the_mouse(qtbot, timeline):
    for target in (37, 150, 0):
        pos = timeline.plot.frame_to_widget(target)
        with qtbot.waitSignal(timeline.frameRequested, timeout=1000) as sig:
            qtbot.mouseClick(timeline.plot.viewport(), LEFT, pos=pos)
        assert abs(sig.args[0] - target) <= 1


def test_timeline_shift_drag_selects_a_range(qtbot, timeline):
    vp = timeline.plot.viewport()
    a, b = timeline.plot.frame_to_widget(40), timeline.plot.frame_to_widget(90)
    got = []
    timeline.rangeSelected.connect(lambda x, y: got.append((x, y)))
    QtTest.QTest.mousePress(vp, LEFT, SHIFT, a)
    for k in range(1, 11):
        p = QtCore.QPoint(a.x() + (b.x() - a.x()) * k // 10, a.y())
        QtTest.QTest.mouseMove(vp, p)
    QtTest.QTest.mouseRelease(vp, LEFT, SHIFT, b)
    assert got, "no range selected"
    lo, hi = got[-1]
    assert abs(lo - 40) <= 1 and abs(hi - 90) <= 1
    assert timeline.plot.selection_item.isVisible()


def test_timeline_draws_each_kind_as_one_item(qtbot, timeline):
    n_items_before = len(timeline.plot.getPlotItem().items)
    m = np.zeros(200, bool)
    m[::3] = True
    t0 = time.perf_counter()
    timeline.set_marks({"lossy": m, "black": ~m})
    QtCore.QCoreApplication.processEvents()
    assert time.perf_counter() - t0 < 0.5
    assert len(timeline.plot.getPlotItem().items) == n_items_before  # no item per mark
    assert timeline.plot.kind_items["lossy"].n_runs == int(m.sum())
    assert timeline.plot.kind_items["black"].n_runs == 67  # runs of the complement
    timeline.toggles["lossy"].setChecked(False)
    assert not timeline.plot.kind_items["lossy"].isVisible()
    assert "lossy" not in timeline.visible_kinds()


# ----------------------------------------------------------------------------- curve plot
def _counts(n=50):
    c = np.full((n, 8), np.nan)
    c[:, 7] = np.arange(n) * 2.0
    c[:, 0] = np.arange(n) * 1.0
    return c


def test_curve_drag_point_emits_new_value(qtbot):
    cp = CurvePlot()
    qtbot.addWidget(cp)
    cp.resize(700, 400)
    cp.show()
    cur = _counts()
    cp.set_data(cur, cur.copy(), np.zeros(50, bool), [])
    cp.getPlotItem().getViewBox().setRange(xRange=(0, 49), yRange=(0, 100), padding=0)
    QtCore.QCoreApplication.processEvents()
    got = []
    cp.pointDragged.connect(lambda f, c, v: got.append((f, c, v)))
    vp = cp.viewport()
    start = cp.data_to_widget(20, 40)
    end = cp.data_to_widget(20, 70)
    QtTest.QTest.mousePress(vp, LEFT, QtCore.Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 11):
        QtTest.QTest.mouseMove(vp, QtCore.QPoint(start.x(), start.y() + (end.y() - start.y()) * k // 10))
    QtTest.QTest.mouseRelease(vp, LEFT, QtCore.Qt.KeyboardModifier.NoModifier, end)
    assert got and got[-1][0] == 20 and got[-1][1] == "population"
    assert abs(got[-1][2] - 70) <= 2


def test_curve_cliffs_and_excluded_shading(qtbot):
    cp = CurvePlot()
    qtbot.addWidget(cp)
    cur = _counts()
    excl = np.zeros(50, bool)
    excl[10:15] = True
    excl[30] = True
    cliffs = [{"start": 5, "stop": 9, "status": "accepted"}, {"start": 40, "stop": 45}]
    cp.set_data(cur, cur, excl, cliffs)
    assert cp.excluded_item.n_runs == 2
    assert [c.status for c in cp.cliff_items] == ["accepted", "pending"]
    assert cliff_span(cliffs[0]) == (5, 8) and cliff_status({"status": "rejected"}) == "rejected"
    assert tuple(round(v + 0.5) for v in cp.cliff_items[1].getRegion()) == (40, 45)
    cp.set_column_visible("A", True)
    assert cp.curves["A"].isVisible() and cp.original_curves["A"].isVisible()


# ----------------------------------------------------------------------------- video view
def test_video_view_channels_and_banner(qtbot):
    v = VideoView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    f = np.zeros((12, 16, 3), np.uint8)
    f[..., 0], f[..., 1], f[..., 2] = 50, 100, 7
    v.show_frame(f, ["black", "red_artifact"])
    assert v.banner.isVisible() and "RED ARTIFACT" in v.banner.text()
    # fixed 0-255 levels: a dim frame is drawn as dim as it is (never auto-stretched)
    v.image.render()
    c = v.image.qimage.pixelColor(3, 2)
    assert (c.red(), c.green(), c.blue()) == (50, 100, 7)
    v.set_channel("green")
    d = v.displayed()
    assert d[..., 0].max() == 0 and d[..., 1].min() == 100 and d[..., 2].max() == 0
    v.set_channel("red")
    assert v.displayed()[..., 0].min() == 50 and v.displayed()[..., 1].max() == 0
    v.show_frame(f, [])
    assert not v.banner.isVisible()
    assert channel_view(f, "both") is f


# ----------------------------------------------------------------------------- trainer panel
def test_trainer_panel_threshold(qtbot):
    loss = np.array([np.nan, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], float)
    assert top_fraction_threshold(loss, 0.2) == 9.0
    assert fraction_above(loss, 9.0) == 0.2
    p = TrainerPanel()
    qtbot.addWidget(p)
    p.drop.setValue(30.0)
    assert p.settings()["drop"] == pytest.approx(0.3)
    p.set_frame_loss(loss)
    assert p.threshold_line.value() == 8.0
    assert "3 frames" in p.threshold_label.text()
    got = []
    p.thresholdApplied.connect(got.append)
    p.threshold_line.setValue(9.5)
    p.apply_threshold.click()
    assert got == [9.5] and "1 frames" in p.threshold_label.text()
    p.on_progress({"done": 1, "total": 4, "message": "epoch 1", "loss": 0.5})
    p.on_progress({"fraction": 0.5, "loss": 0.25})
    assert p.progress.value() == 500 and p.loss_history == [0.5, 0.25]


# ----------------------------------------------------------------------------- workers
def test_worker_signals_arrive_in_the_gui_thread_and_cancel(qtbot):
    import threading

    from embryo_gui.gui import workers

    gui = threading.get_ident()
    seen = {}

    def job(n, progress=None, cancel=None):
        seen["job_thread"] = threading.get_ident()
        for i in range(n):
            progress({"done": i + 1, "total": n})
        return n * 2

    w = workers.Worker(job, 5)
    got = []
    w.progress.connect(lambda info: got.append((info["done"], threading.get_ident())))
    w.finished.connect(lambda r: seen.setdefault("result", (r, threading.get_ident())))
    with qtbot.waitSignal(w.done, timeout=5000):
        workers.start(w)
    assert seen["job_thread"] != gui
    assert [d for d, _ in got] == [1, 2, 3, 4, 5] and all(t == gui for _, t in got)
    assert seen["result"] == (10, gui)

    started = threading.Event()

    def slow(progress=None, cancel=None):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.005)

    w2 = workers.Worker(slow)
    with qtbot.waitSignal(w2.cancelled, timeout=5000):
        workers.start(w2)
        assert started.wait(5)
        w2.cancel()
    assert workers.wait_all(5000)
