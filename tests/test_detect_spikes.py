import numpy as np
import pytest

from conftest import EPIC_DIR
from embryo_gui.detect.spikes import SpikeSettings, detect_spikes, detect_spikes_1d


def stepwise(n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 2.0 ** np.floor(np.log2(1 + t * 255 / n)) + rng.integers(-1, 2, n)  # steps 1..256 with +-1 jitter
    return np.maximum(y, 0)


def test_isolated_wrong_frames_found_and_jitter_ignored():
    y = stepwise()
    truth = np.zeros(len(y), bool)
    for i, f in [(30, 0.5), (90, 1.6), (91, 1.6), (150, 0.6), (199, 1.5)]:
        y[i] = round(y[i] * f)
        truth[i] = abs(y[i] - stepwise()[i]) > 5
    mask, score = detect_spikes_1d(y)
    assert np.array_equal(mask, truth), (np.flatnonzero(mask), np.flatnonzero(truth))
    assert score[mask].min() > 1 and score[~mask].max() <= 1


def test_steps_and_small_deaths_are_not_spikes():
    y = stepwise(seed=1)
    y[120:] -= 2  # two programmed cell deaths
    mask, _ = detect_spikes_1d(y)
    assert not mask.any()


def test_skip_and_nan_frames_are_never_spikes():
    y = stepwise()
    y[40] = 0
    y[60:70] = np.nan
    skip = np.zeros(len(y), bool)
    skip[40] = True
    mask, _ = detect_spikes_1d(y, skip=skip)
    assert not mask[40] and not mask[60:70].any()


def test_long_stretches_are_left_to_the_cliff_detector():
    y = stepwise()
    y[100:110] = 0
    mask, _ = detect_spikes_1d(y, SpikeSettings(window=5))
    assert mask[100:110].sum() == 0


def test_counts_union_reports_columns():
    n = 80
    c = np.full((n, 8), np.nan)
    c[:, 0] = stepwise(n)
    c[:, 1] = 2
    c[:, 7] = c[:, 0] + c[:, 1]
    c[33, 0] = 0
    c[33, 7] = c[33, 1]
    mask, score, by = detect_spikes(c)
    assert np.flatnonzero(mask).tolist() == [33]
    assert by == {"population": [33], "A": [33]}


@pytest.mark.parametrize("name", ["CD20080731_ceh-32_4_L1.csv", "CD20080731_ceh-32_4_L2.csv"])
def test_real_epic_curves_have_no_spikes(name):
    path = EPIC_DIR / name
    if not path.exists():
        pytest.skip(f"real EPIC data not found at {EPIC_DIR}")
    from embryo_gui.io import read_epic
    ann = read_epic(path)
    mask, score, by = detect_spikes(ann.counts)
    assert not mask.any(), by
