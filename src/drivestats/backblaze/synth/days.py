"""One day's CSV text: the column set of its era, its rows, and the quirks of its date."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drivestats.backblaze import format as bbformat
from drivestats.backblaze.synth.dates import (
    BARE_CR_DAYS,
    HEADER_ONLY_DAYS,
    MISSPELT_HEADERS,
    SHORT_DATE_DAYS,
)
from drivestats.backblaze.synth.simulation import Fleet, mixed
from drivestats.backblaze.synth.smart import FAMILIES, FAMILY_NAMES, SMART_2013, Spec

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
