"""SMART attributes per drive family: constants, per-drive values and values that change day by day."""

from __future__ import annotations

from drivestats.backblaze import format as bbformat
from drivestats.backblaze.synth.models import ModelSpec

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
