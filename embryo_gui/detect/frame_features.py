"""Per-frame features for corrupt-frame detection, computed once per frame in one streaming pass.

All work happens on pooled data: the frame is area-downsampled by ``pool`` for brightness and the
thumbnail, and the red-excess map ``max(R - G, 0)`` is *max*-pooled by ``pool`` so that a 1-2 px
line survives.  Red regions are described with ``cv2.connectedComponentsWithStats`` and second
moments; artifacts are told from reporter nuclei by shape and size (see docs/DETECTION.md):

* ``line``: long (``line_min_len`` of the frame's short side) and thin (elongation >= ``line_min_elong``)
* ``band``: touches an edge and runs along it for ``band_min_len`` of that edge, elongated
* ``blotch``: a solid, saturated region larger than any nucleus (``blotch_min_area`` of the frame)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EDGES = ("top", "bottom", "left", "right")


@dataclass
class FrameFeatures:
    bright: float          # high percentile of the (area-pooled) green channel
    red_score: float       # >= 1: a red artifact; max over the frame's red regions
    red_kind: str          # "band" | "line" | "blotch" | "" (best candidate)
    red_reason: str        # short human description of the best candidate ('' if none)
    thumb: np.ndarray      # float32 (h, w, 2) tiny green/red thumbnail for the outlier score
    kind_scores: dict = None    # {"band"|"line"|"blotch": (score, reason)} best region of each kind


def _pool_max(img: np.ndarray, p: int) -> np.ndarray:
    h, w = img.shape[:2]
    h2, w2 = h // p, w // p
    if p == 1:
        return img
    d = cv2.dilate(img, np.ones((p, p), np.uint8), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return d[: h2 * p: p, : w2 * p: p]


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
    best = (0.0, 0.0, 0.0, 0.0)
    for i, (li, wi, ti, xi, yi) in enumerate(frags):
        nx, ny = -np.sin(np.radians(ti)), np.cos(np.radians(ti))     # normal of fragment i
        tot, wsum = 0.0, 0.0
        for lj, wj, tj, xj, yj in frags:
            dth = abs((tj - ti + 90.0) % 180.0 - 90.0)
            off = abs((xj - xi) * nx + (yj - yi) * ny)
            if dth <= s.line_angle_tol and off <= max(2.0, wi):
                tot += lj
                wsum += lj * wj
        score = tot / (s.line_min_len * short)
        if score > best[3]:
            best = (tot, wsum / max(tot, 1e-9), ti, score)
    return best


def _components(mask: np.ndarray, mean_excess: np.ndarray, max_excess: np.ndarray, s) -> dict:
    """Best artifact candidate of each kind among the red regions of a pooled mask:
    {kind: (score, reason)}."""
    kinds = {"band": (0.0, ""), "line": (0.0, ""), "blotch": (0.0, "")}
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return kinds
    H, W = mask.shape
    p = s.pool
    short = min(H, W)
    min_area = max(2, int(s.min_region_px / (p * p)))
    big = s.blotch_min_area * H * W
    frags = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < 2 or (max(w, h) < s.line_min_frag and area < 0.5 * big):
            continue      # small compact region: a nucleus at most
        roi = labels[y:y + h, x:x + w] == i
        length, width, theta, cx, cy = _shape(roi, area, x, y)
        elong = length / width
        if elong >= s.line_min_elong and length >= s.line_min_frag and (width <= s.line_max_width or elong >= s.line_long_elong):
            frags.append((length, width, theta, cx, cy))
        if area < min_area:
            continue
        touches = [y == 0, y + h >= H, x == 0, x + w >= W]
        band, edge = 0.0, ""
        for k, t in enumerate(touches):
            edge_angle = 0.0 if k < 2 else 90.0
            if t and abs((theta - edge_angle + 90.0) % 180.0 - 90.0) <= s.band_angle_tol:
                along = w / W if k < 2 else h / H
                sc = min(along / s.band_min_len, elong / s.band_min_elong)
                if sc > band:
                    band, edge = sc, EDGES[k]
        blotch = 0.0
        if area >= 0.5 * big:
            # flat, saturated top (paint) rather than the many Gaussian peaks of touching nuclei
            core = roi & (max_excess[y:y + h, x:x + w] >= s.red_threshold)
            vals = mean_excess[y:y + h, x:x + w][core if core.any() else roi].astype(np.float32)
            top = float(np.percentile(vals, 95))
            flat = float(np.mean(vals >= 0.7 * top)) if top >= s.red_strong else 0.0
            fill = area / float(w * h)
            blotch = min(area / big, flat / s.blotch_min_flat, fill / s.blotch_min_fill)
        if band > kinds["band"][0]:
            kinds["band"] = (band, f"red band along the {edge} edge, {width * p:.0f} px")
        if blotch > kinds["blotch"][0] and band < 1.0:
            kinds["blotch"] = (blotch, f"red blotch of {area * p * p} px")
    if frags:
        tot, width, theta, score = _line_groups(frags, short, s)
        span = "across the frame" if tot >= 0.8 * short else f"{tot * p:.0f} px long"
        angle = (-theta) % 180.0                       # y points down: report the maths angle
        kinds["line"] = (score, f"red line {span}, {width * p:.0f} px, {angle:.0f} deg")
    return kinds


def frame_features(frame: np.ndarray, settings=None) -> FrameFeatures:
    """Features of one uint8 RGB frame (H, W, 3)."""
    from .corrupt import CorruptSettings      # local import: corrupt imports this module
    from ._settings import resolve
    s = resolve(CorruptSettings, settings)
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    p = max(1, int(s.pool))
    H, W = frame.shape[:2]
    small = cv2.resize(frame, (max(1, W // p), max(1, H // p)), interpolation=cv2.INTER_AREA)
    green = small[:, :, 1]
    k = max(1, int(round(green.size * (1.0 - s.bright_percentile / 100.0))))
    bright = float(np.partition(green.ravel(), green.size - k)[green.size - k])

    r = np.ascontiguousarray(frame[:, :, 0])
    g = np.ascontiguousarray(frame[:, :, 1])
    full = cv2.subtract(r, g)
    excess = _pool_max(full, p)
    strong = excess >= s.red_threshold
    if strong.any():
        # hysteresis: regions above red_low that hold at least one pixel above red_threshold
        low = (excess >= s.red_low).astype(np.uint8)
        n, lab = cv2.connectedComponents(low, connectivity=8)
        keep = np.zeros(n, dtype=bool)
        keep[np.unique(lab[strong])] = True
        keep[0] = False
        mask = keep[lab].astype(np.uint8)
        mean_excess = cv2.resize(full, (excess.shape[1], excess.shape[0]), interpolation=cv2.INTER_AREA)
        kinds = _components(mask, mean_excess, excess, s)
    else:
        kinds = {"band": (0.0, ""), "line": (0.0, ""), "blotch": (0.0, "")}
    # a band wins over a line it also looks like (a line along an edge is a band)
    order = sorted(kinds, key=lambda k: (kinds[k][0] >= 1.0 and k == "band", kinds[k][0]), reverse=True)
    red_kind = order[0] if kinds[order[0]][0] > 0 else ""
    red_score, red_reason = kinds[red_kind] if red_kind else (0.0, "")

    t = s.thumb_pool
    th = cv2.resize(small[:, :, :2], (max(1, small.shape[1] // t), max(1, small.shape[0] // t)),
                    interpolation=cv2.INTER_AREA).astype(np.float32)
    return FrameFeatures(bright=bright, red_score=red_score, red_kind=red_kind,
                         red_reason=red_reason, thumb=th, kind_scores=kinds)
