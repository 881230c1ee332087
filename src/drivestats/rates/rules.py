"""Which models a table includes: the rule table's row for the period, boot drives, overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivestats.backblaze.format import clean_model, vendor_of
from drivestats.rates.rule_table import Comparison, CountOn, Kind, PublishedRule, published_rule

if TYPE_CHECKING:
    from drivestats.rates.periods import Period


# Part-number families and words of the SSDs Backblaze uses as boot drives.
_SSD_MARKERS = ("SSD", "DELLBOSS", "MTFD", "SSDSC", "WDS", "SA510", "ZA")
_SSD_VENDORS = {"Micron", "Crucial", "Intel", "Dell"}
BOOT_RULE = (
    "models under 1 TB (10^12 bytes) and SSDs (model names containing SSD, models of Micron, "
    "Crucial, Intel or Dell, Seagate ZA and WD WDS or SA510 parts) are boot drives"
)


def is_boot_drive(model: str, capacity_bytes: int | None) -> bool:
    """Whether a model is a boot drive by our rule: under 1 TB, or an SSD."""
    if capacity_bytes is not None and 0 < capacity_bytes < 10**12:
        return True
    if vendor_of(model) in _SSD_VENDORS:
        return True
    words = clean_model(model).upper().split(" ")
    return any(
        marker in word if marker == "SSD" else word.startswith(marker)
        for word in words
        for marker in _SSD_MARKERS
    )


def rule_kind(period: Period) -> Kind:
    """Which rows of the rule table a period's table takes: lifetime, yearly or quarterly.

    A calendar year (``2021``, a part of ``--by year``) is yearly; quarters and any other
    range of days take the quarterly rows. A period cut by --until keeps its kind.
    """
    asked = period.label.split("-until-", 1)[0]
    if asked == "lifetime":
        return "lifetime"
    return "yearly" if asked.isdigit() and len(asked) == 4 else "quarterly"


# The flags that replace a part of the rule, in the order inclusion_rule takes them.
FLAGS = ("--min-drives", "--min-drive-days", "--count-on")


def _holds(value: int, comparison: Comparison, threshold: int) -> bool:
    return value > threshold if comparison == ">" else value >= threshold


@dataclass(frozen=True)
class InclusionRule:
    """The rule a table (or a part of a split table) applies: a row of the rule table,
    with any part replaced by a flag."""

    published: PublishedRule
    min_drives: int
    drives_comparison: Comparison
    min_drive_days: int
    drive_days_comparison: Comparison
    count_on: CountOn
    include_boot: bool
    overridden_by: tuple[str, ...] = ()

    def admits(self, drives: int, drive_days: int) -> bool:
        """Whether a model with these counts (drives on the count day) is large enough."""
        return _holds(drives, self.drives_comparison, self.min_drives) and _holds(
            drive_days, self.drive_days_comparison, self.min_drive_days
        )

    def sentence(self, count_day: str, days_in: str) -> str:
        """The rule as Backblaze's captions read: 'drive count > 100 as of 2025-07-01 and
        drive days > 10,000 in 2025Q3', with the flags that replaced a part named in it, and
        the marks of a row that is not quoted or is ambiguous; then what happens to boot drives."""
        flag = {name: f" ({name})" if name in self.overridden_by else "" for name in FLAGS}
        count_on = f" (--count-on {self.count_on})" if flag["--count-on"] else ""
        text = (
            f"drive count {self.drives_comparison} {self.min_drives:,}{flag['--min-drives']} "
            f"as of {count_day}{count_on}"
        )
        if self.min_drive_days or self.drive_days_comparison == ">":
            text += (
                f" and drive days {self.drive_days_comparison} {self.min_drive_days:,}"
                f"{flag['--min-drive-days']} {days_in}"
            )
        marks = self.published.marks()
        boot = "boot drives included" if self.include_boot else "boot drives left out"
        return f"{text} {marks}; {boot}" if marks else f"{text}; {boot}"

    def name(self) -> str:
        """Whose rule it is: 'Backblaze's quarterly rule from 2025Q3[, overridden by ...]'."""
        name = self.published.name()
        return (
            f"{name}, overridden by {', '.join(self.overridden_by)}" if self.overridden_by else name
        )

    def facts(self) -> dict[str, Any]:
        """The rule and its source as plain values, for a job's notes."""
        source = self.published
        return {
            "name": self.name(),
            "kind": source.kind,
            "era": source.era(),
            "drive_count": {
                "comparison": self.drives_comparison,
                "threshold": self.min_drives,
                "counted_on": self.count_on,
            },
            "drive_days": {
                "comparison": self.drive_days_comparison,
                "threshold": self.min_drive_days,
            },
            "include_boot": self.include_boot,
            "overridden_by": list(self.overridden_by),
            "source": {
                "rule": source.name(),
                "report": source.report,
                "wording": source.wording,
                "standing": source.standing,
                "ambiguity": source.ambiguity,
                "marks": source.marks(),
            },
        }


def inclusion_rule(
    period: Period,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
    count_on: CountOn | None = None,
) -> InclusionRule:
    """Backblaze's rule for the period's kind and era, with any part replaced by a flag.

    A flag's threshold means at least that many, as its help says.
    """
    row = published_rule(rule_kind(period), period.end)
    given = dict(zip(FLAGS, (min_drives, min_drive_days, count_on), strict=True))
    return InclusionRule(
        published=row,
        min_drives=row.min_drives if min_drives is None else min_drives,
        drives_comparison=row.drives_comparison if min_drives is None else ">=",
        min_drive_days=row.min_drive_days if min_drive_days is None else min_drive_days,
        drive_days_comparison=row.drive_days_comparison if min_drive_days is None else ">=",
        count_on=row.count_on if count_on is None else count_on,
        include_boot=include_boot,
        overridden_by=tuple(flag for flag, value in given.items() if value is not None),
    )
