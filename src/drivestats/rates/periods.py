"""Periods a table covers: quarters, years, lifetime, ranges, and their labels."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivestats.errors import DrivestatsError

if TYPE_CHECKING:
    pass

_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$")
PERIOD_HELP = (
    "2021Q2, 2021, lifetime, latest (the last quarter with data) or 2020-01-01..2020-06-30"
)


@dataclass(frozen=True)
class Period:
    """A labelled span of days, both ends included."""

    label: str
    start: dt.date
    end: dt.date

    def clipped(self, first: dt.date, last: dt.date) -> Period:
        """The same period limited to [first, last]."""
        return Period(self.label, max(self.start, first), min(self.end, last))


def quarter_label(day: dt.date) -> str:
    """The quarter a day falls in, written as Backblaze does in file names: '2021Q2'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_of(day: dt.date) -> Period:
    """The whole calendar quarter a day falls in."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    if first_month == 10:
        following = dt.date(day.year + 1, 1, 1)
    else:
        following = dt.date(day.year, first_month + 3, 1)
    return Period(quarter_label(day), start, following - dt.timedelta(days=1))


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date, or a clear error naming the text."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DrivestatsError(f"{text!r} is not a date like 2021-06-30") from None


def period_for(spec: str, first_day: dt.date, last_day: dt.date) -> Period:
    """The period a spec names, given the first and last day that have data (for lifetime, latest)."""
    text = spec.strip()
    if text.lower() == "lifetime":
        return Period("lifetime", first_day, last_day)
    if text.lower() == "latest":
        return quarter_of(last_day)
    if match := _QUARTER.match(text):
        year, quarter = int(match.group(1)), int(match.group(2))
        return quarter_of(dt.date(year, 3 * quarter - 2, 1))
    if match := _YEAR.match(text):
        year = int(match.group(1))
        return Period(str(year), dt.date(year, 1, 1), dt.date(year, 12, 31))
    if match := _RANGE.match(text):
        start = parse_day(match.group(1)) if match.group(1) else first_day
        end = parse_day(match.group(2)) if match.group(2) else last_day
        if end < start:
            raise DrivestatsError(f"period {spec!r} ends before it starts")
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)
    raise DrivestatsError(f"unknown period {spec!r}; use {PERIOD_HELP}")


def periods_within(period: Period, by: str | None) -> list[Period]:
    """The quarters or years a period spans (clipped to it), or the period itself when by is None."""
    if by is None:
        return [period]
    if by not in ("quarter", "year"):
        raise DrivestatsError(f"cannot split a period by {by!r}; use quarter or year")
    parts = []
    day = period.start
    while day <= period.end:
        whole = (
            quarter_of(day)
            if by == "quarter"
            else Period(str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
        )
        parts.append(whole.clipped(period.start, period.end))
        day = whole.end + dt.timedelta(days=1)
    return parts
