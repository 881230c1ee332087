"""Backblaze's inclusion rules as data: one row per era and kind of table, with its source.

The rows are the whole of the rule: ``rules.py`` picks a row by the kind of table and the
day its period ends, and docs/failure-rates.md is generated from these rows
(``python -m drivestats.rates.rule_doc docs/failure-rates.md``). Where Backblaze's
wording is not at hand or leaves a point open, the row says so (``standing``,
``ambiguity``) and every caption made with it carries the mark.

Only wording quoted in issue #20 is quoted here; no source was verified online.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from drivestats.rates.periods import quarter_label

Kind = Literal["quarterly", "yearly", "lifetime"]
Comparison = Literal[">", ">="]
CountOn = Literal["first", "last"]
# quoted: Backblaze's own words, as issue #20 quotes them; secondary: a figure only a
# secondary source (issue #20's summary, drivestats's earlier rule) states; assumed: no
# source for this kind of table in this era, a neighbouring row's figures are used.
Standing = Literal["quoted", "secondary", "assumed"]

KINDS: tuple[Kind, ...] = ("quarterly", "yearly", "lifetime")
STANDING_MARKS: dict[str, str] = {
    "quoted": "",
    "secondary": "[secondary source]",
    "assumed": "[assumed]",
}
AMBIGUOUS_MARK = "[ambiguous]"


@dataclass(frozen=True)
class PublishedRule:
    """Backblaze's inclusion rule for one kind of table over an era of period end days."""

    kind: Kind
    ends_from: dt.date | None  # the era holds periods ending on or after this day
    ends_until: dt.date | None  # ... and on or before this one (None: open)
    min_drives: int
    drives_comparison: Comparison
    min_drive_days: int  # 0 with ">=": no drive-day threshold
    drive_days_comparison: Comparison
    count_on: CountOn  # the period's first or last day with data
    report: str
    wording: str
    standing: Standing
    ambiguity: str = ""

    def covers(self, period_end: dt.date) -> bool:
        """Whether a period ending on this day falls in this row's era."""
        after = self.ends_from is None or period_end >= self.ends_from
        return after and (self.ends_until is None or period_end <= self.ends_until)

    def era(self) -> str:
        """The era in quarters (years for yearly tables): '2019Q2 to 2023Q4', 'from 2025Q3'."""
        start = end = None
        if self.kind == "yearly":
            # A year belongs to the era its 31 December falls in.
            if self.ends_from is not None:
                start = str(self.ends_from.year)
            if self.ends_until is not None:
                whole = (self.ends_until.month, self.ends_until.day) == (12, 31)
                end = str(self.ends_until.year if whole else self.ends_until.year - 1)
        else:
            start = None if self.ends_from is None else quarter_label(self.ends_from)
            end = None if self.ends_until is None else quarter_label(self.ends_until)
        if start is None:
            return f"to {end}"
        if end is None:
            return f"from {start}"
        return start if start == end else f"{start} to {end}"

    def marks(self) -> str:
        """The marks a caption carries for this row: '[secondary source] [ambiguous]', or ''."""
        parts = [STANDING_MARKS[self.standing], AMBIGUOUS_MARK if self.ambiguity else ""]
        return " ".join(part for part in parts if part)

    def name(self) -> str:
        """'Backblaze's quarterly rule from 2025Q3'."""
        return f"Backblaze's {self.kind} rule {self.era()}"


D = dt.date
_TO_2019Q1 = (
    "Backblaze Drive Stats reports of Q1 2019 and earlier",
    "We use 45 drives of the same model as the minimum number when we report quarterly, "
    "yearly, and lifetime drive statistics",
)
_DAY_NOT_STATED = (
    "the wording does not say on which day the drives are counted; the period's last day is assumed"
)
_SIXTY = (
    "drivestats's earlier rule, as issue #20 states it: at least 60 drives, 2019 Q2 to 2023; "
    "no Backblaze wording at hand"
)
_FROM_2024 = (
    "Backblaze Drive Stats for Q1 2024",
    "more than 100 drives and more than 10,000 drive days, the drives counted at the "
    "quarter's end (issue #20's summary; Backblaze's wording not at hand)",
)

# fmt: off
RULE_TABLE: tuple[PublishedRule, ...] = (
    # Quarterly tables; also every arbitrary range of days.
    PublishedRule(
        kind="quarterly", ends_from=None, ends_until=D(2019, 3, 31),
        min_drives=45, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report=_TO_2019Q1[0], wording=_TO_2019Q1[1], standing="quoted",
        ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="quarterly", ends_from=D(2019, 4, 1), ends_until=D(2023, 12, 31),
        min_drives=60, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report="not named", wording=_SIXTY, standing="secondary",
        ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="quarterly", ends_from=D(2024, 1, 1), ends_until=D(2024, 3, 31),
        min_drives=100, drives_comparison=">", min_drive_days=10_000, drive_days_comparison=">",
        count_on="last", report=_FROM_2024[0], wording=_FROM_2024[1], standing="secondary",
    ),
    PublishedRule(
        kind="quarterly", ends_from=D(2024, 4, 1), ends_until=D(2025, 6, 30),
        min_drives=100, drives_comparison=">", min_drive_days=10_000, drive_days_comparison=">",
        count_on="last", report=_FROM_2024[0], wording=_FROM_2024[1], standing="secondary",
        ambiguity=(
            "the Q1 2024 report counts the drives at the quarter's end and the Q3 2025 report "
            "on its first day; which day the reports between them use is not known: the last "
            "day is kept"
        ),
    ),
    PublishedRule(
        kind="quarterly", ends_from=D(2025, 7, 1), ends_until=None,
        min_drives=100, drives_comparison=">", min_drive_days=10_000, drive_days_comparison=">",
        count_on="first", report="Backblaze Drive Stats for Q3 2025",
        wording=(
            "Drive models with drive count > 100 as of July 1, 2025 and drive days > 10,000 "
            "in Q3 2025"
        ),
        standing="quoted",
    ),
    # Yearly tables: a calendar year (--period 2021, --by year).
    PublishedRule(
        kind="yearly", ends_from=None, ends_until=D(2018, 12, 31),
        min_drives=45, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report=_TO_2019Q1[0], wording=_TO_2019Q1[1], standing="quoted",
        ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="yearly", ends_from=D(2019, 1, 1), ends_until=D(2023, 12, 31),
        min_drives=60, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report="not named", wording=_SIXTY + "; taken for yearly tables too",
        standing="assumed", ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="yearly", ends_from=D(2024, 1, 1), ends_until=None,
        min_drives=100, drives_comparison=">", min_drive_days=10_000, drive_days_comparison=">",
        count_on="last", report="not named",
        wording="the quarterly figures from 2024, taken for yearly tables", standing="assumed",
        ambiguity=(
            "no wording for yearly tables from 2024 is at hand: the quarterly thresholds are "
            "used (over a year's drive days), counted on the year's last day; whether yearly "
            "tables count on the first day, as quarterly ones do from Q3 2025, is not known"
        ),
    ),
    # Lifetime tables: from the first day of the data.
    PublishedRule(
        kind="lifetime", ends_from=None, ends_until=D(2019, 3, 31),
        min_drives=45, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report=_TO_2019Q1[0], wording=_TO_2019Q1[1], standing="quoted",
        ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="lifetime", ends_from=D(2019, 4, 1), ends_until=D(2023, 12, 31),
        min_drives=60, drives_comparison=">=", min_drive_days=0, drive_days_comparison=">=",
        count_on="last", report="not named", wording=_SIXTY + "; taken for lifetime tables too",
        standing="assumed", ambiguity=_DAY_NOT_STATED,
    ),
    PublishedRule(
        kind="lifetime", ends_from=D(2024, 1, 1), ends_until=None,
        min_drives=500, drives_comparison=">", min_drive_days=100_000, drive_days_comparison=">",
        count_on="last", report="not named",
        wording=(
            "reported as more than 500 drives and more than 100,000 drive days (issue #20); "
            "Backblaze wrote of a new 24 TB model with 2,400 drives and 24,148 drive days "
            'that it "hit the thresholds for the quarterly stats, but not the lifetime"'
        ),
        standing="secondary",
        ambiguity=(
            "which report first used these thresholds is not known (they are applied to "
            "lifetime tables ending from 2024 on), nor the day the drives are counted (the "
            "last day is assumed)"
        ),
    ),
)
# fmt: on


def published_rule(kind: Kind, period_end: dt.date) -> PublishedRule:
    """The row for a kind of table whose period ends on this day (the table covers every day)."""
    for row in RULE_TABLE:
        if row.kind == kind and row.covers(period_end):
            return row
    raise LookupError(f"no {kind} rule covers a period ending {period_end}")
