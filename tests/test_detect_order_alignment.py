"""Out-of-order (poster) frames and the alignment check, on synthetic data (no shared/ needed)."""

from __future__ import annotations

import numpy as np
import pytest

from embryo_gui.detect.alignment_check import check_alignment, count_nuclei, estimate_counts
from embryo_gui.detect.order import out_of_order


def blob_frame(rng, n, shape=(114, 169), radius=5.0, amp=120.0, noise=2.0, centres=None):
    h, w = shape
    img = rng.normal(6.0, noise, shape).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    if centres is None:
        centres = []
        while len(centres) < n:
            c = rng.uniform([radius * 2, radius * 2], [h - radius * 2, w - radius * 2])
            if all(np.hypot(*(c - d)) > 3.2 * radius for d in centres):
                centres.append(c)
    for cy, cx in centres:
        img += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.8 * radius) ** 2))
    g = np.clip(img, 0, 255).astype(np.uint8)
    return np.dstack([g // 8, g, g // 8])


@pytest.mark.parametrize("n", [1, 2, 4, 9, 16])
def test_count_nuclei_counts_separate_round_blobs(n):
    rng = np.random.default_rng(n)
    assert count_nuclei(blob_frame(rng, n)) == n


def test_count_nuclei_sees_nothing_in_noise_and_hot_pixels():
    rng = np.random.default_rng(0)
    f = blob_frame(rng, 0, noise=3.0)
    f[rng.integers(0, 114, 10), rng.integers(0, 169, 10), 1] = 40   # hot pixels after 4x pooling
    assert count_nuclei(f, min_snr=4.0, min_level=10.0) == 0
    assert count_nuclei(np.zeros((114, 169, 3), np.uint8)) == 0


def drifting_video(rng, T=120, n=30, shape=(28, 42)):
    """Thumbnails of blobs drifting slowly (a continuous time course)."""
    h, w = shape
    pos = rng.uniform([2, 2], [h - 2, w - 2], (n, 2))
    vel = rng.normal(0, 0.15, (n, 2))
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for t in range(T):
        img = np.full(shape, 5.0) + rng.normal(0, 0.5, shape)
        for (cy, cx) in pos + t * vel:
            img += 60 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0)
        out.append(img.astype(np.float32))
    return np.stack(out)


def test_a_copy_of_a_distant_frame_is_out_of_order_and_names_it():
    rng = np.random.default_rng(1)
    th = drifting_video(rng)
    v, s, m, r = out_of_order(th)
    assert not v.any() and s.max() < 1.0                   # a continuous video: nothing
    th[0] = th[100]                                         # a poster frame in front
    th[50] = th[90]                                         # a shuffled frame
    v, s, m, r = out_of_order(th)
    assert np.flatnonzero(v).tolist() == [0, 50]
    assert m[0] == 100 and m[50] == 90
    assert "resembles frame 100" in r[0] and "resembles frame 90" in r[50]


def test_still_video_and_black_frames_are_not_out_of_order():
    rng = np.random.default_rng(2)
    th = drifting_video(rng)
    still = np.repeat(th[:1], 60, axis=0) + rng.normal(0, 0.3, (60,) + th.shape[1:]).astype(np.float32)
    assert not out_of_order(still)[0].any()                # a still embryo matches every frame
    th[[10, 70]] = 0.0                                      # black frames resemble each other
    skip = np.zeros(len(th), bool)
    skip[[10, 70]] = True
    assert not out_of_order(th, skip=skip)[0].any()


def lineage_like(rng, n_tp=140):
    """A population curve with division waves (doubling steps spread over a few timepoints)."""
    pop = np.zeros(n_tp)
    count, t = 2.0, 0
    for rnd in range(8):
        length = int(rng.integers(8, 16)) + 2 * rnd
        wave = int(rng.integers(1, 3 + rnd // 2))
        for k in range(length):
            if t >= n_tp:
                break
            pop[t] = count + count * min(k, wave) / wave if k < wave else 2 * count
            t += 1
        count *= 2
    pop[t:] = count
    return np.arange(1, n_tp + 1), pop


@pytest.mark.parametrize("shift", [-6, -1, 0, 2, 7])
def test_alignment_check_finds_the_shift_from_a_saturating_noisy_count(shift):
    rng = np.random.default_rng(10 + shift)
    index, pop = lineage_like(rng)
    T = 200
    true = np.full(T, np.nan)
    for f in range(T):                     # frame f shows timepoint f + 1 - shift
        t = f - shift
        if 0 <= t < len(pop):
            true[f] = pop[t]
    true = np.where(np.isnan(true), pop[-1] if shift < 0 else 2.0, true)
    # the estimator undercounts and saturates (touching nuclei merge), with counting noise
    est = np.round(60 * (1 - np.exp(-true / 70)) * rng.normal(1, 0.06, T)).clip(1)
    chk = check_alignment(est, index, pop, offset_used=0)
    assert (chk.offset_best, chk.fpt_best) == (shift, 1.0), chk.message
    assert chk.agrees == (shift == 0)
    assert ("WARNING" in chk.message) == (shift != 0)
    assert chk.to_dict()["offset_best"] == shift


def test_alignment_check_finds_two_frames_per_timepoint():
    rng = np.random.default_rng(3)
    index, pop = lineage_like(rng)
    true = np.repeat(pop, 2)[:240]
    est = np.round(60 * (1 - np.exp(-true / 70)) * rng.normal(1, 0.05, true.size)).clip(1)
    chk = check_alignment(est, index, pop, offset_used=0, fpt_used=1.0)
    assert (chk.offset_best, chk.fpt_best) == (0, 2.0) and not chk.agrees, chk.message


def test_alignment_check_without_enough_frames_says_so():
    chk = check_alignment(np.zeros(30), np.arange(1, 31), np.full(30, 500.0))
    assert chk.agrees and "not checked" in chk.message


def test_demo_poster_frame_is_flagged_and_excluded_from_nothing_else():
    """A demo embryo with a poster frame (truth ``out_of_order``): found, with the frame it copies."""
    from embryo_gui.demo import make_demo_embryo
    from embryo_gui.detect import detect_corrupt

    d = make_demo_embryo(6, 0, n_frames=120, frame_shape=(256, 376, 3))
    truth = np.flatnonzero(d.truth["out_of_order"]).tolist()
    assert truth == [0]
    src = int(d.scene.frame_source[0])
    res = detect_corrupt(d.frames(), d.n_frames)
    assert np.flatnonzero(res.verdicts["out_of_order"]).tolist() == truth
    named = int(res.reasons[0].split("resembles frame ")[1].split()[0])
    assert abs(named - src) <= 3, (res.reasons[0], src)
    assert not res.verdicts["red_artifact"][0]            # its reporters belong to another time


def test_estimate_counts_of_small_frames():
    rng = np.random.default_rng(4)
    frames = [blob_frame(rng, n) for n in (2, 4, 8)]
    assert estimate_counts(frames).tolist() == [2.0, 4.0, 8.0]


def test_band_merged_with_reporter_red_of_a_late_embryo_is_found():
    """Demo embryo (seed 0, index 5) frame 285: a 65-px saturated band along the bottom edge
    touching a late embryo full of red/yellow reporter nuclei (reporters filling the embryo); the
    band merged with the embryo's red scored 0.78 as one region (its elongation lost); apart from
    it (opening along the edge) it is a band.  The frame rendered without the codec (one frame)."""
    from embryo_gui.demo import make_demo_embryo
    from embryo_gui.detect import frame_features

    emb = make_demo_embryo(5, 0, 300, (512, 752, 3))
    assert emb.truth["red_band"][285]
    score, reason = frame_features(emb.scene.render(285)).kind_scores["band"]
    assert score >= 1.0 and "bottom edge" in reason
    score, _ = frame_features(emb.scene.render(284)).kind_scores["band"]   # the same embryo, no band
    assert score < 0.5
