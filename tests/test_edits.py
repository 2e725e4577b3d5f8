import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_frames, rising_counts
from embryo_gui import edits
from embryo_gui.model import Project

N = 30


def same(a, b):
    return np.array_equal(np.ascontiguousarray(a).view(np.uint64), np.ascontiguousarray(b).view(np.uint64))


def state(e):
    return (e.current.copy(), e.flags.bits.copy(), {k: v.copy() for k, v in e.flags.scores.items()},
            repr(e.detections), len(e.training))


def assert_state(e, s):
    cur, bits, scores, det, ntrain = s
    assert same(e.current, cur)
    assert np.array_equal(e.flags.bits, bits)
    assert set(e.flags.scores) == set(scores)
    for k in scores:
        assert np.array_equal(e.flags.scores[k].view(np.uint32), scores[k].view(np.uint32))
    assert repr(e.detections) == det
    assert len(e.training) == ntrain


def test_set_values_on_lineage_resums_population(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues([2, 3], [40], columns=["A"]))
    assert (e.current[[2, 3], 0] == 40).all()
    assert (e.current[[2, 3], 7] == 42).all()  # A + E (E == 2)
    assert e.flags.mask("edited")[[2, 3]].all() and e.flags.mask("edited").sum() == 2


def test_interpolate_fills_from_neighbours_skipping_excluded(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues(np.arange(10, 20), [0]))
    e.history.push(edits.SetExcluded([9]))
    e.history.push(edits.Interpolate(10, 20))
    left, right = e.current[8, 7], e.current[20, 7]
    expect = np.round(np.interp(np.arange(10, 20), [8, 20], [left, right]))
    assert np.array_equal(e.current[10:20, 7], expect)
    assert e.flags.mask("repaired")[10:20].all() and not e.flags.mask("repaired")[9]


def test_refit_monotone_is_non_decreasing_and_close(tiny_project):
    e = tiny_project.embryos[0]
    y = np.array([1, 2, 8, 3, 4, 10, 9, 12], float)
    e.history.push(edits.SetValues(np.arange(2, 10), y[:, None]))
    e.history.push(edits.RefitMonotone(2, 10, columns="population"))
    fit = e.current[2:10, 7]
    assert np.all(np.diff(fit) >= 0)
    assert np.array_equal(fit, np.round([1, 2, 5, 5, 5, 9.5, 9.5, 12]))   # the least-squares fit, rounded
    assert e.flags.mask("repaired")[2:10].all() and not e.flags.mask("repaired")[[1, 10]].any()


def test_truncate_and_reject_detection(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.Truncate(24))
    assert e.flags.mask("excluded")[25:].all() and not e.flags.mask("excluded")[:25].any()
    e.history.push(edits.SetFlags(detections={"cliffs": [{"start": 5, "stop": 9, "kind": "dip",
                                                          "lineage": "population", "score": 1.0,
                                                          "status": "pending"}]}))
    e.history.push(edits.AcceptDetection(0, repair="exclude"))
    assert e.flags.mask("excluded")[5:9].all() and e.flags.mask("cliff")[5:9].all()
    e.history.push(edits.RejectDetection(0))
    assert not e.flags.mask("cliff").any() and not e.flags.mask("excluded")[5:9].any()
    assert e.detections["cliffs"][0]["status"] == "rejected"


def test_accept_dip_interpolates(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues(np.arange(12, 16), [0]))
    e.history.push(edits.SetFlags(detections={"cliffs": [{"start": 12, "stop": 16, "kind": "dip",
                                                          "lineage": "population", "status": "pending"}]}))
    e.history.push(edits.AcceptDetection(0))
    assert (e.current[12:16, 7] >= e.current[11, 7]).all()
    assert not e.flags.mask("excluded").any()
    assert e.detections["cliffs"][0]["repair"] == "interpolated"


def test_empty_edit_is_not_recorded(tiny_project):
    e = tiny_project.embryos[0]
    e.history.push(edits.SetValues([0], [e.current[0, 7]]))
    assert len(e.history) == 0


def test_failed_edit_changes_nothing(tiny_project):
    e = tiny_project.embryos[0]
    s = state(e)
    with pytest.raises(ValueError, match="counts cannot be negative"):
        e.history.push(edits.SetValues([1, 2], [-3]))
    assert_state(e, s)
    assert len(e.history) == 0


def _edit_strategy():
    frm = st.integers(0, N - 1)
    rng = st.tuples(frm, frm).map(lambda t: (min(t), max(t) + 1))
    col = st.sampled_from(["A", "E", "population"])
    return st.one_of(
        st.builds(lambda f, v, c: edits.SetValues(f, [v], columns=[c]), st.lists(frm, min_size=1, max_size=5),
                  st.one_of(st.integers(0, 300).map(float), st.just(float("nan"))), col),
        st.builds(lambda r: edits.Interpolate(*r), rng),
        st.builds(lambda r, c: edits.RefitMonotone(*r, columns=[c]), rng, col),
        st.builds(lambda r, x: edits.SetExcluded(r, x), rng, st.booleans()),
        st.builds(edits.Truncate, frm),
        st.builds(lambda m, s: edits.SetFlags({"lossy": np.array(m)}, scores={"loss": np.array(s, np.float32)}),
                  st.lists(st.booleans(), min_size=N, max_size=N),
                  st.lists(st.floats(0, 10, width=32), min_size=N, max_size=N)),
        st.builds(lambda f: edits.Batch([edits.SetValues(f, [1.0]), edits.SetExcluded(f)]),
                  st.lists(frm, min_size=1, max_size=3)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_edit_strategy(), min_size=1, max_size=12), undo_some=st.integers(0, 12))
def test_random_edit_sequences_undo_and_redo_exactly(tmp_path_factory, ops, undo_some):
    d = tmp_path_factory.mktemp("h")
    p = Project.create(d / "p.h5")
    counts = rising_counts(N)
    counts[5, 7] = np.nan
    e = p.add_embryo("e", iter(make_frames(N, shape=(4, 4, 3))), N, (4, 4, 3), counts)
    states = [state(e)]
    for op in ops:
        try:
            e.history.push(op)
        except ValueError:
            continue  # e.g. nothing to interpolate from: the edit must leave no trace
        assert_state(e, state(e))
        if len(e.history) == len(states):
            states.append(state(e))
        else:
            assert_state(e, states[-1])
    k = min(undo_some, len(e.history))
    for _ in range(k):
        e.history.undo()
    assert_state(e, states[len(states) - 1 - k])
    # save and reload mid-way: the recorded deltas replay exactly
    p.save()
    q = Project.open(p.path)
    f = q.embryos[0]
    assert_state(f, states[len(states) - 1 - k])
    while f.history.can_redo:
        f.history.redo()
    assert_state(f, states[-1])
    while f.history.can_undo:
        f.history.undo()
    assert same(f.current, f.original)
    assert not f.flags.bits.any() and not f.flags.scores
    assert same(f.original, counts)


def test_interpolate_never_invents_counts_past_the_last_annotation(tiny_project):
    e = tiny_project.embryos[0]  # 30 frames
    e.history.push(edits.SetValues(np.arange(25, 30), [np.nan], columns=["A", "E", "population"]))  # unannotated
    e.history.push(edits.SetValues([22], [0], columns=["A"]))
    e.history.push(edits.Interpolate(22, 30))
    assert np.isnan(e.current[25:, 7]).all() and not e.flags.mask("repaired")[25:].any()
    assert e.current[22, 7] == e.current[21, 7] and e.flags.mask("repaired")[22:25].all()
    # a gap between two annotated frames is filled
    e.history.push(edits.SetValues(np.arange(5, 8), [np.nan], columns=["A", "E", "population"]))
    e.history.push(edits.Interpolate(5, 8))
    assert np.isfinite(e.current[5:8, 7]).all()
