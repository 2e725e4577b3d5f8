"""The frame store: small copies, direct-chunk pipeline, old-format files, plain-h5py readability."""

from __future__ import annotations

import subprocess
import sys

import cv2
import h5py
import hdf5plugin
import numpy as np
import pytest

from embryo_gui.errors import EmbryoError
from embryo_gui.model.format import FRAMES_FORMAT_NAME
from embryo_gui.model.framestore import (CODEC, FrameReader, LiveFrames, dataset_codec, pyramid, small_frame,
                                         write_frame_file)


def frames_of(n, shape=(40, 52, 3), seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(20, 6, shape).clip(0, 255).astype(np.uint8)
    out = []
    for i in range(n):
        f = base.copy()
        cv2.circle(f, (5 + 2 * i % 40, 20), 6, (30, 200, 40), -1)
        f[0, 0] = i  # every frame different
        out.append(f)
    return out


def test_small_frame_is_quarter_inter_area():
    f = frames_of(1, (512, 752, 3))[0]
    s = small_frame(f)
    assert s.shape == (128, 188, 3)
    half = cv2.resize(f, (376, 256), interpolation=cv2.INTER_AREA)
    assert np.array_equal(pyramid(f)[0], half)
    assert np.array_equal(s, cv2.resize(half, (188, 128), interpolation=cv2.INTER_AREA))
    # two exact halvings round twice: within 1 of the 4 x 4 block mean
    block = f.reshape(128, 4, 188, 4, 3).mean(axis=(1, 3))
    assert np.abs(s - block).max() <= 1.0


def test_small_frame_of_a_size_not_a_multiple_of_four_drops_the_last_rows():
    # the real EPIC movies are 676x457: 457 rows are cropped to 456, so both halvings are exact
    f = frames_of(1, (457, 678, 3))[0]
    half, s = pyramid(f)
    assert half.shape == (228, 338, 3) and s.shape == (114, 169, 3)
    assert np.array_equal(half, cv2.resize(f[:456, :676], (338, 228), interpolation=cv2.INTER_AREA))
    assert np.array_equal(s, cv2.resize(half, (169, 114), interpolation=cv2.INTER_AREA))
    assert small_frame(np.zeros((3, 2, 3), np.uint8)).shape == (1, 1, 3)  # tiny frames: at least 1 px


def test_write_stores_frames_small_and_features_in_order(tmp_path):
    frames = frames_of(37)
    seen = []

    def feats(fr, small, half):
        return {"mean": float(fr.mean()), "thumb": small[::4, ::4, 1].copy(), "tag": f"f{int(fr[0, 0, 0])}"}

    p = tmp_path / "x.h5"
    n = write_frame_file(p, iter(frames), frames[0].shape, expected_frames=10, features=feats,
                         on_frame=lambda i, fr: seen.append((i, int(fr[0, 0, 0]))))
    assert n == 37
    assert seen == [(i, i) for i in range(37)]  # in order, every frame
    r = FrameReader(p, 37, frames[0].shape)
    assert r.has_small and r.version == 2
    assert r.small_shape == (10, 13, 3)
    for i in (0, 5, 36):
        assert np.array_equal(r[i], frames[i])
    idx = [36, 3, 3, 0]
    assert np.array_equal(r.read(idx), np.stack([frames[i] for i in idx]))
    assert np.array_equal(r.read_small(idx), np.stack([small_frame(frames[i]) for i in idx]))
    f = r.features()
    assert f["mean"].shape == (37,) and np.allclose(f["mean"], [fr.mean() for fr in frames])
    assert f["thumb"].shape == (37, 3, 4) and np.array_equal(f["thumb"][7], small_frame(frames[7])[::4, ::4, 1])
    assert list(f["tag"][:3]) == ["f0", "f1", "f2"]
    assert len(r) == 37 and all(np.array_equal(a, b) for a, b in zip(r, frames)) and len(list(r)) == 37
    with pytest.raises(IndexError, match="out of range"):
        r[37]


def test_plain_h5py_with_hdf5plugin_reads_the_file(tmp_path):
    """A reader with nothing of this project: h5py + hdf5plugin's filter, in a fresh process."""
    frames = frames_of(5)
    p = tmp_path / "x.h5"
    write_frame_file(p, iter(frames), frames[0].shape)
    np.save(tmp_path / "expect.npy", np.stack(frames))
    code = ("import sys, h5py, hdf5plugin, numpy as np\n"
            "f = h5py.File(sys.argv[1], 'r')\n"
            "e = np.load(sys.argv[2])\n"
            "assert (f['frames'][()] == e).all()\n"
            "assert f['small'].shape == (5, 10, 13, 3)\n"
            "assert 'embryo_gui' not in sys.modules\n"
            "print(dict(f['frames']._filters))\n")
    out = subprocess.run([sys.executable, "-c", code, str(p), str(tmp_path / "expect.npy")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "32001" in out.stdout


def test_codec_is_recorded_in_the_filter(tmp_path):
    frames = frames_of(2)
    p = tmp_path / "x.h5"
    write_frame_file(p, iter(frames), frames[0].shape)
    with h5py.File(p, "r") as f:
        assert dataset_codec(f["frames"]) == CODEC
        assert dataset_codec(f["small"]) == CODEC


def _write_v1(path, frames, compression):
    """A frame file as version 1 wrote it: /frames only, through h5py's filter pipeline."""
    h, w, c = frames[0].shape
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FRAMES_FORMAT_NAME
        f.attrs["format_version"] = 1
        f.attrs["n_frames"] = len(frames)
        f.create_dataset("frames", data=np.stack(frames), chunks=(1, h, w, c), **compression)


@pytest.mark.parametrize("compression", [
    dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
    dict(compression="lzf"),
    dict(),
], ids=["blosc-bitshuffle", "lzf", "none"])
def test_version1_files_read_as_before_with_small_fallback(tmp_path, compression):
    frames = frames_of(6)
    p = tmp_path / "old.h5"
    _write_v1(p, frames, compression)
    r = FrameReader(p, 6, frames[0].shape)
    assert not r.has_small and r.version == 1
    assert np.array_equal(r[4], frames[4])
    assert np.array_equal(r.read([5, 0]), np.stack([frames[5], frames[0]]))
    assert np.array_equal(r.read_small([2, 1]), np.stack([small_frame(frames[2]), small_frame(frames[1])]))
    assert r.features() == {}


def test_incompressible_chunk_stored_raw_by_old_filter_reads(tmp_path):
    """The HDF5 Blosc filter stores a chunk it cannot shrink raw (filter mask set): still read."""
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3)]
    p = tmp_path / "raw.h5"
    _write_v1(p, frames, dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=0)))
    r = FrameReader(p)
    assert np.array_equal(r.read([0, 1, 2]), np.stack(frames))


def test_newer_version_refused_with_one_line(tmp_path):
    frames = frames_of(2)
    p = tmp_path / "new.h5"
    write_frame_file(p, iter(frames), frames[0].shape)
    with h5py.File(p, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(EmbryoError, match="newer"):
        FrameReader(p)[0]


def test_decoder_error_and_bad_frame_leave_no_file(tmp_path):
    frames = frames_of(4)

    def broken():
        yield frames[0]
        yield frames[1]
        raise EmbryoError("decoder broke", "src.mp4")

    p = tmp_path / "x.h5"
    with pytest.raises(EmbryoError, match="decoder broke"):
        write_frame_file(p, broken(), frames[0].shape)
    assert not p.exists() and not list(tmp_path.iterdir())
    with pytest.raises(EmbryoError, match="expected"):
        write_frame_file(p, iter([frames[0], frames[1][:10]]), frames[0].shape)
    assert not list(tmp_path.iterdir())
    with pytest.raises(EmbryoError, match="no frame"):
        write_frame_file(p, iter([]), frames[0].shape)
    assert not list(tmp_path.iterdir())


def test_live_frames_keep_first_within_budget_then_newest():
    fr = np.zeros((10, 10, 3), np.uint8)
    live = LiveFrames(budget_bytes=3 * fr.nbytes)
    for i in range(6):
        live.add(i, fr + i)
    assert live.count == 6
    assert [live.get(i) is not None for i in range(6)] == [True, True, True, False, False, True]
    assert live.latest()[0] == 5 and live.latest()[1][0, 0, 0] == 5
    live.finish()
    assert live.done and live.changed.is_set()


def test_pipelines_hand_the_gil_over_quickly_and_restore_the_interval(tmp_path):
    """While an import writes its frames the interpreter switches threads every 0.5 ms (a thread
    back from decoding or writing would otherwise wait up to 5 ms for the GIL); afterwards, and
    after nested or failing uses, the interval found before is back."""

    from embryo_gui import progress
    from embryo_gui.model.framestore import write_frame_file

    before = sys.getswitchinterval()
    seen = []

    def features(frame, small, half):
        seen.append(sys.getswitchinterval())
        return {"x": 0.0}

    frames = [np.full((16, 16, 3), i, np.uint8) for i in range(6)]
    write_frame_file(tmp_path / "f.h5", iter(frames), (16, 16, 3), 6, features=features)
    assert seen and max(seen) <= progress.PIPELINE_SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before
    with progress.quick_gil_handover():
        with progress.quick_gil_handover():
            assert sys.getswitchinterval() == progress.PIPELINE_SWITCH_INTERVAL
        assert sys.getswitchinterval() == progress.PIPELINE_SWITCH_INTERVAL  # the outer one still runs
    assert sys.getswitchinterval() == before
    with pytest.raises(ValueError):
        with progress.quick_gil_handover():
            raise ValueError("boom")
    assert sys.getswitchinterval() == before
    assert list(progress.ordered_map(lambda x: x * 2, range(5), 2, 3)) == [0, 2, 4, 6, 8]
    assert sys.getswitchinterval() == before


def test_uncompressed_codec_stores_raw_bytes_behind_a_blosc_header(tmp_path):
    from embryo_gui.model.framestore import FRAME_CODECS, frame_codec_name, resolve_frame_codec
    frames = frames_of(6)
    lz4, raw = tmp_path / "lz4.h5", tmp_path / "raw.h5"
    write_frame_file(lz4, iter(frames), frames[0].shape)
    write_frame_file(raw, iter(frames), frames[0].shape, codec=resolve_frame_codec("none"))
    nbytes = frames[0].nbytes
    with h5py.File(raw, "r") as f, h5py.File(lz4, "r") as g:
        assert dataset_codec(f["frames"]) == FRAME_CODECS["none"] and dataset_codec(f["small"])["clevel"] == 0
        assert frame_codec_name(dataset_codec(f["frames"])) == "none"
        assert frame_codec_name(dataset_codec(g["frames"])) == "lz4"
        _, chunk = f["frames"].id.read_direct_chunk((0, 0, 0, 0))
        assert len(chunk) == nbytes + 16            # Blosc at level 0: the bytes as they are
        assert g["frames"].id.get_storage_size() < f["frames"].id.get_storage_size()
        assert np.array_equal(f["frames"][()], np.stack(frames))   # HDF5's own filter reads it too
    r = FrameReader(raw)
    assert r.codec == FRAME_CODECS["none"]
    assert all(np.array_equal(r[i], frames[i]) for i in (5, 0, 3))
    assert np.array_equal(r.read_small([1, 2]), np.stack([small_frame(frames[i]) for i in (1, 2)]))
    r.close()
    with pytest.raises(EmbryoError, match="unknown frame codec 'zip'; choose one of lz4, none"):
        resolve_frame_codec("zip")
    assert resolve_frame_codec(None) == CODEC
    from embryo_gui.policy import DEFAULT_FRAME_CODEC, FRAME_CODEC_NAMES
    assert tuple(FRAME_CODECS) == FRAME_CODEC_NAMES and FRAME_CODECS[DEFAULT_FRAME_CODEC] == CODEC
