"""Tests of the lossy-frame trainer (embryo_gui.train) on tiny synthetic projects."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from embryo_gui.errors import CancelledError, EmbryoError
from embryo_gui.lineages import N_COLUMNS, POPULATION
from embryo_gui.model import Project
from embryo_gui.progress import CancelToken
from embryo_gui.train import TrainSettings, apply_training_result, predict, train_project
from embryo_gui.train.preprocess import downsample
from embryo_gui.train.ranking import make_folds, mark_lossy, neighbour_relative, robust_z

TINY = dict(epochs=2, size=32, batch_size=16, folds=3, width=8, threads=1)


def blob_frames(pop: np.ndarray, shape=(64, 64), seed=0) -> np.ndarray:
    """One bright 3x3 green spot per cell: the population is visible in the frame."""
    rng = np.random.default_rng(seed)
    h, w = shape
    out = np.zeros((len(pop), h, w, 3), np.uint8)
    for i, n in enumerate(pop):
        for _ in range(int(n)):
            y, x = rng.integers(2, h - 2), rng.integers(2, w - 2)
            out[i, y - 1 : y + 2, x - 1 : x + 2, 1] = 220
        out[i, :, :, 0] = 3  # faint red
    return out


def make_project(tmp_path, n_frames=60, shapes=((64, 64),), wrong=(), lineages=False, equal=False, seed=0):
    """Project with one embryo per shape; ``wrong`` frame indices get grossly wrong populations."""
    p = Project.create(tmp_path / "p.h5")
    truth = {}
    for k, shape in enumerate(shapes):
        pop = np.full(n_frames, 12) if equal else np.round(np.linspace(4, 40, n_frames)).astype(int)
        frames = blob_frames(pop, shape, seed + k)
        counts = np.full((n_frames, N_COLUMNS), np.nan)
        counts[:, POPULATION] = pop
        if lineages:
            counts[:, 0] = np.floor(pop / 2)
            counts[:, 1] = pop - np.floor(pop / 2)
        for i in wrong:
            # plausible values (inside the range of the labels) that the frame contradicts
            counts[i, POPULATION] = pop[i] + 20 if pop[i] < 22 else pop[i] - 20
            if lineages:
                counts[i, 0] = np.floor(counts[i, POPULATION] / 2)
                counts[i, 1] = counts[i, POPULATION] - counts[i, 0]
        p.add_embryo(f"e{k}", iter(frames), n_frames=n_frames, frame_shape=(*shape, 3), counts=counts)
        truth[f"e{k}"] = pop
    p.save()
    return p, truth


# ---- pure pieces -------------------------------------------------------------------------------

def test_folds_balanced_and_seeded():
    f = make_folds(31, 3, seed=5)
    assert sorted(np.bincount(f)) == [10, 10, 11]
    assert np.array_equal(f, make_folds(31, 3, seed=5))
    assert not np.array_equal(f, make_folds(31, 3, seed=6))


def test_mark_lossy_top_and_zscore_per_group():
    loss = np.array([0.1, 0.2, 5.0, 0.1, 0.3, 0.2, 0.1, 9.0, 0.2, 0.1])
    groups = np.array([0] * 5 + [1] * 5)
    cand = np.ones(10, bool)
    top = mark_lossy(loss, cand, groups, "top", 0.2, 3.0)
    assert np.flatnonzero(top).tolist() == [2, 7]  # one per group of five
    z = mark_lossy(loss, cand, groups, "zscore", 0.1, 3.0)
    assert np.flatnonzero(z).tolist() == [2, 7]
    cand[7] = False
    assert np.flatnonzero(mark_lossy(loss, cand, groups, "top", 0.2, 3.0)).tolist() == [2, 5]  # tie: first frame
    elig = np.ones(10, bool)
    elig[2] = False
    assert np.flatnonzero(mark_lossy(loss, np.ones(10, bool), groups, "top", 0.2, 3.0, elig)).tolist() == [7]
    assert robust_z(np.ones(5)).tolist() == [0.0] * 5


def test_neighbour_relative_cancels_stretch_bias_keeps_isolated_error():
    resid = np.zeros((12, 1))
    resid[6:, 0] = 2.0        # the model is off by 2 on a whole stretch (a stage it counts badly)
    resid[3, 0] = 5.0         # one frame off alone: its label disagrees with image and neighbours
    resid[9, 0] += 4.0        # an isolated error inside the biased stretch
    groups = np.zeros(12, int)
    order = np.arange(12)[::-1].copy()  # rows given in reverse frame order: order decides, not rows
    rel = neighbour_relative(resid[::-1], groups, order, half=2)[::-1, 0]
    assert rel[3] == pytest.approx(5.0) and rel[9] == pytest.approx(4.0)
    assert rel[[0, 1, 7, 8, 10]].tolist() == [0.0] * 5  # inside the biased stretch (resid 2) it cancels
    assert np.abs(rel).argsort()[-2:].tolist() == [9, 3]
    # groups are separate sequences: a neighbour in another embryo does not count
    two = neighbour_relative(np.array([[1.0], [1.0], [0.0], [0.0]]), np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    assert two[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_augment_applies_one_square_symmetry_per_sample_seeded():
    import torch

    from embryo_gui.train.fit import augment

    x = torch.arange(64 * 25, dtype=torch.int32).reshape(64, 1, 5, 5).to(torch.uint8)
    out = augment(x, torch.Generator().manual_seed(3))
    assert out.dtype == torch.uint8 and out.shape == x.shape
    used = set()
    for i in range(64):
        syms = [torch.rot90(v, k, (1, 2)) for v in (x[i], x[i].transpose(1, 2)) for k in range(4)]
        match = [k for k, v in enumerate(syms) if torch.equal(v, out[i])]
        assert match, f"sample {i} is not a rotation/reflection of its input"
        used.add(match[0])
    assert used == set(range(8))  # all eight occur in a batch of 64
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(out, augment(x, torch.Generator().manual_seed(4)))


def test_own_adamw_matches_torch_adamw():
    import torch

    from embryo_gui.train.fit import AdamW

    torch.manual_seed(0)
    a, b = torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
    b.load_state_dict(a.state_dict())
    w0 = a.weight.detach().clone()
    oa = AdamW(a.parameters(), lr=3e-3, weight_decay=0.05)
    ob = torch.optim.AdamW(b.parameters(), lr=3e-3, weight_decay=0.05)
    for _ in range(30):
        xb = torch.randn(8, 6)
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            (m(xb) ** 2).sum().backward()
            o.step()
    assert (a.weight - w0).abs().max() > 0.01  # it did train
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_batch_norm_recalibration_sets_statistics_of_the_training_frames():
    import torch

    from embryo_gui.train.fit import recalibrate_batch_norm
    from embryo_gui.train.network import architecture, build

    rng = np.random.default_rng(0)
    x = torch.from_numpy((rng.integers(0, 20, (24, 1, 16, 16)) + np.repeat([0, 200], 12)[:, None, None, None])
                         .astype(np.uint8))
    torch.manual_seed(0)
    net = build(architecture(1, 4, 16))
    net.features[2].running_mean.fill_(7.0)  # stale statistics from training
    recalibrate_batch_norm(net, x, np.arange(24), torch.device("cpu"), batch_size=24)
    assert not net.training
    bn = net.features[2]
    with torch.no_grad():  # the first BN's input does not depend on batch statistics
        h = net.features[1](net.features[0](x.float() / 255))
    want_var = h.transpose(0, 1).reshape(4, -1).var(dim=1)
    assert torch.allclose(bn.running_mean, h.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_var, want_var, rtol=1e-4, atol=1e-6)
    # in batches: the mean is the average of equal-sized batch means, still exact
    recalibrate_batch_norm(net, x, np.arange(24), torch.device("cpu"), batch_size=6)
    assert torch.allclose(bn.running_mean, h.mean(dim=(0, 2, 3)), atol=1e-5)
    assert bn.momentum == 0.1  # the training momentum is restored


def test_downsample_mixed_sizes_keeps_aspect():
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, :, 1] = 200  # whole frame bright: after padding to a square only the middle half is
    tall = np.zeros((90, 30, 3), np.uint8)
    tall[:, :, 1] = 100
    x = downsample([wide, tall], 16)
    assert x.shape == (2, 1, 16, 16) and x.dtype == np.uint8
    assert x[0, 0, 8, 8] == 200 and x[0, 0, 0, 8] == 0 and x[0, 0, 8, 0] == 200
    assert x[1, 0, 8, 8] == 100 and x[1, 0, 8, 0] == 0
    gray = downsample(np.stack([wide, wide]), 16, channel="gray")
    assert 0 < gray[0, 0, 8, 8] < 200  # luma of pure green is below its value


# ---- on projects -------------------------------------------------------------------------------

def test_wrong_labels_rank_top_and_apply_is_one_undoable_edit(tmp_path):
    wrong = [5, 22, 47]
    p, _ = make_project(tmp_path, n_frames=60, wrong=wrong)
    res = train_project(p, TrainSettings(**{**TINY, "epochs": 10}))
    er = res.embryos["e0"]
    assert er.loss.shape == (60,) and er.loss.dtype == np.float32
    top = set(np.argsort(-np.nan_to_num(er.loss, nan=-1))[:6].tolist())
    assert set(wrong) <= top, (wrong, sorted(top))
    assert set(wrong) <= set(np.flatnonzero(er.lossy).tolist())
    assert er.lossy.sum() == 6  # 10% of 60
    assert len(er.rounds) == 2 and res.rounds[1]["n_train"] == 54
    assert np.isfinite(res.val_error_before) and np.isfinite(res.val_error_after)
    e = p.embryo("e0")
    assert not e.flags.mask("lossy").any() and e.training == []  # train_project changed nothing
    apply_training_result(p, res)
    assert np.array_equal(e.flags.mask("lossy"), er.lossy)
    assert np.array_equal(e.flags.scores["loss"], er.loss, equal_nan=True)
    assert len(e.training) == 2 and e.training[0]["settings"]["seed"] == 0
    assert e.history.position == 1
    e.history.undo()
    assert not e.flags.mask("lossy").any() and e.training == [] and "loss" not in e.flags.scores
    e.history.redo()
    p.save()
    q = Project.open(p.path)
    assert np.array_equal(q.embryo("e0").flags.mask("lossy"), er.lossy)
    assert np.array_equal(q.embryo("e0").training[1]["loss"], er.rounds[1]["loss"], equal_nan=True)


def test_deterministic_with_same_seed(tmp_path):
    p, _ = make_project(tmp_path, n_frames=40, wrong=[3])
    s = TrainSettings(**TINY)
    a = train_project(p, s).embryos["e0"]
    b = train_project(p, s).embryos["e0"]
    assert np.array_equal(a.loss, b.loss, equal_nan=True)
    assert np.array_equal(a.lossy, b.lossy)
    c = train_project(p, TrainSettings(**{**TINY, "seed": 1})).embryos["e0"]
    assert not np.array_equal(a.loss, c.loss, equal_nan=True)


def test_oof_each_frame_scored_by_a_model_that_did_not_see_it(tmp_path, monkeypatch):
    import embryo_gui.train.rounds as rounds_mod

    seen: list[set] = []
    scored: list[tuple[int, set]] = []
    real_fit, real_pred = rounds_mod.fit_model, rounds_mod.predict_z

    def spy_fit(x, y, train_idx, *a, **k):
        seen.append(set(np.asarray(train_idx).tolist()))
        return real_fit(x, y, train_idx, *a, **k)

    def spy_pred(model, x, idx, *a, **k):
        scored.append((len(seen) - 1, set(np.asarray(idx).tolist())))
        return real_pred(model, x, idx, *a, **k)

    monkeypatch.setattr(rounds_mod, "fit_model", spy_fit)
    monkeypatch.setattr(rounds_mod, "predict_z", spy_pred)
    p, _ = make_project(tmp_path, n_frames=45)
    train_project(p, TrainSettings(**TINY, rounds=1))
    assert len(seen) == 6  # 3 folds x (ranking round + round after dropping)
    for fit_i, idx in scored:
        assert not (idx & seen[fit_i]), f"fit {fit_i} scored frames it trained on"
    first_round = set().union(*[idx for fit_i, idx in scored if fit_i < 3])
    assert first_round == set(range(45))  # every frame scored in round 0


def test_method_train_scores_training_frames(tmp_path):
    p, _ = make_project(tmp_path, n_frames=40, wrong=[10])
    res = train_project(p, TrainSettings(**{**TINY, "method": "train", "epochs": 10}))
    assert res.error_kind == "in-sample"
    assert np.isfinite(res.embryos["e0"].loss).all()
    assert res.embryos["e0"].lossy[10]


def test_cancel_in_first_batch_returns_fast_and_changes_nothing(tmp_path):
    p, _ = make_project(tmp_path, n_frames=60)
    e = p.embryo("e0")
    file_before = p.path.read_bytes()
    frames_before = sorted(x.name for x in p.frames_dir.iterdir())
    bits, current = e.flags.bits.copy(), np.asarray(e.current).copy()
    token = CancelToken()
    events = []

    def progress(d):
        events.append(d)
        if d.get("stage") == "train" and not token.cancelled:
            token.cancel()
            events.append(time.monotonic())

    with pytest.raises(CancelledError):
        train_project(p, TrainSettings(**{**TINY, "save_model": str(tmp_path / "m.pt")}),
                      progress=progress, cancel=token)
    assert time.monotonic() - events.pop() < 1.0
    tr = [d for d in events if d["stage"] == "train"]
    assert len(tr) == 1 and tr[0]["done"] == 1 and tr[0]["total"] == 2 * 3 * 2 * 3  # fits x epochs x batches
    assert {"round", "fold", "epoch", "batch", "loss"} <= set(tr[0])
    assert type(tr[0]["loss"]) is float and tr[0]["loss"] > 0  # a plain number for the GUI's pipe
    assert p.path.read_bytes() == file_before
    assert sorted(x.name for x in p.frames_dir.iterdir()) == frames_before
    assert not (tmp_path / "m.pt").exists()
    assert np.array_equal(e.flags.bits, bits) and np.array_equal(e.current, current, equal_nan=True)
    assert e.training == [] and e.history.position == 0 and "loss" not in e.flags.scores


def test_cancel_from_another_thread_within_a_second(tmp_path):
    p, _ = make_project(tmp_path, n_frames=60)
    token = CancelToken()
    started = threading.Event()
    box = {}

    def work():
        try:
            train_project(p, TrainSettings(**{**TINY, "epochs": 50}),
                          progress=lambda d: started.set() if d["stage"] == "train" else None, cancel=token)
        except CancelledError:
            box["cancelled"] = time.monotonic()

    th = threading.Thread(target=work)
    th.start()
    assert started.wait(30)
    t0 = time.monotonic()
    token.cancel()
    th.join(5)
    assert "cancelled" in box and box["cancelled"] - t0 < 1.0


def test_too_few_frames_names_the_minimum(tmp_path):
    p, _ = make_project(tmp_path, n_frames=20)
    with pytest.raises(EmbryoError, match=r"only 20 .*at least 24"):
        train_project(p, TrainSettings(**TINY))


def test_excluded_and_corrupt_frames_left_out(tmp_path):
    from embryo_gui import edits

    p, _ = make_project(tmp_path, n_frames=50, wrong=[7, 30])
    e = p.embryo("e0")
    black = np.zeros(50, bool)
    black[[1, 2]] = True
    e.history.push(edits.SetExcluded([7, 8], excluded=True))
    e.history.push(edits.SetFlags({"black": black}))
    counts = np.asarray(e.current).copy()
    e.history.push(edits.SetValues([40, 41], np.nan))
    res = train_project(p, TrainSettings(**{**TINY, "epochs": 5}))
    er = res.embryos["e0"]
    left_out = [1, 2, 7, 8, 40, 41]
    assert np.isnan(er.loss[left_out]).all() and not er.lossy[left_out].any()
    assert np.isfinite(np.delete(er.loss, left_out)).all()
    assert er.lossy[30]
    assert counts.shape == (50, N_COLUMNS)


def test_all_labels_equal_marks_nothing(tmp_path):
    p, _ = make_project(tmp_path, n_frames=45, equal=True)
    res = train_project(p, TrainSettings(**TINY))
    er = res.embryos["e0"]
    assert np.isfinite(er.loss).all() and er.loss.max() < 0.05
    assert not er.lossy.any()  # no frame is a cell off
    assert res.targets == ["population"]


def test_mixed_frame_sizes_and_lineage_targets(tmp_path):
    p, _ = make_project(tmp_path, n_frames=30, shapes=((64, 64), (48, 80)), lineages=True, wrong=[4])
    res = train_project(p, TrainSettings(**{**TINY, "epochs": 4}))
    assert res.targets == ["A", "E"]
    assert set(res.embryos) == {"e0", "e1"}
    assert res.embryos["e1"].loss.shape == (30,) and np.isfinite(res.embryos["e1"].loss).all()
    assert res.embryos["e0"].lossy.sum() == 3 and res.embryos["e1"].lossy.sum() == 3


def test_saved_model_predicts_and_foreign_model_is_refused(tmp_path):
    import torch

    p, truth = make_project(tmp_path, n_frames=60)
    path = tmp_path / "m.pt"
    res = train_project(p, TrainSettings(**{**TINY, "epochs": 12, "rounds": 0, "save_model": str(path)}))
    assert res.model_path == str(path)
    e = p.embryo("e0")
    pred = predict(e, path)
    assert pred.shape == (60, N_COLUMNS) and np.isnan(pred[:, 0]).all()
    err = np.abs(pred[:, POPULATION] - truth["e0"])
    assert err.mean() < 0.5 * np.abs(truth["e0"] - truth["e0"].mean()).mean()  # beats the mean
    frames = e.frames.read(np.arange(5))
    assert np.allclose(predict(frames, path)[:, POPULATION], pred[:5, POPULATION], rtol=1e-4)

    blob = torch.load(path, weights_only=True)
    blob["members"][0]["head.weight"] = torch.zeros(3, 7)
    bad = tmp_path / "bad.pt"
    torch.save(blob, bad)
    with pytest.raises(EmbryoError, match="do not fit"):
        predict(e, bad)
    blob["arch"]["name"] = "resnet18"
    torch.save(blob, bad)
    with pytest.raises(EmbryoError, match="architecture"):
        predict(e, bad)
    torch.save(torch.nn.Linear(2, 2).state_dict(), bad)
    with pytest.raises(EmbryoError, match="not an embryo-gui counting model"):
        predict(e, bad)


def test_bad_settings_raise_embryo_error():
    with pytest.raises(EmbryoError, match="method"):
        TrainSettings(method="magic")
    with pytest.raises(EmbryoError, match="unknown setting"):
        TrainSettings.from_dict({"epochs": 3, "colour": "red"})
    s = TrainSettings(epochs=3, cut="zscore")
    assert TrainSettings.from_dict(s.to_dict()) == s


def test_import_does_not_load_torch():
    code = "import sys, embryo_gui.train; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
