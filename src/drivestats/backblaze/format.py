"""Facts about the Backblaze Drive Stats format: column sets per period, types, models, vendors.

This is the one place that knows them; the reader, the synthetic fleet and the
statistics all ask here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

CORE_COLUMNS = ("date", "serial_number", "model", "capacity_bytes", "failure")
REQUIRED_COLUMNS = ("date", "serial_number", "model", "failure")
LOCATION_COLUMNS = (
    "datacenter",
    "cluster_id",
    "vault_id",
    "pod_id",
    "pod_slot_num",
    "is_legacy_format",
)
DERIVED_COLUMNS = ("model_clean", "vendor")

TRUE_SPELLINGS = ["1", "true", "True", "TRUE"]
FALSE_SPELLINGS = ["0", "false", "False", "FALSE"]

_STRING_COLUMNS = {"serial_number", "model", "datacenter"}
_INT_COLUMNS = {"capacity_bytes", "cluster_id", "vault_id", "pod_id", "pod_slot_num"}
_BOOL_COLUMNS = {"failure", "is_legacy_format"}
_SMART = re.compile(r"^smart_(\d+)_(normalized|raw)$")
DAY_FILE = re.compile(r"(?:^|/)(\d{4}-\d{2}-\d{2})\.csv$")


def stored_type(column: str) -> pa.DataType:
    """The Arrow type a column has in the store (unknown future columns stay text)."""
    import pyarrow as pa  # here, so that model names can be cleaned without pyarrow

    if column == "date":
        return pa.date32()
    if column in _BOOL_COLUMNS:
        return pa.bool_()
    if column in _INT_COLUMNS or _SMART.match(column):
        return pa.int64()
    return pa.string()


# Spellings of "normalized" met in copies of the daily files ("normailized": 2024 Q2 on).
_NORMALIZED_SPELLINGS = ("normailized", "normalised", "normalize", "normalzied", "normlized")
_SMART_HEADER = re.compile(r"^smart_(\d+)_([a-z]+)$")


def canonical_column(header: str) -> str:
    """The stored name of a header cell: trimmed, lower case, known misspellings of SMART fixed."""
    name = header.strip().lower()
    match = _SMART_HEADER.match(name)
    if match and match.group(2) in _NORMALIZED_SPELLINGS:
        return f"smart_{match.group(1)}_normalized"
    return name


def is_smart(column: str) -> bool:
    """True for smart_N_normalized and smart_N_raw."""
    return bool(_SMART.match(column))


def smart_columns(smart_ids: list[int]) -> list[str]:
    """The SMART column names, in Backblaze's order, for a list of attribute ids."""
    names = []
    for smart_id in smart_ids:
        names += [f"smart_{smart_id}_normalized", f"smart_{smart_id}_raw"]
    return names


@dataclass(frozen=True)
class Period:
    """One row of the reference table: the column set in force from ``start`` on."""

    label: str
    start: dt.date
    non_smart: tuple[str, ...]
    smart_ids: tuple[int, ...]

    @property
    def columns(self) -> list[str]:
        return list(self.non_smart) + smart_columns(list(self.smart_ids))


def _period_start(label: str) -> dt.date:
    match = re.match(r"^(\d{4})(?: Q(\d))?", label)
    if not match:
        raise ValueError(f"unreadable period label {label!r}")
    year = int(match.group(1))
    if year == 2013:
        return dt.date(2013, 4, 10)
    quarter = int(match.group(2) or 1)
    return dt.date(year, 3 * quarter - 2, 1)


@cache
def periods() -> tuple[Period, ...]:
    """Every column-set period, oldest first, from the shipped reference table."""
    text = resources.files("drivestats.backblaze").joinpath("columns_by_quarter.csv").read_text()
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append(
            Period(
                label=row["period"],
                start=_period_start(row["period"]),
                non_smart=tuple(row["non_smart_columns_in_order"].split("|")),
                smart_ids=tuple(int(x) for x in row["smart_ids"].split()),
            )
        )
    return tuple(sorted(rows, key=lambda p: p.start))


def period_of(day: dt.date) -> Period:
    """The column-set period in force on a day (the latest one that started by then)."""
    chosen = periods()[0]
    for period in periods():
        if period.start <= day:
            chosen = period
    return chosen


def columns_for_day(day: dt.date) -> list[str]:
    """The header Backblaze wrote on a day."""
    return period_of(day).columns


# --- models and vendors -------------------------------------------------------

_VENDOR_PREFIXES = {
    "HGST": "HGST",
    "HITACHI": "Hitachi",
    "WDC": "WDC",
    "WD": "WDC",
    "TOSHIBA": "Toshiba",
    "SEAGATE": "Seagate",
    "SAMSUNG": "Samsung",
    "MICRON": "Micron",
    "CRUCIAL": "Crucial",
    "INTEL": "Intel",
    "DELLBOSS": "Dell",
}
# Models that carry no vendor word, recognised by their part-number family.
_PART_NUMBER_VENDORS = (
    ("ST", "Seagate"),
    ("ZA", "Seagate"),
    ("WUH", "WDC"),
    ("WD", "WDC"),
    ("HUH", "HGST"),
    ("HUS", "HGST"),
    ("HMS", "HGST"),
    ("HDS", "Hitachi"),
    ("MG0", "Toshiba"),
    ("MD0", "Toshiba"),
    ("MQ0", "Toshiba"),
    ("HDW", "Toshiba"),
    ("DT01", "Toshiba"),
    ("MTFD", "Micron"),
    ("CT", "Crucial"),
    ("SSDSC", "Intel"),
)
UNKNOWN_VENDOR = "unknown"


def clean_model(model: str) -> str:
    """The model string with whitespace normalised (double spaces are the same model)."""
    return " ".join(model.split())


def vendor_of(model: str) -> str:
    """The vendor named by a model string, or 'unknown'."""
    words = clean_model(model).split(" ")
    if len(words) > 1 and words[0].upper() in _VENDOR_PREFIXES:
        return _VENDOR_PREFIXES[words[0].upper()]
    # The part number is usually the last word, but some models carry a suffix ("ST500LM012 HN").
    for part in (words[-1].upper(), words[0].upper()):
        for prefix, vendor in _PART_NUMBER_VENDORS:
            if part.startswith(prefix):
                return vendor
    return UNKNOWN_VENDOR


def model_without_vendor(model: str) -> str:
    """The model name as shown under a movie block: no vendor word in front."""
    words = clean_model(model).split(" ")
    if len(words) > 1 and words[0].upper() in _VENDOR_PREFIXES:
        return " ".join(words[1:])
    return " ".join(words)


def capacity_label(capacity_bytes: int) -> str:
    """A human capacity in decimal units, as Backblaze labels drives: '4TB', '1.5TB', '500GB'."""
    if capacity_bytes >= 10**12:
        value, unit = capacity_bytes / 10**12, "TB"
    else:
        value, unit = capacity_bytes / 10**9, "GB"
    rounded = round(value, 1) if value < 10 else round(value)
    text = f"{rounded:.1f}".rstrip("0").rstrip(".") if isinstance(rounded, float) else str(rounded)
    return f"{text}{unit}"
