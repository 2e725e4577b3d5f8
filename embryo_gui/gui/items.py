"""Small pyqtgraph graphics items shared by the plots."""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .view_model import runs


def device_spans(starts: np.ndarray, stops: np.ndarray, scale: float, offset: float,
                 lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel columns ``[x0, x1)`` covered by frame runs ``[start, stop)`` under ``x_px = x*scale +
    offset`` (frame ``f`` spans ``f - 0.5 .. f + 0.5``), each at least one pixel wide, clipped to
    ``[lo, hi]`` and merged where they touch, so the number of rectangles drawn never exceeds the
    widget's width whatever the number of runs."""
    if len(starts) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = (np.asarray(starts, np.float64) - 0.5) * scale + offset
    b = (np.asarray(stops, np.float64) - 0.5) * scale + offset
    if scale < 0:
        a, b = b[::-1], a[::-1]
    x0 = np.floor(np.clip(a, lo, hi)).astype(np.int64)
    x1 = np.maximum(np.ceil(np.clip(b, lo, hi)).astype(np.int64), x0 + 1)
    keep = (b >= lo) & (a <= hi)
    x0, x1 = x0[keep], x1[keep]
    if x0.size == 0:
        return x0, x1
    reach = np.maximum.accumulate(x1)
    new = np.ones(x0.size, bool)
    new[1:] = x0[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, x0.size - 1)
    return x0[first], reach[last]


def cache_in_device_pixels(item: QtWidgets.QGraphicsItem) -> None:
    """Let Qt keep ``item`` rendered in a device pixmap (``DeviceCoordinateCache``): its Python
    ``paint`` runs again only after ``update()`` (new data), a zoom or a resize; a repaint that
    merely exposes it -- the cursor line moving over it on every frame step -- is a blit in C++.
    The item's bounds must stay finite in device pixels: see :func:`clip_to_view`."""
    item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


#: how long the view must rest (no zoom / pan) before a paused item is cached again (ms)
CACHE_REST_MS = 150


def pause_cache_while_moving(item: QtWidgets.QGraphicsObject) -> None:
    """Called on every view change of an item cached by :func:`cache_in_device_pixels`: while the
    view zooms or pans, a cached item would be painted into its pixmap and then blitted on every
    step (slower than painting it: the 1,000,000-frame curve's zoom went from 8 to 12-20 ms), so it
    is painted directly until the view has rested :data:`CACHE_REST_MS`, then cached again for the
    frame steps."""
    if item.cacheMode() != QtWidgets.QGraphicsItem.CacheMode.NoCache:
        item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
    timer = getattr(item, "_cache_rest", None)
    if timer is None:
        timer = QtCore.QTimer(item)          # a child of the item: goes with it
        timer.setSingleShot(True)
        timer.setInterval(CACHE_REST_MS)
        timer.timeout.connect(functools.partial(_cache_again, item))
        item._cache_rest = timer
    timer.start()


def _cache_again(item: QtWidgets.QGraphicsObject) -> None:
    cache_in_device_pixels(item)
    item.update()          # the pixmap is filled now, while idle, not on the next frame step


def clip_to_view(item: pg.GraphicsObject, rect: QtCore.QRectF) -> QtCore.QRectF:
    """``rect`` with its y extent clipped to the item's view range (plus one view height each
    side).  Bands drawn over the full height of a plot are given y = +-1e6 or more; mapped to
    device pixels when zoomed in, that overflows Qt's integer rectangles, which a device cache
    (and Qt's own update regions) cannot handle.  The item calls it again on each view change."""
    vb = item.getViewBox() if rect.isValid() else None
    if vb is None:
        return QtCore.QRectF(rect)
    _, (y0, y1) = vb.viewRange()
    pad = abs(y1 - y0)
    lo, hi = max(rect.top(), min(y0, y1) - pad), min(rect.bottom(), max(y0, y1) + pad)
    if hi <= lo:
        return QtCore.QRectF()
    return QtCore.QRectF(rect.left(), lo, rect.width(), hi - lo)


class CachedBand(pg.GraphicsObject):
    """Base of the mark items: cached in device pixels (:func:`cache_in_device_pixels`), with
    bounds set by :meth:`set_bounds` and kept clipped to the view (:func:`clip_to_view`)."""

    def __init__(self) -> None:
        super().__init__()
        self._full = QtCore.QRectF()  # the data bounds as set
        self._rect = QtCore.QRectF()  # the same clipped to the view
        cache_in_device_pixels(self)

    def set_bounds(self, rect: QtCore.QRectF) -> None:
        """New data: new bounds, and the cached pixmap is drawn again."""
        self.prepareGeometryChange()
        self._full = QtCore.QRectF(rect)
        self._rect = clip_to_view(self, self._full)
        self.update()

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph API)
        pause_cache_while_moving(self)
        r = clip_to_view(self, self._full)
        if r != self._rect:
            self.prepareGeometryChange()
            self._rect = r

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt API)
        return self._rect


class RunsItem(CachedBand):
    """Filled bands over the runs of True of a per-frame mask: one item for all the marks of a kind.

    ``y0``/``y1`` give the band in data coordinates.  Painting happens in device pixels: runs
    are mapped to pixel columns and merged, so a thousand marks (or a million frames) cost a few
    ``fillRect`` calls, and a one-frame run stays one pixel wide however far the view is zoomed out.
    ``pattern`` (a ``Qt.BrushStyle`` such as ``BDiagPattern``) hatches the bands instead of
    filling them: one ``fillRect`` per merged pixel span.
    """

    def __init__(self, colour, y0: float = 0.0, y1: float = 1.0, alpha: int = 255,
                 outline: bool = True, pattern: QtCore.Qt.BrushStyle | None = None) -> None:
        super().__init__()
        c = QtGui.QColor(*colour)
        c.setAlpha(alpha)
        self._colour = c
        self.pattern = pattern
        a = c.alpha()
        self._premul = np.uint32((a << 24) | ((c.red() * a // 255) << 16) | ((c.green() * a // 255) << 8)
                                 | (c.blue() * a // 255))
        self.y0, self.y1 = float(y0), float(y1)
        self.starts = np.zeros(0, np.int64)
        self.stops = np.zeros(0, np.int64)
        self.n_runs = 0

    def set_mask(self, mask: np.ndarray | None) -> None:
        r = runs(mask) if mask is not None else np.zeros((0, 2), np.int64)
        self.set_runs(r[:, 0], r[:, 1])

    def set_runs(self, starts: np.ndarray, stops: np.ndarray) -> None:
        starts, stops = np.asarray(starts, np.int64), np.asarray(stops, np.int64)
        if np.array_equal(starts, self.starts) and np.array_equal(stops, self.stops):
            return  # the same marks (every kind is set again after any edit): keep the cached pixmap
        self.starts, self.stops = starts, stops
        self.n_runs = len(self.starts)
        if self.n_runs:
            a, b = float(self.starts.min()) - 0.5, float(self.stops.max()) - 0.5
            self.set_bounds(QtCore.QRectF(a, min(self.y0, self.y1), b - a, abs(self.y1 - self.y0)))
        else:
            self.set_bounds(QtCore.QRectF())

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self.n_runs == 0:
            return
        t = p.transform()
        dev = p.device()
        w, h = (dev.width(), dev.height()) if dev is not None else (1 << 15, 1 << 15)
        x0, x1 = device_spans(self.starts, self.stops, t.m11(), t.m31(), -2.0, w + 2.0)
        if x0.size == 0:
            return
        ya, yb = sorted((self.y0 * t.m22() + t.m32(), self.y1 * t.m22() + t.m32()))
        ya, yb = max(ya, -2.0), min(yb, h + 2.0)
        if yb <= ya:
            return
        if self.pattern is not None:
            brush = QtGui.QBrush(self._colour, self.pattern)
            p.save()
            p.resetTransform()
            for a, b in zip(x0.tolist(), x1.tolist()):
                p.fillRect(QtCore.QRectF(float(a), ya, float(b - a), yb - ya), brush)
            p.restore()
            return
        # one image row of pixel columns, stretched over the band: Qt blits it row by row, which
        # is far cheaper than filling hundreds of one-pixel-wide rectangles scanline by scanline
        left = int(x0[0])
        w = int(x1.max()) - left
        edges = np.zeros(w + 1, np.int32)
        np.add.at(edges, x0 - left, 1)
        np.add.at(edges, x1 - left, -1)
        row = np.where(np.cumsum(edges[:-1]) > 0, self._premul, 0).astype(np.uint32)
        img = QtGui.QImage(row.data, w, 1, 4 * w, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        p.save()
        p.resetTransform()
        p.drawImage(QtCore.QRectF(float(left), ya, float(w), yb - ya), img)
        p.restore()


@contextlib.contextmanager
def uncached(scene: QtWidgets.QGraphicsScene):
    """Turn every item's pixmap cache off while figures are exported (restored after): a cached
    item is drawn into an SVG as a raster image instead of vector lines."""
    items = [(it, it.cacheMode()) for it in scene.items()
             if it.cacheMode() != QtWidgets.QGraphicsItem.CacheMode.NoCache]
    for it, _mode in items:
        it.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for it, mode in items:
            it.setCacheMode(mode)


def cache_axes(plot_item: pg.PlotItem) -> None:
    """Cache each axis (and its grid) as a device pixmap: moving a cursor line over a plot with a
    grid otherwise replays every axis label on each repaint (several ms per axis)."""
    for name in ("left", "bottom", "right", "top"):
        ax = plot_item.getAxis(name)
        ax.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


class XGridItem(pg.GraphicsObject):
    """Vertical grid lines at an axis's major (and minor) ticks, drawn with one ``drawLines`` per
    level in device pixels.  pyqtgraph's own grid is drawn by the axis item (recorded into a
    QPicture and replayed), which cost ~5 ms per pan or zoom of the population plot."""

    def __init__(self, axis: pg.AxisItem, alpha: int = 40) -> None:
        super().__init__()
        self.axis = axis
        self.alpha = int(alpha)
        self.setZValue(-30)
        cache_in_device_pixels(self)

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt API)
        vb = self.getViewBox()
        return vb.viewRect() if vb is not None else QtCore.QRectF()

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph API)
        pause_cache_while_moving(self)
        self.prepareGeometryChange()

    def paint(self, p: QtGui.QPainter, *args) -> None:
        vb = self.getViewBox()
        if vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        width = max(vb.width(), 1.0)
        t = p.transform()
        dev = p.device()
        h = float(dev.height()) if dev is not None else 1e4
        colour = QtGui.QColor(pg.getConfigOption("foreground"))
        p.save()
        p.resetTransform()
        for level, (_, ticks) in enumerate(self.axis.tickValues(min(x0, x1), max(x0, x1), width)[:2]):
            colour.setAlpha(self.alpha // (level + 1))
            pen = QtGui.QPen(colour, 1)
            pen.setCosmetic(True)
            p.setPen(pen)
            xs = [round(v * t.m11() + t.m31()) + 0.5 for v in ticks]
            p.drawLines([QtCore.QLineF(x, 0.0, x, h) for x in xs])
        p.restore()


def show_selection(region, sel: tuple[int, int] | None) -> None:
    """Show the inclusive frame range ``sel`` on a LinearRegionItem (hide it for ``None``)."""
    if sel is None:
        region.hide()
    else:
        region.setRegion((sel[0] - 0.5, sel[1] + 0.5))
        region.show()


def screen_geometry(vb: pg.ViewBox):
    """A ViewBox's rectangle in global pixels.  pyqtgraph's own ``ViewBox.screenGeometry`` adds the
    view widget's position in its parent twice (``mapToGlobal(v.pos())``), so two linked views in
    differently nested widgets were lined up several pixels (~0.7 frame zoomed in) apart."""
    v = vb.getViewWidget()
    if v is None:
        return None
    wr = v.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    pos = v.mapToGlobal(QtCore.QPoint(0, 0))
    wr.adjust(pos.x(), pos.y(), pos.x(), pos.y())
    return wr
