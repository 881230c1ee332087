"""The catalog: real models, capacities, the waves they were bought in, pod sizes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
