"""Per-frame annotation CSVs: frame / filenames columns, lineage subsets, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest

from embryo_gui.errors import EmbryoError
from embryo_gui.io import read_annotations, read_frame_csv
from embryo_gui.io.annotations import frame_from_filename
from embryo_gui.lineages import COLUMNS


def _write(tmp_path, text, name="ann.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def col(name):
    return COLUMNS.index(name)


def test_frame_column_population_only(tmp_path):
    p = _write(tmp_path, "frame,population\n2,5\n0,3\n1,4\n")
    ann = read_frame_csv(p)
    assert ann.kind == "frames" and ann.path == str(p)
    assert ann.index.dtype == np.int64 and ann.index.tolist() == [0, 1, 2]
    assert ann.counts.shape == (3, 8) and ann.counts.dtype == np.float64
    assert ann.counts[:, col("population")].tolist() == [3, 4, 5]
    assert np.isnan(ann.counts[:, :7]).all()
    assert ann.lineages == []


def test_lineage_subset_case_insensitive_sums_population(tmp_path):
    p = _write(tmp_path, "Frame,a,E,p,notes\n0,1,0,1,x\n5,4,1,2,y\n")
    ann = read_frame_csv(p)
    assert ann.index.tolist() == [0, 5]
    assert ann.lineages == ["A", "E", "P"]
    assert ann.counts[1, col("A")] == 4 and ann.counts[1, col("E")] == 1 and ann.counts[1, col("P")] == 2
    assert ann.counts[:, col("population")].tolist() == [2, 7]
    assert np.isnan(ann.counts[:, col("M")]).all() and np.isnan(ann.counts[:, col("Z")]).all()


def test_given_population_is_kept(tmp_path):
    ann = read_frame_csv(_write(tmp_path, "frame,A,population\n0,2,9\n"))
    assert ann.counts[0, col("A")] == 2 and ann.counts[0, col("population")] == 9


def test_missing_frames_are_nan_not_zero(tmp_path):
    ann = read_frame_csv(_write(tmp_path, "frame,population\n0,1\n7,2\n"))
    assert ann.index.tolist() == [0, 7]  # frames 1..6 have no row: unannotated


def test_filenames_column_last_digits(tmp_path):
    text = ("filenames,population\n"
            "embryo2_frame10.png,12\n"
            "C:\\data\\embryo2_frame9.png,11\n"
            "/x/run3/embryo2_frame_002.jpg,4\n")
    ann = read_frame_csv(_write(tmp_path, text))
    assert ann.index.tolist() == [2, 9, 10]
    assert ann.counts[:, col("population")].tolist() == [4, 11, 12]


def test_frame_from_filename():
    assert frame_from_filename("embryo1_0042.png") == 42
    assert frame_from_filename("clip.mp4") is None  # the extension's digits do not count
    assert frame_from_filename("frame7.mp4") == 7
    assert frame_from_filename("a/b12/frame3.tif") == 3
    assert frame_from_filename("f12.001") == 1  # a numeric 'extension' is part of the name


def test_semicolon_delimiter_and_bom(tmp_path):
    p = tmp_path / "semi.csv"
    p.write_bytes("\ufeffframe;population\n0;3\n1;4\n".encode("utf-8"))
    ann = read_frame_csv(p)
    assert ann.index.tolist() == [0, 1] and ann.counts[:, 7].tolist() == [3, 4]


def test_read_annotations_sniffs_frame_csv(tmp_path):
    ann = read_annotations(_write(tmp_path, "frame,population\n0,2\n"))
    assert ann.kind == "frames" and ann.counts[0, 7] == 2


def test_blank_lines_skipped_and_float_frames(tmp_path):
    ann = read_frame_csv(_write(tmp_path, "frame,population\n\n0,2\n\n3.0,5\n"))
    assert ann.index.tolist() == [0, 3]


# ------------------------------------------------------------------------------------------------
# bad input: each message names the file and the problem
@pytest.mark.parametrize("text,problem", [
    ("", r"the file is empty"),
    ("\n\n", r"the file is empty"),
    ("frame,population\n", r"the file has a header but no rows"),
    ("index,population\n0,1\n", r"no 'frame' or 'filenames' column"),
    ("frame,comment\n0,hello\n", r"no count column"),
    ("frame,population\n0,1\n1,many\n", r"count 'many' in column population on line 3 is not a number"),
    ("frame,population\n0,1\n1,nan\n", r"count 'nan' in column population on line 3 is not a finite"),
    ("frame,A,E\n0,1,\n", r"empty count in column E on line 2"),
    ("frame,population\n0,1\n1,-2\n", r"negative count -2 in column population on line 3"),
    ("frame,population\n0,1\n4,2\n0,3\n", r"frame 0 appears twice \(lines 2 and 4\)"),
    ("frame,population\n-1,1\n", r"negative frame number -1 on line 2"),
    ("frame,population\n1.5,1\n", r"frame '1.5' on line 2 is not a whole number"),
    ("frame,population\nx,1\n", r"frame 'x' on line 2 is not a whole number"),
    ("filenames,population\nframe1.png,1\nlast.png,2\n", r"filenames entry 'last.png' on line 3 has no digits"),
    ("frame,population\n0\n", r"line 2 has 1 fields but the header has 2"),
    ("frame,A,a\n0,1,1\n", r"column A appears twice"),
])
def test_bad_frame_csv(tmp_path, text, problem):
    p = _write(tmp_path, text, name="bad_ann.csv")
    with pytest.raises(EmbryoError, match=r"bad_ann\.csv: " + problem) as info:
        read_annotations(p)
    assert "\n" not in str(info.value)
    assert info.value.path == str(p)


def test_missing_file(tmp_path):
    with pytest.raises(EmbryoError, match=r"gone\.csv: no such file"):
        read_annotations(tmp_path / "gone.csv")


def test_binary_file(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x82garbage")
    with pytest.raises(EmbryoError, match=r"bin\.csv: is not a text \(CSV\) file"):
        read_annotations(p)


def test_folder_instead_of_file(tmp_path):
    d = tmp_path / "somedir"
    d.mkdir()
    with pytest.raises(EmbryoError, match=r"somedir: is a folder, not an annotation file"):
        read_annotations(d)


def test_describe_is_json_able(tmp_path):
    import json

    ann = read_frame_csv(_write(tmp_path, "frame,A,population\n3,1,2\n9,2,4\n"))
    d = json.loads(json.dumps(ann.describe()))
    assert d["rows"] == 2 and d["first"] == 3 and d["last"] == 9 and d["lineages"] == ["A"] and d["kind"] == "frames"
