"""Tests of the synthetic demo embryos (embryo_gui.demo): determinism, ground truth, realism."""

from __future__ import annotations

import numpy as np
import pytest

from embryo_gui.demo import TRUTH_KEYS, is_clean_index, make_demo_embryo, write_demo_project
from embryo_gui.errors import CancelledError, EmbryoError
from embryo_gui.lineages import COLUMNS, POPULATION
from embryo_gui.progress import CancelToken

SMALL = (64, 96, 3)
INJECTED = [0, 1, 2, 4, 5, 6]  # indices that are not clean


@pytest.fixture(scope="module")
def small_embryos():
    """Injected embryos with tiny frames, every frame rendered once (seed 12: all three red artifact
    kinds occur before the reporter phase)."""
    out = []
    for i in INJECTED:
        d = make_demo_embryo(i, seed=12, n_frames=80, frame_shape=SMALL)
        out.append((d, np.stack(list(d.frames()))))
    return out


def test_frames_shape_dtype_and_determinism():
    a = make_demo_embryo(0, seed=3, n_frames=40, frame_shape=SMALL)
    b = make_demo_embryo(0, seed=3, n_frames=40, frame_shape=SMALL)
    fa = np.stack(list(a.frames()))
    assert fa.shape == (40,) + SMALL and fa.dtype == np.uint8
    assert np.array_equal(fa, np.stack(list(b.frames())))
    assert np.array_equal(fa, np.stack(list(a.frames())))  # re-iterable, same pixels
    assert np.array_equal(a.frame(17), fa[17])              # random access = iteration
    assert np.array_equal(a.counts, b.counts)
    for k in TRUTH_KEYS:
        assert np.array_equal(a.truth[k], b.truth[k]), k
    c = make_demo_embryo(0, seed=4, n_frames=40, frame_shape=SMALL)
    assert not np.array_equal(a.truth["true_counts"], c.truth["true_counts"])
    assert not np.array_equal(fa[20], c.frame(20))
    d = make_demo_embryo(1, seed=3, n_frames=40, frame_shape=SMALL)
    assert not np.array_equal(a.counts, d.counts)


def test_truth_keys_shapes_and_counts_layout():
    d = make_demo_embryo(2, seed=0, n_frames=60, frame_shape=SMALL)
    assert set(d.truth) == set(TRUTH_KEYS)
    T = d.n_frames
    assert d.counts.shape == (T, len(COLUMNS)) and d.counts.dtype == np.float64
    assert d.truth["true_counts"].shape == (T, len(COLUMNS))
    for k in TRUTH_KEYS:
        if k not in ("true_counts", "clean"):
            assert d.truth[k].shape == (T,), k
    assert d.truth["cliff_kind"].dtype == np.int8 and d.truth["cliff_lineage"].dtype == np.int8
    assert d.truth["clean"].shape == () and not bool(d.truth["clean"])
    for arr in (d.counts, d.truth["true_counts"]):
        assert np.array_equal(arr[:, POPULATION], arr[:, :POPULATION].sum(axis=1))
        assert np.all(arr >= 0) and np.all(arr == np.round(arr))
    t = d.truth
    assert np.array_equal(t["red_artifact"], t["red_band"] | t["red_line"] | t["red_blotch"])
    assert not (t["dead"] & ~t["black"]).any()
    assert not (t["black"] & t["red_artifact"]).any()


def test_black_frames_are_dark(small_embryos):
    seen = 0
    for d, frames in small_embryos:
        normal = ~(d.truth["black"] | d.truth["red_artifact"])
        normal_green = np.median(frames[normal][..., 1].reshape(normal.sum(), -1).mean(axis=1))
        for f in np.flatnonzero(d.truth["black"]):
            seen += 1
            fr = frames[f].astype(float)
            assert fr[..., 1].mean() < 8.0 and fr[..., 1].mean() < 0.5 * normal_green
            assert np.percentile(fr[..., 1], 99) < 40
            if d.truth["dead"][f]:
                assert fr[..., 1].mean() < 3.0
    assert seen > 0


def _red_excess(frames: np.ndarray, f: int, ok: np.ndarray) -> float:
    """Total red of frame f minus the larger total red of its nearest usable neighbours."""
    nb = [g for g in range(f - 1, -1, -1) if ok[g]][:1] + [g for g in range(f + 1, len(frames)) if ok[g]][:1]
    return float(frames[f][..., 0].sum(dtype=np.int64) - max(frames[g][..., 0].sum(dtype=np.int64) for g in nb))


def test_red_artifact_frames_have_more_red_than_neighbours(small_embryos):
    counted = {"red_band": 0, "red_line": 0, "red_blotch": 0}
    for d, frames in small_embryos:
        t = d.truth
        ok = ~(t["black"] | t["red_artifact"])
        # reporter nuclei are legitimately red (and hard to tell from artifacts): compare before them
        quiet = ~t["reporter"]
        normal_excess = [_red_excess(frames, f, ok) for f in np.flatnonzero(ok & quiet)[1:-1]]
        base = np.percentile(normal_excess, 95)
        for f in np.flatnonzero(t["red_artifact"] & quiet):
            ex = _red_excess(frames, f, ok)
            assert ex > base, (d.name, f, ex, base)
            for k in counted:
                counted[k] += int(t[k][f])
    assert min(counted.values()) > 0, counted


def test_cliffs_are_below_truth_and_well_formed():
    kinds_seen = set()
    for i in INJECTED:
        d = make_demo_embryo(i, seed=5, n_frames=300)
        t = d.truth
        true_pop = t["true_counts"][:, POPULATION]
        pop = d.counts[:, POPULATION]
        cl = t["cliff"]
        assert np.array_equal(cl, t["cliff_kind"] > 0)
        assert np.array_equal(cl, t["cliff_lineage"] >= 0)
        assert np.all(pop[cl] <= 0.8 * true_pop[cl])
        assert np.all(true_pop[cl] >= 20)
        kinds_seen |= set(np.unique(t["cliff_kind"][cl]).tolist())
        for k in (2, 4):  # to_end cliffs last to the end of the video
            idx = np.flatnonzero(t["cliff_kind"] == k)
            if idx.size:
                assert idx[-1] == d.n_frames - 1 and np.all(np.diff(idx) == 1)
        for k in (1, 3):  # dips come back before the end
            idx = np.flatnonzero(t["cliff_kind"] == k)
            if idx.size:
                assert idx[-1] < d.n_frames - 1
                assert np.all(pop[idx[-1] + 1:idx[-1] + 2] > 0.8 * true_pop[idx[-1] + 1:idx[-1] + 2])
        # a single-lineage cliff leaves the other lineages as annotated (up to jitter)
        for lin in set(t["cliff_lineage"][cl].tolist()) - {POPULATION}:
            rows = cl & (t["cliff_lineage"] == lin)
            others = [c for c in range(POPULATION) if c != lin]
            assert np.all(np.abs(d.counts[rows][:, others] - t["true_counts"][rows][:, others]).sum(axis=1) <= 2)
    assert kinds_seen >= {1, 2}, kinds_seen


def test_mislabelled_frames_clearly_wrong_and_isolated():
    total = 0
    for i in INJECTED:
        d = make_demo_embryo(i, seed=7, n_frames=300)
        t = d.truth
        mis = t["mislabelled"]
        total += int(mis.sum())
        assert 0.02 * d.n_frames <= mis.sum() <= 0.11 * d.n_frames
        assert not (mis & t["cliff"]).any() and not (mis & t["spike"]).any()
        assert not (mis[1:] & mis[:-1]).any()
        tp = t["true_counts"][mis, POPULATION]
        assert np.all(np.abs(d.counts[mis, POPULATION] - tp) >= np.maximum(1, 0.25 * tp))
        # outside injections the annotation is the truth up to counting jitter and spikes
        legit = ~(mis | t["cliff"] | t["spike"])
        assert np.all(np.abs(d.counts[legit, POPULATION] - t["true_counts"][legit, POPULATION]) <= 2)
        sp = t["spike"]
        assert np.all(d.counts[sp, POPULATION] > t["true_counts"][sp, POPULATION])
    assert total > 0


def test_clean_embryo_has_no_injection():
    assert [i for i in range(8) if is_clean_index(i)] == [3, 7]
    d = make_demo_embryo(3, seed=2, n_frames=200, frame_shape=SMALL)
    t = d.truth
    assert bool(t["clean"])
    for k in ("black", "dead", "red_artifact", "cliff", "mislabelled", "spike"):
        assert not t[k].any(), k
    assert np.all(t["cliff_lineage"] == -1)
    diff = np.abs(d.counts - t["true_counts"])
    assert diff[:, POPULATION].max() <= 2 and diff[:, :POPULATION].max() <= 1
    assert (diff[:, POPULATION] > 0).any()  # counting jitter is still there


def test_true_curves_resemble_epic():
    for i in range(8):
        d = make_demo_embryo(i, seed=13, n_frames=300)
        true = d.truth["true_counts"]
        pop = true[:, POPULATION]
        a = true[:, COLUMNS.index("A")]
        # the video starts between the 2- and ~100-cell stages and ends well populated
        assert 2 <= pop[0] <= 130
        assert 330 <= pop.max() <= 560
        # A doubles in near-synchronous rounds: every power of two in range is a plateau value
        for p in (4, 8, 16, 32, 64, 128, 256):
            if a[0] <= p / 2 and a.max() >= 2 * p:
                assert (a == p).sum() >= 2, (i, p)
        # near-monotone population: only small drops (programmed deaths)
        drops = -np.diff(pop)
        assert drops.max() <= 6 and drops[drops > 0].sum() <= 0.12 * pop.max()
        assert true[-1, COLUMNS.index("Z")] in (0, 2) and true[:, COLUMNS.index("P")].max() <= 1
        assert 12 <= true[-1, COLUMNS.index("E")] <= 28  # 16 -> ~20 (the last round is partial)


def test_late_features_reporters_and_twitch():
    for i in range(4):
        d = make_demo_embryo(i, seed=21, n_frames=300)
        t = d.truth
        pop = t["true_counts"][:, POPULATION]
        if t["twitch"].any():
            assert np.flatnonzero(t["twitch"])[0] >= 2 * d.n_frames / 3 - 1
            assert pop[t["twitch"]].min() >= 300
        if t["reporter"].any():
            assert pop[t["reporter"]].min() >= 150
    d = make_demo_embryo(0, seed=21, n_frames=60, frame_shape=(128, 192, 3))
    t = d.truth
    rep = np.flatnonzero(t["reporter"] & ~t["black"] & ~t["red_artifact"])
    early = np.flatnonzero(~t["reporter"] & ~t["black"] & ~t["red_artifact"])
    assert rep.size and early.size
    # reporter nuclei make bright red spots; early frames have only faint red
    assert np.percentile(d.frame(int(rep[-1]))[..., 0], 99.5) > np.percentile(d.frame(int(early[0]))[..., 0], 99.5) + 30
    tw = np.flatnonzero(t["twitch"])
    if tw.size:
        f = int(tw[-1])
        assert not np.array_equal(d.frame(f), d.frame(f - 1))


def test_bad_arguments_raise_embryo_error():
    with pytest.raises(EmbryoError, match="at least 8 frames, got 3"):
        make_demo_embryo(0, 0, n_frames=3)
    with pytest.raises(EmbryoError, match=r"frame shape must be .*got \(64, 96\)"):
        make_demo_embryo(0, 0, frame_shape=(64, 96))
    with pytest.raises(EmbryoError, match="seed and index must be non-negative"):
        make_demo_embryo(0, -1)


def test_write_demo_project_roundtrip(tmp_path):
    from embryo_gui.model import Project

    seen = []
    path = tmp_path / "demo.h5"
    p = write_demo_project(path, n_embryos=2, n_frames=12, seed=9, frame_shape=(48, 64, 3), progress=seen.append)
    assert [e.name for e in p.embryos] == ["demo_00", "demo_01"]
    assert seen and seen[-1]["done"] == seen[-1]["total"] == 24
    q = Project.open(path)
    for i, e in enumerate(q.embryos):
        d = make_demo_embryo(i, 9, 12, (48, 64, 3))
        assert e.n_frames == 12 and tuple(e.frame_shape) == (48, 64, 3)
        assert np.array_equal(e.original, d.counts)
        assert e.source["kind"] == "demo" and e.source["index"] == i and e.source["seed"] == 9
        assert np.array_equal(e.frames[5], d.frame(5))
        assert set(e.truth) == set(TRUTH_KEYS)
        assert np.array_equal(e.truth["true_counts"], d.truth["true_counts"])


def test_write_demo_project_cancel_leaves_nothing(tmp_path):
    token = CancelToken()
    path = tmp_path / "demo.h5"

    def progress(info):
        if info["embryo"] >= 1:
            token.cancel()

    with pytest.raises(CancelledError):
        write_demo_project(path, n_embryos=3, n_frames=10, seed=1, frame_shape=(48, 64, 3),
                           progress=progress, cancel=token)
    assert not path.exists()
    leftovers = [x for x in tmp_path.rglob("*") if x.is_file()]
    assert leftovers == []


# ---------------------------------------------------------------- codec round trip (mp4v like EPIC)
def test_mp4v_round_trip_deterministic_and_random_access():
    a = make_demo_embryo(1, seed=8, n_frames=24, frame_shape=(96, 128, 3))
    b = make_demo_embryo(1, seed=8, n_frames=24, frame_shape=(96, 128, 3))
    assert a.codec == "mp4v"
    fa = np.stack(list(a.frames()))
    fb = np.stack(list(b.frames()))          # a second, independent encode: bit-identical
    assert fa.shape == (24, 96, 128, 3) and fa.dtype == np.uint8
    assert np.array_equal(fa, fb)
    assert np.array_equal(np.stack(list(a.frames())), fa)  # re-iteration decodes the cached video
    fresh = make_demo_embryo(1, seed=8, n_frames=24, frame_shape=(96, 128, 3))
    for i in (23, 0, 11):                    # frame() before any frames() pass, any order
        assert np.array_equal(fresh.frame(i), fa[i]), i
    with pytest.raises(IndexError):
        fresh.frame(24)


def test_mp4v_is_lossy_and_differs_from_jpeg_but_truth_is_unchanged():
    shape = (96, 128, 3)
    raw = make_demo_embryo(0, seed=8, n_frames=16, frame_shape=shape, codec="none")
    mp4 = make_demo_embryo(0, seed=8, n_frames=16, frame_shape=shape)
    jpg = make_demo_embryo(0, seed=8, n_frames=16, frame_shape=shape, codec="jpeg")
    fr, fm, fj = (np.stack(list(d.frames())).astype(np.int16) for d in (raw, mp4, jpg))
    err = np.abs(fm - fr).mean(axis=(1, 2, 3))
    assert np.all(err > 0.3) and np.all(err < 12.0), err   # a real, modest loss on every frame
    assert not np.array_equal(fm, fj)
    # the codec smooths the sensor noise of the dark background
    bg = fr[..., 1] < 15
    assert fm[..., 1][bg].std() < fr[..., 1][bg].std()
    np.testing.assert_array_equal(mp4.counts, raw.counts)
    for k in TRUTH_KEYS:
        assert np.array_equal(mp4.truth[k], raw.truth[k]), k


def test_mp4v_odd_frame_size_is_padded_and_cropped():
    d = make_demo_embryo(2, seed=8, n_frames=10, frame_shape=(63, 95, 3))
    f = np.stack(list(d.frames()))
    assert f.shape == (10, 63, 95, 3)
    assert np.array_equal(d.frame(7), f[7])
    raw = make_demo_embryo(2, seed=8, n_frames=10, frame_shape=(63, 95, 3), codec="none")
    assert np.abs(f.astype(int) - np.stack(list(raw.frames()))).mean() < 12.0


def test_mp4v_frame_count_is_checked_and_bad_codec_rejected():
    from embryo_gui.demo.codec import decode_mp4v

    d = make_demo_embryo(0, seed=8, n_frames=9, frame_shape=(48, 64, 3))
    d.frame(0)
    with pytest.raises(EmbryoError, match="decoded 9 demo frames.*expected 10"):
        list(decode_mp4v(d._mp4, 10, 48, 64))
    with pytest.raises(EmbryoError, match="expected 8"):
        list(decode_mp4v(d._mp4, 8, 48, 64))
    with pytest.raises(EmbryoError, match="codec"):
        make_demo_embryo(0, seed=8, codec="h264")
