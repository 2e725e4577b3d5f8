"""Detection from what the import stored (features + small copies) gives the verdicts detection from
the full frames gives, on frames with artifacts, also at a frame size that is not a multiple of 4
(the real EPIC movies are 676x457)."""

from __future__ import annotations

import numpy as np
import pytest
from test_detect_corrupt import add_band, add_blotch, add_line, mp4v, video

from embryo_gui.app.importing import detector_features
from embryo_gui.detect import detect_corrupt
from embryo_gui.detect.corrupt import detect_corrupt_frames
from embryo_gui.model.framestore import FrameReader, write_frame_file
from embryo_gui.policy import DETECTOR_FEATURES_VERSION


@pytest.mark.parametrize("crop", [(0, 0), (3, 1)])
def test_stored_features_give_the_full_frame_verdicts(tmp_path, crop):
    frames, rng = video(7, 36, 150, 60, 1.5)
    frames[4] = add_band(frames[4], rng, "left", 8)
    frames[12] = add_line(frames[12], rng, 2, 30.0)
    frames[20] = add_blotch(frames[20], rng)
    frames[28] = np.zeros_like(frames[28])
    coded = mp4v(frames)
    dy, dx = crop        # drop rows / columns: a size that is not a multiple of 4
    coded = [np.ascontiguousarray(f[: f.shape[0] - dy, : f.shape[1] - dx]) for f in coded]
    p = tmp_path / "f.h5"
    n = write_frame_file(p, iter(coded), coded[0].shape, features=detector_features)
    reader = FrameReader(p, n, coded[0].shape)
    assert reader.features_version() == DETECTOR_FEATURES_VERSION
    stored = detect_corrupt_frames(reader, n)
    full = detect_corrupt(iter(coded), n)
    for kind in full.verdicts:
        assert np.array_equal(stored.verdicts[kind], full.verdicts[kind]), kind
    assert stored.reasons == full.reasons
    assert stored.verdicts["red_artifact"][[4, 12, 20]].all() and stored.verdicts["black"][28]


def test_features_of_another_method_version_are_not_reused(tmp_path, monkeypatch):
    frames, rng = video(3, 12, 80, 20, 1.0)
    coded = mp4v(frames)

    def old_method(frame, small, half=None):      # what an older release stored: unversioned
        return detector_features(frame, small, half)

    p = tmp_path / "old.h5"
    n = write_frame_file(p, iter(coded), coded[0].shape, features=old_method)
    reader = FrameReader(p, n, coded[0].shape)
    assert reader.features_version() is None and reader.features()
    import embryo_gui.detect.corrupt as corrupt
    used = []
    monkeypatch.setattr(corrupt, "detect_corrupt_stored", lambda *a, **k: used.append(1))
    res = detect_corrupt_frames(reader, n)        # read from the full frames instead
    assert not used and len(res.verdicts["black"]) == n


def test_stored_detection_reports_progress_stops_on_cancel_and_passes_errors_on(tmp_path):
    import threading

    from embryo_gui.errors import CancelledError
    from embryo_gui.progress import CancelToken

    frames, rng = video(5, 40, 80, 20, 1.0)
    coded = mp4v(frames)
    p = tmp_path / "f.h5"
    n = write_frame_file(p, iter(coded), coded[0].shape, features=detector_features)
    reader = FrameReader(p, n, coded[0].shape)
    seen = []
    detect_corrupt_frames(reader, n, progress=lambda d: seen.append((d["done"], threading.current_thread())))
    assert seen[-1][0] == n and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {t for _, t in seen} == {threading.current_thread()}     # called on the caller's thread
    token = CancelToken()

    def cancel_at_16(d):
        if d["done"] >= 16:
            token.cancel()
    with pytest.raises(CancelledError):         # (checked every 8 frames at check_every 1)
        detect_corrupt_frames(reader, n, {"check_every": 1}, progress=cancel_at_16, cancel=token)

    # a consumer's error inside the pass leaves no thread behind
    before = threading.active_count()
    with pytest.raises(ZeroDivisionError):
        detect_corrupt_frames(reader, n, progress=lambda d: 1 / 0)
    assert threading.active_count() <= before


def test_rebuilt_features_take_each_kinds_reason_of_its_own_frame():
    """Each frame gets its own stored reason for every kind, and "" for a kind stored without
    reasons (an older file)."""
    from embryo_gui.detect.corrupt import features_from_store
    T = 5
    small = [np.full((8, 12, 3), 10 * t, np.uint8) for t in range(T)]
    stored = {"bright": np.arange(T, dtype=float) + 100, "red_score": np.zeros(T), "red_kind": [""] * T,
              "red_reason": [""] * T, "thumb": np.zeros((T, 2, 3, 2), np.float32),
              "line_map": np.zeros((T, 8, 12), np.uint8),
              "band_score": np.arange(T) / 10.0, "band_reason": [f"band {t}" for t in range(T)],
              "line_score": np.zeros(T)}
    feats = list(features_from_store(stored, small))
    assert [f.kind_scores["band"] for f in feats] == [(t / 10.0, f"band {t}") for t in range(T)]
    assert [f.kind_scores["line"] for f in feats] == [(0.0, "")] * T
    assert [f.bright for f in feats] == [100.0 + t for t in range(T)]
