"""Corrupt-frame detection: black frames, red artifacts, generic outliers.

One streaming pass computes :func:`frame_features` for every frame (frames are never all held in
RAM); the decisions then use the per-frame features with their temporal context.  See
docs/DETECTION.md for the rules and measured figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

import cv2
import numpy as np

from ..errors import EmbryoError
from ..policy import CORRUPT_KINDS, DETECTOR_FEATURES_VERSION
from ..progress import CancelToken, ordered_map
from ._settings import resolve
from .corrupt_settings import LEGACY_KEYS, CorruptSettings  # noqa: F401  (re-exported)
from .frame_features import FrameFeatures, frame_features
from .novelty import BlotchPass, blotch_pass, prepare
from .order import out_of_order

KINDS = CORRUPT_KINDS
@dataclass
class CorruptResult:
    scores: dict[str, np.ndarray]      # float32 (T,) per kind; >= 1 (black, red) / >= outlier_z: flagged
    verdicts: dict[str, np.ndarray]    # bool (T,) per kind
    reasons: list[str]                 # per frame: '' or a short human reason
    settings: dict
    seconds: float = 0.0               # wall time of the detection (pass + decisions)
    red_kinds: list[str] = field(default_factory=list)   # per frame: band/line/blotch/'' (best red region)

    @property
    def n_frames(self) -> int:
        return len(self.reasons)

    def any(self) -> np.ndarray:
        return np.logical_or.reduce([self.verdicts[k] for k in KINDS])


def _windows(x: np.ndarray, half: int) -> np.ndarray:
    """(T, 2 * half) windows of x around each t, without t itself; NaN beyond the ends."""
    pad = np.full(x.size + 2 * half, np.nan)
    pad[half:half + x.size] = x
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    return np.delete(win, half, axis=1)


def _neighbour_median(x: np.ndarray, half: int, exclude: np.ndarray) -> np.ndarray:
    """Median of x over [t-half, t+half] without t itself and without excluded frames."""
    win = _windows(np.where(exclude, np.nan, x.astype(np.float64)), half)
    out = np.full(x.size, np.nan)
    ok = np.isfinite(win).any(axis=1)
    if ok.any():
        out[ok] = np.nanmedian(win[ok], axis=1)
    return out


def _local_z(d: np.ndarray, half: int) -> np.ndarray:
    """Robust z of d against the frames around it (twitching raises every difference nearby)."""
    g = _robust_z(d)
    gmad = 1.4826 * np.median(np.abs(d - np.median(d)))
    win = _windows(d.astype(np.float64), half)
    count = np.isfinite(win).sum(axis=1)
    z = g.astype(np.float64).copy()
    ok = count >= 4
    if ok.any():
        w = win[ok]
        med = np.nanmedian(w, axis=1)
        mad = 1.4826 * np.nanmedian(np.abs(w - med[:, None]), axis=1)
        z[ok] = (d[ok] - med) / np.maximum.reduce([mad, np.full_like(mad, gmad), 0.1 * med,
                                                   np.full_like(mad, 1e-6)])
    return z


def _robust_z(d: np.ndarray) -> np.ndarray:
    med = np.median(d)
    mad = 1.4826 * np.median(np.abs(d - med))
    scale = max(mad, 1e-3 * max(med, 1.0), 1e-6)
    return (d - med) / scale


def decide(feats: list[FrameFeatures], settings: "CorruptSettings | dict | None" = None) -> CorruptResult:
    """Verdicts from per-frame features (temporal context: neighbouring frames)."""
    s = resolve(CorruptSettings, settings)
    T = len(feats)
    bright = np.array([f.bright for f in feats], dtype=np.float64)
    red = np.array([f.red_score for f in feats], dtype=np.float64)

    # black: absolutely dark, or far darker than the neighbours (median, dark ones left out)
    dark = bright < s.black_abs
    ref = _neighbour_median(bright, int(s.black_window), dark)
    ref = np.where(np.isfinite(ref), ref, np.nanmedian(np.where(dark, np.nan, bright))
                   if (~dark).any() else s.black_abs)
    ratio = bright / np.maximum(ref, 1.0)
    black_score = np.maximum(s.black_abs / np.maximum(bright, 1.0), s.black_rel / np.maximum(ratio, 1e-6))
    nuclei = np.array([f.nuclei for f in feats], dtype=np.int64)
    black = (dark | (ratio < s.black_rel)) & (black_score >= 1.0) & ~(nuclei > 0)

    # red: bands and lines are told by shape alone; a blotch must be transient (novelty.py) and
    # larger than a fraction of a nucleus (radius measured on the green channel of this video)
    if any(f.blotch is None and f.red_map is not None for f in feats):
        blotch_pass(feats, s, drop_maps=False)
    radii = np.array([f.blotch.get("radius", np.nan) for f in feats if f.blotch], dtype=np.float64)
    radii = radii[np.isfinite(radii)]
    shorts = [f.blotch["short"] for f in feats if f.blotch]
    # no green sample (a dark video): a nucleus of 3 % of the frame's short side (EPIC: ~35-60 px)
    radius = float(np.median(radii)) if radii.size else 0.03 * (shorts[0] if shorts else 512.0)
    # at least 2 x 2 cells of the temporal maps (pooled 2 * pool): smaller is not resolved there
    cell = 2.0 * max(1, int(s.pool))
    min_area = max(float(s.min_region_px), 4.0 * cell * cell, s.blotch_min_nuclei * np.pi * radius ** 2)
    blot = np.zeros(T)
    for t, f in enumerate(feats):
        b = f.blotch
        if b and b["area"] > 0 and b.get("elong", 1.0) <= s.blotch_max_elong:
            size = b["area"] / min_area
            blot[t] = 0.5 * min(size, 1.0) if b["persistent"] else size
    shape_v = np.array([max(f.kind_scores["band"][0], f.kind_scores["line"][0]) >= 1.0
                        if f.kind_scores else f.red_score >= 1.0 for f in feats], dtype=bool)
    blot_v = blot >= 1.0
    # faint lines: red excess that appeared along a straight line across the frame (novelty.py)
    tline = np.array([f.blotch.get("line", 0.0) if f.blotch else 0.0 for f in feats], dtype=np.float64)
    tline_v = (tline >= 1.0) & ~shape_v
    red_v = (shape_v | blot_v | tline_v) & ~black
    red = np.maximum.reduce([red, blot, tline])

    # outlier: difference to both neighbours, robust z over the video
    if T >= 3:
        # (float32 thumbnails, sums in float64: a 2,000-frame video's thumbnails are 24 MB, not 48,
        # and every step below is one pass over them)
        th = np.stack([f.thumb for f in feats]).reshape(T, -1).astype(np.float32, copy=False)
        # legitimately dim frames (lamp / exposure dips) are not outliers: a thumbnail darker than
        # the video's median level is brought up to it first (at most x3); brighter ones are kept
        level = th.mean(axis=1, dtype=np.float64)
        ref_level = np.median(level[~black]) if (~black).any() else np.median(level)
        th *= np.clip(ref_level / np.maximum(level, 1e-6), 1.0, 3.0).astype(np.float32)[:, None]
        th[black] = np.nan                # a black neighbour says nothing about frame t

        def mean_abs_diff(a, b):
            out = np.subtract(a, b)
            np.abs(out, out=out)
            return out.mean(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            d_prev = np.r_[np.inf, mean_abs_diff(th[1:], th[:-1])]
        d_prev = np.where(np.isnan(d_prev), np.inf, d_prev)
        d_next = np.r_[d_prev[1:], np.inf]
        d = np.minimum(d_prev, d_next)
        # difference between the two neighbours: a moving embryo changes them as much as frame t
        with np.errstate(invalid="ignore"):
            d_skip = np.r_[np.inf, mean_abs_diff(th[2:], th[:-2]), np.inf]
        d_skip = np.where(np.isnan(d_skip), np.inf, d_skip)
        fin = np.isfinite(d)
        z = np.zeros(T)
        if fin.sum() >= 3:
            z[fin] = _local_z(d[fin], int(s.outlier_window))
        need = np.full(T, s.outlier_z)
        need[[0, -1]] *= 1.5          # an end frame has one neighbour only: a twitch there looks alike
        consistent = np.where(np.isfinite(d_skip), d >= s.outlier_skip_ratio * d_skip, True)
        out_v = (z >= need) & (d >= s.outlier_min_diff) & consistent & ~black & ~red_v
    else:
        z = np.zeros(T)
        out_v = np.zeros(T, dtype=bool)

    # out of time order (a poster frame): like a distant frame, unlike its neighbours
    if T >= 3:
        thumbs = np.stack([f.thumb[..., 0] for f in feats])
        order_v, order_s, _, order_r = out_of_order(thumbs, skip=black, ratio=s.order_ratio, jump=s.order_jump)
        order_v &= ~black
    else:
        order_v, order_s, order_r = np.zeros(T, dtype=bool), np.zeros(T), [""] * T
    out_v = out_v & ~order_v
    # a poster frame's red (reporters of another time) is new to its neighbours but explained by
    # where it belongs: no blotch there (bands and lines, told by shape, still count)
    red_v = red_v & ~(order_v & ~shape_v & ~tline_v)

    reasons = []
    for t, f in enumerate(feats):
        parts = []
        if black[t]:
            parts.append("black frame" if dark[t] else f"dark frame ({100 * ratio[t]:.0f}% of neighbours)")
        if red_v[t]:
            if shape_v[t]:
                parts.append(f.red_reason)
            elif tline_v[t]:
                parts.append(f.blotch["line_reason"])
            else:
                b = f.blotch
                parts.append(f"red blotch of {b['area']:.0f} px at ({b['x']:.0f}, {b['y']:.0f}), "
                             f"not in the neighbouring frames")
        if out_v[t]:
            parts.append(f"unlike both neighbours (z={z[t]:.0f})")
        if order_v[t]:
            parts.append(order_r[t])
        reasons.append("; ".join(parts))
    return CorruptResult(
        scores={"black": black_score.astype(np.float32), "red_artifact": red.astype(np.float32),
                "outlier": np.clip(z, -1e6, 1e6).astype(np.float32),
                "out_of_order": np.asarray(order_s, dtype=np.float32)},
        verdicts={"black": black, "red_artifact": red_v, "outlier": out_v, "out_of_order": order_v},
        reasons=reasons, settings=s.to_dict(),
        red_kinds=[(f.red_kind if shape_v[t] else "line" if tline_v[t] else "blotch" if blot_v[t]
                    else f.red_kind)
                   for t, f in enumerate(feats)])


def _frame_work(i: int, frame: np.ndarray, s: CorruptSettings) -> FrameFeatures:
    f = frame_features(frame, s)
    prepare(f, s, i)
    return f


def _features(frames: Iterator[tuple[int, np.ndarray]], s: CorruptSettings
              ) -> Iterator[tuple[int, FrameFeatures]]:
    """(index, features) in order.  With ``workers`` > 1 the per-frame work (almost all of it in
    OpenCV calls, which release the GIL) runs in a small thread pool, a few frames ahead of the
    consumer; at most ``2 * workers`` frames are in flight."""
    def work(item):
        i, frame = item
        return i, _frame_work(i, frame, s)
    return ordered_map(work, frames, int(s.workers), 2 * max(1, int(s.workers)), "corrupt")


def detect_corrupt(frames: Iterable[np.ndarray], n_frames: int,
                   settings: "CorruptSettings | dict | None" = None,
                   progress: Optional[Callable[[dict], None]] = None,
                   cancel: Optional[CancelToken] = None) -> CorruptResult:
    """Black / red-artifact / outlier verdicts for ``n_frames`` uint8 RGB frames from an iterable
    (consumed once).  ``progress`` gets ``dict(stage="corrupt", done=i, total=n)``; ``cancel`` is
    checked every ``check_every`` frames (raises CancelledError)."""
    s = resolve(CorruptSettings, settings)
    t0 = time.perf_counter()
    feats: list[FrameFeatures] = []
    blotches = BlotchPass(n_frames, s, drop_maps=True)   # holds the maps of a few frames only
    every = max(1, int(s.check_every))

    def checked() -> Iterator[tuple[int, np.ndarray]]:
        for i, frame in enumerate(frames):
            if i % every == 0:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                if progress is not None:
                    progress(dict(stage="corrupt", done=i, total=n_frames))
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise EmbryoError(f"frame {i}: expected uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
            yield i, frame

    for i, f in _features(checked(), s):
        feats.append(f)
        blotches.push(i, f)
    blotches.finish()
    if len(feats) != n_frames:
        raise EmbryoError(f"expected {n_frames} frames, got {len(feats)}")
    if cancel is not None:
        cancel.raise_if_cancelled()
    res = decide(feats, s)
    res.seconds = time.perf_counter() - t0
    if progress is not None:
        progress(dict(stage="corrupt", done=n_frames, total=n_frames))
    return res


#: per-frame values the import stores (app.importing.detector_features) that detection reads back
STORED_KEYS = ("bright", "red_score", "red_kind", "red_reason", "thumb", "line_map")


def features_from_store(stored: dict, small: Iterable[np.ndarray], settings=None) -> Iterator[FrameFeatures]:
    """Per-frame features rebuilt from what the import stored (``FrameReader.features()``: the
    values of :func:`frame_features` that need the full frame) and the 1/4-size copies
    (``FrameReader.read_small``: their red and green channels are the area-pooled maps), without
    reading a full frame.  The nucleus count of dark frames (black rule) is taken on the small
    copy's green channel."""
    from .alignment_check import count_nuclei
    s = resolve(CorruptSettings, settings)
    missing = [k for k in STORED_KEYS if k not in stored]
    if missing:
        raise EmbryoError(f"stored detector features lack {', '.join(missing)}")
    kinds = sorted({k[:-6] for k in stored if k.endswith("_score") and k != "red_score"})
    # (a kind without stored reasons gets ""; a default list built per frame made this pass O(T^2))
    reasons = {k: stored.get(f"{k}_reason") for k in kinds}
    for t, sm in enumerate(small):
        sm = np.asarray(sm)
        red_map = np.ascontiguousarray(sm[..., 0])
        green_map = np.ascontiguousarray(sm[..., 1])
        line_map = np.asarray(stored["line_map"][t])
        if line_map.shape != red_map.shape:          # pooled sizes differ by rounding: crop to both
            h, w = min(line_map.shape[0], red_map.shape[0]), min(line_map.shape[1], red_map.shape[1])
            red_map, green_map, line_map = red_map[:h, :w].copy(), green_map[:h, :w].copy(), line_map[:h, :w].copy()
        bright = float(stored["bright"][t])
        nuclei = (count_nuclei(green_map, min_snr=s.black_nucleus_snr, min_level=s.black_nucleus_level)
                  if bright < s.black_rel * 255 else -1)
        ks = {k: (float(stored[f"{k}_score"][t]), "" if reasons[k] is None else str(reasons[k][t]))
              for k in kinds}
        yield FrameFeatures(bright=bright, red_score=float(stored["red_score"][t]),
                                 red_kind=str(stored["red_kind"][t]), red_reason=str(stored["red_reason"][t]),
                                 thumb=np.asarray(stored["thumb"][t], dtype=np.float32), kind_scores=ks or None,
                                 red_map=red_map, green_map=green_map,
                                 excess_map=cv2.subtract(red_map, green_map), line_map=line_map,
                                 nuclei=int(nuclei))


def detect_corrupt_stored(stored: dict, small: Iterable[np.ndarray], n_frames: int,
                          settings: "CorruptSettings | dict | None" = None, progress=None,
                          cancel: Optional[CancelToken] = None) -> CorruptResult:
    """:func:`detect_corrupt` from the features stored at import and the small copies (no full
    frame read); the same verdicts when the stored features were computed with these settings.

    One thread: measured on 2 cores, running the per-frame part a few frames ahead in a thread
    and deciding frames in a pool were both slower (1.5-2.4 s against 1.2-1.4 s for 2,000 frames):
    the work is many small OpenCV and numpy calls, and the threads mostly wait for the GIL."""
    s = resolve(CorruptSettings, settings)
    t0 = time.perf_counter()
    feats: list[FrameFeatures] = []
    blotches = BlotchPass(n_frames, s, drop_maps=True)   # holds the maps of a few frames only
    every = max(1, int(s.check_every)) * 8
    for i, f in enumerate(features_from_store(stored, small, s)):
        if i % every == 0:
            if cancel is not None:
                cancel.raise_if_cancelled()
            if progress is not None:
                progress(dict(stage="corrupt", done=i, total=n_frames))
        prepare(f, s, i)
        feats.append(f)
        blotches.push(i, f)
    blotches.finish()
    if len(feats) != n_frames:
        raise EmbryoError(f"expected {n_frames} frames, got {len(feats)}")
    res = decide(feats, s)
    res.seconds = time.perf_counter() - t0
    return res


#: settings the per-frame features depend on (stored features made with others are not reused)
FRAME_SETTING_KEYS = ("pool", "thumb_pool", "bright_percentile", "red_threshold", "red_low", "min_region_px",
                      "line_min_len", "line_min_elong", "line_min_frag", "line_max_width", "line_long_elong",
                      "line_angle_tol", "band_min_len", "band_min_elong", "band_angle_tol")


def detect_corrupt_frames(reader, n_frames: int, settings: "CorruptSettings | dict | None" = None,
                          progress=None, cancel=None) -> CorruptResult:
    """Corrupt-frame detection of a frame store (``FrameReader``): from the features stored at
    import and the small copies when they are there and were made with these settings (no full
    frame read: faster than decoding the movie), else from the full frames."""
    s = resolve(CorruptSettings, settings)
    d = CorruptSettings()
    same = all(getattr(s, k) == getattr(d, k) for k in FRAME_SETTING_KEYS)
    stored = {}
    if same and getattr(reader, "has_small", False):
        try:
            if reader.features_version() == DETECTOR_FEATURES_VERSION:
                stored = reader.features(lazy_bytes=1 << 22)   # the line maps: read block by block
        except Exception:
            stored = {}
    if stored and all(k in stored for k in STORED_KEYS) and len(stored["bright"]) == n_frames:
        from .alignment_check import small_frames
        res = detect_corrupt_stored(stored, small_frames(reader), n_frames, s, progress, cancel)
        if progress is not None:
            progress(dict(stage="corrupt", done=n_frames, total=n_frames))
        return res
    return detect_corrupt(iter(reader), n_frames, s, progress=progress, cancel=cancel)
