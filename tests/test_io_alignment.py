"""Explicit alignment of annotations onto video frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embryo_gui.errors import EmbryoError
from embryo_gui.io import Alignment, Annotations, align_annotations
from embryo_gui.lineages import empty_counts


def make(kind, index, pops, path="ann.csv"):
    counts = empty_counts(len(index))
    counts[:, 7] = pops
    counts[:, 0] = np.asarray(pops) / 2
    return Annotations(path=path, kind=kind, index=np.asarray(index, np.int64), counts=counts, lineages=["A"])


def test_frames_kind_goes_to_frame_index():
    ann = make("frames", [0, 2, 5], [3, 4, 6])
    out, rep = align_annotations(ann, 8)
    assert out.shape == (8, 8) and out.dtype == np.float64
    assert out[[0, 2, 5], 7].tolist() == [3, 4, 6]
    assert np.isnan(out[[1, 3, 4, 6, 7]]).all()
    assert out[2, 0] == 2
    assert rep["annotated_frames"] == 3 and rep["unannotated_frames"] == 5
    assert rep["first_frame"] == 0 and rep["last_frame"] == 5
    assert rep["message"] == "3 annotated frames -> frames 0-5 of 8; 5 frames unannotated"
    json.dumps(rep)


def test_frames_kind_offset():
    out, rep = align_annotations(make("frames", [0, 1], [1, 2]), 5, Alignment(offset=3))
    assert out[3:, 7].tolist() == [1, 2] and np.isnan(out[:3]).all()
    assert rep["offset"] == 3 and rep["first_frame"] == 3


def test_frames_kind_lengths_agree():
    _, rep = align_annotations(make("frames", range(4), [1, 1, 2, 2]), 4)
    assert rep["lengths_agree"] and "lengths agree" in rep["message"]


def test_frames_past_video_raise():
    ann = make("frames", range(410), np.ones(410), path="counts.csv")
    with pytest.raises(EmbryoError, match=r"counts\.csv: annotations name frames 400-409 but the video has 400 frames"):
        align_annotations(ann, 400)


def test_frames_negative_offset_before_start_raises():
    with pytest.raises(EmbryoError, match=r"ann\.csv: with offset -2 the annotations name frames -2--1"):
        align_annotations(make("frames", [0, 1, 2], [1, 1, 1]), 10, Alignment(offset=-2))


def test_frames_kind_rejects_fpt():
    with pytest.raises(EmbryoError, match="timepoint"):
        align_annotations(make("frames", [0], [1]), 3, Alignment(frames_per_timepoint=2))


def test_timepoints_default_one_to_one():
    ann = make("timepoints", range(1, 141), np.arange(1, 141))
    out, rep = align_annotations(ann, 421)
    assert out[:140, 7].tolist() == list(range(1, 141))
    assert np.isnan(out[140:]).all()
    assert rep["message"] == "140 timepoints -> frames 0-139 of 421; 281 frames unannotated"
    assert rep["n_timepoints"] == 140 and rep["dropped_timepoints"] == 0 and not rep["lengths_agree"]


def test_timepoints_offset_and_fpt2():
    ann = make("timepoints", [1, 2, 3], [10, 20, 30])
    out, rep = align_annotations(ann, 10, Alignment(offset=2, frames_per_timepoint=2))
    pop = out[:, 7]
    assert np.isnan(pop[:2]).all()
    assert pop[2:8].tolist() == [10, 10, 20, 20, 30, 30]
    assert np.isnan(pop[8:]).all()
    assert rep["first_frame"] == 2 and rep["last_frame"] == 7 and rep["annotated_frames"] == 6
    assert rep["frames_per_timepoint"] == 2.0 and rep["offset"] == 2


def test_timepoints_gap_stays_unannotated():
    ann = make("timepoints", [1, 3], [5, 7])  # timepoint 2 missing in the file
    out, _ = align_annotations(ann, 3)
    assert out[0, 7] == 5 and np.isnan(out[1]).all() and out[2, 7] == 7


def test_timepoints_past_end_dropped_and_said():
    ann = make("timepoints", range(1, 141), np.arange(1, 141))
    out, rep = align_annotations(ann, 130)
    assert out[:, 7].tolist() == list(range(1, 131))
    assert rep["dropped_timepoints"] == 10 and rep["dropped"] == [131, 140]
    assert rep["message"] == ("140 timepoints -> frames 0-129 of 130; every frame is annotated; "
                              "10 timepoints past the end of the video were dropped")
    assert not rep["lengths_agree"]


def test_timepoints_exact_fit():
    _, rep = align_annotations(make("timepoints", range(1, 6), np.arange(5)), 10, Alignment(frames_per_timepoint=2))
    assert rep["lengths_agree"] and rep["message"].endswith("lengths agree, every frame is annotated")


def test_timepoints_negative_offset_drops_early():
    ann = make("timepoints", [1, 2, 3, 4], [1, 2, 3, 4])
    out, rep = align_annotations(ann, 4, Alignment(offset=-2))
    assert out[:2, 7].tolist() == [3, 4] and np.isnan(out[2:]).all()
    assert rep["dropped_timepoints"] == 2 and "2 timepoints before its first frame were dropped" in rep["message"]


def test_fractional_fpt_rounds_half_up_later_wins():
    ann = make("timepoints", [1, 2, 3], [1, 2, 3])
    out, _ = align_annotations(ann, 8, Alignment(frames_per_timepoint=1.5))
    # starts round(0)=0, round(1.5)=2, round(3)=3; each covers round(1.5)=2 frames
    assert out[:5, 7].tolist() == [1, 1, 2, 3, 3]


def test_bad_fpt():
    with pytest.raises(EmbryoError, match="frames per timepoint must be a positive number"):
        align_annotations(make("timepoints", [1], [1]), 3, Alignment(frames_per_timepoint=0))


def test_alignment_dict_round_trip():
    al = Alignment(offset=4, frames_per_timepoint=2.5)
    assert Alignment.from_dict(json.loads(json.dumps(al.to_dict()))) == al
    assert Alignment.from_dict(None) == Alignment()


def test_fpt_half_rounds_up():
    out, rep = align_annotations(make("timepoints", [1, 2], [1, 2]), 8, Alignment(frames_per_timepoint=2.5))
    # starts round(0)=0 and round(2.5)=3 (halves round up), each covers round(2.5)=3 frames
    assert out[:6, 7].tolist() == [1, 1, 1, 2, 2, 2] and np.isnan(out[6:]).all()
    assert rep["last_frame"] == 5
