"""Which models a table includes: Backblaze's thresholds by era, boot drives, overrides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivestats.backblaze.format import clean_model, vendor_of

if TYPE_CHECKING:
    pass


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


@dataclass(frozen=True)
class InclusionRule:
    """Which models a period's table includes: at least this many drives and drive days."""

    min_drives: int
    min_drive_days: int
    include_boot: bool
    name: str

    def admits(self, drives: int, drive_days: int) -> bool:
        """Whether a model with these counts in the period is large enough to include."""
        return drives >= self.min_drives and drive_days >= self.min_drive_days

    def describe(self) -> str:
        """The rule in one sentence, as printed under a table and kept in the job's notes."""
        parts = [f"at least {self.min_drives:,} drives on the period's last day"]
        if self.min_drive_days:
            parts.append(f"at least {self.min_drive_days:,} drive days in the period")
        boot = "boot drives included" if self.include_boot else "boot drives left out"
        return f"{self.name}: {' and '.join(parts)}; {boot}"


def backblaze_rule(period_end: dt.date) -> InclusionRule:
    """Backblaze's own threshold for a period ending on this day."""
    if period_end < dt.date(2019, 4, 1):
        return InclusionRule(45, 0, False, "Backblaze's rule to 2019 Q1")
    if period_end < dt.date(2024, 1, 1):
        return InclusionRule(60, 0, False, "Backblaze's rule 2019 Q2 to 2023")
    # "More than 100 drives and more than 10,000 drive days" written as "at least".
    return InclusionRule(101, 10_001, False, "Backblaze's rule from 2024")


def inclusion_rule(
    period_end: dt.date,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
) -> InclusionRule:
    """Backblaze's rule for the period, with any part replaced by an explicit flag."""
    rule = backblaze_rule(period_end)
    if min_drives is None and min_drive_days is None:
        return InclusionRule(rule.min_drives, rule.min_drive_days, include_boot, rule.name)
    return InclusionRule(
        rule.min_drives if min_drives is None else min_drives,
        rule.min_drive_days if min_drive_days is None else min_drive_days,
        include_boot,
        f"{rule.name}, overridden by flags",
    )
