"""The annualized failure rate and its exact Poisson interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

DAYS_PER_YEAR = 365
CONFIDENCE = 0.95


def annualized_failure_rate(failures: int, drive_days: int) -> float | None:
    """Backblaze's AFR in percent: 100 * failures / (drive_days / 365); None without drive days."""
    if drive_days <= 0:
        return None
    return 100 * failures / (drive_days / DAYS_PER_YEAR)


def poisson_interval(count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Garwood) interval for the mean of a Poisson variable observed as count."""
    from drivestats import poisson  # pure Python: scipy.special would cost 0.4 s of imports

    return poisson.poisson_interval(int(count), float(confidence))


def afr_interval(
    failures: int, drive_days: int, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """The exact Poisson interval of the AFR in percent: the failure count's interval per drive year."""
    if drive_days <= 0:
        return None, None
    low, high = poisson_interval(failures, confidence)
    years = drive_days / DAYS_PER_YEAR
    return 100 * low / years, 100 * high / years
