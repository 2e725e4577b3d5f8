"""Settings of the corrupt-frame detector (their own module: the per-frame features, the temporal
blotch pass and the decisions all read them)."""

from __future__ import annotations

from dataclasses import dataclass

from ._settings import settings_from_dict, settings_to_dict

# settings of the first version's blotch shape test, ignored when loading saved settings
LEGACY_KEYS = frozenset({"red_strong", "blotch_min_area", "blotch_min_flat", "blotch_min_fill",
                         "blotch_window", "blotch_min_contrast"})


@dataclass
class CorruptSettings:
    """Thresholds of the corrupt-frame detector (pooled units are scaled from the frame size)."""

    pool: int = 4                    # downsampling factor (area for brightness, max for red)
    thumb_pool: int = 4              # further area pooling of the outlier thumbnail
    # black
    bright_percentile: float = 99.9  # brightness = this percentile of the pooled green channel
    black_abs: float = 24.0          # brightness below this: black whatever the neighbours
    black_rel: float = 0.35          # ...or below this fraction of the neighbours' median brightness
    black_window: int = 15           # frames on each side forming the neighbours' median
    black_nucleus_snr: float = 4.0   # ...unless it holds a nucleus: a LoG blob this many noise sigmas up
    black_nucleus_level: float = 10.0  # ...and this many grey levels of LoG response (a nucleus of ~30 over the floor)
    # red artifacts: bands and lines (shape, one frame)
    red_threshold: int = 45          # red excess R - G (max-pooled) marking a red pixel
    red_low: int = 25                # hysteresis: red regions grow down to this excess
    min_region_px: int = 48          # full-res px; red regions smaller than this are ignored
    line_min_len: float = 0.3        # line: length >= this fraction of the frame's short side
    line_min_elong: float = 4.0      # ...made of thin fragments (length / width >= this)
    line_min_frag: int = 5           # pooled px: shortest fragment counted towards a line
    line_max_width: float = 2.5      # pooled px: widest fragment counted (lines are thin)...
    line_long_elong: float = 10.0    # ...unless it is this elongated (a smeared line, long)
    line_angle_tol: float = 6.0      # deg: fragments on one line (cut by the nuclei it crosses)
    # faint transient lines (novelty.transient_line): red excess that appeared along a straight line
    line_novelty: int = 10           # grey levels of new (max-pooled) red excess on the line
    line_tophat: int = 5             # pooled px: structures wider than this (nuclei, blotches) are removed
    line_dim_len: float = 0.25       # supported length (thin runs >= line_min_run) >= this x short side
    line_min_run: int = 6            # pooled px: shortest run of thin line pixels counted
    line_clear: int = 20             # ...on places where the neighbours' red excess is under this
    line_span: float = 0.5           # ...spread over >= this fraction of the line's length in the frame
    band_min_len: float = 0.3        # band: runs along >= this fraction of the edge it touches
    band_min_elong: float = 3.0      # ...and length / width >= this
    band_angle_tol: float = 12.0     # deg: ...and parallel to that edge
    # red blotches: transient red (temporal novelty against the neighbouring frames, novelty.py)
    novel_window: int = 4            # neighbours on each side forming the reference
    novel_max_run: int = 3           # longest artifact run told from persistent structure
    novel_dilate: int = 2            # pooled px (x pool = 8 px): motion tolerated between frames
    novel_flicker: float = 0.3       # exposure changes tolerated (reference x (1 + this))
    blotch_min_novelty: int = 25     # grey levels of new red (seed; regions grow down to half)
    blotch_noise_k: float = 6.0      # ...or this many robust sigmas of the frame's novelty, if larger
    blotch_min_nuclei: float = 0.5   # area >= this x the area of a nucleus (green autocorrelation)
    blotch_max_elong: float = 4.0    # ...compact (length / width <= this; longer: a line or band)
    blotch_match: float = 0.5        # a displaced copy in a neighbour explains this much of it...
    blotch_search: float = 0.1       # ...searched within this fraction of the short side (a turn)
    blotch_context: int = 1          # ...with a ring of this many cells (8 px) around it (its surroundings)
    # generic outliers
    outlier_z: float = 15.0          # robust z of the difference to both neighbours
    outlier_min_diff: float = 4.0    # ...and a mean absolute difference (grey levels) at least this
    outlier_window: int = 15         # frames on each side for the robust z (local median / MAD)
    outlier_skip_ratio: float = 1.5  # ...and >= this x the difference between the two neighbours
    # out-of-order frames (order.py): resembles a distant frame far more than its neighbours
    order_ratio: float = 0.5         # distance to the distant match <= this x distance to the neighbours
    order_jump: float = 4.0          # ...neighbours >= this x the median frame-to-frame step away, match within it
    check_every: int = 4             # frames between progress / cancel checks
    workers: int = 2                 # threads computing per-frame features (results do not depend on it)

    def to_dict(self) -> dict:
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "CorruptSettings":
        if isinstance(data, dict):        # settings saved by the first version: still loadable
            data = {k: v for k, v in data.items() if k not in LEGACY_KEYS}
        return settings_from_dict(cls, data)
