"""Small precomputed nucleus sprites and a clipped additive stamp.

A sprite is a soft disc (logistic edge) with a little chromatin texture; out-of-focus sprites have a
wider, softer edge.  Sprites are cached by (radius bin, blur bin, variant) and built deterministically,
so every embryo shares them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RADIUS_STEP = 0.5
N_BLUR = 4
N_VARIANTS = 3


@lru_cache(maxsize=4096)
def sprite(radius_bin: int, blur_bin: int, variant: int) -> np.ndarray:
    """float32 sprite with peak ~1 for a nucleus of radius ``radius_bin * RADIUS_STEP`` px."""
    radius = max(radius_bin * RADIUS_STEP, 0.75)
    blur = blur_bin / (N_BLUR - 1)  # 0 (in focus) .. 1 (far out of focus)
    edge = 0.12 * radius + 0.35 + blur * 0.45 * radius
    half = int(np.ceil(radius + 2.5 * edge)) + 1
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    rng = np.random.default_rng([radius_bin, blur_bin, variant, 913])
    # slightly elliptic, randomly oriented
    ang = rng.uniform(0, np.pi)
    ecc = rng.uniform(0.85, 1.15)
    xr = x * np.cos(ang) + y * np.sin(ang)
    yr = -x * np.sin(ang) + y * np.cos(ang)
    r = np.sqrt((xr * ecc) ** 2 + (yr / ecc) ** 2)
    disc = 1.0 / (1.0 + np.exp((r - radius) / edge))
    if radius >= 2.0 and blur < 0.7:
        tex = rng.normal(0.0, 1.0, size=disc.shape).astype(np.float32)
        # cheap smoothing of the texture: average with shifted copies
        tex = (tex + np.roll(tex, 1, 0) + np.roll(tex, 1, 1) + np.roll(tex, (1, 1), (0, 1))) * 0.25
        disc = disc * (1.0 + (0.15 * (1.0 - blur)) * tex)
    peak = 1.0 - 0.45 * blur
    return np.clip(disc * peak, 0.0, None).astype(np.float32)


def splat(canvases: list[np.ndarray], keys: np.ndarray, ys: np.ndarray, xs: np.ndarray,
          amps: list[np.ndarray]) -> None:
    """Stamp many sprites: nucleus ``i`` adds ``amps[k][i] * sprite(keys[i])`` centred at (ys[i], xs[i])
    into ``canvases[k]`` (2-D float32, same shape), clipped at the borders.  Work is on small crops."""
    h, w = canvases[0].shape
    keys = np.asarray(keys)
    if len(keys) == 0:
        return
    if _sprite_area(int(keys[:, 0].max()), int(keys[:, 1].max())) * len(keys) < 60_000:
        _splat_small(canvases, keys, ys, xs, amps)
        return
    keys_l = keys.tolist()
    yl = np.rint(ys).astype(np.int64).tolist()
    xl = np.rint(xs).astype(np.int64).tolist()
    amp_l = [np.asarray(a, dtype=np.float64).tolist() for a in amps]
    for i, (rb, bb, var) in enumerate(keys_l):
        spr = sprite(rb, bb, var)
        sh, sw = spr.shape
        y0 = yl[i] - (sh >> 1)
        x0 = xl[i] - (sw >> 1)
        y1, x1 = y0 + sh, x0 + sw
        if y1 <= 0 or x1 <= 0 or y0 >= h or x0 >= w:
            continue
        if y0 < 0 or x0 < 0 or y1 > h or x1 > w:
            spr = spr[max(0, -y0):sh - max(0, y1 - h), max(0, -x0):sw - max(0, x1 - w)]
            y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
        for canvas, al in zip(canvases, amp_l):
            a = al[i]
            if a > 0.5:
                canvas[y0:y1, x0:x1] += a * spr


def _sprite_area(radius_bin: int, blur_bin: int) -> int:
    return sprite(radius_bin, blur_bin, 0).size


def _splat_small(canvases: list[np.ndarray], keys: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                 amps: list[np.ndarray]) -> None:
    """Vectorised :func:`splat` for small sprites (tiny frames): one bincount per canvas."""
    h, w = canvases[0].shape
    code = (keys[:, 0] * N_BLUR + keys[:, 1]) * N_VARIANTS + keys[:, 2]
    uniq, inverse = np.unique(code, return_inverse=True)
    yi = np.rint(ys).astype(np.int64)
    xi = np.rint(xs).astype(np.int64)
    idx_parts, wt_parts = [], [[] for _ in amps]
    for g, c in enumerate(uniq.tolist()):
        members = np.flatnonzero(inverse.reshape(-1) == g)
        var = c % N_VARIANTS
        bb = (c // N_VARIANTS) % N_BLUR
        rb = c // (N_VARIANTS * N_BLUR)
        spr = sprite(rb, bb, var)
        sh, sw = spr.shape
        py = (yi[members] - sh // 2)[:, None] + np.repeat(np.arange(sh), sw)[None, :]
        px = (xi[members] - sw // 2)[:, None] + np.tile(np.arange(sw), sh)[None, :]
        ok = (py >= 0) & (py < h) & (px >= 0) & (px < w)
        idx_parts.append((py * w + px)[ok])
        for k, a in enumerate(amps):
            wt_parts[k].append((np.asarray(a, dtype=np.float64)[members, None] * spr.reshape(1, -1))[ok])
    idx = np.concatenate(idx_parts)
    for canvas, parts in zip(canvases, wt_parts):
        wts = np.concatenate(parts)
        if wts.size and wts.max() > 0:
            canvas += np.bincount(idx, weights=wts, minlength=h * w).reshape(h, w).astype(np.float32)


def sprite_keys(radius: np.ndarray, blur: np.ndarray, variant: np.ndarray) -> np.ndarray:
    """(n, 3) int keys for :func:`splat` from radii (px), blur (0..1) and variant numbers."""
    rb = np.rint(np.asarray(radius) / RADIUS_STEP).astype(np.int64)
    bb = np.rint(np.clip(blur, 0.0, 1.0) * (N_BLUR - 1)).astype(np.int64)
    return np.stack([rb, bb, np.asarray(variant, dtype=np.int64) % N_VARIANTS], axis=1)
