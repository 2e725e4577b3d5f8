"""Export's frame path: stored chunks copied at full size, pool-compressed when resizing or gray,
portable LZF / uncompressed files readable without hdf5plugin."""

from __future__ import annotations

import subprocess
import sys

import cv2
import h5py
import numpy as np
import pytest

from embryo_gui.errors import EmbryoError
from embryo_gui.model import Project
from embryo_gui.model.framestore import (FrameReader, copy_frames, create_frames_dataset, small_frame,
                                         write_frame_file)


def frames_of(n, shape=(48, 64, 3), seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        f = rng.normal(18, 5, shape).clip(0, 255).astype(np.uint8)
        cv2.circle(f, (10 + i, 24), 7, (20, 220, 30), -1)
        out.append(f)
    return out


@pytest.fixture
def store(tmp_path):
    frames = frames_of(20)
    p = tmp_path / "src.h5"
    write_frame_file(p, iter(frames), frames[0].shape)
    return FrameReader(p), frames


def test_full_size_blosc_export_copies_the_stored_chunks(tmp_path, store):
    reader, frames = store
    idx = [3, 0, 19, 7]
    with h5py.File(tmp_path / "out.h5", "w") as f:
        ds = create_frames_dataset(f, "frames", len(idx), frames[0].shape, "blosc")
        seen = []
        assert copy_frames(ds, 0, reader, idx, on_frames=seen.append) == 4
        assert sum(seen) == 4
        for k, i in enumerate(idx):  # byte-identical chunks: nothing was recompressed
            assert ds.id.read_direct_chunk((k, 0, 0, 0)) == reader._full.ds.id.read_direct_chunk((i, 0, 0, 0))
        assert np.array_equal(ds[()], np.stack([frames[i] for i in idx]))


def test_blosc_export_of_an_uncompressed_store_is_compressed(tmp_path):
    # a store imported with --frame-codec none: its level-0 chunks are not copied into a "blosc" export
    from embryo_gui.model.framestore import CODEC, compress_chunk, dataset_codec, resolve_frame_codec
    frames = frames_of(12)
    p = tmp_path / "raw.h5"
    write_frame_file(p, iter(frames), frames[0].shape, codec=resolve_frame_codec("none"))
    reader = FrameReader(p)
    idx = [11, 2, 5, 0]
    with h5py.File(tmp_path / "out.h5", "w") as f:
        ds = create_frames_dataset(f, "frames", len(idx), frames[0].shape, "blosc")
        assert copy_frames(ds, 0, reader, idx) == 4
        assert dataset_codec(ds) == CODEC
        for k in range(len(idx)):
            _, chunk = ds.id.read_direct_chunk((k, 0, 0, 0))
            assert chunk[3] & 0x2 == 0            # Blosc header flag 'memcpyed' unset: compressed
            assert chunk == compress_chunk(frames[idx[k]])   # with the export's codec, not copied
        assert np.array_equal(ds[()], np.stack([frames[i] for i in idx]))
    reader.close()


@pytest.mark.parametrize("compression", ["blosc", "lzf", "none"])
def test_resized_and_gray_exports_match_opencv(tmp_path, store, compression):
    reader, frames = store
    idx = np.arange(0, 20, 2)
    with h5py.File(tmp_path / "out.h5", "w") as f:
        ds = create_frames_dataset(f, "frames", 2 * len(idx), (12, 16), compression)
        pos = copy_frames(ds, 0, reader, idx, size=(16, 12), gray=True)
        pos = copy_frames(ds, pos, reader, idx, size=(16, 12), gray=True)
        assert pos == 20
        expect = [cv2.cvtColor(cv2.resize(frames[i], (16, 12), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
                  for i in idx]
        assert np.array_equal(ds[()], np.stack(expect + expect))
        rgb = create_frames_dataset(f, "rgb", len(idx), frames[0].shape, compression)
        copy_frames(rgb, 0, reader, idx)
        assert np.array_equal(rgb[()], np.stack([frames[i] for i in idx]))


def test_portable_files_need_no_hdf5plugin(tmp_path, store):
    reader, frames = store
    for comp in ("lzf", "none"):
        with h5py.File(tmp_path / f"{comp}.h5", "w") as f:
            ds = create_frames_dataset(f, "frames", 5, frames[0].shape, comp)
            copy_frames(ds, 0, reader, range(5))
    np.save(tmp_path / "e.npy", np.stack(frames[:5]))
    code = ("import sys, h5py, numpy as np\n"
            "e = np.load(sys.argv[3])\n"
            "for p in sys.argv[1:3]:\n"
            "    assert (h5py.File(p, 'r')['frames'][()] == e).all(), p\n"
            "assert 'hdf5plugin' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lzf.h5"), str(tmp_path / "none.h5"),
                          str(tmp_path / "e.npy")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_unknown_compression_is_one_line_error(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        with pytest.raises(EmbryoError, match="unknown compression"):
            create_frames_dataset(f, "frames", 1, (4, 4, 3), "gzip9")


def test_export_cli_portable_and_default(tmp_path):
    from embryo_gui.app.exporting import export_dataset
    p = Project.create(tmp_path / "p.h5")
    frames = frames_of(12)
    counts = np.tile(np.arange(12, dtype=float)[:, None], (1, 8))
    p.add_embryo("e0", iter(frames), 12, frames[0].shape, counts)
    p.save()
    rep = export_dataset(p, tmp_path / "fast.h5")
    rep2 = export_dataset(p, tmp_path / "lzf.h5", compression="lzf")
    assert rep["n_frames"] == rep2["n_frames"] == 12
    with h5py.File(tmp_path / "fast.h5", "r") as a, h5py.File(tmp_path / "lzf.h5", "r") as b:
        assert np.array_equal(a["frames"][()], b["frames"][()])
        assert np.array_equal(a["frames"][()], np.stack(frames))
        assert "32001" in a["frames"]._filters and b["frames"].compression == "lzf"
        assert a["frames"].attrs["compression"] == "blosc"
    e = p.embryo("e0")
    assert np.array_equal(e.frames.read_small([4])[0], small_frame(frames[4]))


def test_project_with_version1_frame_file_opens_exports_and_trains_input(tmp_path):
    """An existing project whose frame file was written by version 1 (Blosc LZ4-5 + bit-shuffle
    through h5py's filter, no small copy): opened, read, exported (its chunks copied), small copies
    computed on demand."""
    from embryo_gui.app.exporting import export_dataset
    from embryo_gui.model.format import FRAMES_FORMAT_NAME
    from embryo_gui.train.preprocess import downsample_full, embryo_tensors
    import hdf5plugin
    frames = frames_of(10, shape=(64, 96, 3))
    p = Project.create(tmp_path / "p.h5")
    e = p.add_embryo("e0", iter(frames), 10, frames[0].shape, np.ones((10, 8)))
    p.save()
    path = e.frames.path
    e.frames.close()
    path.unlink()
    with h5py.File(path, "w") as f:  # what version 1 wrote
        f.attrs["format"] = FRAMES_FORMAT_NAME
        f.attrs["format_version"] = 1
        f.attrs["n_frames"] = 10
        f.create_dataset("frames", data=np.stack(frames), chunks=(1, 64, 96, 3),
                         **hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.BITSHUFFLE))
    p = Project.open(tmp_path / "p.h5")
    e = p.embryo("e0")
    assert np.array_equal(e.frames[3], frames[3]) and not e.frames.has_small and e.frames.version == 1
    assert np.array_equal(e.frames.read_small([2])[0], small_frame(frames[2]))
    x = embryo_tensors(e, np.arange(10), 16)
    assert np.array_equal(x, downsample_full(frames, 16))
    export_dataset(p, tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5", "r") as f:
        assert np.array_equal(f["frames"][()], np.stack(frames))


def test_cli_export_portable_and_none(tmp_path, capsys):
    from embryo_gui.cli.main import main
    p = Project.create(tmp_path / "p.h5")
    frames = frames_of(6)
    p.add_embryo("e0", iter(frames), 6, frames[0].shape, np.ones((6, 8)))
    p.save()
    assert main(["export", str(p.path), str(tmp_path / "a.h5"), "--portable"]) == 0
    assert main(["export", str(p.path), str(tmp_path / "b.h5"), "--compression", "none", "--gray"]) == 0
    capsys.readouterr()
    with h5py.File(tmp_path / "a.h5", "r") as a, h5py.File(tmp_path / "b.h5", "r") as b:
        assert a["frames"].compression == "lzf" and np.array_equal(a["frames"][()], np.stack(frames))
        assert b["frames"].compression is None and b["frames"].shape == (6, 48, 64)
        assert json_policy(a)["compression"] == "lzf" and json_policy(b)["compression"] == "none"


def json_policy(f):
    import json
    return json.loads(f.attrs["policy"])
