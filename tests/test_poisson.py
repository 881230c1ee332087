"""The pure-Python Poisson interval against SciPy's inverse incomplete gamma function."""

from __future__ import annotations

import pytest
from scipy.special import gammaincinv

from drivestats.poisson import gamma_p, poisson_interval

COUNTS = [*range(0, 200), 250, 500, 1000, 2500, 10_000, 50_000, 200_000]


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_the_interval_equals_scipys_to_1e_12(confidence: float) -> None:
    tail = (1 - confidence) / 2
    for count in COUNTS:
        low, high = poisson_interval(count, confidence)
        expected_low = 0.0 if count == 0 else float(gammaincinv(count, tail))
        assert low == pytest.approx(expected_low, rel=1e-12, abs=0), count
        assert high == pytest.approx(float(gammaincinv(count + 1, 1 - tail)), rel=1e-12), count


def test_the_incomplete_gamma_function_at_known_points() -> None:
    # P(1, x) = 1 - e^-x, and P(a, x) at the median of a large a is near one half.
    import math

    for x in (0.01, 0.5, 1, 3, 20):
        assert gamma_p(1, x) == pytest.approx(1 - math.exp(-x), rel=1e-13)
    assert gamma_p(5, 0) == 0.0
