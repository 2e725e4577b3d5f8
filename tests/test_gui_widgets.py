"""GUI widgets that need only numpy arrays: view model, timeline, curve plot, video view, trainer panel."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtTest  # noqa: E402

from embryo_gui.gui import view_model as vm  # noqa: E402
from embryo_gui.gui.curve_items import cliff_span, cliff_status  # noqa: E402
from embryo_gui.gui.curve_plot import CurvePlot  # noqa: E402
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


def test_selection_clamps_orders_and_notifies():
    seen = []
    sel = vm.Selection()
    sel.add_listener(seen.append)
    assert sel.set(7, 3, 10) == (3, 7) and seen == [(3, 7)]
    assert sel.target_frames(9) == (3, 7)
    assert sel.set(-5, 25, 10) == (0, 9)
    sel.clear()
    assert seen[-1] is None and sel.target_frames(4) == (4, 4)
    sel.clear()  # no change -> no notification
    assert len(seen) == 3


def test_status_text_and_state():
    counts = np.full((5, 8), np.nan)
    counts[2] = [10, 2, 3, 1, 4, 0, 2, 22]
    s = vm.status_text(2, 5, 7.0, counts, ("A", "E", "M", "P", "C", "D", "Z", "population"), ["black"])
    assert "frame 2 of 0-4" in s and "population 22" in s and "A 10" in s and "flags: black" in s
    assert "t = 0:00.29" in s
    assert "not annotated" in vm.status_text(0, 5, None, counts, ("A",) * 7 + ("population",), [])
    assert "population" not in vm.status_text(0, 5, None, counts, ("A",) * 7 + ("population",), [])
    counts[1, :7] = 0.0  # lineages annotated (zeros) but no population: say so, do not hide the zeros
    s1 = vm.status_text(1, 5, None, counts, ("A", "E", "M", "P", "C", "D", "Z", "population"), [])
    assert "population —" in s1 and "A 0" in s1 and "not annotated" not in s1
    assert vm.unannotated_mask(counts).tolist() == [True, True, False, True, True]
    assert vm.unannotated_mask(None).shape == (0,)


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
    assert cp.cliff_bands.spans == {"accepted": [(5, 8)], "pending": [(40, 44)], "rejected": []}
    assert cliff_span(cliffs[0]) == (5, 8) and cliff_status({"status": "rejected"}) == "rejected"
    assert cp.cliffs_at(42) == [1] and cp.cliffs_at(20) == []
    cp.set_column_visible("A", True)
    assert cp.curves["A"].isVisible() and cp.original_curves["A"].isVisible()


def test_merge_spans_and_detections_at():
    assert vm.merge_spans([(10, 20), (10, 20), (21, 25), (30, 31), (5, 12)]) == [(5, 25), (30, 31)]
    assert vm.merge_spans([]) == []
    assert vm.detections_at([(0, 4), (3, 9), (20, 20)], 4) == [0, 1]
    assert vm.detections_at([(0, 4), (3, 9), (20, 20)], 20) == [2]


def test_cliff_bands_merge_stay_light_and_menu_lists_detections(qtbot):
    from PySide6 import QtGui
    cp = CurvePlot()
    qtbot.addWidget(cp)
    cp.resize(600, 300)
    cp.show()
    cur = _counts()
    # the detector's usual output: one drop reported for the population and five lineages
    same = [{"start": 20, "stop": 30, "lineage": lin, "status": "accepted"}
            for lin in ("population", "A", "E", "M", "C", "D")]
    cliffs = same + [{"start": 3, "stop": 6}, {"start": 40, "stop": 45, "status": "rejected"}]
    cp.set_data(cur, None, None, cliffs)
    cp.getPlotItem().getViewBox().setRange(xRange=(0, 49), yRange=(1000, 2000), padding=0)  # curve off-screen
    QtCore.QCoreApplication.processEvents()
    assert cp.cliff_bands.spans == {"accepted": [(20, 29)], "pending": [(3, 5)], "rejected": [(40, 44)]}
    img = cp.grab().toImage()
    y = img.height() // 2

    def px(frame):  # median over a 5x5 block: grid lines are one pixel wide
        x = cp.data_to_widget(frame, 1500).x()
        cols = [QtGui.QColor(img.pixel(x + dx, y + dy)) for dx in range(-2, 3) for dy in range(-2, 3)]
        return np.median([[c.red(), c.green(), c.blue()] for c in cols], axis=0)

    bg, inside = px(35), px(25)
    diff = np.abs(inside - bg).max()
    assert 5 < diff < 60, (bg, inside)  # visible, yet six stacked detections do not darken it more than one
    assert np.abs(px(42) - bg).max() < 5  # rejected: no fill (only dotted edges)
    # context menu: the detections under the cursor, each reachable
    got = []
    cp.cliffDecision.connect(lambda idx, acc: got.append((list(idx), acc)))
    assert cp.cliff_menu(35) is None
    menu = cp.cliff_menu(25)
    texts = [a.text() for a in menu.actions()]
    assert texts[0].startswith("Accept all 6") and texts[1].startswith("Reject all 6")
    subs = [a.menu() for a in menu.actions() if a.menu() is not None]
    assert len(subs) == 6 and "Cliff 3: E, frames 20-29 (accepted)" in [m.title() for m in subs]
    menu.actions()[1].trigger()
    subs[2].actions()[1].trigger()  # reject only cliff 3
    assert got == [([0, 1, 2, 3, 4, 5], False), ([2], False)]
    single = cp.cliff_menu(4)
    assert single.actions()[0].text() == "Cliff 7: population, frames 3-5 (pending)"
    single.actions()[1].trigger()
    assert got[-1] == ([6], True)


def test_min_max_pyramid_levels_match_brute_force():
    from embryo_gui.gui.pyramid import MinMaxPyramid
    rng = np.random.default_rng(3)
    y = rng.normal(size=1001)
    y[100:180] = np.nan  # a gap longer than several bins
    y[500] = np.nan
    pyr = MinMaxPyramid(y)
    assert pyr.levels == 11 and len(pyr.mins[10]) == 1
    for k in (1, 3, 6):
        size = 1 << k
        nb = -(-len(y) // size)
        padded = np.full(nb * size, np.nan)
        padded[:len(y)] = y
        bins = padded.reshape(nb, size)
        with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            want_min, want_max = np.nanmin(bins, axis=1), np.nanmax(bins, axis=1)
        assert np.array_equal(pyr.mins[k], want_min, equal_nan=True)
        assert np.array_equal(pyr.maxs[k], want_max, equal_nan=True)
    assert np.isnan(pyr.mins[3][13:22]).all()  # frames 104-175: whole bins of the gap stay NaN
    assert pyr.bounds == (np.nanmin(y), np.nanmax(y))
    # level choice: at most two points (one bin) per pixel column
    assert pyr.level_for(1.0) == 0 and pyr.level_for(2.0) == 0 and pyr.level_for(3.0) == 2
    assert pyr.level_for(1e9) == pyr.levels - 1
    x, v, k = pyr.view(200.0, 900.0, 100)
    assert k == 3 and len(x) == len(v) and len(x) <= 2 * (100 + 4)
    assert x[0] <= 200 and x[-1] >= 900
    x, v, k = pyr.view(10.0, 20.0, 500)
    assert k == 0 and x[0] == 9 and x[-1] == 21 and np.array_equal(v, y[9:22])  # one frame of margin


def test_curve_plot_holds_only_the_visible_bins(qtbot):
    from embryo_gui.gui.curve_plot import original_where_changed
    n = 200_000
    cur = np.full((n, 8), np.nan)
    cur[:, 7] = np.arange(n) % 1000
    cur[5000:6000, 7] = np.nan
    orig = cur.copy()
    orig[100, 7] = -5.0
    cp = CurvePlot()
    qtbot.addWidget(cp)
    cp.resize(800, 300)
    cp.show()
    cp.set_data(cur, orig, None, [])
    QtCore.QCoreApplication.processEvents()
    item = cp.curves["population"]
    px = int(cp.getPlotItem().getViewBox().width())
    assert item.shown_level > 0 and len(item.xData) <= 2 * (px + 4)
    assert item.dataBounds(1) == (0.0, 999.0) and item.dataBounds(0) == (0.0, n - 1.0)
    cp.getPlotItem().getViewBox().setXRange(4990, 5020, padding=0)
    assert item.shown_level == 0 and item.xData[0] >= 4980 and item.xData[-1] <= 5030
    assert np.isnan(item.yData[item.xData >= 5000]).all()  # the gap stays a gap
    # the original is drawn only where it differs from the current (plus one frame either side)
    shown = original_where_changed(orig[:, 7], cur[:, 7])
    assert np.flatnonzero(np.isfinite(shown)).tolist() == [99, 100, 101]
    assert cp.original_curves["population"].pyramid.bounds == (-5.0, 101.0)


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


# ----------------------------------------------------------------------------- issue 10: one x axis, rows, themes


@pytest.fixture
def linked(qtbot):
    from PySide6 import QtWidgets

    from embryo_gui.gui.timeline import link_x
    w = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(w)
    tl, cp = Timeline(), CurvePlot()
    lay.addWidget(tl)
    lay.addWidget(cp)
    link_x(tl, cp)
    qtbot.addWidget(w)
    w.resize(900, 500)
    w.show()
    n = 300
    c = np.full((n, 8), np.nan)
    c[:, 7] = np.arange(n)
    tl.set_length(n)
    cp.set_data(c, c.copy())
    qtbot.waitExposed(w)
    QtCore.QCoreApplication.processEvents()
    return w, tl, cp


def _x_in(widget, plot_widget, frame, y=0.0):
    vb = plot_widget.getPlotItem().getViewBox()
    p = plot_widget.mapFromScene(vb.mapViewToScene(QtCore.QPointF(frame, y)))
    return plot_widget.mapTo(widget, p).x()


def test_timeline_and_plot_share_one_x_axis(qtbot, linked):
    w, tl, cp = linked
    for f in (0, 150, 299):
        assert abs(_x_in(w, tl.plot, f) - _x_in(w, cp, f)) <= 2, f
    cp.getPlotItem().getViewBox().setXRange(100, 160, padding=0)  # zoom the plot: the timeline follows
    QtCore.QCoreApplication.processEvents()
    x0, x1 = tl.plot.getPlotItem().getViewBox().viewRange()[0]
    assert abs(x0 - 100) < 1 and abs(x1 - 160) < 1
    assert abs(_x_in(w, tl.plot, 130) - _x_in(w, cp, 130)) <= 2
    # the cursor moved out of view brings the view along, both plots
    cp.set_cursor(250)
    QtCore.QCoreApplication.processEvents()
    for vb in (cp.getPlotItem().getViewBox(), tl.plot.getPlotItem().getViewBox()):
        lo, hi = vb.viewRange()[0]
        assert lo <= 250 <= hi and hi - lo == pytest.approx(60, abs=1)


def test_timeline_rows_are_labelled(qtbot, timeline):
    ticks = timeline.plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [t[1] for t in ticks] == [k.replace("_", " ") for k in vm.FLAG_KINDS]


def test_short_shift_click_selects_from_the_cursor(qtbot, timeline):
    got = []
    timeline.rangeSelected.connect(lambda a, b: got.append((a, b)))
    timeline.set_cursor(20)
    QtTest.QTest.mouseClick(timeline.plot.viewport(), LEFT, SHIFT, timeline.plot.frame_to_widget(24))
    assert got and abs(got[-1][0] - 20) <= 1 and abs(got[-1][1] - 24) <= 1


def test_flag_colours_readable_on_both_themes():
    from embryo_gui.gui import theme
    for name, bg in (("light", "#ffffff"), ("dark", "#0e1116")):
        theme._current.update(name=name, background=bg)
        try:
            for kind in vm.FLAG_KINDS:
                assert theme.contrast(theme.flag_colour(kind), theme._rgb(bg)) >= 2.9, (name, kind)
        finally:
            theme._current.update(name="light", background="#ffffff")
    assert theme.contrast(vm.FLAG_COLOURS["black"], (14, 17, 22)) < 2  # the defect: nearly invisible
