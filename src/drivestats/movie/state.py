"""Cell states day by day: the colour of every drive's cell on every frame, as numpy arrays.

A cell's colour on a frame is a closed-form function of three days of its drive
(first report, last report, failure) and two days of the frame (the day whose
state it shows, and the day that drives animations, which runs on through the
tail). So a worker starting mid-movie needs no history: it evaluates the state
of every cell at its first frame and from then on repaints only the cells that
change, found by binary search in the drives sorted by each of their days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drivestats.fleet import model_facts
from drivestats.movie.days import (  # noqa: F401 - also read from here
    EPOCH,
    RING_FRAMES,
    TAIL_FRAMES,
    Timeline,
    day_number,
    day_text,
)
from drivestats.movie.layout import ModelEntry

FADE_DAYS = 13  # a new drive fades from white to the active grey over this many days
NEW_GREY = 255
ACTIVE_GREY = 147
BACKGROUND = (64, 64, 64)
FAILED = (220, 30, 30)
REMOVED = (0, 0, 0)
NEVER = np.iinfo(np.int32).max  # the failure day of a drive that never failed


@dataclass(frozen=True)
class DriveDays:
    """The three days that decide a drive's cell: first report, last report, failure (or NEVER)."""

    first: np.ndarray
    last: np.ndarray
    failed: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def cell_colors(
    drives: DriveDays, index: np.ndarray, status_day: int, frame_day: int
) -> np.ndarray:
    """RGB (k, 3) of the given drives on a frame; background for drives not yet seen."""
    first = drives.first[index]
    age = frame_day - first.astype(np.int64)
    # New drives start white and reach the active grey after FADE_DAYS, in integer steps.
    fresh = np.clip(FADE_DAYS - age, 0, FADE_DAYS)
    grey = (ACTIVE_GREY + (NEW_GREY - ACTIVE_GREY) * fresh // FADE_DAYS).astype(np.uint8)
    colors = np.repeat(grey[:, None], 3, axis=1)
    # Removed the day after the last report; the last report is the last within `until`.
    colors[drives.last[index] < status_day] = REMOVED
    colors[drives.failed[index] <= status_day] = FAILED
    colors[first > status_day] = BACKGROUND
    return colors


class Changes:
    """Which cells change colour from one frame to the next, and which rings run."""

    def __init__(self, drives: DriveDays):
        self.drives = drives
        self._first = _sorted_by(drives.first)
        self._gone = _sorted_by(drives.last.astype(np.int64) + 1)
        self._failed = _sorted_by(drives.failed)

    def seen(self, status_day: int) -> np.ndarray:
        """Drives that have appeared by a day."""
        order, days = self._first
        return order[: np.searchsorted(days, status_day, side="right")]

    def changed(self, previous: tuple[int, int], current: tuple[int, int]) -> np.ndarray:
        """Drives whose colour differs between two consecutive frames, in index order."""
        (old_status, _), (status, frame_day) = previous, current
        parts = [
            _between(self._first, old_status, status),
            _between(self._gone, old_status, status),
            _between(self._failed, old_status, status),
            # Fading cells: ages 0..FADE_DAYS change every frame, older ones never again.
            _between(self._first, frame_day - FADE_DAYS - 1, min(frame_day, status)),
        ]
        return np.unique(np.concatenate(parts))

    def rings(self, status_day: int, frame_day: int) -> tuple[np.ndarray, np.ndarray]:
        """Drives whose failure ring is running on a frame, and the ring's age in frames."""
        index = _between(self._failed, frame_day - RING_FRAMES, min(frame_day, status_day))
        return index, frame_day - self.drives.failed[index].astype(np.int64)


def _sorted_by(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(days, kind="stable")
    return order, days[order]


def _between(sorted_days: tuple[np.ndarray, np.ndarray], after: int, upto: int) -> np.ndarray:
    """Indices whose day d satisfies after < d <= upto."""
    order, days = sorted_days
    lo = np.searchsorted(days, after, side="right")
    hi = np.searchsorted(days, upto, side="right")
    return order[lo:hi]


@dataclass(frozen=True)
class MovieFleet:
    """The drives shown in a movie, in cell order (model, first day, serial), with their models."""

    days: DriveDays
    model: np.ndarray  # index into `models` per drive
    rank: np.ndarray  # the drive's place among its model's drives
    models: tuple[ModelEntry, ...]
    serial: np.ndarray  # serial numbers, kept to order drives when models are gathered


def movie_fleet(drives: pa.Table, models: pa.Table, start: int, end: int) -> MovieFleet:
    """The drives that report within [start, end], ordered for the cells, with their model facts."""
    first = pc.cast(drives["first_day"], pa.int32())
    last = pc.cast(drives["last_day"], pa.int32())
    shown = pc.and_(pc.less_equal(first, end), pc.greater_equal(last, start))
    table = pa.table(
        {
            "model": drives["model"],
            "serial": drives["serial_number"],
            "first": first,
            "last": last,
            "failed": pc.fill_null(pc.cast(drives["failure_day"], pa.int32()), NEVER),
        }
    ).filter(shown)
    table = table.sort_by([("model", "ascending"), ("first", "ascending"), ("serial", "ascending")])
    names, model_index = np.unique(
        table["model"].to_numpy(zero_copy_only=False).astype(str), return_inverse=True
    )
    first_days = table["first"].to_numpy()
    counts = np.bincount(model_index, minlength=len(names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # Sorted by model first, so a drive's rank is its position minus its model's first row.
    rank = np.arange(len(table)) - starts[model_index]
    facts = model_facts(models)
    latest = np.full(len(names), np.iinfo(np.int32).min, dtype=np.int64)
    np.maximum.at(latest, model_index, table["last"].to_numpy().astype(np.int64))
    entries = tuple(
        ModelEntry(
            model=str(name),
            drives=int(counts[i]),
            first_day=int(first_days[starts[i]]),
            vendor=facts.get(str(name), ("", None))[0],
            capacity_bytes=facts.get(str(name), ("", None))[1] or 0,
            growing=bool(latest[i] >= end),
        )
        for i, name in enumerate(names)
    )
    days = DriveDays(
        first_days.astype(np.int32), table["last"].to_numpy(), table["failed"].to_numpy()
    )
    serial = table["serial"].to_numpy(zero_copy_only=False).astype(str)
    return MovieFleet(days, model_index.astype(np.int32), rank, entries, serial)


def storage_by_day(daily: pa.Table, start: int, end: int) -> np.ndarray:
    """Fleet storage in bytes for each day start..end; a day without data keeps the day before."""
    days = pc.cast(daily["date"], pa.int32()).to_numpy()
    storage = pc.fill_null(daily["storage_bytes"], 0).to_numpy().astype(np.int64)
    drives = pc.fill_null(daily["drives"], 0).to_numpy()
    # Header-only days (no drives) count as days without data.
    keep = drives > 0
    days, storage = days[keep], storage[keep]
    order = np.argsort(days, kind="stable")
    days, storage = days[order], storage[order]
    wanted = np.arange(start, end + 1)
    if len(days) == 0:
        return np.zeros(len(wanted), dtype=np.int64)
    before = np.searchsorted(days, wanted, side="right") - 1
    return np.where(before >= 0, storage[np.clip(before, 0, None)], 0).astype(np.int64)


def reporting_and_failures_by_day(daily: pa.Table, start: int, end: int) -> np.ndarray:
    """(drives reporting, failures since start) for each day start..end, as int64 rows.

    A day without data shows the day before: its drives, no new failures. A drive that a day
    reports twice is one drive on screen, so rows that repeat a drive are not counted.
    """
    days = pc.cast(daily["date"], pa.int32()).to_numpy()
    drives = pc.fill_null(daily["drives"], 0).to_numpy().astype(np.int64)
    failures = pc.fill_null(daily["failures"], 0).to_numpy().astype(np.int64)
    if "repeats" in daily.column_names:
        drives -= pc.fill_null(daily["repeats"], 0).to_numpy().astype(np.int64)
        failures -= pc.fill_null(daily["repeated_failures"], 0).to_numpy().astype(np.int64)
    keep = (drives > 0) & (days >= start) & (days <= end)
    days, drives, failures = days[keep], drives[keep], failures[keep]
    order = np.argsort(days, kind="stable")
    days, drives, failures = days[order], drives[order], failures[order]
    wanted = np.arange(start, end + 1)
    figures = np.zeros((len(wanted), 2), dtype=np.int64)
    if len(days) == 0:
        return figures
    before = np.searchsorted(days, wanted, side="right") - 1
    known = before >= 0
    figures[:, 0] = np.where(known, drives[np.clip(before, 0, None)], 0)
    figures[:, 1] = np.where(known, np.cumsum(failures)[np.clip(before, 0, None)], 0)
    return figures
