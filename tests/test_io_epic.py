"""EPIC lineage files: synthetic tables and the real files in shared/data/epic."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from embryo_gui.errors import EmbryoError
from embryo_gui.io import read_annotations, read_epic
from embryo_gui.lineages import COLUMNS, LINEAGES

EPIC_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "epic"
L1 = EPIC_DIR / "CD20080731_ceh-32_4_L1.csv"
L2 = EPIC_DIR / "CD20080731_ceh-32_4_L2.csv"
needs_epic = pytest.mark.skipif(not L2.exists() or not L1.exists(),
                                reason=f"real EPIC files not found in {EPIC_DIR} (shared/ is not next to the repo)")

HEADER = "cellTime,cell,time,none,global,local,blot,cross,z,x,y,size,gweight\n"


def row(cell, t):
    return f"{cell}:{t},{cell},{t},1,1,1,1,1,10.0,100,100,50,0\n"


def pop(ann, t):
    return ann.counts[int(np.flatnonzero(ann.index == t)[0]), COLUMNS.index("population")]


def lin(ann, t, letter):
    return ann.counts[int(np.flatnonzero(ann.index == t)[0]), COLUMNS.index(letter)]


def test_synthetic_epic_counts(tmp_path):
    rows = [row("AB", 1), row("P1", 1),
            row("ABa", 2), row("ABp", 2), row("EMS", 2), row("P2", 2),
            row("ABa", 4), row("ABa", 4),  # duplicate row: one distinct cell
            row("MSa", 4), row("Z2", 4), row("Z3", 4), row("Cx", 4), row("Daa", 4), row("Nuc12", 4),
            row("polar1", 4)]
    p = tmp_path / "lin.csv"
    p.write_text(HEADER + "".join(rows))
    ann = read_annotations(p)
    assert ann.kind == "timepoints" and ann.lineages == list(LINEAGES)
    assert ann.index.tolist() == [1, 2, 4]  # timepoint 3 has no rows: not annotated
    assert pop(ann, 1) == 2 and lin(ann, 1, "A") == 1 and lin(ann, 1, "P") == 1 and lin(ann, 1, "E") == 0
    assert pop(ann, 2) == 4 and lin(ann, 2, "A") == 2 and lin(ann, 2, "E") == 1 and lin(ann, 2, "P") == 1
    # time 4: ABa, MSa, Z2, Z3, Cx, Daa, Nuc12, polar1 -> 8 distinct; Nuc12/polar1 only in population
    assert pop(ann, 4) == 8
    assert [lin(ann, 4, x) for x in "AEMPCDZ"] == [1, 0, 1, 0, 1, 1, 2]
    assert np.isfinite(ann.counts).all()


def test_epic_missing_columns(tmp_path):
    p = tmp_path / "nocell.csv"
    p.write_text("cellTime,time,x\nAB:1,1,3\n")
    with pytest.raises(EmbryoError, match=r"nocell\.csv: .*missing column cell\b"):
        read_epic(p)
    q = tmp_path / "neither.csv"
    q.write_text("cellTime,x\nAB:1,3\n")
    with pytest.raises(EmbryoError, match=r"neither\.csv: .*missing columns cell, time"):
        read_epic(q)


def test_epic_bad_time(tmp_path):
    p = tmp_path / "badtime.csv"
    p.write_text(HEADER + row("AB", 1) + row("AB", "soon"))
    with pytest.raises(EmbryoError, match=r"badtime\.csv: time 'soon' on line 3 is not a whole number"):
        read_epic(p)


def test_epic_header_only(tmp_path):
    p = tmp_path / "hdr.csv"
    p.write_text(HEADER)
    with pytest.raises(EmbryoError, match=r"hdr\.csv: the EPIC file has a header but no rows"):
        read_annotations(p)


@needs_epic
def test_real_l2_known_values():
    ann = read_annotations(L2)
    assert ann.kind == "timepoints"
    assert ann.index.tolist() == list(range(1, 141))
    known = {1: 2, 40: 24, 80: 97, 100: 178, 140: 361}
    assert {t: pop(ann, t) for t in known} == known
    # the AB lineage: 1 cell (AB) at time 1, then 2, 4, 8 (synchronous), and it never shrinks
    a = ann.counts[:, COLUMNS.index("A")]
    assert a[0] == 1
    steps = [int(v) for i, v in enumerate(a) if i == 0 or v != a[i - 1]]
    assert steps[:4] == [1, 2, 4, 8]
    assert np.all(np.diff(a) >= 0)
    assert a[-1] == 256
    for power in (16, 32, 64, 128, 256):  # every doubling round is completed at some timepoint
        assert power in steps
    # lineages never exceed the population, and named lineages sum to it (all cells are named here)
    assert np.all(ann.counts[:, :7].sum(axis=1) <= ann.counts[:, 7])
    assert np.array_equal(ann.counts[:, :7].sum(axis=1), ann.counts[:, 7])


@needs_epic
def test_real_l1_and_speed():
    t0 = time.perf_counter()
    ann = read_epic(L1)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0
    assert ann.index[0] == 2 and ann.index[-1] == 130 and len(ann) == 129
    assert pop(ann, 2) == 4 and pop(ann, 40) == 44 and pop(ann, 80) == 164 and pop(ann, 130) == 364
    a = ann.counts[:, COLUMNS.index("A")]
    assert a[0] == 2 and a.max() == 256
