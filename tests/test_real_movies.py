"""The real EPIC movies of shared/data/epic: import, detection, the poster frame, the alignment check.

Both movies are small (243 frames of 676 x 457, ~1 MB each): imported once per test module (a few
seconds).  What is known about them (shared/data/epic/README.md, checked frame by frame): L1's
frame 0 is a poster frame (a copy of a late frame, resembling frame ~205); neither movie holds a
black frame or a red artifact; both start with a few dim nuclei and end with red/yellow reporter
nuclei and twitching.  The lineages map with the default alignment (timepoint 1 -> frame 0).
"""

from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from conftest import EPIC_DIR as _CI_DIR

# CI: shared/ beside the clone; a worktree of this machine: /work/shared
EPIC_DIR = next((d for d in (_CI_DIR, Path("/work/shared/data/epic")) if d.is_dir()), _CI_DIR)

MOVIES = {name: (EPIC_DIR / f"20080731_ceh-32_4_{name}.mov", EPIC_DIR / f"CD20080731_ceh-32_4_{name}.csv")
          for name in ("L1", "L2")}
pytestmark = pytest.mark.skipif(not all(m.exists() and c.exists() for m, c in MOVIES.values()),
                                reason=f"real EPIC movies not found in {EPIC_DIR} (shared/ is not next to the repo)")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from embryo_gui.app.importing import import_embryo
    from embryo_gui.model import Project

    p = Project(tmp_path_factory.mktemp("real") / "real.h5")
    messages = {}
    for name, (movie, csv) in MOVIES.items():
        _, messages[name] = import_embryo(p, movie, csv, name=name)
    p.save()
    return p, messages


def test_import_reports_the_alignment_check(project):
    p, messages = project
    for name in MOVIES:
        e = p.embryo(name) if hasattr(p, "embryo") else next(x for x in p.embryos if x.name == name)
        assert e.n_frames == 243 and e.frame_shape[:2] == (457, 676)
        chk = e.alignment["check"]
        assert chk["offset_used"] == 0 and chk["frames_per_timepoint_used"] == 1.0
        assert chk["offset_best"] == 0 and chk["frames_per_timepoint_best"] == 1.0, chk["message"]
        assert chk["agrees"] and "WARNING" not in chk["message"]
        assert chk["cost_best"] < chk["cost_next"]          # the fit is not a tie
        # early frames: the estimate sees the few big nuclei (2-4 at the start)
        assert 1 <= min(chk["estimated_counts"][1:6]) <= 6
        assert any("alignment checked against the pixels" in m for m in messages[name])
    # L1's poster frame is left out of the fit, and said so
    assert "out-of-order frame 0 left out" in p.embryos[0].alignment["check"]["message"]


def test_alignment_check_warns_when_the_offset_is_wrong():
    from embryo_gui.detect.alignment_check import check_alignment, estimate_counts, small_frame
    from embryo_gui.io import open_frame_source, read_annotations
    from embryo_gui.lineages import POPULATION

    movie, csv = MOVIES["L2"]
    src = open_frame_source(movie)
    try:
        est = estimate_counts(small_frame(f) for f, _ in zip(iter(src), range(120)))
    finally:
        src.close()
    ann = read_annotations(csv)
    for used in (-3, -1, 1, 4):
        chk = check_alignment(est, ann.index, ann.counts[:, POPULATION], offset_used=used)
        assert not chk.agrees and chk.offset_best == 0 and chk.fpt_best == 1.0, (used, chk.message)
        assert chk.message.startswith("WARNING") and f"offset {used}" in chk.message
        assert chk.cost_used > chk.cost_best
    # the movie starting 5 frames later (its first 5 frames cut): the check finds offset -5
    chk = check_alignment(est[5:], ann.index, ann.counts[:, POPULATION], offset_used=0)
    assert (chk.offset_best, chk.fpt_best) == (-5, 1.0) and not chk.agrees


def test_detection_flags_the_poster_frame_and_nothing_else(project):
    from embryo_gui.app.autoclean import autoclean_project
    from embryo_gui.app.detecting import detection_summary

    p, _ = project
    autoclean_project(p)
    by = {e.name: e for e in p.embryos}
    l1, l2 = detection_summary(by["L1"]), detection_summary(by["L2"])
    assert l1["corrupt_frames"]["out_of_order"] == [0]
    assert all(v == [] for k, v in l1["corrupt_frames"].items() if k != "out_of_order"), l1
    reason = l1["reasons"]["0"]
    assert "out of time order" in reason
    resembles = int(reason.split("resembles frame ")[1].split()[0])
    assert 195 <= resembles <= 215, reason
    assert all(v == [] for v in l2["corrupt_frames"].values()), l2
    assert l2["reasons"] == {}
    # auto-clean leaves the poster frame out, and nothing else
    assert np.flatnonzero(by["L1"].flags.mask("excluded")).tolist() == [0]
    assert not by["L2"].flags.mask("excluded").any()


def _decode(path, stop=None):
    import cv2
    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while stop is None or len(out) < stop:
            ok, bgr = cap.read()
            if not ok:
                break
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    return out


@pytest.mark.parametrize("name", ["L1", "L2"])
def test_red_artifacts_in_real_late_frames_are_found_and_reporters_are_not(name):
    """Late frames (the last 63: reporter-bright red/yellow nuclei, twitching) with a saturated red
    band at an edge, a thin red line across the frame and a saturated uniform red patch injected:
    exactly those frames are flagged red, nothing else."""
    import cv2

    from embryo_gui.detect import detect_corrupt

    frames = _decode(MOVIES[name][0])[180:]
    H, W = frames[0].shape[:2]
    band, line, patch, wide = 15, 30, 45, 55
    f = frames[wide].copy()                              # a wide band reaching into the embryo's red
    f[-int(0.16 * H):, :, 0] = 250
    f[-int(0.16 * H):, :, 1] //= 5
    frames[wide] = f
    f = frames[band].copy()
    f[:, -9:, 0] = 255                                   # saturated band along the right edge
    f[:, -9:, 1] //= 4
    frames[band] = f
    f = frames[line].copy()
    cv2.line(f, (0, int(0.2 * H)), (W - 1, int(0.9 * H)), (230, 20, 20), 2)
    frames[line] = f
    f = frames[patch].copy()                             # uniform saturated patch, 2-3 nuclei wide,
    cv2.ellipse(f, (int(0.55 * W), int(0.45 * H)), (55, 35), 20, 0, 360, (255, 30, 20), -1)  # over the embryo
    frames[patch] = f
    res = detect_corrupt(iter(frames), len(frames))
    assert np.flatnonzero(res.verdicts["red_artifact"]).tolist() == [band, line, patch, wide], res.reasons
    assert res.red_kinds[band] == "band" and res.red_kinds[line] == "line" and res.red_kinds[wide] == "band"
    others = np.ones(len(frames), bool)
    others[[band, line, patch, wide]] = False
    assert not res.any()[others].any(), [r for r in res.reasons if r]
