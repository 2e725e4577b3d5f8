"""Corrupt-frame injections: black frames, red bands, thin red lines, red blotches.

:func:`schedule_corruption` decides which frames are corrupt and with what parameters (all drawn from
the embryo's Generator, so they are stored, not re-drawn at render time); :func:`draw_artifact` adds
one red artifact to a float32 BGR frame (before noise clipping and compression).
"""

from __future__ import annotations

import cv2
import numpy as np

NONE, BLACK_ZERO, BLACK_FLOOR, BAND, LINE, BLOTCH = range(6)
KIND_NAMES = {NONE: "none", BLACK_ZERO: "black", BLACK_FLOOR: "black", BAND: "red_band", LINE: "red_line",
              BLOTCH: "red_blotch"}


def schedule_corruption(rng: np.random.Generator, n_frames: int, rate: float, forbidden: np.ndarray,
                        frame_hw: tuple[int, int], nucleus_px: float) -> tuple[np.ndarray, list]:
    """Pick corrupt frames (runs of 1-3) for a fraction ``rate`` of the video.

    Returns ``kinds`` (int8, one of the constants above per frame) and ``params`` (a dict or None per
    frame).  Frames in ``forbidden`` stay untouched and corrupt runs never touch each other.
    """
    kinds = np.zeros(n_frames, dtype=np.int8)
    params: list = [None] * n_frames
    n_target = int(round(rate * n_frames))
    if n_target <= 0:
        return kinds, params
    weights = rng.dirichlet(np.full(4, 1.5))  # black, band, line, blotch
    blocked = np.asarray(forbidden, dtype=bool).copy()
    done = 0
    tries = 0
    while done < n_target and tries < 50 * n_target:
        tries += 1
        run = int(rng.choice([1, 1, 1, 1, 2, 2, 3]))
        start = int(rng.integers(0, max(1, n_frames - run + 1)))
        lo, hi = max(0, start - 1), min(n_frames, start + run + 1)
        if start + run > n_frames or blocked[lo:hi].any():
            continue
        group = int(rng.choice(4, p=weights))
        if group == 0:
            kind = BLACK_ZERO if rng.random() < 0.4 else BLACK_FLOOR
        else:
            kind = (BAND, LINE, BLOTCH)[group - 1]
        base = _draw_params(rng, kind, frame_hw, nucleus_px)
        for f in range(start, start + run):
            kinds[f] = kind
            params[f] = _jiggle(rng, base, kind) if f > start else base
        blocked[start:start + run] = True
        done += run
    return kinds, params


def _draw_params(rng: np.random.Generator, kind: int, frame_hw: tuple[int, int], nucleus_px: float) -> dict:
    h, w = frame_hw
    s = min(h / 512.0, w / 752.0)
    if kind in (BLACK_ZERO, BLACK_FLOOR):
        return {}
    if kind == BAND:
        edge = int(rng.integers(0, 4))  # 0 top, 1 bottom, 2 left, 3 right
        length = (w if edge < 2 else h)
        cover0 = 0.0 if rng.random() < 0.6 else rng.uniform(0.0, 0.5)
        cover1 = 1.0 if rng.random() < 0.6 else rng.uniform(cover0 + 0.3, 1.0)
        return {"edge": edge, "width": max(2.0, rng.uniform(2.0, 70.0) * s), "soft": max(0.5, rng.uniform(0.5, 15.0) * s),
                "amp": float(rng.choice([rng.uniform(45, 110), rng.uniform(110, 255)])),
                "green": rng.uniform(0.0, 0.15), "span": (int(cover0 * length), int(np.ceil(cover1 * length))),
                "wave": rng.uniform(0.0, 0.35), "wave_len": rng.uniform(30, 300) * s}
    if kind == LINE:
        n = 1 if rng.random() < 0.75 else 2
        lines = []
        for _ in range(n):
            ang = rng.uniform(0, np.pi)
            px, py = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
            amp = rng.uniform(30, 70) if rng.random() < 0.35 else rng.uniform(70, 255)
            lines.append({"angle": ang, "point": (px, py), "thick": int(rng.integers(1, 4)), "amp": amp,
                          "aa": bool(rng.random() < 0.5)})
        return {"lines": lines, "green": rng.uniform(0.0, 0.1)}
    # blotch
    size = max(3.0, nucleus_px * rng.uniform(2.0, 2.0 + 6.0 * rng.random() ** 2))
    size = min(size, 0.6 * min(h, w))
    return {"center": (rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h), "size": size,
            "amp": rng.uniform(70, 255), "green": rng.uniform(0.0, 0.2),
            "n_lobes": int(rng.integers(3, 9)), "seed": int(rng.integers(0, 2**31))}


def _jiggle(rng: np.random.Generator, base: dict, kind: int) -> dict:
    """Parameters of the next frame of a corrupt run: the same artifact, slightly changed."""
    p = dict(base)
    if "amp" in p:
        p["amp"] = float(np.clip(p["amp"] * rng.uniform(0.8, 1.2), 25, 255))
    if kind == LINE:
        p["lines"] = [dict(ln, point=(ln["point"][0] + rng.normal(0, 3), ln["point"][1] + rng.normal(0, 3)),
                           amp=float(np.clip(ln["amp"] * rng.uniform(0.8, 1.2), 25, 255)))
                      for ln in base["lines"]]
    if kind == BLOTCH:
        p["seed"] = base["seed"] + 1
        p["center"] = (base["center"][0] + rng.normal(0, 4), base["center"][1] + rng.normal(0, 4))
    return p


def draw_artifact(img: np.ndarray, kind: int, p: dict) -> None:
    """Add a red artifact in place to ``img`` (float32 BGR, (H, W, 3))."""
    h, w = img.shape[:2]
    if kind == BAND:
        _band(img, p, h, w)
    elif kind == LINE:
        layer = np.zeros((h, w), dtype=np.float32)
        for ln in p["lines"]:
            dx, dy = np.cos(ln["angle"]), np.sin(ln["angle"])
            L = 2.0 * (h + w)
            x0, y0 = ln["point"]
            a = (int(round(x0 - L * dx)), int(round(y0 - L * dy)))
            b = (int(round(x0 + L * dx)), int(round(y0 + L * dy)))
            cv2.line(layer, a, b, float(ln["amp"]), int(ln["thick"]), cv2.LINE_AA if ln["aa"] else cv2.LINE_8)
        img[..., 2] += layer
        if p["green"] > 0:
            img[..., 1] += p["green"] * layer
    elif kind == BLOTCH:
        _blotch(img, p, h, w)


def _band(img: np.ndarray, p: dict, h: int, w: int) -> None:
    edge = p["edge"]
    depth_len = h if edge < 2 else w
    along_len = w if edge < 2 else h
    d = np.arange(depth_len, dtype=np.float32)
    prof = np.where(d < p["width"], 1.0, np.exp(-(d - p["width"]) / p["soft"])).astype(np.float32)
    keep = int(min(depth_len, p["width"] + 6 * p["soft"] + 2))
    prof = prof[:keep]
    if edge in (1, 3):
        prof = prof[::-1]
    a = np.arange(along_len, dtype=np.float32)
    mod = 1.0 + p["wave"] * np.sin(2 * np.pi * a / p["wave_len"])
    s0, s1 = p["span"]
    mod[:s0] = 0.0
    mod[s1:] = 0.0
    patch = p["amp"] * np.outer(prof, mod).astype(np.float32)  # (depth, along)
    if edge >= 2:
        patch = patch.T  # (along=h, depth)
    if edge == 0:
        sl = (slice(0, keep), slice(None))
    elif edge == 1:
        sl = (slice(h - keep, h), slice(None))
    elif edge == 2:
        sl = (slice(None), slice(0, keep))
    else:
        sl = (slice(None), slice(w - keep, w))
    img[sl + (2,)] += patch
    if p["green"] > 0:
        img[sl + (1,)] += p["green"] * patch


def _blotch(img: np.ndarray, p: dict, h: int, w: int) -> None:
    rng = np.random.default_rng(p["seed"])
    size = p["size"]
    half = int(np.ceil(size * 0.7)) + 4
    n = 2 * half + 1
    # irregular outline: a smooth random field under a radial envelope, softly thresholded
    lobes = max(3, p["n_lobes"])
    field = cv2.resize(rng.random((lobes, lobes)).astype(np.float32), (n, n), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    squash = rng.uniform(0.6, 1.0)
    rr = np.sqrt((xx * squash) ** 2 + (yy / squash) ** 2) / (0.5 * size)
    field = 0.6 * field + 0.4 * np.exp(-2.0 * rr * rr)  # always a body, with irregular lobes around it
    shape = field * np.clip(1.2 - rr * rr, 0.0, None)
    shape = np.clip((shape - 0.25) / 0.12, 0.0, 1.0)
    mott = cv2.resize(rng.uniform(0.55, 1.0, (7, 7)).astype(np.float32), (n, n), interpolation=cv2.INTER_CUBIC)
    k = max(3, int(size * 0.06) | 1)
    crop = cv2.GaussianBlur(shape * mott, (k, k), 0) * p["amp"]
    cx, cy = int(p["center"][0]), int(p["center"][1])
    y0, x0 = cy - half, cx - half
    y1, x1 = y0 + crop.shape[0], x0 + crop.shape[1]
    cy0, cx0 = max(0, -y0), max(0, -x0)
    cy1, cx1 = crop.shape[0] - max(0, y1 - h), crop.shape[1] - max(0, x1 - w)
    if cy1 <= cy0 or cx1 <= cx0:
        return
    sub = crop[cy0:cy1, cx0:cx1]
    img[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w), 2] += sub
    if p["green"] > 0:
        img[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w), 1] += p["green"] * sub
