"""Per-frame features for corrupt-frame detection, computed once per frame in one streaming pass.

The frame is read at full resolution once: one ``cv2.resize`` (INTER_AREA) to half resolution, and
everything else works on that (``pool`` = 4 by default):

* the red and green channels are area-downsampled by ``pool`` (``red_map``, ``green_map``, uint8):
  brightness, the outlier thumbnail and the temporal blotch test (:mod:`.novelty`) use them;
* the red-excess map ``max(R - G, 0)`` of the half-resolution frame is *max*-pooled to ``pool``
  (``line_map``) so that a 1-2 px line survives (after a 4:2:0 codec the chroma of a 1-px line is
  2 px wide anyway, so halving first loses little of it).  Red regions of it are described with
  ``cv2.connectedComponentsWithStats`` and second moments; bands and lines are told from reporter
  nuclei by shape alone (see docs/DETECTION.md):

  - ``line``: thin fragments on one straight line, long (``line_min_len`` of the short side)
  - ``band``: touches an edge and runs along it for ``band_min_len`` of that edge, elongated

Blotches and faint lines need the neighbouring frames (they are told from reporter nuclei by being
transient): :func:`.novelty.blotch_pass` fills in ``FrameFeatures.blotch`` later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ._settings import resolve
from .alignment_check import count_nuclei
from .corrupt_settings import CorruptSettings

EDGES = ("top", "bottom", "left", "right")

EMPTY_KINDS = (("band", (0.0, "")), ("line", (0.0, "")), ("blotch", (0.0, "")))


@dataclass
class FrameFeatures:
    bright: float          # high percentile of the (area-pooled) green channel
    red_score: float       # >= 1: a red artifact; max over the frame's red regions (band / line)
    red_kind: str          # "band" | "line" | "blotch" | "" (best candidate)
    red_reason: str        # short human description of the best candidate ('' if none)
    thumb: np.ndarray      # float32 (h, w, 2) tiny green/red thumbnail for the outlier score
    kind_scores: dict = None    # {"band"|"line"|"blotch": (score, reason)} best region of each kind
    red_map: Optional[np.ndarray] = field(default=None, repr=False)    # uint8 area-pooled red
    green_map: Optional[np.ndarray] = field(default=None, repr=False)  # uint8 area-pooled green
    excess_map: Optional[np.ndarray] = field(default=None, repr=False) # uint8 max(red_map - green_map, 0)
    line_map: Optional[np.ndarray] = field(default=None, repr=False)   # uint8 max-pooled red excess
    temporal: Optional[tuple] = field(default=None, repr=False)  # novelty.prepare: (maps, dilated flat maps)
    radius_sample: Optional[float] = None   # novelty.prepare: nucleus radius (full-res px) of this frame
    blotch: Optional[dict] = None   # temporal blotch test result (novelty.blotch_pass), None = not run
    nuclei: int = -1        # nucleus-like blobs in the pooled green (counted for dark frames only, else -1)


def _shape(roi: np.ndarray, area: int, x: int, y: int) -> tuple[float, float, float, float, float]:
    """(length, width, angle_deg, cx, cy) of a binary region from its second moments; angle is
    the image-axis angle of the long axis (y down)."""
    m = cv2.moments(roi.astype(np.uint8), binaryImage=True)
    mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
    common = np.sqrt(max(((mu20 - mu02) / 2) ** 2 + mu11 ** 2, 0.0))
    l1 = (mu20 + mu02) / 2 + common
    length = max(float(np.sqrt(12.0 * l1)), 1.0)       # full length of a uniform bar
    width = max(float(area) / length, 1.0)
    theta = 0.5 * np.degrees(np.arctan2(2 * mu11, mu20 - mu02))
    return length, width, float(theta), x + m["m10"] / area, y + m["m01"] / area


def _line_groups(frags: list[tuple], short: int, s) -> tuple[float, float, float, float]:
    """Group thin fragments lying on one straight line (a red line cut by the green nuclei it
    crosses); returns (total length, mean width, angle, score) of the best group."""
    if not frags:
        return 0.0, 0.0, 0.0, 0.0
    f = np.asarray(frags, dtype=np.float64)            # (n, 5): length, width, theta, cx, cy
    L, Wd, th, cx, cy = f.T
    nx, ny = -np.sin(np.radians(th)), np.cos(np.radians(th))
    dth = np.abs((th[None, :] - th[:, None] + 90.0) % 180.0 - 90.0)
    off = np.abs((cx[None, :] - cx[:, None]) * nx[:, None] + (cy[None, :] - cy[:, None]) * ny[:, None])
    same = (dth <= s.line_angle_tol) & (off <= np.maximum(2.0, Wd)[:, None])
    tot = same @ L
    wsum = same @ (L * Wd)
    i = int(np.argmax(tot))
    return float(tot[i]), float(wsum[i] / max(tot[i], 1e-9)), float(th[i]), float(tot[i] / (s.line_min_len * short))


def _components(mask: np.ndarray, s) -> dict:
    """Best band and line candidates among the red regions of a pooled mask: {kind: (score, reason)}."""
    kinds = dict(EMPTY_KINDS)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return kinds
    H, W = mask.shape
    p = s.pool
    short = min(H, W)
    min_area = max(2, int(s.min_region_px / (p * p)))
    x, y, w, h, area = (stats[1:, k] for k in range(5))
    touches = np.stack([y == 0, y + h >= H, x == 0, x + w >= W], axis=1)
    # small compact regions are nuclei at most: only long ones (line fragments) or big ones
    # touching an edge (bands) are looked at
    # a fragment with length / width >= line_min_elong has area <= length^2 / line_min_elong, and its
    # length is at most its box diagonal (slack x1.5 for the moment estimate)
    thin = area * s.line_min_elong <= 1.5 * (w * w + h * h)
    cand = (area >= 2) & (((np.maximum(w, h) >= s.line_min_frag) & thin)
                          | ((area >= min_area) & touches.any(axis=1)))
    frags = []
    for i in np.flatnonzero(cand):
        xi, yi, wi, hi, ai = (int(v) for v in stats[i + 1])
        roi = labels[yi:yi + hi, xi:xi + wi] == i + 1
        length, width, theta, cx, cy = _shape(roi, ai, xi, yi)
        elong = length / width
        if elong >= s.line_min_elong and length >= s.line_min_frag and (width <= s.line_max_width or elong >= s.line_long_elong):
            frags.append((length, width, theta, cx, cy))
        if ai < min_area:
            continue
        band, edge = 0.0, ""
        for k in np.flatnonzero(touches[i]):
            edge_angle = 0.0 if k < 2 else 90.0
            if abs((theta - edge_angle + 90.0) % 180.0 - 90.0) <= s.band_angle_tol:
                along = wi / W if k < 2 else hi / H
                sc = min(along / s.band_min_len, elong / s.band_min_elong)
                if sc > band:
                    band, edge = sc, EDGES[k]
        if band > kinds["band"][0]:
            kinds["band"] = (band, f"red band along the {edge} edge, {width * p:.0f} px")
    if kinds["band"][0] < 1.0 and touches.any():
        _bands_apart(mask, s, kinds)
    if frags:
        tot, width, theta, score = _line_groups(frags, short, s)
        span = "across the frame" if tot >= 0.8 * short else f"{tot * p:.0f} px long"
        angle = (-theta) % 180.0                       # y points down: report the maths angle
        kinds["line"] = (score, f"red line {span}, {width * p:.0f} px, {angle:.0f} deg")
    return kinds


def _bands_apart(mask: np.ndarray, s, kinds: dict) -> None:
    """A band merged with the red of reporter nuclei touching it (a late embryo filling with red /
    yellow nuclei next to a band artifact) is no longer elongated as a whole.  A band is uniform
    red in *every* row (column) along its edge: opening the mask with a line of ``band_min_len``
    of the edge parallel to it keeps the band and removes reporter nuclei (short red runs, cut by
    the green of yellow nuclei and by the gaps between nuclei); the bands left are measured as
    above."""
    H, W = mask.shape
    p = s.pool
    for horizontal in (True, False):
        k = int(s.band_min_len * (W if horizontal else H))
        if k < s.line_min_frag:        # a frame too small to tell a band's rows from noise
            continue
        ker = np.ones((1, k) if horizontal else (k, 1), np.uint8)
        # opening with a row (column) kernel works on each row (column) alone: a region of the
        # opened mask touches the top or bottom edge only if row 0 or H - 1, opened alone, keeps a
        # pixel (left / right: column 0 or W - 1).  Most frames keep none: skip the whole opening
        ends = mask[[0, H - 1]] if horizontal else np.ascontiguousarray(mask[:, [0, W - 1]])
        if not cv2.morphologyEx(ends, cv2.MORPH_OPEN, ker).any():
            continue
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, ker)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        for i in range(1, n):
            x, y, w, h, a = (int(v) for v in stats[i])
            edges = ([(0, y == 0), (1, y + h >= H)] if horizontal else [(2, x == 0), (3, x + w >= W)])
            for k_edge, touching in edges:
                if not touching or a < max(2, int(s.min_region_px / (p * p))):
                    continue
                roi = labels[y:y + h, x:x + w] == i
                length, width, theta, _, _ = _shape(roi, a, x, y)
                edge_angle = 0.0 if horizontal else 90.0
                if abs((theta - edge_angle + 90.0) % 180.0 - 90.0) > s.band_angle_tol:
                    continue
                along = w / W if horizontal else h / H
                sc = min(along / s.band_min_len, (length / width) / s.band_min_elong)
                if sc > kinds["band"][0]:
                    kinds["band"] = (sc, f"red band along the {EDGES[k_edge]} edge, {width * p:.0f} px")


def _pooled(frame: np.ndarray, p: int, hs: int, ws: int, half: Optional[np.ndarray] = None,
            small: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(red_map, green_map, line_map): red and green area-pooled by ``p``, red excess max-pooled by
    ``p``.  The frame is cropped to ``(hs * p, ws * p)`` first, so that every resize is an exact
    integer-scale one (OpenCV's fast path; a size not a multiple of ``p`` costs several times
    more).  For an even ``p`` the full-resolution frame is touched by one INTER_AREA halving only,
    and ``half`` (that halving, e.g. ``framestore.pyramid``'s, computed once at import) skips even
    that; ``small`` (``half`` halved again, the frame store's small copy) skips the second halving."""
    H, W = frame.shape[:2]
    if H >= hs * p and W >= ws * p:
        frame = frame[: hs * p, : ws * p]
        H, W = hs * p, ws * p
    if p % 2 == 0 and H >= 2 * hs and W >= 2 * ws:
        if half is None or half.shape[:2] != (H // 2, W // 2):
            half = cv2.resize(frame, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
        q = p // 2
    else:
        half, q = frame, p
    if q == 2:
        if small is None or small.shape[:2] != (hs, ws) or half.shape[:2] != (2 * hs, 2 * ws):
            small = cv2.resize(half, (ws, hs), interpolation=cv2.INTER_AREA)
        red_map, green_map = cv2.extractChannel(small, 0), cv2.extractChannel(small, 1)
        return red_map, green_map, _excess_maxpool2(half, hs, ws)
    # (cv2.extractChannel: cv2.split is several times slower on these sizes in OpenCV 5)
    r, g = cv2.extractChannel(half, 0), cv2.extractChannel(half, 1)
    exc = cv2.subtract(r, g)                          # red excess, saturating at 0
    if q > 1:
        small = cv2.resize(half, (ws, hs), interpolation=cv2.INTER_AREA)
        red_map, green_map = cv2.extractChannel(small, 0), cv2.extractChannel(small, 1)
        exc = cv2.dilate(exc, np.ones((q, q), np.uint8), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
        line_map = np.ascontiguousarray(exc[: hs * q: q, : ws * q: q])
    else:
        red_map, green_map, line_map = r, g, exc
    return red_map, green_map, line_map


def _excess_maxpool2(img: np.ndarray, hs: int, ws: int) -> np.ndarray:
    """max(R - G, 0) of an RGB image, max-pooled over 2 x 2 blocks to (hs, ws), without splitting
    the channels: on the interleaved bytes, byte j minus byte j + 1 is R - G at every pixel's red
    byte (and junk at the others, never read); rows and pixels are then paired by cv2.max on views."""
    h, w = 2 * hs, 2 * ws
    v = np.ascontiguousarray(img[:h, :w]).reshape(h, 3 * w)
    d = cv2.subtract(v[:, :-1], v[:, 1:])               # d[:, 3 j] = R_j - G_j, saturating at 0
    rows = cv2.max(d[0::2], d[1::2])                    # pairs of rows
    cols = cv2.max(rows[:, :-3], rows[:, 3:])           # pairs of pixels: columns 6 j and 6 j + 3
    return np.ascontiguousarray(cols[:, ::6])


def area_pool(img: np.ndarray, t: int) -> np.ndarray:
    """``img`` area-averaged over ``t`` x ``t`` blocks, to (h // t, w // t) (at least 1 pixel): cropped
    to a multiple of ``t`` first (at most t - 1 rows / columns dropped), so that ``cv2.resize`` takes
    its integer-scale path (the real movies' 169 x 114 maps cost 10x more as an odd size); an image
    smaller than ``t`` a side is resized whole."""
    h, w = img.shape[:2]
    size = (max(1, w // t), max(1, h // t))
    if h >= t and w >= t:
        img = img[: size[1] * t, : size[0] * t]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def border_max(img: np.ndarray, ring: int = 2) -> int:
    """Largest value within ``ring`` px of the image border."""
    return int(max(img[:ring].max(), img[-ring:].max(), img[:, :ring].max(), img[:, -ring:].max()))


def frame_features(frame: np.ndarray, settings=None, half: Optional[np.ndarray] = None,
                   count_dark_nuclei: bool = True, small: Optional[np.ndarray] = None) -> FrameFeatures:
    """Features of one uint8 RGB frame (H, W, 3); ``half``: its 2 x 2 area halving when already
    computed (``framestore.pyramid``; ``small``: its second halving), else it is computed here.  ``count_dark_nuclei=False`` leaves
    ``nuclei`` at -1 (the import: detection counts them on the stored small copy)."""
    s = resolve(CorruptSettings, settings)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    p = max(1, int(s.pool))
    H, W = frame.shape[:2]
    hs, ws = max(1, H // p), max(1, W // p)
    red_map, green_map, excess = _pooled(frame, p, hs, ws, half, small if half is not None else None)
    # brightness: a high percentile of the pooled green, from its histogram
    hist = cv2.calcHist([green_map], [0], None, [256], [0, 256]).ravel()
    k = green_map.size * (1.0 - s.bright_percentile / 100.0)
    above = np.cumsum(hist[::-1])
    bright = float(255 - int(np.searchsorted(above, max(k, 0.5))))
    # a frame that could be called black (darker than black_rel of a full-scale neighbour) gets its
    # nuclei counted (LoG blobs, ~1 ms): a frame holding a nucleus is never black
    dark = count_dark_nuclei and bright < s.black_rel * 255
    nuclei = count_nuclei(green_map, min_snr=s.black_nucleus_snr, min_level=s.black_nucleus_level) if dark else -1

    excess_map = cv2.subtract(red_map, green_map)      # pooled red excess (blotches are wide)
    _, mx, _, _ = cv2.minMaxLoc(excess)
    # bands touch an edge and lines cross the frame (over the dark background at its border): a
    # frame whose red does not reach the border holds neither, and its components are not looked at
    if mx >= s.red_threshold and border_max(excess) >= s.red_low:
        # hysteresis: regions above red_low that hold at least one pixel above red_threshold
        low = (excess >= s.red_low).astype(np.uint8)
        n, lab = cv2.connectedComponents(low, connectivity=8)
        keep = np.zeros(n, dtype=bool)
        keep[lab[excess >= s.red_threshold]] = True
        keep[0] = False
        mask = keep[lab].astype(np.uint8)
        kinds = _components(mask, s)
    else:
        kinds = dict(EMPTY_KINDS)
    red_kind, red_score, red_reason = best_kind(kinds)

    t = max(1, int(s.thumb_pool))
    th = area_pool(cv2.merge((green_map, red_map)), t).astype(np.float32)
    if th.ndim == 2:
        th = th[:, :, None]
    return FrameFeatures(bright=bright, red_score=red_score, red_kind=red_kind, red_reason=red_reason,
                         thumb=th, kind_scores=kinds, red_map=red_map, green_map=green_map,
                         excess_map=excess_map, line_map=excess, nuclei=int(nuclei))


def best_kind(kinds: dict) -> tuple[str, float, str]:
    """(kind, score, reason) of the best candidate; a band wins over a line it also looks like (a
    line along an edge is a band)."""
    order = sorted(kinds, key=lambda k: (kinds[k][0] >= 1.0 and k == "band", kinds[k][0]), reverse=True)
    kind = order[0] if kinds[order[0]][0] > 0 else ""
    if not kind:
        return "", 0.0, ""
    return kind, float(kinds[kind][0]), kinds[kind][1]
