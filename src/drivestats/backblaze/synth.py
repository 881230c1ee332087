"""A synthetic Backblaze fleet, written in Backblaze's exact packaging and CSV format.

The fleet is the project's built-in data and the ground truth for tests: real
model names, capacities and eras; pods of 45 or 60 drives deployed in waves and
retired whole; a bathtub-shaped hazard per model; and every quirk of the real
files on its real date. Beside the zips, ``truth.csv`` holds the counts the
generator knows from its own simulation.

Every day is a pure function of (day, scale, seed): the same options give the
same bytes, and a day does not depend on the range it was written in.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drivestats.backblaze import format as bbformat
from drivestats.errors import DrivestatsError

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


# --- the catalog: real models, capacities and eras -------------------------------


@dataclass(frozen=True)
class Wave:
    """Pods of one model bought between two dates and retired, oldest first, between two more."""

    deployed: tuple[str, str]
    drives: int
    retired: tuple[str, str] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One drive model: its identity, its serial style, its hazard and its deployment waves."""

    model: str
    capacity_bytes: int
    serial_prefix: str
    afr: float  # random failures per drive year, flat in age
    wear_years: float  # Weibull scale of wear-out
    wear_shape: float
    infant: float  # share of drives dying in their first months
    waves: tuple[Wave, ...]
    helium: bool = False
    ssd: bool = False
    boot: bool = False


# The exact byte counts Backblaze reports for each nominal size.
CAPACITIES = {
    "250GB": 250059350016,
    "480GB": 480103981056,
    "500GB": 500107862016,
    "1TB": 1000204886016,
    "1.5TB": 1500301910016,
    "2TB": 2000398934016,
    "3TB": 3000592982016,
    "4TB": 4000787030016,
    "6TB": 6001175126016,
    "8TB": 8001563222016,
    "10TB": 10000831348736,
    "12TB": 12000138625024,
    "14TB": 14000519643136,
    "16TB": 16000900661248,
    "18TB": 18000207937536,
    "20TB": 20000588955648,
    "22TB": 22000969973760,
    "24TB": 24000277250048,
}

# afr: random failures per 100 drive years; wear: Weibull scale (years) and shape of
# wear-out; infant: percent of drives dying in their first months. Flags: he = helium
# (reports SMART 22/23/24), ssd, boot.
_MODEL_TABLE = """
model                              | size  | serial    | afr | wear | shape | infant | flags
Hitachi HDS722020ALA330            | 2TB   | JK11A1YAJ | 2   | 13   | 5     | 0.5    |
ST3000DM001                        | 3TB   | W1F       | 2   | 3.4  | 3.5   | 2      |
Hitachi HDS5C3030ALA630            | 3TB   | MJ0351YNG | 0.8 | 15   | 5     | 0.5    |
ST31500541AS                       | 1.5TB | 9XW0      | 3   | 9    | 4     | 0.5    |
Hitachi HDS5C4040ALE630            | 4TB   | PL2331LAG | 0.8 | 15   | 5     | 0.5    |
Hitachi HDS723030ALA640            | 3TB   | MK0301YHG | 1.2 | 14   | 5     | 0.5    |
ST31500341AS                       | 1.5TB | 9VS       | 4   | 8    | 4     | 0.5    |
WDC WD10EADS                       | 1TB   | WD-WCAV5  | 2.5 | 11   | 4     | 0.5    |
WDC WD30EZRX                       | 3TB   | WD-WMC1T  | 5   | 7    | 3     | 1      |
ST32000542AS                       | 2TB   | 5XW       | 3.5 | 9    | 4     | 0.5    |
ST33000651AS                       | 3TB   | Z29       | 3   | 9    | 4     | 0.5    |
WDC WD30EFRX                       | 3TB   | WD-WMC4N  | 3.5 | 8    | 3     | 1      |
WDC WD10EACS                       | 1TB   | WD-WCAU4  | 3   | 10   | 4     | 0.5    |
ST1500DL003                        | 1.5TB | 5YD       | 8   | 6    | 4     | 1      |
ST4000DX000                        | 4TB   | Z1Z       | 2.5 | 11   | 4     | 0.5    |
TOSHIBA DT01ACA300                 | 3TB   | Z3GA      | 3   | 10   | 4     | 0.5    |
ST320005XXXX                       | 2TB   | 5XW       | 5   | 8    | 4     | 0.5    |
SAMSUNG HD103UJ                    | 1TB   | S13PJ1    | 4   | 9    | 4     | 0.5    |
WDC WD10EADX                       | 1TB   | WD-WCAV6  | 3   | 10   | 4     | 0.5    |
HGST HMS5C4040ALE640               | 4TB   | PL1331LAG | 0.5 | 16   | 5     | 0.5    |
ST4000DM000                        | 4TB   | Z30       | 1.6 | 13   | 4.5   | 0.8    |
HGST HMS5C4040BLE640               | 4TB   | PL2331LAH | 0.5 | 16   | 5     | 0.5    |
ST6000DX000                        | 6TB   | Z4D       | 1   | 14   | 5     | 0.5    |
WDC WD60EFRX                       | 6TB   | WD-WX11D  | 4   | 8    | 3     | 1      |
TOSHIBA MD04ABA400V                | 4TB   | 55H4K0    | 0.8 | 15   | 5     | 0.5    |
HGST HUH728080ALE600               | 8TB   | VKH       | 0.6 | 15   | 5     | 0.5    | he
ST8000DM002                        | 8TB   | ZA1       | 0.8 | 14   | 5     | 0.5    |
ST10000NM0086                      | 10TB  | ZA2       | 1   | 14   | 5     | 0.5    | he
ST8000NM0055                       | 8TB   | ZA1F      | 0.9 | 14   | 5     | 0.5    |
ST12000NM0007                      | 12TB  | ZCH       | 1.5 | 9    | 4     | 0.4    | he
HGST HUH721212ALN604               | 12TB  | 8HK       | 0.4 | 16   | 5     | 0.3    | he
TOSHIBA MG07ACA14TA                | 14TB  | X8N0A0    | 0.6 | 16   | 5     | 0.4    | he
ST12000NM0008                      | 12TB  | ZHZ       | 1   | 13   | 5     | 0.5    | he
ST14000NM001G                      | 14TB  | ZL2       | 0.9 | 13   | 5     | 0.5    | he
WDC WUH721414ALE6L4                | 14TB  | 9JG       | 0.3 | 17   | 5     | 0.3    | he
ST14000NM0138                      | 14TB  | ZHZ4      | 4   | 8    | 3     | 1      | he
HGST HUH721212ALE604               | 12TB  | 5PH       | 0.5 | 16   | 5     | 0.3    | he
ST12000NM001G                      | 12TB  | ZLW       | 0.8 | 14   | 5     | 0.5    | he
ST16000NM001G                      | 16TB  | ZL2P      | 0.6 | 15   | 5     | 0.4    | he
WDC WUH721816ALE6L4                | 16TB  | 2PG       | 0.3 | 17   | 5     | 0.3    | he
TOSHIBA MG08ACA16TA                | 16TB  | X1B0A0    | 0.6 | 16   | 5     | 0.4    | he
TOSHIBA MG09ACA18TE                | 18TB  | Z2C0A0    | 0.5 | 16   | 5     | 0.4    | he
WDC WUH722222ALE6L4                | 22TB  | 3RG       | 0.5 | 16   | 5     | 0.4    | he
TOSHIBA MG10ACA20TE                | 20TB  | Y3B0A0    | 0.6 | 16   | 5     | 0.4    | he
ST24000NM002H                      | 24TB  | ZXA       | 0.7 | 15   | 5     | 0.5    | he
ST20000NM007D                      | 20TB  | ZVT       | 0.8 | 15   | 5     | 0.5    | he
WDC WUH722424ALE6L4                | 24TB  | 4BG       | 0.4 | 17   | 5     | 0.3    | he
WDC WUH722020ALE6L4                | 20TB  | 5LG       | 0.4 | 17   | 5     | 0.3    | he
TOSHIBA MG11ACA24TE                | 24TB  | 14A0A0    | 0.6 | 16   | 5     | 0.4    | he
WDC WD5000LPVX                     | 500GB | WD-WXE1A  | 1.5 | 10   | 4     | 0.5    | boot
ST250LM004 HN                      | 250GB | S2Y       | 2   | 9    | 4     | 0.5    | boot
ST500LM012 HN                      | 500GB | S2R       | 2   | 9    | 4     | 0.5    | boot
TOSHIBA MQ01ABF050                 | 500GB | Y6V       | 1.5 | 10   | 4     | 0.5    | boot
Seagate BarraCuda SSD ZA250CM10002 | 250GB | 7M0       | 0.6 | 15   | 5     | 0.3    | ssd boot
CT250MX500SSD1                     | 250GB | 1926E1    | 0.5 | 15   | 5     | 0.3    | ssd boot
DELLBOSS VD                        | 480GB | 5a3b      | 0.3 | 18   | 5     | 0.2    | ssd boot
"""

# Each wave: pods bought between two dates, retired oldest first between two more
# (blank: still running). Drive counts are for the real fleet (scale 1).
_WAVE_TABLE = """
model                              | bought             | drives | retired
Hitachi HDS722020ALA330            | 2010-09..2012-03   | 4730   | 2015-06..2016-09
ST3000DM001                        | 2012-04..2013-06   | 4650   | 2015-02..2016-03
Hitachi HDS5C3030ALA630            | 2011-06..2012-09   | 4560   | 2017-10..2019-09
ST31500541AS                       | 2009-05..2010-09   | 2110   | 2014-05..2016-03
Hitachi HDS5C4040ALE630            | 2012-12..2013-08   | 2700   | 2018-06..2019-12
Hitachi HDS723030ALA640            | 2011-01..2011-12   | 1040   | 2016-01..2017-06
ST31500341AS                       | 2008-12..2009-09   | 750    | 2014-01..2014-12
WDC WD10EADS                       | 2008-09..2009-06   | 540    | 2014-06..2015-06
WDC WD30EZRX                       | 2012-03..2013-09   | 1150   | 2015-09..2016-12
ST32000542AS                       | 2010-06..2011-03   | 365    | 2015-01..2015-12
ST33000651AS                       | 2012-01..2012-06   | 310    | 2015-06..2016-06
WDC WD30EFRX                       | 2013-01..2014-03   | 1250   | 2018-06..2019-06
WDC WD10EACS                       | 2008-06..2009-03   | 110    | 2014-01..2014-09
ST1500DL003                        | 2011-06..2011-12   | 80     | 2014-06..2015-06
ST4000DX000                        | 2013-03..2013-06   | 200    | 2019-01..2020-06
TOSHIBA DT01ACA300                 | 2013-03..2013-04   | 45     | 2016-06..2017-06
ST320005XXXX                       | 2010-01..2010-03   | 17     | 2013-11..2014-02
SAMSUNG HD103UJ                    | 2009-01..2009-03   | 14     | 2014-01..2014-06
WDC WD10EADX                       | 2010-01..2010-03   | 19     | 2014-03..2014-09
HGST HMS5C4040ALE640               | 2013-04..2014-06   | 7250   | 2020-06..2022-06
ST4000DM000                        | 2013-06..2014-12   | 8000   | 2019-01..2022-03
ST4000DM000                        | 2015-01..2015-12   | 13500  | 2019-01..2022-03
ST4000DM000                        | 2016-01..2016-09   | 9700   | 2019-01..2022-03
HGST HMS5C4040BLE640               | 2014-10..2016-03   | 12000  | 2021-03..2023-09
ST6000DX000                        | 2014-09..2015-03   | 1900   | 2021-06..2023-12
WDC WD60EFRX                       | 2014-07..2014-12   | 450    | 2019-06..2020-06
TOSHIBA MD04ABA400V                | 2014-11..2015-02   | 150    | 2021-01..2022-06
HGST HUH728080ALE600               | 2016-05..2016-08   | 1000   | 2024-01..2025-06
ST8000DM002                        | 2016-06..2017-03   | 10000  | 2024-01..2026-06
ST10000NM0086                      | 2017-01..2017-03   | 1200   | 2024-06..2025-12
ST8000NM0055                       | 2017-03..2018-06   | 14500  | 2024-06..2026-09
ST12000NM0007                      | 2017-09..2018-12   | 37000  | 2020-03..2021-12
HGST HUH721212ALN604               | 2019-03..2019-09   | 10800  |
TOSHIBA MG07ACA14TA                | 2019-05..2021-06   | 38000  |
ST12000NM0008                      | 2019-10..2020-08   | 17000  |
ST14000NM001G                      | 2020-03..2020-10   | 10700  |
WDC WUH721414ALE6L4                | 2020-06..2020-12   | 8400   |
ST14000NM0138                      | 2020-07..2020-10   | 1600   |
HGST HUH721212ALE604               | 2021-01..2021-06   | 13000  |
ST12000NM001G                      | 2020-06..2021-06   | 12800  |
ST16000NM001G                      | 2020-12..2022-09   | 33000  |
ST16000NM001G                      | 2023-06..2024-06   | 6000   |
WDC WUH721816ALE6L4                | 2021-03..2022-12   | 30000  |
TOSHIBA MG08ACA16TA                | 2021-06..2023-03   | 36000  |
TOSHIBA MG09ACA18TE                | 2022-06..2022-12   | 8000   |
WDC WUH722222ALE6L4                | 2023-03..2025-12   | 45000  |
TOSHIBA MG10ACA20TE                | 2023-06..2025-09   | 20000  |
ST24000NM002H                      | 2024-03..2025-12   | 26000  |
ST20000NM007D                      | 2024-06..2025-06   | 6000   |
WDC WUH722424ALE6L4                | 2025-03..2026-06   | 11000  |
WDC WUH722020ALE6L4                | 2022-09..2023-06   | 3000   |
TOSHIBA MG11ACA24TE                | 2025-06..2026-06   | 7000   |
WDC WD5000LPVX                     | 2014-06..2018-12   | 450    | 2020-01..2023-12
ST250LM004 HN                      | 2015-06..2016-12   | 150    | 2019-01..2021-06
ST500LM012 HN                      | 2015-01..2019-06   | 600    | 2021-01..2024-06
TOSHIBA MQ01ABF050                 | 2016-01..2019-12   | 500    | 2022-01..2025-06
Seagate BarraCuda SSD ZA250CM10002 | 2018-10..2021-06   | 1400   |
CT250MX500SSD1                     | 2020-06..2022-12   | 700    |
DELLBOSS VD                        | 2022-06..2025-12   | 1950   |
"""


def _table(text: str) -> list[list[str]]:
    """The rows of a '|'-separated table, header dropped, cells stripped."""
    lines = [line for line in text.strip().splitlines()[1:] if line.strip()]
    return [[cell.strip() for cell in line.split("|")] for line in lines]


def _span(text: str) -> tuple[str, str]:
    """'2013-04..2014-06' as its two ends."""
    first, last = text.split("..")
    return first, last


def _catalog() -> tuple[ModelSpec, ...]:
    """The model catalog, read from the two tables above."""
    waves: dict[str, list[Wave]] = {}
    for model, bought, drives, retired in _table(_WAVE_TABLE):
        waves.setdefault(model, []).append(
            Wave(_span(bought), int(drives), _span(retired) if retired else None)
        )
    specs = []
    for model, size, serial, afr, wear, shape, infant, flags in _table(_MODEL_TABLE):
        specs.append(
            ModelSpec(
                model=model,
                capacity_bytes=CAPACITIES[size],
                serial_prefix=serial,
                afr=float(afr) / 100,
                wear_years=float(wear),
                wear_shape=float(shape),
                infant=float(infant) / 100,
                helium="he" in flags.split(),
                ssd="ssd" in flags.split(),
                boot="boot" in flags.split(),
                waves=tuple(waves.pop(model)),
            )
        )
    assert not waves, f"waves for models not in the catalog: {sorted(waves)}"
    return tuple(specs)


MODELS = _catalog()
DOUBLE_SPACE_MODELS = {"WDC WUH721414ALE6L4": "WDC  WUH721414ALE6L4"}
BOOT_GROUP = 15  # boot drives arrive with batches of servers, not in pods of their own


def pod_size(deployed: dt.date) -> int:
    """Drives per pod: 45 in Storage Pods up to 5.0, 60 from Storage Pod 6.0 (2016) on."""
    return 60 if deployed.year >= 2016 else 45


# --- SMART attributes per drive family ------------------------------------------

# attribute -> (normalized, raw); each an int constant, a (low, high) per-drive constant,
# or the name of a value that changes day by day.
Spec = int | tuple[int, int] | str | None
_SEAGATE: dict[int, tuple[Spec, Spec]] = {
    1: ((100, 120), "read_errors"),
    3: ((91, 99), 0),
    4: (100, (1, 40)),
    5: (100, "realloc"),
    7: ((60, 90), "seek_errors"),
    9: ("hours_norm", "hours"),
    10: (100, 0),
    12: (100, (1, 40)),
    183: (100, 0),
    184: (100, 0),
    187: (100, 0),
    188: (100, 0),
    189: (100, 0),
    190: ("airflow", "temp"),
    191: (100, 0),
    192: (100, (0, 20)),
    193: ((80, 100), "load_cycles"),
    194: ("temp", "temp"),
    195: ((100, 120), 0),
    197: (100, "pending"),
    198: (100, "pending"),
    199: (200, 0),
    240: (100, "head_hours"),
    241: (100, "lbas_written"),
    242: (100, "lbas_read"),
}
_HGST: dict[int, tuple[Spec, Spec]] = {
    1: (100, 0),
    2: ((130, 140), (100, 110)),
    3: ((125, 140), (400, 620)),
    4: (100, (1, 40)),
    5: (100, "realloc"),
    7: (100, 0),
    8: ((113, 128), (20, 40)),
    9: ("hours_norm", "hours"),
    10: (100, 0),
    12: (100, (1, 40)),
    192: (100, (1, 40)),
    193: (100, (1, 40)),
    194: ("temp_inverse", "temp"),
    196: (100, "realloc"),
    197: (100, "pending"),
    198: (100, 0),
    199: (200, 0),
}
_WDC: dict[int, tuple[Spec, Spec]] = {
    1: (200, 0),
    3: ((170, 200), (5000, 9000)),
    4: (100, (1, 40)),
    5: (200, "realloc"),
    7: (200, 0),
    9: ("hours_norm", "hours"),
    10: (100, 0),
    11: (100, 0),
    12: (100, (1, 40)),
    192: (200, (0, 20)),
    193: ((190, 200), "load_cycles"),
    194: ("temp_inverse", "temp"),
    196: (200, "realloc"),
    197: (200, "pending"),
    198: (100, 0),
    199: (200, 0),
    200: (200, 0),
}
_TOSHIBA: dict[int, tuple[Spec, Spec]] = {
    1: (100, 0),
    2: (100, 0),
    3: (100, (7000, 9000)),
    4: (100, (1, 40)),
    5: (100, "realloc"),
    7: (100, 0),
    8: (100, 0),
    9: ("hours_norm", "hours"),
    10: (100, 0),
    12: (100, (1, 40)),
    191: (100, 0),
    192: (100, (0, 40)),
    193: (100, "load_cycles"),
    194: ("temp", "temp"),
    196: (100, "realloc"),
    197: (100, "pending"),
    198: (100, 0),
    199: (200, 0),
    220: (100, 0),
    222: ("hours_norm", "head_hours"),
    223: (100, 0),
    224: (100, 0),
    225: (100, (1, 40)),
    226: (100, (200, 300)),
    240: (100, 0),
}
_SSD: dict[int, tuple[Spec, Spec]] = {
    1: (100, 0),
    5: (100, 0),
    9: (100, "hours"),
    12: (100, (1, 40)),
    171: (100, 0),
    172: (100, 0),
    173: (100, (10, 120)),
    174: (100, (1, 30)),
    177: (100, (0, 50)),
    180: (100, (2000, 2100)),
    181: (100, 0),
    182: (100, 0),
    183: (100, 0),
    187: (100, 0),
    194: ("temp", "temp"),
    195: (100, 0),
    196: (100, 0),
    197: (100, 0),
    198: (100, 0),
    199: (100, 0),
    202: (100, 0),
    206: (100, 0),
    231: (100, 100),
    232: (100, 100),
    233: (100, (1000, 9000)),
    235: (100, (100, 900)),
    241: (100, "lbas_written"),
    242: (100, "lbas_read"),
    246: (100, (1000, 90000)),
    247: (100, (100, 9000)),
    248: (100, (100, 9000)),
}
FAMILIES: dict[str, dict[int, tuple[Spec, Spec]]] = {
    "seagate": _SEAGATE,
    "hgst": _HGST,
    "hgst_helium": {**_HGST, 22: (100, 100)},
    "wdc": _WDC,
    "toshiba": _TOSHIBA,
    "toshiba_helium": {**_TOSHIBA, 23: (100, 0), 24: (100, 0)},
    "ssd": _SSD,
}
FAMILY_NAMES = tuple(FAMILIES)
# In 2013 Backblaze recorded five raw values and no normalized ones.
SMART_2013 = frozenset({1, 5, 9, 194, 197})


def family_of(spec: ModelSpec) -> str:
    """Which SMART attributes a model reports, by vendor and build."""
    if spec.ssd:
        return "ssd"
    vendor = bbformat.vendor_of(spec.model)
    if vendor == "Seagate":
        return "seagate"
    if vendor == "Toshiba":
        return "toshiba_helium" if spec.helium else "toshiba"
    if vendor in ("HGST", "Hitachi") or (vendor == "WDC" and spec.helium):
        return "hgst_helium" if spec.helium else "hgst"
    return "wdc"


# --- the fleet: every drive's life, simulated once --------------------------------


@dataclass(frozen=True)
class SynthParams:
    """What a synthetic fleet is made from; the same params give the same bytes."""

    start: dt.date = DEFAULT_START
    end: dt.date = DEFAULT_END
    scale: float = DEFAULT_SCALE
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not FIRST_DAY <= self.start <= self.end <= LAST_DAY:
            raise DrivestatsError(
                f"the range must lie within {FIRST_DAY} .. {LAST_DAY} and start before it ends, "
                f"not {self.start} .. {self.end}"
            )
        if not 0 < self.scale <= MAX_SCALE:
            raise DrivestatsError(
                f"the scale must be above 0 and at most {MAX_SCALE}, not {self.scale}"
            )


@dataclass
class Fleet:
    """Every record (one stretch of reporting by one serial) of the simulated fleet, as arrays."""

    models: tuple[ModelSpec, ...]
    labels: list[str]  # model strings as written; the first len(models) are the clean ones
    serial: pa.StringArray
    label: np.ndarray
    model: np.ndarray
    family: np.ndarray
    pod: np.ndarray
    slot: np.ndarray
    start: np.ndarray  # first reporting day, proleptic ordinal
    end: np.ndarray  # last reporting day
    fails: np.ndarray  # reports failure=1 on its last day
    hours0: np.ndarray  # power-on hours on the first day
    key: np.ndarray  # per-record hash key for deterministic per-day noise
    ramp_start: np.ndarray  # day reallocated sectors start climbing before a failure
    ramp_rate: np.ndarray
    pod_datacenter: np.ndarray
    pod_cluster: np.ndarray
    pod_vault: np.ndarray
    pod_number: np.ndarray
    pod_legacy: np.ndarray
    datacenters: tuple[str, ...]
    seed: int
    layouts: dict[dt.date, Layout] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.start)


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mixed(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value (splitmix64), for noise that needs no random state."""
    x = values.astype(np.uint64) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _day(text: str) -> int:
    """The ordinal of 'YYYY-MM' (its first day) or 'YYYY-MM-DD'."""
    parts = [int(p) for p in text.split("-")] + [1]
    return dt.date(parts[0], parts[1], parts[2]).toordinal()


def _pods(scale: float, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Every pod as (model index, size, deploy day, retire day), in deploy order."""
    horizon = LAST_DAY.toordinal() + 1
    pods = []
    for m, spec in enumerate(MODELS):
        for wave in spec.waves:
            first, last = _day(wave.deployed[0]), _day(wave.deployed[1])
            size = BOOT_GROUP if spec.boot else pod_size(dt.date.fromordinal(first))
            whole = wave.drives * scale / size
            sizes = [size] * round(whole) if whole >= 0.5 else []
            if not sizes and wave.drives * scale >= 0.5:
                sizes = [round(wave.drives * scale)]
            if not sizes:
                continue
            deployed = np.sort(rng.integers(first, last + 1, len(sizes)))
            if wave.retired is None:
                retired = np.full(len(sizes), horizon)
            else:
                lo, hi = _day(wave.retired[0]), _day(wave.retired[1])
                retired = np.sort(rng.integers(lo, hi + 1, len(sizes)))
            pods += [
                (m, n, int(d), int(r)) for n, d, r in zip(sizes, deployed, retired, strict=True)
            ]
    pods.sort(key=lambda pod: (pod[2], pod[0]))
    return pods


def _lifetimes(models: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days until failure, drawn from competing risks: infant, random and wear-out (a bathtub)."""
    n = len(models)
    afr = np.array([s.afr for s in MODELS])[models]
    infant = np.array([s.infant for s in MODELS])[models]
    wear = np.array([s.wear_years for s in MODELS])[models] * 365.25
    shape = np.array([s.wear_shape for s in MODELS])[models]
    young = np.where(rng.random(n) < infant, rng.exponential(40.0, n), np.inf)
    random = rng.exponential(365.25 / afr)
    worn = wear * rng.weibull(shape)
    return np.minimum(np.minimum(young, random), worn)


def _slot_lives(
    slot_model: np.ndarray,
    slot_begin: np.ndarray,
    slot_retire: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Each slot's chain of drives: when one fails, a new one takes its place days later."""
    header_only = np.array(sorted(d.toordinal() for d in HEADER_ONLY_DAYS))
    parts: list[dict[str, np.ndarray]] = []
    chain, begin = np.arange(len(slot_model)), slot_begin
    while len(chain):
        life = _lifetimes(slot_model[chain], rng)
        end = begin + np.minimum(life, 1e6).astype(np.int64)
        end += np.isin(end, header_only)  # a failure is never lost on a header-only day
        fails = end < slot_retire[chain]
        end = np.where(fails, end, slot_retire[chain] - 1)
        parts.append({"slot": chain, "start": begin, "end": end, "fails": fails})
        begin = end[fails] + rng.integers(1, 8, int(fails.sum()))
        chain = chain[fails]
        keep = begin < slot_retire[chain]
        chain, begin = chain[keep], begin[keep]
    lives = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    lives["drive"] = np.arange(len(lives["slot"]))
    lives["hours0"] = rng.integers(0, 200, len(lives["slot"]))
    return lives


def _with_second_lives(
    lives: dict[str, np.ndarray], slot_retire: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Lives plus a rare second one: a failed drive put back to work that fails again."""
    header_only = np.array(sorted(d.toordinal() for d in HEADER_ONLY_DAYS))
    start, end, fails = lives["start"], lives["end"], lives["fails"]
    again = np.flatnonzero(fails & (rng.random(len(fails)) < 0.02))
    again_start = end[again] + rng.integers(10, 90, len(again))
    again_end = again_start + rng.exponential(150.0, len(again)).astype(np.int64) + 1
    again_end += np.isin(again_end, header_only)
    retire = slot_retire[lives["slot"][again]]
    live = again_start < retire
    again, again_start, again_end, retire = (
        x[live] for x in (again, again_start, again_end, retire)
    )
    again_fails = again_end < retire
    # The shelf adds no power-on hours: the second life starts where the first ended.
    hours = lives["hours0"][again] + 24 * (end[again] - start[again]) + 24
    second = {
        "slot": lives["slot"][again],
        "drive": lives["drive"][again],
        "hours0": hours,
        "start": again_start,
        "end": np.where(again_fails, again_end, retire - 1),
        "fails": again_fails,
    }
    return {name: np.concatenate([lives[name], second[name]]) for name in lives}


@lru_cache(maxsize=2)
def fleet(scale: float, seed: int) -> Fleet:
    """The whole simulated fleet from 2008 to 2026 for a scale and a seed."""
    rng = np.random.default_rng([seed, round(scale * 1e9)])
    pods = _pods(scale, rng)
    pod_model = np.array([p[0] for p in pods], dtype=np.int32)
    sizes = np.array([p[1] for p in pods])
    slot_pod = np.repeat(np.arange(len(pods), dtype=np.int32), sizes)
    slot_no = np.concatenate([np.arange(s) for s in sizes]).astype(np.int32)
    slot_model = pod_model[slot_pod]
    slot_retire = np.array([p[3] for p in pods])[slot_pod]
    slot_begin = np.array([p[2] for p in pods])[slot_pod]
    lives = _slot_lives(slot_model, slot_begin, slot_retire, rng)
    lives = _with_second_lives(lives, slot_retire, rng)
    n = len(lives["slot"])
    # A few drives report power-on hours nobody could have (29 years).
    lives["hours0"] = lives["hours0"] + 254_040 * (rng.random(n) < 5e-5)
    # Most failures are announced by reallocated sectors climbing in the last weeks.
    ramped = lives["fails"] & (rng.random(n) < 0.6)
    ramp_days = rng.integers(5, 60, n)
    lives["ramp_start"] = np.where(ramped, lives["end"] - ramp_days, np.iinfo(np.int64).max // 2)
    lives["ramp_rate"] = np.exp(rng.uniform(np.log(8), np.log(2000), n)) / ramp_days

    # Rows come pod by pod, slot by slot, as drives are listed in a day's file.
    slot = lives["slot"]
    keep = lives["end"] >= FIRST_DAY.toordinal()
    order = np.lexsort((lives["start"][keep], slot_no[slot[keep]], slot_pod[slot[keep]]))
    lives = {name: values[np.flatnonzero(keep)[order]] for name, values in lives.items()}
    slot, drive = lives["slot"], lives["drive"]
    model, pod = slot_model[slot], slot_pod[slot]
    labels = [spec.model for spec in MODELS]
    label = model.astype(np.int32).copy()
    for clean, spaced in DOUBLE_SPACE_MODELS.items():
        m = labels.index(clean)
        labels.append(spaced)
        nth_pod = np.cumsum(pod_model == m) - 1  # which of this model's pods
        label[(model == m) & (nth_pod[pod] % 5 == 2)] = len(labels) - 1
    family_index = np.array([FAMILY_NAMES.index(family_of(s)) for s in MODELS], dtype=np.int8)
    datacenter, cluster, vault, number, legacy, names = _locations(pods)
    return Fleet(
        models=MODELS,
        labels=labels,
        serial=_serials(drive, model, seed),
        label=label,
        model=model,
        family=family_index[model],
        pod=pod,
        slot=slot_no[slot],
        start=lives["start"],
        end=lives["end"],
        fails=lives["fails"],
        hours0=lives["hours0"],
        key=mixed(drive.astype(np.uint64) * np.uint64(1_000_003) + np.uint64(seed)),
        ramp_start=lives["ramp_start"],
        ramp_rate=lives["ramp_rate"],
        pod_datacenter=datacenter,
        pod_cluster=cluster,
        pod_vault=vault,
        pod_number=number,
        pod_legacy=legacy,
        datacenters=names,
        seed=seed,
    )


def _serials(drive: np.ndarray, model: np.ndarray, seed: int) -> pa.StringArray:
    """A serial per record: the model's prefix and five base-36 characters, unique per drive."""
    space = 36**5
    # An affine map coprime with 36**5 is a bijection: distinct drives get distinct serials.
    code = (drive.astype(np.int64) * 2_654_435_761 + seed * 7919) % space
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
    chars = np.empty((len(code), 5), dtype=np.uint8)
    for i in range(5):
        chars[:, 4 - i] = alphabet[code % 36]
        code //= 36
    suffix = pa.array(chars.view("S5").ravel()).cast(pa.string())
    prefixes = pa.array([s.serial_prefix for s in MODELS]).take(pa.array(model))
    return pc.binary_join_element_wise(prefixes, suffix, "")


def _locations(
    pods: list[tuple[int, int, int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Where each pod stands: datacenter, cluster, vault (20 pods each), pod number, legacy flag."""
    names = ("sac0", "sac2", "phx1", "ams5", "iad1")
    deployed = np.array([p[2] for p in pods])
    year = np.array([dt.date.fromordinal(int(d)).year for d in deployed])
    datacenter = np.select(
        [year < 2017, year < 2019, year < 2022, year < 2023],
        [0, 1, 2, 3],
        default=4,
    ).astype(np.int8)
    cluster = np.zeros(len(pods), dtype=np.int32)
    vault = np.zeros(len(pods), dtype=np.int32)
    number = np.zeros(len(pods), dtype=np.int32)
    next_vault = 1000
    for dc in range(len(names)):
        members = np.flatnonzero(datacenter == dc)
        vault[members] = next_vault + np.arange(len(members)) // 20
        number[members] = np.arange(len(members)) % 20
        cluster[members] = 100 * dc + np.arange(len(members)) // 200
        next_vault += (len(members) + 19) // 20
    return datacenter, cluster, vault, number, year < LEGACY_UNTIL_YEAR, names


# --- one day's CSV text ------------------------------------------------------------


@dataclass
class Layout:
    """How the rows of one column set are built: constant text, per-record text, day values."""

    header: str
    # Each piece: ("text", str) | ("date",) | ("static", text per layout row) | ("day", name, ...)
    pieces: list[tuple[Any, ...]]
    row_of: np.ndarray  # record -> its row in the static texts (-1: not live in this span)


def _static_ints(fleet: Fleet, records: np.ndarray, spec: Spec, salt: int) -> np.ndarray:
    """One value per record for a constant or a (low, high) spec."""
    if isinstance(spec, int):
        return np.full(len(records), spec, dtype=np.int64)
    assert isinstance(spec, tuple)
    low, high = spec
    noise = mixed(fleet.key[records] ^ np.uint64(salt * 0x1000193))
    return low + (noise % np.uint64(high - low + 1)).astype(np.int64)


def _column_specs(column: str, year: int) -> dict[int, Spec] | None:
    """Per family index, the spec that fills a SMART column; None if nobody fills it."""
    match = re.match(r"^smart_(\d+)_(normalized|raw)$", column)
    if not match:
        return None
    attribute, kind = int(match.group(1)), match.group(2)
    if year == 2013 and (kind == "normalized" or attribute not in SMART_2013):
        return None
    specs: dict[int, Spec] = {}
    for index, name in enumerate(FAMILY_NAMES):
        pair = FAMILIES[name].get(attribute)
        if pair is not None and pair[kind == "raw"] is not None:
            specs[index] = pair[kind == "raw"]
    return specs or None


def layout_span(day: dt.date) -> tuple[dt.date, dt.date]:
    """The days that share a day's layout: its column-set period within its year."""
    period = bbformat.period_of(day)
    later = [p.start for p in bbformat.periods() if p.start > period.start]
    last = min([dt.date(day.year, 12, 31)] + [d - dt.timedelta(days=1) for d in later])
    return max(period.start, dt.date(day.year, 1, 1)), last


def layout(fleet: Fleet, day: dt.date) -> Layout:
    """The row recipe for a day, shared by its span (the last two spans stay cached)."""
    first, last = layout_span(day)
    with fleet.lock:
        if first not in fleet.layouts:
            live = (fleet.start <= last.toordinal()) & (fleet.end >= first.toordinal())
            records = np.flatnonzero(live)
            row_of = np.full(len(fleet), -1, dtype=np.int64)
            row_of[records] = np.arange(len(records))
            columns = bbformat.columns_for_day(day)
            cells = [_cell(fleet, records, name, i, day.year) for i, name in enumerate(columns)]
            header = ",".join(header_spelling(name, day) for name in columns)
            fleet.layouts[first] = Layout(header, _pieces(cells), row_of)
            while len(fleet.layouts) > 2:
                del fleet.layouts[next(iter(fleet.layouts))]
        return fleet.layouts[first]


def header_spelling(column: str, day: dt.date) -> str:
    """A column's name as the day's file writes it: misspelt where Backblaze's copies were."""
    first, last, attributes = MISSPELT_HEADERS
    if first <= day <= last and column.rsplit("_", 1)[0] in attributes:
        return column.replace("_normalized", "_normailized")
    return column


def _pieces(cells: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Cells folded into as few pieces as possible: runs of fixed cells become one text each."""
    pieces: list[tuple[Any, ...]] = []
    run: list[tuple[Any, ...]] = []
    for cell in [*cells, ("end",)]:
        if cell[0] in ("text", "static"):
            run.append(cell)
            continue
        if run:
            if all(c[0] == "text" for c in run):
                pieces.append(("text", ",".join(c[1] for c in run)))
            else:
                parts = [c[1] if c[0] == "static" else pa.scalar(c[1]) for c in run]
                joined = pc.binary_join_element_wise(
                    *parts, ",", null_handling="replace", null_replacement=""
                )
                pieces.append(("static", joined))
            run.clear()
        if cell[0] != "end":
            pieces.append(cell)
    out: list[tuple[Any, ...]] = []
    for piece in pieces:
        if out:
            out.append(("text", ","))
        if piece[0] == "text" and out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + piece[1])
        else:
            out.append(piece)
    return out


def _texts(values: np.ndarray) -> pa.Array:
    """Integers as their decimal text."""
    return pc.cast(pa.array(values), pa.string())


def _cell(
    fleet: Fleet, records: np.ndarray, column: str, position: int, year: int
) -> tuple[Any, ...]:
    """How one column is filled: constant text, per-record text, or a per-day value."""
    pods = fleet.pod[records]
    if column == "date":
        return ("date",)
    if column == "serial_number":
        return ("static", fleet.serial.take(pa.array(records)))
    if column == "model":
        return ("static", pa.array(fleet.labels).take(pa.array(fleet.label[records])))
    if column in ("capacity_bytes", "failure", "datacenter"):
        return ("day", column)
    if column == "cluster_id":
        return ("static", _texts(fleet.pod_cluster[pods]))
    if column == "vault_id":
        return ("static", _texts(fleet.pod_vault[pods]))
    if column == "pod_id":
        return ("static", _texts(fleet.pod_number[pods]))
    if column == "pod_slot_num":
        text = _texts(fleet.slot[records])
        # Legacy vaults write their slot numbers zero-padded.
        padded = pc.utf8_lpad(text, 2, "0")
        return ("static", pc.if_else(pa.array(fleet.pod_legacy[pods]), padded, text))
    if column == "is_legacy_format":
        spelling = pa.array(["False", "True"] if year < 2024 else ["false", "true"])
        return ("static", spelling.take(pa.array(fleet.pod_legacy[pods].astype(np.int8))))
    specs = _column_specs(column, year)
    if specs is None:
        return ("text", "")
    if any(isinstance(spec, str) for spec in specs.values()):
        return ("day", "smart", specs, position)
    values = np.zeros(len(records), dtype=np.int64)
    filled = np.zeros(len(records), dtype=bool)
    family = fleet.family[records]
    for index, spec in specs.items():
        members = family == index
        values[members] = _static_ints(fleet, records[members], spec, position)
        filled |= members
    return ("static", pc.cast(pa.array(values, mask=~filled), pa.string()))


@dataclass(frozen=True)
class DayRows:
    """The records that report on a day, in file order, and which of them fail that day."""

    day: dt.date
    records: np.ndarray
    failed: np.ndarray


def day_rows(fleet: Fleet, day: dt.date) -> DayRows:
    """Who reports on a day: live records, less the drives and pods that skip it."""
    if day in HEADER_ONLY_DAYS:
        empty = np.zeros(0, dtype=np.int64)
        return DayRows(day, empty, np.zeros(0, dtype=bool))
    d = day.toordinal()
    live = np.flatnonzero((fleet.start <= d) & (fleet.end >= d))
    failed = fleet.fails[live] & (fleet.end[live] == d)
    noise = mixed(fleet.key[live] ^ np.uint64(d * 0x100000001B3))
    pod_noise = mixed(fleet.pod[live].astype(np.uint64) * np.uint64(7_368_787) + np.uint64(d))
    skips = (noise % np.uint64(2000) == 0) & (fleet.start[live] != d)
    pod_skips = pod_noise % np.uint64(3000) == 0
    present = failed | ~(skips | pod_skips)
    return DayRows(day, live[present], failed[present])


def line_ending(day: dt.date) -> str:
    """The line ending Backblaze used on a day."""
    if day in BARE_CR_DAYS:
        return "\r"
    if day.year == 2018 and day.month <= 3:
        return "\r\n"
    return "\n"


def date_text(day: dt.date) -> str:
    """The date as written in the rows of a day."""
    if day in SHORT_DATE_DAYS:
        return f"{day.month}/{day.day}/{day.year % 100:02d}"
    return day.isoformat()


ODD_CAPACITIES = (-1, -9116022715867848704, 600332565813390450)


class _DayValues:
    """Per-day values for the reporting records, each computed once when first asked for."""

    def __init__(self, fleet: Fleet, rows: DayRows) -> None:
        self.fleet, self.rows = fleet, rows
        self.idx = rows.records
        self.d = rows.day.toordinal()
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, name: str) -> np.ndarray:
        if name not in self.cache:
            self.cache[name] = getattr(self, "_" + name)()
        return self.cache[name]

    def _noise(self) -> np.ndarray:
        return mixed(self.fleet.key[self.idx] ^ np.uint64(self.d * 0x100000001B3 + 17))

    def _age(self) -> np.ndarray:
        return self.d - self.fleet.start[self.idx]

    def _hours(self) -> np.ndarray:
        return self.fleet.hours0[self.idx] + 24 * self("age")

    def _hours_norm(self) -> np.ndarray:
        return np.clip(100 - self("hours") // 4380, 1, 100)

    def _head_hours(self) -> np.ndarray:
        return np.maximum(self("hours") - 37, 0)

    def _temp(self) -> np.ndarray:
        base = 22 + (self.fleet.key[self.idx] % np.uint64(14)).astype(np.int64)
        wobble = (self("noise") % np.uint64(3)).astype(np.int64) - 1
        return base + wobble

    def _airflow(self) -> np.ndarray:
        return 100 - self("temp")

    def _temp_inverse(self) -> np.ndarray:
        return 250 - 4 * self("temp")

    def _realloc(self) -> np.ndarray:
        fleet, idx = self.fleet, self.idx
        base = np.where(
            fleet.key[idx] % np.uint64(20) == 0, (fleet.key[idx] >> np.uint64(8)) % np.uint64(48), 0
        )
        climb = np.maximum(self.d - fleet.ramp_start[idx], 0) * fleet.ramp_rate[idx]
        return base.astype(np.int64) + climb.astype(np.int64)

    def _pending(self) -> np.ndarray:
        climb = (
            np.maximum(self.d - self.fleet.ramp_start[self.idx], 0) * self.fleet.ramp_rate[self.idx]
        )
        return (climb // 4).astype(np.int64)

    def _read_errors(self) -> np.ndarray:
        return ((self("noise") >> np.uint64(8)) % np.uint64(240_000_000)).astype(np.int64)

    def _seek_errors(self) -> np.ndarray:
        jitter = ((self("noise") >> np.uint64(36)) % np.uint64(100_000)).astype(np.int64)
        return self("hours") * 3_100 + jitter

    def _load_cycles(self) -> np.ndarray:
        rate = (self.fleet.key[self.idx] >> np.uint64(20)) % np.uint64(40)
        return self("age") * rate.astype(np.int64) + 3

    def _lbas_written(self) -> np.ndarray:
        rate = (self.fleet.key[self.idx] >> np.uint64(28)) % np.uint64(90_000_000) + np.uint64(
            10_000_000
        )
        return self("age") * rate.astype(np.int64)

    def _lbas_read(self) -> np.ndarray:
        return self("lbas_written") // 3 + self("age") * 1_000_000

    def smart(self, specs: dict[int, Spec], position: int) -> pa.Array:
        """One SMART column's text for the day's rows; empty where the family lacks it."""
        family = self.fleet.family[self.idx]
        values = np.zeros(len(self.idx), dtype=np.int64)
        filled = np.zeros(len(self.idx), dtype=bool)
        for index, spec in specs.items():
            members = family == index
            if not members.any():
                continue
            if isinstance(spec, str):
                values[members] = self(spec)[members]
            else:
                values[members] = _static_ints(self.fleet, self.idx[members], spec, position)
            filled |= members
        return pc.cast(pa.array(values, mask=~filled), pa.string())

    def capacity_bytes(self) -> pa.Array:
        """The capacity column, with nonsense on a single row on some days."""
        capacity = np.array([s.capacity_bytes for s in self.fleet.models], dtype=np.int64)
        values = capacity[self.fleet.model[self.idx]]
        which = int(mixed(np.array([self.d * 31 + self.fleet.seed]))[0] % np.uint64(40))
        if which < len(ODD_CAPACITIES) and len(values):
            values = values.copy()
            values[self.d % len(values)] = ODD_CAPACITIES[which]
        return pc.cast(pa.array(values), pa.string())

    def failure(self) -> pa.Array:
        return pa.array(["0", "1"]).take(pa.array(self.rows.failed.astype(np.int8)))

    def datacenter(self) -> pa.Array:
        """The datacenter column; on some days one whole vault reports it blank."""
        fleet = self.fleet
        pods = fleet.pod[self.idx]
        names = pa.array(list(fleet.datacenters) + [""])
        codes = fleet.pod_datacenter[pods].astype(np.int32)
        if self.d % 13 == 0 and len(pods):
            vaults = np.unique(fleet.pod_vault[pods])
            blank = vaults[(self.d // 13) % len(vaults)]
            codes = np.where(fleet.pod_vault[pods] == blank, len(fleet.datacenters), codes)
        return names.take(pa.array(codes))


def day_csv(fleet: Fleet, rows: DayRows) -> bytes:
    """The exact bytes of a day's CSV file: header, unquoted rows, the day's line ending."""
    day = rows.day
    eol = line_ending(day)
    recipe = layout(fleet, day)
    header = (recipe.header + eol).encode()
    if len(rows.records) == 0:
        return header
    values = _DayValues(fleet, rows)
    date = pa.scalar(date_text(day))
    args: list[Any] = []
    for piece in recipe.pieces:
        kind = piece[0]
        if kind == "text":
            args.append(pa.scalar(piece[1]))
        elif kind == "date":
            args.append(date)
        elif kind == "static":
            args.append(piece[1].take(pa.array(recipe.row_of[rows.records])))
        elif piece[1] == "smart":
            args.append(values.smart(piece[2], piece[3]))
        else:
            args.append(getattr(values, piece[1])())
    args.append(pa.scalar(eol))
    lines = pc.binary_join_element_wise(*args, "", null_handling="replace", null_replacement="")
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4
    )
    body = memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]]
    return header + bytes(body)


# --- packaging: zips and the truth file --------------------------------------------


def quarter_of(day: dt.date) -> str:
    """The quarter label of a day, as in truth.csv: '2013Q2'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def zip_name(day: dt.date) -> str:
    """The zip Backblaze puts a day in: one per year to 2015, then one per quarter."""
    if day.year <= 2015:
        return f"data_{day.year}.zip"
    return f"data_Q{(day.month - 1) // 3 + 1}_{day.year}.zip"


def folder_name(day: dt.date) -> str:
    """The folder inside a day's zip, named differently over the years as Backblaze did."""
    if day.year == 2014:
        return "2014"
    return zip_name(day).removesuffix(".zip")


def member_order(days: Sequence[dt.date]) -> list[dt.date]:
    """The order of members in a zip: a directory listing's order, not the dates' order."""
    return sorted(days, key=lambda day: (zlib.crc32(day.isoformat().encode()), day))


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from start to end, both included."""
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass
class _Tally:
    """The truth, counted from the simulation as days are made: per quarter and model."""

    models: int
    drive_days: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[str, np.ndarray] = field(default_factory=dict)
    last: dict[str, tuple[dt.date, np.ndarray]] = field(default_factory=dict)

    def add(self, model: np.ndarray, rows: DayRows) -> None:
        if not len(rows.records):
            return
        quarter = quarter_of(rows.day)
        per_model = np.bincount(model, minlength=self.models)
        failed = np.bincount(model, weights=rows.failed, minlength=self.models).astype(np.int64)
        self.drive_days[quarter] = self.drive_days.get(quarter, 0) + per_model
        self.failures[quarter] = self.failures.get(quarter, 0) + failed
        if quarter not in self.last or self.last[quarter][0] < rows.day:
            self.last[quarter] = (rows.day, per_model)

    def rows(self, specs: Sequence[ModelSpec]) -> list[dict[str, Any]]:
        out = []
        for quarter in sorted(self.drive_days):
            for m, spec in enumerate(specs):
                if self.drive_days[quarter][m]:
                    model = bbformat.clean_model(spec.model)
                    out.append(
                        {
                            "quarter": quarter,
                            "model": model,
                            "vendor": bbformat.vendor_of(model),
                            "capacity_bytes": spec.capacity_bytes,
                            "drives": int(self.last[quarter][1][m]),
                            "drive_days": int(self.drive_days[quarter][m]),
                            "failures": int(self.failures[quarter][m]),
                        }
                    )
        return sorted(out, key=lambda row: (row["quarter"], row["model"]))


@dataclass(frozen=True)
class SynthSummary:
    """What a synthesis wrote."""

    zips: list[Path]
    truth: Path
    days: int
    rows: int


# macOS leaves these beside every file it zips; their names end in .csv too.
APPLE_DOUBLE = (
    b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4) + b"\x00\x02" + bytes(60)
)
DS_STORE = b"\x00\x00\x00\x01Bud1" + bytes(2040)
_FILE_MODE = 0o100644 << 16
_DIR_MODE = (0o40755 << 16) | 0x10


def _entry(name: str, stamp: dt.date) -> zipfile.ZipInfo:
    """A zip entry with fixed metadata, so that the same input gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
    info.create_system = 3
    info.external_attr = _DIR_MODE if name.endswith("/") else _FILE_MODE
    if not name.endswith("/"):
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _day_output(fleet: Fleet, day: dt.date) -> tuple[DayRows, bytes]:
    rows = day_rows(fleet, day)
    return rows, day_csv(fleet, rows)


def _outputs(fleet: Fleet, days: Sequence[dt.date]) -> Iterator[tuple[DayRows, bytes]]:
    """Each day's rows and bytes in order, made a few days ahead on a worker thread."""
    ahead: deque[Future[tuple[DayRows, bytes]]] = deque()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for day in days:
            ahead.append(pool.submit(_day_output, fleet, day))
            if len(ahead) > 4:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _zip_days(
    target: Path, days: Sequence[dt.date], simulated: Fleet, compresslevel: int
) -> Iterator[DayRows]:
    """Write one zip the way Backblaze packs it, yielding each day's rows once it is stored."""
    folder, clutter, last = folder_name(days[0]), days[0].year <= CLUTTER_UNTIL_YEAR, days[-1]
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_entry(f"{folder}/", last), b"")
            if clutter:
                archive.writestr(_entry(f"{folder}/.DS_Store", last), DS_STORE)
                archive.writestr(_entry("__MACOSX/", last), b"")
                archive.writestr(_entry(f"__MACOSX/{folder}/", last), b"")
                archive.writestr(_entry(f"__MACOSX/{folder}/._.DS_Store", last), APPLE_DOUBLE)
            for rows, text in _outputs(simulated, member_order(days)):
                name, stamp = f"{rows.day.isoformat()}.csv", rows.day + dt.timedelta(days=1)
                archive.writestr(
                    _entry(f"{folder}/{name}", stamp), text, compresslevel=compresslevel
                )
                if clutter:
                    archive.writestr(_entry(f"__MACOSX/{folder}/._{name}", stamp), APPLE_DOUBLE)
                yield rows
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_fleet(
    outdir: Path,
    params: SynthParams = SynthParams(),
    on_progress: ProgressCallback | None = None,
    compresslevel: int = 1,
) -> SynthSummary:
    """Write the synthetic fleet's zips and truth.csv into a folder; the same params, the same bytes."""
    simulated = fleet(params.scale, params.seed)
    outdir.mkdir(parents=True, exist_ok=True)
    by_zip: dict[str, list[dt.date]] = {}
    for day in days_between(params.start, params.end):
        by_zip.setdefault(zip_name(day), []).append(day)
    total = sum(len(days) for days in by_zip.values())
    tally = _Tally(len(simulated.models))
    written: list[Path] = []
    done = rows = 0
    try:
        for name, days in by_zip.items():
            for day_rows_ in _zip_days(outdir / name, days, simulated, compresslevel):
                tally.add(simulated.model[day_rows_.records], day_rows_)
                rows += len(day_rows_.records)
                done += 1
                if on_progress is not None:
                    on_progress(done, total)
            written.append(outdir / name)
    finally:
        simulated.layouts.clear()  # they hold text for every live drive; free it between runs
    truth = outdir / TRUTH_FILE
    partial = outdir / f".{TRUTH_FILE}.partial"
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(tally.rows(simulated.models))
    os.replace(partial, truth)
    return SynthSummary(zips=written, truth=truth, days=total, rows=rows)
