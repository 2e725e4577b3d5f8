"""Rendering of one EPIC-like frame from a simulated embryo.

Nuclei and the eggshell are drawn at half resolution (sprites stamped on small crops), upsampled once,
then sensor floor, camera noise (precomputed noise bank, random offset per frame), red speckle, hot
pixels and injected artifacts are added at full resolution.  The frame is returned uncompressed; the
codec round trip (mp4v like the real movies, see :mod:`.codec`) is applied by :class:`DemoEmbryo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from . import artifacts as art
from .lineage_tree import Lineage
from .positions import PositionTrack, nucleus_diameter
from .sprites import splat, sprite_keys

_PAD = 32


@dataclass
class Scene:
    """Everything needed to render any frame of one demo embryo (all randomness already drawn)."""

    height: int
    width: int
    seed_key: tuple[int, ...]
    lineage: Lineage
    track_factory: Callable[[], PositionTrack]
    times: np.ndarray          # (T,) timepoint of each frame
    center: tuple[float, float]
    axes: tuple[float, float, float]
    orientation: float         # radians
    size_scale: float
    gfp: float                 # green peak level of an in-focus nucleus before bleaching
    bleach: np.ndarray         # (T,) intensity factor
    floor: tuple[float, float, float]   # B, G, R sensor floor
    noise_sigma: tuple[float, float, float]
    shot: float                # signal-dependent noise factor
    speckle_amp: float
    hot_pixels: np.ndarray     # (k, 4) int: y, x, channel (-1 = all), value
    jpeg_quality: int          # used only by the codec="jpeg" option
    focal_plane: np.ndarray    # (T,) z of the focal plane (px from the embryo's mid-plane), drifting slowly
    twitch_angle: np.ndarray   # (T,) radians added to orientation
    twitch_shift: np.ndarray   # (T, 2) px (dx, dy)
    reporter_cells: np.ndarray   # (n_cells,) float32 expression level (0 = none)
    reporter_green: np.ndarray   # (n_cells,) float32 green factor of reporter cells
    reporter_start: float
    reporter_ramp: float
    reporter_amp: float
    corrupt_kind: np.ndarray   # (T,) int8, artifacts.* constants
    corrupt_params: list
    dead: np.ndarray           # (T,) bool
    frame_source: np.ndarray = None  # (T,) int: the frame whose embryo frame f shows (a poster frame: another)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def track(self) -> PositionTrack:
        """Nucleus positions (simulated on first use)."""
        if "track" not in self._cache:
            self._cache["track"] = self.track_factory()
        return self._cache["track"]

    # ---------------------------------------------------------------- precomputed layers
    def _prepare(self) -> None:
        if "noise" in self._cache:
            return
        rng = np.random.default_rng(list(self.seed_key) + [101])
        h, w = self.height, self.width
        sig = np.asarray(self.noise_sigma, dtype=np.float32)
        sp = np.zeros((h + _PAD, w + _PAD), dtype=np.float32)
        n_dots = int(0.004 * sp.size)
        ys = rng.integers(0, sp.shape[0], n_dots)
        xs = rng.integers(0, sp.shape[1], n_dots)
        sp[ys, xs] = rng.uniform(0.3, 1.0, n_dots).astype(np.float32) * self.speckle_amp
        self._cache["speckle"] = sp
        floor = np.asarray(self.floor, dtype=np.float32)
        bank = []
        for _ in range(2):
            nz = rng.standard_normal((h + _PAD, w + _PAD, 3), dtype=np.float32) * sig + floor
            nz[..., 2] += sp[rng.permutation(sp.shape[0])]  # red speckle, decorrelated from the plane above
            bank.append(nz)
        self._cache["noise"] = bank
        hh, hw = (h + 1) // 2, (w + 1) // 2
        self._cache["half"] = (hh, hw)
        self._cache["half_noise"] = rng.standard_normal((2, hh + _PAD, hw + _PAD), dtype=np.float32)
        body = np.zeros((hh, hw), dtype=np.float32)
        ring = np.zeros((hh, hw), dtype=np.float32)
        cx, cy = hw / 2.0, hh / 2.0  # drawn centred; placed by the per-frame warp
        ax = (max(1, int(self.axes[0] / 2 + 3)), max(1, int(self.axes[1] / 2 + 3)))
        cv2.ellipse(body, (int(cx), int(cy)), ax, 0, 0, 360, 1.0, -1)
        cv2.ellipse(ring, (int(cx), int(cy)), ax, 0, 0, 360, 1.0, max(1, int(2 * self.size_scale)))
        k = max(3, int(6 * self.size_scale) | 1)
        body = cv2.GaussianBlur(body, (k, k), 0)
        ring = cv2.GaussianBlur(ring, (k, k), 0)
        yolk = cv2.resize(rng.uniform(0.5, 1.0, (8, 12)).astype(np.float32), (hw, hh), interpolation=cv2.INTER_CUBIC)
        self._cache["body_g"] = (2.5 * body * yolk + 9.0 * ring).astype(np.float32)
        self._cache["body_r"] = (2.0 * body * yolk + 3.0 * ring).astype(np.float32)

    # ---------------------------------------------------------------- one frame
    def render(self, f: int) -> np.ndarray:
        """uint8 RGB frame ``f`` before any codec."""
        self._prepare()
        rng = np.random.default_rng(list(self.seed_key) + [f, 202])
        h, w = self.height, self.width
        kind = int(self.corrupt_kind[f])
        if kind == art.BLACK_ZERO:
            return np.zeros((h, w, 3), dtype=np.uint8)
        noise = self._cache["noise"][int(rng.integers(0, 2))]
        oy, ox = int(rng.integers(0, _PAD)), int(rng.integers(0, _PAD))
        nz = noise[oy:oy + h, ox:ox + w]   # sensor floor + read noise (+ red speckle in the red plane)
        if self.dead[f]:
            img = np.zeros((h, w, 3), dtype=np.float32)
            img[..., 2] = self._speckle(rng) + 0.3 * (nz[..., 2] - self.floor[2])
        elif kind == art.BLACK_FLOOR:
            img = nz - np.asarray(self.floor, dtype=np.float32) * 0.4
        else:
            g_half, r_half = self._signal_half(f if self.frame_source is None else int(self.frame_source[f]))
            # shot noise at half resolution (it is spatially correlated after the codec anyway)
            hn = self._cache["half_noise"]
            hh, hw = g_half.shape
            qy, qx = int(rng.integers(0, _PAD)), int(rng.integers(0, _PAD))
            g_half += self.shot * np.sqrt(g_half) * hn[0, qy:qy + hh, qx:qx + hw]
            r_half += self.shot * np.sqrt(r_half) * hn[1, qy:qy + hh, qx:qx + hw]
            half = cv2.merge([0.04 * g_half, g_half, r_half])
            img = cv2.add(cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR), nz)
            if kind in (art.BAND, art.LINE, art.BLOTCH):
                art.draw_artifact(img, kind, self.corrupt_params[f])
        out = cv2.convertScaleAbs(cv2.max(img, 0.0))  # saturating float -> uint8
        if kind != art.BLACK_ZERO and not self.dead[f] and len(self.hot_pixels):
            hp = self.hot_pixels
            on = rng.random(len(hp)) < 0.9
            for y, x, ch, v in hp[on]:
                if ch < 0:
                    out[y, x, :] = v
                else:
                    out[y, x, 2 - ch] = v  # ch is an RGB index; out is BGR
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)

    def _speckle(self, rng: np.random.Generator) -> np.ndarray:
        sp = self._cache["speckle"]
        oy, ox = int(rng.integers(0, _PAD)), int(rng.integers(0, _PAD))
        return sp[oy:oy + self.height, ox:ox + self.width]

    def _signal_half(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """Green and red signal at half resolution (float32)."""
        hh, hw = self._cache["half"]
        t = float(self.times[f])
        ang = self.orientation + float(self.twitch_angle[f])
        dx, dy = (float(v) for v in self.twitch_shift[f])
        cx, cy = self.center[0] + dx, self.center[1] + dy
        g, r = self._body(ang, cx, cy)
        bl = float(self.bleach[f])
        g *= 0.5 + 0.5 * bl
        lin = self.lineage
        ids = lin.alive(t)
        if ids.size == 0:
            return g, r
        pos = self.track.at(t, ids)
        ca, sa = np.cos(ang), np.sin(ang)
        x = (cx + pos[:, 0] * ca - pos[:, 1] * sa) / 2.0
        y = (cy + pos[:, 0] * sa + pos[:, 1] * ca) / 2.0
        zn = np.abs(pos[:, 2] - float(self.focal_plane[f])) / self.axes[2]
        focus = 0.07 + 0.93 * np.exp(-(zn / 0.35) ** 2)
        blur = np.clip((zn - 0.15) / 0.7, 0.0, 1.0)
        radius = 0.5 * float(nucleus_diameter(ids.size, self.size_scale)) / 2.0 * np.ones(ids.size)
        amp = self.gfp * bl * lin.brightness[ids] * focus
        # condensed chromatin just before a division, shrunken bright nuclei before death
        to_end = lin.end[ids] - t
        mitotic = (to_end < 0.8) & ~lin.dies[ids]
        dying = (to_end < 3.0) & lin.dies[ids]
        radius = np.where(mitotic, radius * 0.62, np.where(dying, radius * 0.7, radius))
        amp = np.where(mitotic, amp * 1.35, np.where(dying, amp * 1.25, amp))
        # reporter (red) expression
        level = self.reporter_cells[ids] * float(np.clip((t - self.reporter_start) / self.reporter_ramp, 0.0, 1.0))
        red = self.reporter_amp * (0.6 + 0.4 * bl) * level * focus
        amp = np.where(level > 0, amp * (1.0 - level * (1.0 - self.reporter_green[ids])), amp)
        keys = sprite_keys(radius * (1.0 + 0.35 * blur), blur, ids)
        splat([g, r], keys, y, x, [amp, red])
        return g, r

    def _body(self, ang: float, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
        """Eggshell outline and autofluorescence (green, red) placed at the embryo's pose (fresh copies)."""
        key = (round(ang, 6), round(cx, 3), round(cy, 3))
        cached = self._cache.get("body_pose")
        if cached is None or cached[0] != key:
            hh, hw = self._cache["half"]
            m = cv2.getRotationMatrix2D((hw / 2.0, hh / 2.0), -np.degrees(ang), 1.0)
            m[0, 2] += cx / 2.0 - hw / 2.0
            m[1, 2] += cy / 2.0 - hh / 2.0
            g = cv2.warpAffine(self._cache["body_g"], m, (hw, hh), flags=cv2.INTER_LINEAR)
            r = cv2.warpAffine(self._cache["body_r"], m, (hw, hh), flags=cv2.INTER_LINEAR)
            cached = (key, g, r)
            self._cache["body_pose"] = cached
        return cached[1].copy(), cached[2].copy()
