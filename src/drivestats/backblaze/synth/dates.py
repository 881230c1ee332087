"""The span of the synthetic history, its defaults, and the days each quirk of the real files falls on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

FIRST_DAY = dt.date(2013, 4, 10)
LAST_DAY = dt.date(2026, 12, 31)
DEFAULT_START = FIRST_DAY
DEFAULT_END = dt.date(2014, 12, 31)
# About one million rows over the default range (the real fleet gives ~20 million).
DEFAULT_SCALE = 0.05
DEFAULT_SEED = 2013
MAX_SCALE = 4.0
TRUTH_FILE = "truth.csv"
TRUTH_COLUMNS = ("quarter", "model", "vendor", "capacity_bytes", "drives", "drive_days", "failures")

HEADER_ONLY_DAYS = frozenset({dt.date(2014, 11, 2), dt.date(2015, 11, 1), dt.date(2017, 1, 30)})
BARE_CR_DAYS = frozenset({dt.date(2018, 2, 25), dt.date(2019, 6, 17)})
SHORT_DATE_DAYS = frozenset({dt.date(2018, 2, 25)})
CLUTTER_UNTIL_YEAR = 2019  # zips made on a Mac carry __MACOSX/ and .DS_Store
LEGACY_UNTIL_YEAR = 2020  # pods bought before this report is_legacy_format true
# Some copies of the 2024 Q3 files spell the headers of the newest SMART pairs this way.
MISSPELT_HEADERS = (dt.date(2024, 7, 1), dt.date(2024, 9, 30), ("smart_211", "smart_212"))

ProgressCallback = Callable[[int, int], None]
