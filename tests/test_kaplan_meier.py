"""Our Kaplan-Meier estimate against lifelines itself, on random data and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from drivestats.kaplan_meier import kaplan_meier


def lifelines_estimate(durations, observed):
    fitter = KaplanMeierFitter(alpha=0.05).fit(durations, event_observed=observed)
    frame = fitter.survival_function_.join(fitter.confidence_interval_survival_function_)
    band = median_survival_times(fitter.confidence_interval_).iloc[0].tolist()
    return frame, fitter.median_survival_time_, band


def same(a: float, b: float) -> bool:
    return a == b or (np.isinf(a) and np.isinf(b))


@pytest.mark.parametrize("seed", range(40))
def test_the_estimate_equals_lifelines_to_1e_12(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 500))
    durations = rng.integers(1, 3000, size)
    observed = rng.random(size) < rng.random()
    if seed % 10 == 0:
        observed[:] = True  # every drive fails: the estimate reaches zero
    if seed % 10 == 1:
        observed[:] = False  # none fails: the estimate stays at one
    ours = kaplan_meier(durations, observed, 0.95)
    frame, median, band = lifelines_estimate(durations, observed)
    assert np.array_equal(frame.index.to_numpy(dtype=float), ours.timeline)
    for column, values in enumerate((ours.survival, ours.low, ours.high)):
        np.testing.assert_allclose(values, frame.iloc[:, column].to_numpy(), rtol=0, atol=1e-12)
    assert same(ours.median(), median)
    assert same(ours.median(ours.low), band[0]) and same(ours.median(ours.high), band[1])
    for day in (0, 365, 1095, 1825, 5000):
        found = ours.at(day)
        if day > frame.index.max():
            assert found is None
        else:
            expected = frame.loc[:day].iloc[-1].tolist()
            assert found == pytest.approx(expected, abs=1e-12)
