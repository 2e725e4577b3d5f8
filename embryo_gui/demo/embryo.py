"""A synthetic EPIC-like embryo: lazily rendered frames, annotated counts and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np

from ..errors import EmbryoError
from ..lineages import COLUMNS, POPULATION
from ..progress import CancelToken
from . import annotations as ann
from . import artifacts as art
from .codec import CODECS, decode_mp4v, encode_mp4v, jpeg_round_trip
from .lineage_tree import simulate_lineage, time_of_population
from .positions import PositionTrack, nucleus_diameter
from .render import Scene

TRUTH_KEYS = ("true_counts", "black", "dead", "red_band", "red_line", "red_blotch", "red_artifact", "cliff",
              "cliff_kind", "cliff_lineage", "mislabelled", "reporter", "twitch", "spike", "dim", "clean",
              "out_of_order")


@dataclass
class DemoEmbryo:
    """One demo embryo.  ``counts`` are the annotated counts (T, 8) with cliffs, mislabels and jitter;
    ``truth`` holds the ground truth arrays (see :data:`TRUTH_KEYS` and docs/DEMO.md).

    ``codec`` is the lossy round trip the rendered frames go through: ``"mp4v"`` (default: the whole
    video is encoded as MPEG-4 part 2 at 7 fps and decoded back, like the EPIC movies), ``"jpeg"``
    (per frame, the embryo's JPEG quality) or ``"none"``.  With mp4v the encoded video (a few MB) is
    kept on the instance after the first pass, so later passes and :meth:`frame` only decode."""

    name: str
    n_frames: int
    frame_shape: tuple[int, int, int]
    counts: np.ndarray
    truth: dict[str, np.ndarray]
    scene: Scene = field(repr=False, compare=False)
    codec: str = "mp4v"
    _mp4: Optional[bytes] = field(default=None, repr=False, compare=False)

    def frames(self, cancel: Optional[CancelToken] = None,
               on_encoded: Optional[Callable[[int], None]] = None) -> Iterator[np.ndarray]:
        """The frames one at a time (uint8 RGB); deterministic, can be re-iterated.

        With mp4v the first pass renders and encodes every frame before yielding the first one
        (``on_encoded(k)`` is called after frame ``k`` was encoded, ``cancel`` is checked per frame);
        the decoded frames are then yielded one by one.
        """
        h, w = self.frame_shape[0], self.frame_shape[1]
        if self.codec == "mp4v":
            if self._mp4 is None:
                rendered = (self.scene.render(f) for f in range(self.n_frames))
                self._mp4 = encode_mp4v(rendered, self.n_frames, h, w, cancel=cancel, on_frame=on_encoded)
            yield from decode_mp4v(self._mp4, self.n_frames, h, w)
            return
        for f in range(self.n_frames):
            yield self._render_one(f)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` alone (same pixels as the ``frames()`` iterator gives).  With mp4v this
        decodes frames 0..index (and renders and encodes the whole video on the first call)."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} out of range 0..{self.n_frames - 1}")
        if self.codec != "mp4v":
            return self._render_one(index)
        if self._mp4 is None:
            for _ in self.frames():  # encodes and caches the video, checks the frame count
                pass
        h, w = self.frame_shape[0], self.frame_shape[1]
        out = None
        for out in decode_mp4v(self._mp4, self.n_frames, h, w, stop=index + 1):
            pass
        assert out is not None
        return out

    def _render_one(self, f: int) -> np.ndarray:
        rgb = self.scene.render(f)
        return jpeg_round_trip(rgb, self.scene.jpeg_quality) if self.codec == "jpeg" else rgb


def is_clean_index(index: int) -> bool:
    """Embryos whose index is 3 mod 4 get no injection at all."""
    return index % 4 == 3


def make_demo_embryo(index: int, seed: int, n_frames: int = 300,
                     frame_shape: tuple[int, int, int] = (512, 752, 3), codec: str = "mp4v") -> DemoEmbryo:
    """Build demo embryo ``index`` of the demo with ``seed`` (deterministic); ``codec`` is the lossy
    round trip of the frames: "mp4v" (default, like the EPIC movies), "jpeg" or "none"."""
    if codec not in CODECS:
        raise EmbryoError(f"demo codec must be one of {', '.join(CODECS)}, got {codec!r}")
    if int(n_frames) < 8:
        raise EmbryoError(f"demo embryos need at least 8 frames, got {n_frames}")
    shape = tuple(int(v) for v in frame_shape)
    if len(shape) != 3 or shape[2] != 3 or shape[0] < 32 or shape[1] < 32:
        raise EmbryoError(f"demo frame shape must be (H>=32, W>=32, 3), got {frame_shape}")
    if int(seed) < 0 or int(index) < 0:
        raise EmbryoError(f"demo seed and index must be non-negative, got seed={seed} index={index}")
    T = int(n_frames)
    h, w = shape[0], shape[1]
    rng = np.random.default_rng([int(seed), int(index), 17])
    clean = is_clean_index(int(index))

    # ---- development timeline
    speed = rng.uniform(0.9, 1.12)
    lineage = simulate_lineage(rng, speed)
    t0 = rng.uniform(0.5, time_of_population(lineage, 100))
    span = rng.uniform(160.0, 250.0) * speed
    times = t0 + np.arange(T) * (span / (T - 1))
    true = lineage.counts(times)

    # ---- geometry and optics
    s = min(h / 512.0, w / 752.0)
    b = rng.uniform(0.29, 0.33) * h
    a = min(rng.uniform(0.33, 0.37) * w, 1.75 * b)
    axes = (a, b, 0.9 * b)
    center = (w / 2.0 + rng.normal(0, 0.02 * w), h / 2.0 + rng.normal(0, 0.02 * h))
    orientation = rng.normal(0.0, 0.12) + (np.pi if rng.random() < 0.5 else 0.0)
    size_scale = s * rng.uniform(0.9, 1.1)
    t_last = float(times[-1]) + 2.0
    track_seed = [int(seed), int(index), 23]

    def make_track() -> PositionTrack:  # built on first render only (counts and truth do not need it)
        return PositionTrack(lineage, axes, t_last, np.random.default_rng(track_seed), size_scale=size_scale)
    bleach = np.exp(-rng.uniform(0.25, 0.9) * np.arange(T) / T)
    # lamp/exposure flicker, and a few legitimately dim (not black) frames: hard negatives
    bleach = bleach * (1.0 + rng.normal(0.0, rng.uniform(0.01, 0.04), T)).clip(0.85, 1.15)
    dim = rng.random(T) < rng.uniform(0.0, 0.012)
    bleach[dim] *= rng.uniform(0.45, 0.75, int(dim.sum()))
    # slow focus drift: which nuclei are sharp changes over the video
    focal = np.cumsum(rng.normal(0.0, 0.006, T))
    focal = (focal - focal.mean()).clip(-0.25, 0.25) * axes[2]
    n_hot = int(rng.integers(3, 26))
    hot = np.stack([rng.integers(0, h, n_hot), rng.integers(0, w, n_hot),
                    np.where(rng.random(n_hot) < 0.5, -1, rng.integers(0, 3, n_hot)),
                    rng.integers(120, 256, n_hot)], axis=1).astype(np.int64)

    # ---- late development: twitching and reporters
    tw_angle, tw_shift, twitch = _twitch(rng, true[:, POPULATION], T, s)
    rep_cells, rep_green, rep_start, rep_ramp = _reporters(rng, lineage, speed)
    # issue 11 (real EPIC movies), from a generator of its own so the draws above stay as they were:
    # reporter expression filling most of the embryo late, dim early frames, poster frames
    rng11 = np.random.default_rng([int(seed), int(index), 29])
    if rng11.random() < 0.35:
        _fill_reporters(rng11, lineage, rep_cells, rep_start)
    if true[0, POPULATION] <= 12 and rng11.random() < 0.7:
        # histone-GFP still weak at the start: the first 10-25 % of the frames ramp up from 30-60 %
        k = max(2, int(T * rng11.uniform(0.1, 0.25)))
        ramp = np.ones(T)
        ramp[:k] = np.linspace(rng11.uniform(0.3, 0.6), 1.0, k)
        bleach_early = ramp
    else:
        bleach_early = np.ones(T)
    rep_visible = np.clip((times - rep_start) / rep_ramp, 0, 1) * (rep_cells.max() if rep_cells.size else 0)
    reporter = np.array([rep_visible[f] >= 0.15 and bool((rep_cells[lineage.alive(times[f])] > 0).any())
                         for f in range(T)])

    # ---- corrupt frames
    dead = np.zeros(T, dtype=bool)
    if not clean and rng.random() < 0.35:
        dead[0 if rng.random() < 0.5 else T - 1] = True
    rate = 0.0 if clean else rng.uniform(0.01, 0.05)
    nucleus_px = float(nucleus_diameter(true[T // 2, POPULATION], size_scale))
    kinds, params = art.schedule_corruption(rng, T, rate, dead, (h, w), nucleus_px)
    # poster frame (like the real L1 movie's frame 0): a copy of a distant, clean frame
    source = np.arange(T)
    poster = np.zeros(T, dtype=bool)
    if not clean and T >= 40 and rng11.random() < 0.3:
        usable = (kinds == art.NONE) & ~dead
        at = 0 if rng11.random() < 0.7 else int(rng11.integers(1, T))
        far = np.flatnonzero(usable & (np.abs(np.arange(T) - at) >= max(20, T // 5)))
        if usable[at] and far.size:
            late = far[far >= int(0.7 * T)]
            source[at] = int(rng11.choice(late if at == 0 and late.size else far))
            poster[at] = True

    # ---- annotations
    counts = true.copy()
    ann.add_jitter(rng, counts, rng.uniform(0.02, 0.10))
    if clean:
        spike = np.zeros(T, dtype=bool)
        cliff_kind = np.zeros(T, dtype=np.int8)
        cliff_lin = np.full(T, -1, dtype=np.int8)
        mis = np.zeros(T, dtype=bool)
    else:
        cliff_kind, cliff_lin = ann.place_cliffs(rng, counts, true, np.zeros(T, dtype=bool))
        spike = ann.add_spikes(rng, counts, rng.uniform(0.003, 0.02), cliff_kind > 0)
        mis = ann.place_mislabels(rng, counts, true, rng.uniform(0.03, 0.10), (cliff_kind > 0) | spike)

    scene = Scene(
        height=h, width=w, seed_key=(int(seed), int(index)), lineage=lineage, track_factory=make_track, times=times,
        center=center, axes=axes, orientation=float(orientation), size_scale=size_scale,
        gfp=rng.uniform(140.0, 220.0), bleach=bleach * bleach_early,
        floor=(rng.uniform(1, 5), rng.uniform(4, 12), rng.uniform(3, 9)),
        noise_sigma=(rng.uniform(1.0, 2.5), rng.uniform(1.5, 3.5), rng.uniform(1.5, 3.5)),
        shot=rng.uniform(0.08, 0.2), speckle_amp=rng.uniform(15.0, 45.0), hot_pixels=hot,
        jpeg_quality=int(rng.integers(60, 86)), focal_plane=focal, twitch_angle=tw_angle, twitch_shift=tw_shift,
        reporter_cells=rep_cells, reporter_green=rep_green, reporter_start=rep_start, reporter_ramp=rep_ramp,
        reporter_amp=rng.uniform(190.0, 320.0), corrupt_kind=kinds, corrupt_params=params, dead=dead,
        frame_source=source)

    band, line, blotch = kinds == art.BAND, kinds == art.LINE, kinds == art.BLOTCH
    truth = {
        "true_counts": true,
        "black": dead | (kinds == art.BLACK_ZERO) | (kinds == art.BLACK_FLOOR),
        "dead": dead,
        "red_band": band, "red_line": line, "red_blotch": blotch, "red_artifact": band | line | blotch,
        "cliff": cliff_kind > 0, "cliff_kind": cliff_kind, "cliff_lineage": cliff_lin,
        "mislabelled": mis, "reporter": reporter, "twitch": twitch, "spike": spike,
        "dim": dim & ~dead & (kinds == art.NONE),
        "clean": np.array(clean),
        "out_of_order": poster,
    }
    assert tuple(truth) == TRUTH_KEYS and len(COLUMNS) == counts.shape[1]
    return DemoEmbryo(name=f"demo_{int(index):02d}", n_frames=T, frame_shape=shape, counts=counts,
                      truth=truth, scene=scene, codec=codec)


def _twitch(rng: np.random.Generator, pop: np.ndarray, T: int, s: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-embryo rotation (radians) and shift (px) per frame in the last third of late videos."""
    angle = np.zeros(T)
    shift = np.zeros((T, 2))
    late = np.flatnonzero(pop >= 300)
    start = max(int(np.ceil(2 * T / 3)), int(late[0]) if late.size else T)
    ang, sh = 0.0, np.zeros(2)
    for f in range(start, T):
        if rng.random() < 0.2:       # a still frame
            pass
        elif rng.random() < 0.1:     # a turn
            ang += np.radians(rng.uniform(3.0, 9.0)) * rng.choice([-1, 1])
            sh += rng.uniform(3.0, 9.0, 2) * s * rng.choice([-1, 1], 2)
        else:
            ang += np.radians(rng.normal(0.0, 1.5))
            sh += rng.normal(0.0, 1.5 * s, 2)
        ang *= 0.97
        sh = np.clip(sh * 0.95, -30 * s, 30 * s)
        angle[f], shift[f] = ang, sh
    moved = np.zeros(T, dtype=bool)
    moved[1:] = (np.abs(np.diff(angle)) > np.radians(0.2)) | (np.abs(np.diff(shift, axis=0)).max(axis=1) > 0.3 * s)
    return angle, shift, moved


def _fill_reporters(rng: np.random.Generator, lineage, level: np.ndarray, start: float) -> None:
    """Late reporter expression filling most of the embryo (in some EPIC series the whole embryo
    turns yellow-red in its last third): 55-90 % of the cells alive at ``start`` (and their
    descendants) express, in place."""
    alive = lineage.alive(start)
    extra = alive[rng.random(alive.size) < rng.uniform(0.55, 0.9)]
    level[extra] = np.maximum(level[extra], rng.uniform(0.4, 1.0, extra.size).astype(np.float32))
    for c in range(lineage.n_cells):  # parents come before children
        p = lineage.parent[c]
        if p >= 0 and lineage.birth[c] > start and level[p] > 0:
            level[c] = level[p]


def _reporters(rng: np.random.Generator, lineage, speed: float
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Reporter expression per cell: a random set of clones starting at the ~180-320 cell stage."""
    start = time_of_population(lineage, rng.uniform(180, 320))
    ramp = rng.uniform(15.0, 40.0) * speed
    n = lineage.n_cells
    level = np.zeros(n, dtype=np.float32)
    alive = lineage.alive(start)
    chosen = alive[rng.random(alive.size) < rng.uniform(0.15, 0.35)]
    level[chosen] = rng.uniform(0.4, 1.0, chosen.size)
    for c in range(n):  # parents come before children
        p = lineage.parent[c]
        if p >= 0 and lineage.birth[c] > start and level[p] > 0:
            level[c] = level[p]
    green = np.where(rng.random(n) < 0.45, rng.uniform(0.1, 0.4, n), 1.0).astype(np.float32)
    return level, green, float(start), float(ramp)
