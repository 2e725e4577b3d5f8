"""What a frame step repaints (issue 10: key to frame < 8 ms with the triage queue open on an embryo
of 1,000 detections).  A step moves the cursor lines and shows a new picture; the marks (timeline
rows, excluded frames, cliff bands, grid) have not changed and must not be drawn again, and the
population plot must repaint only the strip around its cursor, not the whole plot.  Counted on the
real window (offscreen), so the figures do not depend on the machine's load."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtTest  # noqa: E402

from embryo_gui import edits  # noqa: E402
from embryo_gui.gui.items import CACHE_REST_MS  # noqa: E402
from embryo_gui.policy import PROBLEM_KINDS  # noqa: E402

from gui_helpers import copy_project, open_window, write_demo_dir  # noqa: E402

pytestmark = pytest.mark.gui
K = QtCore.Qt.Key


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return write_demo_dir(tmp_path_factory, 1, 80, 0, (64, 96, 3))


def _count_paints(item, counts, name):
    orig = item.paint

    def counting(*a):
        counts[name] = counts.get(name, 0) + 1
        return orig(*a)

    item.paint = counting


def _count_regions(view, regions):
    orig = view.paintEvent

    def recording(ev):
        regions.append(ev.region().boundingRect())
        orig(ev)

    view.paintEvent = recording


@pytest.fixture
def flagged(qtbot, tmp_path, demo_dir):
    """The window on an embryo flagged at every frame (every per-frame problem kind), with
    excluded frames and one-frame cliffs, the triage queue open."""
    win = open_window(qtbot, tmp_path, copy_project(demo_dir, tmp_path), size=(1280, 800))
    e = win.embryo
    n = e.n_frames
    masks = {k: np.ones(n, bool) for k in PROBLEM_KINDS if k != "cliff"}
    excluded = np.zeros(n, bool)
    excluded[::3] = True
    masks["excluded"] = excluded
    cliffs = [{"start": i, "stop": i + 1, "kind": "dip", "lineage": "population", "score": 0.5,
               "status": "pending"} for i in range(0, n, 2)]
    assert win.session.push(edits.SetFlags(masks, detections={"cliffs": cliffs}, label="test: flags"), e)
    win.triage.show()
    win.triage.raise_()
    assert len(win.triage.queue) >= n * 5
    qtbot.wait(200)
    yield win
    win.ask = False


def _marks(win):
    items = {f"timeline:{k}": it for k, it in win.timeline.plot.kind_items.items()}
    items.update({"timeline:unannotated": win.timeline.plot.unannotated_item,
                  "curve:excluded": win.curve.excluded_item, "curve:cliffs": win.curve.cliff_bands,
                  "curve:grid": win.curve.x_grid})
    return items


def _settle(qtbot, win):
    """Wait until every mark is cached again (the view rested after the last zoom) and drawn."""
    from PySide6 import QtWidgets
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    qtbot.waitUntil(lambda: all(it.cacheMode() == cached for it in _marks(win).values()), timeout=3000)
    qtbot.wait(100)


def _step(qtbot, win, k=1):
    for _ in range(k):
        before = win.video.paint_count
        QtTest.QTest.keyPress(win, K.Key_Right)
        qtbot.waitUntil(lambda: win.video.paint_count > before, timeout=2000)
        qtbot.wait(5)  # the paint of the views follows the new picture


def test_a_frame_step_does_not_repaint_the_marks(qtbot, flagged):
    win = flagged
    counts, regions = {}, []
    for name, item in _marks(win).items():
        _count_paints(item, counts, name)
    _count_regions(win.curve, regions)
    win.session.set_frame(10)
    qtbot.wait(100)
    # the marks are really on screen (a zoom or a resize draws them once)
    win.curve.getPlotItem().getViewBox().setXRange(0, 60, padding=0)
    qtbot.waitUntil(lambda: counts.get("timeline:lossy", 0) > 0 and counts.get("curve:cliffs", 0) > 0
                    and counts.get("curve:excluded", 0) > 0, timeout=2000)
    _settle(qtbot, win)    # the view has rested: the marks are cached again
    counts.clear()
    regions.clear()
    _step(qtbot, win, 20)
    assert win.session.frame == 30
    assert counts == {}, f"a frame step repainted the marks: {counts}"
    # the population plot repaints the strip of its cursor (old and new position), not the plot
    width = win.curve.viewport().width()
    assert regions and max(r.width() for r in regions) < width / 10, [r.width() for r in regions]


def test_marks_are_redrawn_when_they_change(qtbot, flagged):
    """The cache is invalidated by what changes the marks: an edit, an undo, a zoom."""
    win = flagged
    counts = {}
    for name, item in _marks(win).items():
        _count_paints(item, counts, name)
    _settle(qtbot, win)
    counts.clear()
    e = win.embryo
    lossy = e.flags.mask("lossy").copy()
    lossy[20:40] = False
    win.session.push(edits.SetFlags({"lossy": lossy}), e)
    qtbot.waitUntil(lambda: counts.get("timeline:lossy", 0) > 0, timeout=2000)
    assert win.timeline.plot.kind_items["lossy"].n_runs == 2
    qtbot.wait(50)
    # only the row that changed is drawn again (every kind is set again after an edit)
    assert not counts.get("timeline:black") and not counts.get("curve:excluded"), counts
    counts.clear()
    win.session.undo()
    qtbot.waitUntil(lambda: counts.get("timeline:lossy", 0) > 0, timeout=2000)
    assert win.timeline.plot.kind_items["lossy"].n_runs == 1
    counts.clear()
    win.curve.getPlotItem().getViewBox().setXRange(5, 25, padding=0)
    qtbot.waitUntil(lambda: counts.get("curve:excluded", 0) > 0 and counts.get("timeline:black", 0) > 0,
                    timeout=2000)
    # what is drawn after the zoom is right: a lossy pixel in the timeline's lossy row
    img = win.timeline.plot.grab().toImage()
    pos = win.timeline.plot.frame_to_widget(15, win.timeline.plot.kind_items["lossy"].y0 + 0.4)
    c = img.pixelColor(pos.x(), pos.y())
    want = win.timeline.plot.kind_items["lossy"]._colour
    assert abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 40


def test_marks_are_painted_directly_while_the_view_zooms(qtbot, flagged):
    """While the view zooms or pans, a cached mark would be painted into its pixmap and blitted on
    every step (slower than painting it): the cache is off until the view has rested, then on
    again for the frame steps."""
    from PySide6 import QtWidgets
    win = flagged
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    items = _marks(win)
    _settle(qtbot, win)
    vb = win.curve.getPlotItem().getViewBox()
    for k in range(5):                       # a zoom gesture: steps closer together than the rest
        vb.setXRange(0, 60 - 8 * k, padding=0)
        qtbot.wait(20)
        assert items["curve:grid"].cacheMode() != cached and items["curve:cliffs"].cacheMode() != cached
    qtbot.waitUntil(lambda: all(it.cacheMode() == cached for it in items.values()), timeout=2000)


def test_flag_banner_renders_its_text_once(qtbot, flagged):
    """The banner's text is laid out when it changes (every third frame is also excluded here),
    not on every step."""
    win = flagged
    banner = win.video.banner
    _step(qtbot, win, 1)
    assert banner.isVisible() and "LOSSY" in banner.text()
    n, texts = banner.renders, [banner.text()]
    for _ in range(12):
        _step(qtbot, win, 1)
        texts.append(banner.text())
    changes = sum(a != b for a, b in zip(texts, texts[1:]))
    assert 0 < changes < 12 and banner.renders == n + changes
