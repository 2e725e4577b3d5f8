"""Temporal red-blotch test: a blotch is red paint that is there in one frame (or a run of up to
``novel_max_run`` frames) and not in the frames around it, while reporter nuclei persist at slowly
moving positions.

Maps: red, green and red excess max(R - G, 0), area-pooled by 2 x ``pool`` (8 px cells: blotches
are at least about a nucleus wide).  For frame t the *reference* is, per cell, the k-th largest
(k = ``novel_max_run``) of the neighbours' maps (``novel_window`` frames on each side), each dilated
by ``novel_dilate`` pooled px to tolerate twitching.  An artifact lasting up to k frames
contaminates at most k - 1 neighbours, so the reference never holds it; anything present in at
least k neighbours is in it.  Near the ends of the video k shrinks to the frames left before the
edge (a run touching the edge cannot be told from a structure appearing there).  The *novelty* is

    N = max((R_t - (1 + flicker) ref_R) - max(G_t - (1 + flicker) ref_G, 0),  E_t - (1 + flicker) ref_E)

red that appeared minus green that appeared with it (a twitching yellow nucleus brings both), or red
excess that appeared (paint covering green nuclei).  In a frame darker than its neighbours (an
exposure dip: green falls more than the reporter red) the excess is taken against the green scaled
back up by the brightness ratio.

Regions of N above a seed (``blotch_min_novelty`` grey levels, or ``blotch_noise_k`` robust sigmas
of the frame's novelty if larger) grown down to half of it are candidates; the largest one must
not be a *displaced copy* of structure in the neighbours (a turn of the embryo moves a reporter
cluster further than the dilation): its values in the channel where the new red shows (red,
or red excess when that term dominates), located with a ring of ``blotch_context`` cells around
it (a copy brings the region's surroundings along) and then judged on the region alone, are searched within
``blotch_search`` x the frame's short side in every neighbour (masked sum of squared differences); a neighbour
explains it when the best SSD <= (1 - ``blotch_match``) x the region's squared novelty.  Explained
by k neighbours or more -> persistent, not a blotch.  The size threshold (relative to the nucleus
radius measured on the green channel, :func:`nucleus_size`) is applied in ``decide`` once the whole
video has been seen.

The same pass looks for *faint transient lines* (:func:`transient_line`): the max-pooled red excess
(``line_map``) of frame t minus the k-th largest of its neighbours' (dilated by 1 pooled px), white
top-hat (structures wider than ``line_tophat`` pooled px removed: nuclei, blotches, bands), then a
Hough accumulation over the pixels of at least ``line_novelty`` grey levels; the best few lines are
measured pixel by pixel (thin, in runs, spread across the frame).  See docs/DETECTION.md.

The pass streams (:class:`BlotchPass`): only the maps of ``2 * novel_window + 1`` frames are held.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

import cv2
import numpy as np

from ..arrays import runs
from .frame_features import FrameFeatures, area_pool, border_max

LINE_KER = np.ones((3, 3), np.uint8)     # the neighbours' line maps are dilated by 1 pooled px (twitch)


def nucleus_size(green_map: np.ndarray) -> float:
    """Typical nucleus radius in pooled px: the half-width at half maximum of the autocorrelation
    of the high-passed green channel (nuclei are the dominant green structure)."""
    h, w = green_map.shape
    # a window of sizes the DFT handles fast (products of 2, 3, 5): 128 x 180 of 128 x 188
    h, w = _dft_size(h), _dft_size(w)
    y0, x0 = (green_map.shape[0] - h) // 2, (green_map.shape[1] - w) // 2
    g = green_map[y0:y0 + h, x0:x0 + w].astype(np.float32)
    # high pass: minus a wide smooth version (three box filters ~ a Gaussian of sigma 12)
    low = g
    for _ in range(3):
        low = cv2.boxFilter(low, -1, (23, 23), borderType=cv2.BORDER_REFLECT)
    hp = g - low
    # the autocorrelation along the two axes only (all that is used): per axis, the sum of the 1-D
    # circular autocorrelations of the rows (columns), from their power spectra
    acx = np.fft.irfft((np.abs(np.fft.rfft(hp, axis=1)) ** 2).sum(axis=0), n=hp.shape[1])
    acy = np.fft.irfft((np.abs(np.fft.rfft(hp, axis=0)) ** 2).sum(axis=1), n=hp.shape[0])
    if acx[0] <= 1e-6:
        return float("nan")
    n = min(30, hp.shape[0] // 2, hp.shape[1] // 2)
    if n < 2:
        return float("nan")
    j = np.arange(n)
    prof = (acx[j] + acx[-j] + acy[j] + acy[-j]) / (4.0 * acx[0])   # mean of the four axis directions
    below = np.flatnonzero(prof < 0.5)
    if below.size == 0:
        return float(n)
    r = int(below[0])
    return float(r - 1 + (prof[r - 1] - 0.5) / max(prof[r - 1] - prof[r], 1e-6))


def _median(x) -> float:
    """np.median of a small array, without its overhead."""
    a = np.asarray(x).ravel()
    n = a.size
    if n % 2:
        return float(np.partition(a, n // 2)[n // 2])
    lo, hi = np.partition(a, (n // 2 - 1, n // 2))[n // 2 - 1:n // 2 + 1]
    return (float(lo) + float(hi)) / 2.0


def _dft_size(n: int) -> int:
    """Largest m <= n whose DFT is fast (OpenCV's optimal sizes), not below n * 0.9."""
    m = n
    while m > max(1, int(0.9 * n)) and cv2.getOptimalDFTSize(m) != m:
        m -= 1
    return m if cv2.getOptimalDFTSize(m) == m else n


def _kth_largest(maps: list[np.ndarray], k: int) -> np.ndarray:
    """Per-pixel k-th largest of uint8 maps: a running top-k (descending) updated with cv2 min/max;
    the last place only needs a max, the first k maps are sorted by insertion among themselves."""
    k = max(1, min(k, len(maps)))
    top: list[np.ndarray] = []
    for m in maps:
        x = m
        n = len(top)
        for i in range(n):
            if i == k - 1:                     # the last place: what drops out is not needed
                top[i] = cv2.max(top[i], x)
                break
            hi = cv2.max(top[i], x)
            x = cv2.min(top[i], x)
            top[i] = hi
        else:
            if n < k:
                top.append(x)
    return top[k - 1]


def prepare(feat: FrameFeatures, settings, index: int) -> None:
    """The per-frame part of the temporal pass (independent of the other frames, so it may run in a
    worker thread): ``feat.temporal`` = (temporal maps, dilated, line map, dilated, whether the
    line map reaches the border, mean green), and every 16th frame a nucleus-radius sample
    (full-res px)."""
    if feat.red_map is None:
        feat.temporal = None
        return
    if index % 16 == 0 and feat.bright >= 24:
        feat.radius_sample = nucleus_size(feat.green_map) * max(1, int(settings.pool))
    m = _maps(feat)
    d = max(0, int(round(settings.novel_dilate / 2)))     # temporal maps are pooled x2 more
    # only a frame whose red excess reaches its border can hold a line across the frame: the
    # transient-line test runs for those only (every frame's line map serves as a neighbour)
    lm = feat.line_map
    reaches_border = lm is not None and border_max(lm) >= settings.line_novelty
    feat.temporal = (m, cv2.dilate(m, np.ones((2 * d + 1, 2 * d + 1), np.uint8)),
                     lm, cv2.dilate(lm, LINE_KER) if lm is not None else None,
                     reaches_border, float(cv2.mean(m)[1]))


class BlotchPass:
    """Streaming temporal blotch (and transient-line) test.  ``push(feat)`` every frame in order,
    then ``finish()``;
    each feature's ``blotch`` dict is filled in once its neighbours are known, and its pooled maps
    are released (``drop_maps``) when no later frame needs them."""

    def __init__(self, n_frames: int, settings, drop_maps: bool = True):
        self.s = settings
        self.T = int(n_frames)
        self.W = max(1, int(settings.novel_window))
        self.k = max(1, int(settings.novel_max_run))
        self.drop = drop_maps
        self.buf: deque = deque()          # (index, feat, feat.temporal)
        self.next_t = 0                    # next frame to decide
        self.sizes: dict[int, float] = {}  # nucleus radius samples (full-res px) by frame

    def push(self, i: int, feat: FrameFeatures) -> None:
        if feat.red_map is None:
            feat.blotch = None
            self.buf.append((i, feat, None))
        else:
            if feat.temporal is None:
                prepare(feat, self.s, i)
            if feat.radius_sample is not None:
                self.sizes[i] = feat.radius_sample
            self.buf.append((i, feat, feat.temporal))
        while self.buf and self.next_t + self.W <= i:
            self._decide(self.next_t)
            self.next_t += 1

    def finish(self) -> None:
        while self.buf and self.next_t <= self.buf[-1][0]:
            self._decide(self.next_t)
            self.next_t += 1
        if self.drop:
            for _, f, _ in self.buf:
                _release(f)
        self.buf.clear()

    def nucleus_radius(self) -> float:
        v = np.asarray([x for x in self.sizes.values() if np.isfinite(x)])
        return float(np.median(v)) if v.size else float("nan")

    def _decide(self, t: int) -> None:
        items = {i: (f, d) for i, f, d in self.buf}
        f, own = items[t]
        nb = [items[j] for j in range(t - self.W, t + self.W + 1) if j != t and j in items and items[j][1] is not None]
        # near the ends of the video a run touching the edge cannot be told from a structure that
        # appears / disappears there (a turn): runs are assumed not to reach the edge (precision)
        k = max(1, min(self.k, t + 1, self.T - t))
        if own is None:
            f.blotch = None
        else:
            m = own[0]
            nb = [(g, d) for g, d in nb if d[0].shape == m.shape]
            ref = _kth_largest([d[1] for _, d in nb], k) if nb else None
            f.blotch = _blotch(f, m, ref, nb, self.s, k)
            if own[4] and nb and all(d[2] is not None and d[2].shape == own[2].shape for _, d in nb):
                # (the dilated line maps of the neighbours: the k-th largest only where needed)
                lref = _kth_largest([d[3] for _, d in nb], k)
                sc, why = transient_line(own[2], lref, self.s)
                f.blotch.update(line=sc, line_reason=why)
        if f.blotch is not None and t in self.sizes:
            f.blotch["radius"] = self.sizes.pop(t)
        # release what no later frame needs
        while self.buf and self.buf[0][0] < t + 1 - self.W:
            _, old, _ = self.buf.popleft()
            if self.drop:
                _release(old)


def _maps(f: FrameFeatures) -> np.ndarray:
    """(h/2, w/2, 3) uint8 red, green, excess at twice the pooling of the features' maps: blotches
    are at least about a nucleus wide (>= 35 px), so 8 px cells resolve them."""
    return area_pool(cv2.merge((f.red_map, f.green_map, f.excess_map)), 2)


def _release(f: FrameFeatures) -> None:
    f.red_map = f.green_map = f.excess_map = f.line_map = f.temporal = None


def _blotch(f: FrameFeatures, maps: np.ndarray, ref: Optional[np.ndarray], nb: list, s, k: int) -> dict:
    """Largest novel red region of frame ``f`` (temporal ``maps``) against its neighbours
    ``nb`` [(feat, (maps, dilated flat maps))]; ``ref`` = per cell k-th largest of the neighbours'
    dilated maps."""
    p = 2 * max(1, int(s.pool))
    out = dict(area=0.0, novelty=0.0, persistent=False, x=0.0, y=0.0, matched=0,
               short=float(min(f.red_map.shape) * p / 2))
    if not nb or ref is None:
        return out
    rho = 1.0 + float(s.novel_flicker)
    # exposure of frame t against its neighbours: mean green (a high percentile saturates)
    level = float(cv2.mean(maps)[1])
    gain = _median([d[5] for _, d in nb]) / max(level, 1.0)
    if gain > 1.05:
        # a dim frame (exposure dip): green fell more than red, so R - G rose everywhere; the
        # excess is taken against the green brought back to the neighbours' level
        r_, g_, _ = cv2.split(maps)
        maps = cv2.merge((r_, g_, cv2.subtract(r_, cv2.multiply(g_, min(gain, 3.0), dtype=cv2.CV_8U))))
    new = cv2.split(cv2.addWeighted(maps, 1.0, ref, -rho, 0.0, dtype=cv2.CV_16S))
    nov_rg = cv2.subtract(new[0], cv2.max(new[1], 0))
    nov = cv2.max(nov_rg, new[2])
    _, peak, _, _ = cv2.minMaxLoc(nov)
    if peak < s.blotch_min_novelty:
        return out
    sub = nov[::2, ::2].ravel()
    med = _median(sub)
    sigma = 1.4826 * _median(np.abs(sub - med))
    seed = max(float(s.blotch_min_novelty), med + float(s.blotch_noise_k) * sigma)
    if peak < seed:
        return out
    low = (nov >= 0.5 * seed).astype(np.uint8)
    n, lab, stats, cent = cv2.connectedComponentsWithStats(low, connectivity=8)
    if n <= 1:
        return out
    seeds = np.zeros(n, dtype=bool)
    seeds[lab[nov >= seed]] = True
    seeds[0] = False
    areas = np.where(seeds, stats[:, cv2.CC_STAT_AREA], 0)
    i = int(np.argmax(areas))
    if areas[i] == 0:
        return out
    x, y, w, h = (int(v) for v in stats[i, :4])
    region = lab[y:y + h, x:x + w] == i
    mom = cv2.moments(region.astype(np.uint8), binaryImage=True)
    a = max(mom["m00"], 1.0)
    mu20, mu02, mu11 = mom["mu20"] / a, mom["mu02"] / a, mom["mu11"] / a
    c = np.sqrt(max(((mu20 - mu02) / 2) ** 2 + mu11 ** 2, 0.0))
    l1, l2 = (mu20 + mu02) / 2 + c, max((mu20 + mu02) / 2 - c, 1.0 / 12)   # a 1-px wide bar: 1/12
    out.update(area=float(areas[i] * p * p), novelty=float(nov[y:y + h, x:x + w][region].mean()),
               x=float(cent[i][0] * p), y=float(cent[i][1] * p), elong=float(np.sqrt(l1 / l2)))
    if areas[i] * p * p < s.min_region_px:
        return out
    # displaced copy of the structure in the neighbours (the embryo turned)?
    ctx = max(0, int(s.blotch_context))
    m = max(1, ctx)
    H, W = maps.shape[:2]
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(W, x + w + m), min(H, y + h + m)
    # matched in the channel where the new red shows: red (light added) or red excess (paint
    # covering green nuclei)
    sel = lab[y0:y1, x0:x1] == i
    c = 2 if float(new[2][y0:y1, x0:x1][sel].mean()) > float(nov_rg[y0:y1, x0:x1][sel].mean()) else 0
    tpl = np.ascontiguousarray(maps[y0:y1, x0:x1, c]).astype(np.float32)
    inside = sel.astype(np.float32)
    # judged against the *new* red (novelty) of the region, not its total red: a blotch painted
    # over a persistent reporter cluster must not be explained by the cluster alone
    energy = float(np.sum((nov[y0:y1, x0:x1].astype(np.float32) * inside) ** 2))
    # the copy is looked for *with the region's surroundings* (a ring of ``blotch_context`` cells),
    # then judged on the region alone: in an embryo filled with reporter red, the values inside a
    # blotch alone match some patch of red nuclei nearby in every neighbour (issue 11: blotches over
    # reporter-filled embryos were "explained" by 5-8 of 8 neighbours); a cluster that really
    # moved brings its surroundings along, so the ring finds where it went
    mask = inside if ctx == 0 else cv2.dilate(inside, np.ones((2 * ctx + 1, 2 * ctx + 1), np.uint8))
    S = max(1, int(round(s.blotch_search * min(H, W))))
    sx0, sy0, sx1, sy1 = max(0, x0 - S), max(0, y0 - S), min(W, x1 + S), min(H, y1 + S)
    matched = 0
    for _, d in nb:
        g = d[0]
        win = np.ascontiguousarray(g[sy0:sy1, sx0:sx1, c]).astype(np.float32)
        ssd = cv2.matchTemplate(win, tpl, cv2.TM_SQDIFF, mask=mask)
        if ctx:
            # the copy's place is found with the surroundings; what it explains is the region
            _, _, (lx, ly), _ = cv2.minMaxLoc(ssd)
            patch = win[ly:ly + tpl.shape[0], lx:lx + tpl.shape[1]]
            best = float(np.sum(((patch - tpl) * inside) ** 2))
        else:
            best = float(ssd.min())
        if best <= (1.0 - s.blotch_match) * energy:
            matched += 1
    out.update(matched=matched, persistent=matched >= k)
    return out


def transient_line(line_map: np.ndarray, ref: np.ndarray, s) -> tuple[float, str]:
    """Faint straight red line in ``line_map`` (max-pooled red excess) that is not in ``ref`` (the
    neighbours' k-th largest, dilated): (score, reason); score >= 1 is a line."""
    tau = float(s.line_novelty)
    new = cv2.subtract(line_map, ref)
    H, W = new.shape
    short = min(H, W)
    # a line across the frame reaches the border, over the dark background
    if border_max(new) < tau:
        return 0.0, ""
    kt = max(3, int(s.line_tophat)) | 1
    thin = cv2.morphologyEx(new, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (kt, kt)))
    mask = cv2.threshold(thin, tau - 1, 1, cv2.THRESH_BINARY)[1]
    need = float(s.line_dim_len) * short
    if cv2.countNonZero(mask) < need:
        return 0.0, ""
    lines = cv2.HoughLines(mask, 1, np.pi / 180, max(8, int(0.5 * need)))
    if lines is None:
        return 0.0, ""
    best, best_theta = 0.0, 0.0
    for rho, theta in lines.reshape(-1, lines.shape[-1])[:5, :2]:
        tot, span, n = _line_support(thin, ref, float(rho), float(theta), tau, kt // 2 + 1, int(s.line_min_run),
                                     float(s.line_clear))
        if n == 0:
            continue
        sc = min(tot / need, span / (float(s.line_span) * n))
        if sc > best:
            best, best_theta = sc, float(theta)
    if best <= 0:
        return 0.0, ""
    angle = (90.0 - np.degrees(best_theta)) % 180.0
    return float(best), f"faint red line across the frame, {angle:.0f} deg, not in the neighbouring frames"


def _line_support(thin: np.ndarray, ref: np.ndarray, rho: float, theta: float, tau: float, side: int,
                  min_run: int, clear: float) -> tuple[int, int, int]:
    """Pixels along the line (rho, theta) that belong to a thin red line: (supported length in runs of
    at least ``min_run`` px, span from the first to the last such run, length of the line in the
    frame).  A pixel supports when the line (within +-1 px) is >= tau, the map ``side`` px to
    either side is under half of it (a thin structure, not the inside of something wide), and the
    neighbours' reference ``ref`` is under ``clear`` all across (the red is new on a place that had
    none, not the crescent of a reporter nucleus that moved by a few px)."""
    H, W = thin.shape
    c, sn = np.cos(theta), np.sin(theta)
    t = np.arange(-(H + W), H + W, dtype=np.float64)
    xs, ys = rho * c - t * sn, rho * sn + t * c
    ok = (xs >= 0) & (xs <= W - 1) & (ys >= 0) & (ys <= H - 1)
    xs, ys = xs[ok], ys[ok]
    n = int(xs.size)
    if n == 0:
        return 0, 0, 0
    offs = np.array([-1, 0, 1, -side, side, -side - 1, side + 1], dtype=np.float64)
    xi = np.clip(np.rint(xs[None, :] + offs[:, None] * c), 0, W - 1).astype(np.intp)
    yi = np.clip(np.rint(ys[None, :] + offs[:, None] * sn), 0, H - 1).astype(np.intp)
    v = thin[yi, xi].astype(np.float32)
    on, off = v[:3].max(axis=0), v[3:].max(axis=0)
    sup = (on >= tau) & (off < 0.5 * on) & (ref[yi, xi].max(axis=0) < clear)
    sup[1:-1] |= sup[:-2] & sup[2:]                   # bridge single-pixel gaps
    r = runs(sup)
    a, b = r[:, 0], r[:, 1]
    good = (b - a) >= min_run
    if not good.any():
        return 0, 0, n
    return int((b - a)[good].sum()), int(b[good][-1] - a[good][0]), n


def blotch_pass(feats: list[FrameFeatures], settings, drop_maps: bool = False) -> Optional[float]:
    """Run the temporal blotch test over a list of features (those still holding their maps);
    returns the nucleus radius in pooled px (NaN if unknown)."""
    bp = BlotchPass(len(feats), settings, drop_maps=drop_maps)
    for i, f in enumerate(feats):
        bp.push(i, f)
    bp.finish()
    return bp.nucleus_radius()
