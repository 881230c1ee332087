"""Packaging: days written into Backblaze's zips, and the truth file of counts."""

from __future__ import annotations

import csv
import datetime as dt
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drivestats.backblaze import format as bbformat
from drivestats.backblaze.synth.dates import (
    CLUTTER_UNTIL_YEAR,
    TRUTH_COLUMNS,
    TRUTH_FILE,
    ProgressCallback,
)
from drivestats.backblaze.synth.days import DayRows, day_csv, day_rows
from drivestats.backblaze.synth.models import ModelSpec
from drivestats.backblaze.synth.simulation import Fleet, SynthParams, fleet

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
    params: SynthParams | None = None,
    on_progress: ProgressCallback | None = None,
    compresslevel: int = 1,
) -> SynthSummary:
    """Write the synthetic fleet's zips and truth.csv into a folder; the same params, the same bytes."""
    params = params or SynthParams()
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
