"""The exact (Garwood) interval of a Poisson count, in pure Python.

The bounds are quantiles of the gamma distribution: the inverse of the regularized
lower incomplete gamma function P(a, x). SciPy has it (``gammaincinv``), but
importing ``scipy.special`` costs 0.4 s, more than everything else a small `afr`
does; this module gives the same values to about 1e-14 (checked against SciPy
by the tests) in microseconds per row.
"""

from __future__ import annotations

import math
from functools import lru_cache

_EPSILON = 1e-16
_TINY = 1e-300


def gamma_p(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x), for a > 0, x >= 0."""
    if x <= 0:
        return 0.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        # The series sum x^n / (a (a+1) ... (a+n)), which converges fast below a + 1.
        term = total = 1.0 / a
        denominator = a
        for _ in range(100_000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * _EPSILON:
                break
        return min(1.0, total * math.exp(log_prefix))
    # Above a + 1: Q(a, x) = 1 - P by its continued fraction (modified Lentz).
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for n in range(1, 100_000):
        an = -n * (n - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        step = d * c
        fraction *= step
        if abs(step - 1) < _EPSILON:
            break
    return max(0.0, 1.0 - math.exp(log_prefix) * fraction)


def gamma_p_inverse(a: float, q: float) -> float:
    """The x with P(a, x) = q: Newton steps kept inside a bracket that bisection narrows."""
    if q <= 0:
        return 0.0
    # Start from the Wilson-Hilferty approximation, a good guess for every a, and bracket
    # the root around it.
    z = _normal_quantile(q)
    x = max(a * (1 - 1 / (9 * a) + z / (3 * math.sqrt(a))) ** 3, 1e-3)
    low, high = 0.0, x
    while gamma_p(a, high) < q:
        low, high = high, 1.5 * high + 1
    for _ in range(200):
        error = gamma_p(a, x) - q
        if error == 0:
            return x
        if error < 0:
            low = x
        else:
            high = x
        density = math.exp((a - 1) * math.log(x) - x - math.lgamma(a)) if x > 0 else 0.0
        step = x - error / density if density > 0 else (low + high) / 2
        x = step if low < step < high else (low + high) / 2
        if high - low <= 4 * _EPSILON * high:
            break
    return x


def _normal_quantile(p: float) -> float:
    """The standard normal quantile (Acklam's approximation; only a starting point here)."""
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.357751867269,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        r = math.sqrt(-2 * math.log(p))
        return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1
        )
    if p > 1 - 0.02425:
        return -_normal_quantile(1 - p)
    r = (p - 0.5) ** 2
    return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * (p - 0.5)) / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1
    )


@lru_cache(maxsize=4096)  # a table repeats small counts many times
def poisson_interval(count: int, confidence: float) -> tuple[float, float]:
    """The exact interval for the mean of a Poisson variable observed as count."""
    tail = (1 - confidence) / 2
    low = 0.0 if count == 0 else gamma_p_inverse(count, tail)
    return low, gamma_p_inverse(count + 1, 1 - tail)
