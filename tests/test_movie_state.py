"""Cell colours of chosen drives on chosen days, with small hand-built fleets.

Expected colours come from the design (new = white 255 fading to grey 147 over
13 days, failed = red, removed = black, background = 64 grey), and expected
cell places from hand counts: a model's drives take cells in the order of their
first day then serial, left to right along the bottom row of the block.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from drivestats import jobs
from drivestats.movie.draw import Painter
from drivestats.movie.render import scene
from drivestats.movie.spec import MovieSpec
from drivestats.movie.state import TAIL_FRAMES, Timeline, day_number

DAY0 = dt.date(2015, 1, 1)
TB4 = 4_000_787_030_016


def day(offset: int) -> dt.date:
    return DAY0 + dt.timedelta(days=offset)


def hand_fleet(
    folder: Path,
    drives: list[tuple[str, str, int, int, int | None]],
    capacity: int = TB4,
    data_days: list[int] | None = None,
) -> jobs.JobResult:
    """A fleet-tables job folder from (serial, model, first, last, failure) day offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "serial_number": [d[0] for d in drives],
            "model": [d[1] for d in drives],
            "first_day": pa.array([day(d[2]) for d in drives], pa.date32()),
            "last_day": pa.array([day(d[3]) for d in drives], pa.date32()),
            "failure_day": pa.array(
                [None if d[4] is None else day(d[4]) for d in drives], pa.date32()
            ),
        }
    )
    pq.write_table(table, folder / "drives.parquet")
    models = sorted({d[1] for d in drives})
    pq.write_table(
        pa.table(
            {
                "model": models,
                "vendor": ["Seagate"] * len(models),
                "capacity_bytes": [capacity] * len(models),
            }
        ),
        folder / "models.parquet",
    )
    last = max(d[3] for d in drives)
    offsets = data_days if data_days is not None else list(range(last + 1))
    counts = [sum(1 for d in drives if d[2] <= o <= d[3]) for o in offsets]
    pq.write_table(
        pa.table(
            {
                "date": pa.array([day(o) for o in offsets], pa.date32()),
                "drives": counts,
                "failures": [sum(1 for d in drives if d[4] == o) for o in offsets],
                "storage_bytes": [n * capacity for n in counts],
            }
        ),
        folder / "daily.parquet",
    )
    manifest = {"parameters": {"until": day(last).isoformat()}}
    return jobs.JobResult("fleet-tables-hand", "fleet-tables", folder, False, manifest)


def painter_for(
    fleet_job: jobs.JobResult, start: int = 0, end: int | None = None, size=(640, 360), cell="1"
) -> Painter:
    until = fleet_job.manifest["parameters"]["until"]
    spec = MovieSpec(
        start=day(start).isoformat(),
        end=day(end).isoformat() if end is not None else until,
        until=until,
        width=size[0],
        height=size[1],
        cell=cell,  # 1 px at 360p as 2 px at 1080p would scale: a ring is far bigger than a cell
    )
    return Painter(scene(fleet_job, spec))


def cell_rgb(painter: Painter, frame: np.ndarray, serial: str) -> tuple[int, int, int]:
    """The colour of a drive's cell (its top-left pixel) in a frame."""
    index = int(np.flatnonzero(painter.scene.fleet.serial == serial)[0])
    y, x = divmod(int(painter.pixels[index]), painter.width)
    return tuple(int(v) for v in frame[y, x])


def still(painter: Painter, offset: int) -> np.ndarray:
    """The frame for day DAY0 + offset (offsets past the end land in the tail)."""
    return painter.still(day_number(day(offset)) - painter.scene.timeline.start)


GREY, WHITE, BLACK, BACKGROUND = (147,) * 3, (255,) * 3, (0, 0, 0), (64, 64, 64)


def test_new_drive_is_white_then_fades_to_grey_over_13_days(tmp_path: Path) -> None:
    fleet = hand_fleet(
        tmp_path, [("A", "ST4000DM000", 0, 40, None), ("B", "ST4000DM000", 5, 40, None)]
    )
    painter = painter_for(fleet)
    assert cell_rgb(painter, still(painter, 4), "B") == BACKGROUND  # not there yet
    levels = [cell_rgb(painter, still(painter, 5 + age), "B")[0] for age in range(16)]
    assert levels[0] == 255
    assert all(a >= b for a, b in zip(levels, levels[1:], strict=False))
    assert levels[12] > 147  # still fading on day 12
    assert levels[13:] == [147, 147, 147]  # grey from day 13 on
    assert cell_rgb(painter, still(painter, 30), "A") == GREY


def test_cells_are_placed_by_first_day_then_serial(tmp_path: Path) -> None:
    fleet = hand_fleet(
        tmp_path,
        [
            ("Z1", "ST4000DM000", 0, 9, None),
            ("B2", "ST4000DM000", 1, 9, None),
            ("A3", "ST4000DM000", 1, 9, None),
        ],
    )
    painter = painter_for(fleet)
    block = painter.scene.layout.blocks[0]
    cell = painter.cell
    # Z1 came first (cell 0), then A3 before B2 by serial: cells 1 and 2 of the bottom row.
    expected = {"Z1": 0, "A3": 1, "B2": 2}
    for serial, place in expected.items():
        index = int(np.flatnonzero(painter.scene.fleet.serial == serial)[0])
        y, x = divmod(int(painter.pixels[index]), painter.width)
        assert (x, y) == (block.x + place * cell, block.bottom - cell)


def test_failed_drive_rings_then_stays_red(tmp_path: Path) -> None:
    fleet = hand_fleet(
        tmp_path, [("F", "ST4000DM000", 0, 20, 20), ("G", "ST4000DM000", 0, 80, None)]
    )
    painter = painter_for(fleet, end=80)
    red = cell_rgb(painter, still(painter, 20), "F")
    assert red[0] > 180 and red[1] < 60 and red[2] < 60
    for offset in (21, 60, 80, 80 + TAIL_FRAMES):
        assert cell_rgb(painter, still(painter, offset), "F") == red
    assert cell_rgb(painter, still(painter, 19), "F") == GREY

    index = int(np.flatnonzero(painter.scene.fleet.serial == "F")[0])
    y, x = divmod(int(painter.pixels[index]), painter.width)
    cell = painter.cell
    clean = still(painter, 19).astype(int)

    def changed_at(frame: np.ndarray, radius: int) -> bool:
        """Is the pixel `radius` px left of the cell redder than without a ring?"""
        px = x - radius
        return frame[y, px, 0] - frame[y, px, 1] > clean[y, px, 0] - clean[y, px, 1] + 10

    # The ring grows: near the cell at first, far from it later, gone after ~50 frames.
    assert changed_at(still(painter, 20).astype(int), cell)
    assert not changed_at(still(painter, 20).astype(int), 8 * cell)
    assert changed_at(still(painter, 20 + 30).astype(int), round(cell + (9 * cell) * 30 / 49))
    # After 50 frames the ring is gone: around the red cell every pixel is grey again.
    late = still(painter, 20 + 55).astype(int)
    late[y : y + cell, x : x + cell] = 0
    around = late[max(0, y - 12 * cell) : y + 13 * cell, max(0, x - 12 * cell) : x + 13 * cell]
    assert (around[..., 0] == around[..., 1]).all() and (around[..., 1] == around[..., 2]).all()


def test_removed_drive_turns_black_the_day_after_its_last_report(tmp_path: Path) -> None:
    fleet = hand_fleet(
        tmp_path, [("R", "ST4000DM000", 0, 20, None), ("K", "ST4000DM000", 0, 40, None)]
    )
    painter = painter_for(fleet)
    assert cell_rgb(painter, still(painter, 20), "R") == GREY
    assert cell_rgb(painter, still(painter, 21), "R") == BLACK
    assert cell_rgb(painter, still(painter, 40), "R") == BLACK


def test_removal_is_decided_by_the_last_report_up_to_until(tmp_path: Path) -> None:
    # R's last report is day 20; a movie ending on day 20 has not seen it leave.
    fleet = hand_fleet(tmp_path, [("R", "ST4000DM000", 0, 20, None)])
    painter = painter_for(fleet, end=20)
    assert cell_rgb(painter, still(painter, 20), "R") == GREY
    assert cell_rgb(painter, still(painter, 20 + TAIL_FRAMES), "R") == GREY


def test_a_day_without_data_still_has_a_frame_and_keeps_the_state(tmp_path: Path) -> None:
    drives = [("A", "ST4000DM000", 0, 30, None), ("B", "ST4000DM000", 0, 30, None)]
    fleet = hand_fleet(tmp_path, drives, data_days=[d for d in range(31) if d != 15])
    painter = painter_for(fleet)
    assert painter.scene.timeline.frames == 31 + TAIL_FRAMES
    before, gap = still(painter, 14), still(painter, 15)
    assert cell_rgb(painter, gap, "A") == cell_rgb(painter, before, "A") == GREY
    # The storage line keeps the day before's value on a day without data.
    assert painter.scene.storage[15] == painter.scene.storage[14] == 2 * TB4


def test_frames_drawn_incrementally_equal_frames_drawn_from_scratch(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    drives = []
    for number in range(400):
        first = int(rng.integers(0, 60))
        last = int(min(90, first + rng.integers(0, 90)))
        failed = last if rng.random() < 0.1 else None
        drives.append((f"S{number:04d}", f"MODEL{number % 3}", first, last, failed))
    fleet = hand_fleet(tmp_path, drives)
    painter = painter_for(fleet, end=80)
    total = painter.scene.timeline.frames
    whole = [frame.copy() for frame in painter.frames(0, total)]
    # Segments starting anywhere replay the state: same pixels as the run from day one.
    pieces = []
    for first, count in ((0, 37), (37, 50), (87, total - 87)):
        pieces += [frame.copy() for frame in painter.frames(first, count)]
    assert len(whole) == len(pieces) == 81 + TAIL_FRAMES
    for number, (a, b) in enumerate(zip(whole, pieces, strict=True)):
        assert np.array_equal(a, b), f"frame {number} differs"
        if number % 10 == 0:
            assert np.array_equal(a, painter.still(number)), f"frame {number} differs from scratch"


def test_timeline_holds_the_last_day_through_the_tail() -> None:
    timeline = Timeline(100, 109)
    assert timeline.frames == 10 + TAIL_FRAMES
    assert timeline.days(0) == (100, 100)
    assert timeline.days(9) == (109, 109)
    assert timeline.days(12) == (109, 112)


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
def test_every_drive_has_its_own_cell_inside_the_canvas(tmp_path: Path, size) -> None:
    drives = [(f"S{n:05d}", f"M{n % 5}", n % 30, 40, None) for n in range(3000)]
    painter = painter_for(hand_fleet(tmp_path, drives), size=size)
    pixels = painter.pixels
    assert len(np.unique(pixels)) == len(pixels) == 3000
    ys, xs = np.divmod(pixels, painter.width)
    assert ys.min() >= 0 and ys.max() + painter.cell <= painter.height
    assert xs.min() >= 0 and xs.max() + painter.cell <= painter.width


def test_the_counts_line_counts_a_repeated_drive_once() -> None:
    """Day 1: 5 rows, one repeating a drive; day 2 missing; day 3: 4 rows, 2 failing rows of one drive."""
    from drivestats.movie.state import reporting_and_failures_by_day

    start = dt.date(2014, 1, 1)
    daily = pa.table(
        {
            "date": pa.array([start, start + dt.timedelta(days=2)], pa.date32()),
            "drives": [5, 4],
            "failures": [0, 2],
            "repeats": [1, 1],
            "repeated_failures": [0, 1],
        }
    )
    first = (start - dt.date(1970, 1, 1)).days
    figures = reporting_and_failures_by_day(daily, first, first + 2)
    assert figures.tolist() == [[4, 0], [4, 0], [3, 1]]
