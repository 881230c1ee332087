"""The layout: every model gets a block, nothing overlaps, everything stays on the canvas."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from conftest import raw_counts, run_cli, sample_files
from drivestats.errors import DrivestatsError
from drivestats.movie.layout import (
    COLUMN_HEIGHT,
    COLUMN_WIDTH,
    OTHER,
    Layout,
    ModelEntry,
    Rect,
    cell_origins,
    layout,
    parse_overrides,
)

SIZES = [(1920, 1080), (3840, 2160), (1280, 720)]


def rects_of(placed: Layout) -> list[tuple[str, Rect]]:
    named = [("date box", placed.date_box)]
    for block in placed.blocks:
        named += [(f"block {block.key}", block.rect), (f"label {block.key}", block.label)]
    return named


def assert_clean(placed: Layout) -> None:
    """No two rectangles overlap, all lie inside the canvas, every cell lies in its block."""
    named = rects_of(placed)
    for name, rect in named:
        assert rect.inside(placed.width, placed.height), f"{name} {rect} leaves the canvas"
        assert rect.w > 0 and rect.h > 0, name
    for (name_a, a), (name_b, b) in itertools.combinations(named, 2):
        assert not a.overlaps(b), f"{name_a} {a} overlaps {name_b} {b}"
    for block in placed.blocks:
        ranks = np.array([0, block.drives - 1])
        xs, ys = cell_origins(block.x, block.bottom, placed.cell, ranks)
        rect = block.rect
        for x, y in zip(xs, ys, strict=True):
            assert rect.x <= x and x + placed.cell <= rect.right
            assert rect.y <= y and y + placed.cell <= rect.bottom


def backblaze_like(total: int, seed: int = 3, small: int = 70) -> list[ModelEntry]:
    """A synthetic multi-year models table: a few huge models, many middling, many tiny."""
    big = [39000, 37000, 22000, 20000, 16000, 15000, 14000, 12000, 10500, 10000, 8000]
    big += [6500, 5000, 4700, 4600, 4500, 3500, 3000, 2600, 2400, 2100, 1800, 1500]
    big += [1300, 1200, 1000, 800, 700, 600, 500]
    rng = np.random.default_rng(seed)
    counts = np.array(big + list(rng.integers(1, 400, small)), dtype=float)
    counts = np.maximum(1, np.round(counts * total / counts.sum())).astype(int)
    rng.shuffle(counts)
    days = np.sort(rng.integers(15805, 15805 + 9 * 365, len(counts)))
    names = ["ST4000DM000", "HUH721212ALN604", "WUH721816ALE6L4", "MG07ACA14TA"]
    return [
        ModelEntry(
            model=f"{names[i % 4]}-{i:03d}" if i % 9 else f"Seagate BarraCuda SSD ZA250CM{i:05d}",
            drives=int(count),
            first_day=int(day),
            vendor="Seagate",
            capacity_bytes=int((i % 16 + 1) * 10**12),
        )
        for i, (count, day) in enumerate(zip(counts, days, strict=True))
    ]


@pytest.fixture(scope="module")
def sample_models(tmp_path_factory: pytest.TempPathFactory) -> list[ModelEntry]:
    """The models of the real 2013 samples, as the movie sees them."""
    from drivestats.fleet import fleet_tables, read_table
    from drivestats.movie.state import day_number, movie_fleet
    from drivestats.workspace import Workspace

    home = tmp_path_factory.mktemp("layout") / "home"
    assert run_cli(home, "import", str(sample_files()[0].parent)).exit_code == 0
    job = fleet_tables(Workspace.resolve(home))
    fleet = movie_fleet(
        read_table(job, "drives"),
        read_table(job, "models"),
        day_number("2013-04-10"),
        day_number("2013-04-19"),
    )
    return list(fleet.models)


@pytest.fixture(scope="module")
def sample_counts() -> dict:
    """Models and drives of the samples counted with the csv module."""
    return raw_counts(sample_files())


@pytest.mark.parametrize("size", SIZES)
def test_real_2013_models_each_get_a_clean_block(
    sample_models: list[ModelEntry], sample_counts: dict, size
) -> None:
    counts = sample_counts
    assert len(sample_models) == len(counts["model_days"])  # 36 models, counted with csv
    assert sum(m.drives for m in sample_models) == counts["drives"]
    placed = layout(sample_models, *size)
    assert sorted(b.key for b in placed.blocks) == sorted(counts["model_days"])
    assert placed.gathered is None and placed.notes == ()
    assert_clean(placed)
    # The default cell is the largest that fits: one pixel more and something no longer fits.
    assert layout(sample_models, *size, cell=placed.cell + 1).cell <= placed.cell
    # 21,000 drives counted with csv cover at least a quarter of a 1080p canvas (at 720p
    # whole pixels allow 3 px, 21%).
    covered = counts["drives"] * placed.cell**2 / (size[0] * size[1])
    assert covered >= (0.25 if size == (1920, 1080) else 0.2), (
        f"drives cover {covered:.0%} of the canvas at {placed.cell}-px cells"
    )


def test_sample_labels_name_model_without_vendor_and_capacity(sample_models) -> None:
    placed = layout(sample_models, 1920, 1080)
    hitachi = next(b for b in placed.blocks if b.key == "Hitachi HDS722020ALA330")
    assert (hitachi.title, hitachi.capacity, hitachi.vendor) == (
        "HDS722020ALA330",
        "2TB",
        "Hitachi",
    )
    seagate = next(b for b in placed.blocks if b.key == "ST31500541AS")
    assert (seagate.title, seagate.capacity, seagate.vendor) == ("ST31500541AS", "1.5TB", "Seagate")


def test_block_shape_follows_60_wide_200_tall_columns() -> None:
    # 12,001 drives: one full 60x200 column and one cell of a second column.
    placed = layout([ModelEntry("BIG", 12_001, 0), ModelEntry("SMALL", 61, 1)], 1920, 1080, cell=2)
    big, small = placed.blocks
    assert (big.rect.w, big.rect.h) == (2 * COLUMN_WIDTH * 2, COLUMN_HEIGHT * 2)
    assert (small.rect.w, small.rect.h) == (COLUMN_WIDTH * 2, 2 * 2)
    xs, ys = cell_origins(big.x, big.bottom, 2, np.array([0, 59, 60, 11_999, 12_000]))
    assert list(zip(xs - big.x, big.bottom - ys, strict=True)) == [
        (0, 2),  # first drive: bottom-left
        (118, 2),  # 60th: bottom-right of the first column
        (0, 4),  # 61st: one row up
        (118, 400),  # 12,000th: top-right of the first column
        (120, 2),  # 12,001st: bottom-left of the second column
    ]
    assert_clean(placed)


@pytest.mark.parametrize("total", [60_000, 180_000])
def test_synthetic_multi_year_fleet_fits_with_2px_cells_at_1080p(total: int) -> None:
    models = backblaze_like(total)
    placed = layout(models, 1920, 1080)
    assert placed.cell == (3 if total == 60_000 else 2)  # the largest that fits
    assert layout(models, 1920, 1080, cell=2).cell == 2
    assert len(placed.blocks) == len(models) and placed.gathered is None
    assert_clean(placed)


def test_reading_order_follows_first_appearance_when_it_fits() -> None:
    models = [ModelEntry(f"M{i:02d}", 500, 100 + i) for i in range(20)]
    placed = layout(models, 1920, 1080, cell=2)
    tops = [(b.rect.y, b.x) for b in placed.blocks]
    # The first models fill the top row from the left.
    first_row = [b.key for b in placed.blocks if b.rect.y == min(t[0] for t in tops)]
    assert first_row[:5] == ["M00", "M01", "M02", "M03", "M04"]
    assert [b.x for b in placed.blocks[:5]] == sorted(b.x for b in placed.blocks[:5])


def test_bigger_fleets_shrink_the_cell_and_say_so() -> None:
    placed = layout(backblaze_like(450_000), 1920, 1080)
    assert placed.cell == 1
    assert any("3840x2160" in note for note in placed.notes)
    assert_clean(placed)
    at_4k = layout(backblaze_like(450_000), 3840, 2160)
    assert at_4k.cell == 2
    assert_clean(at_4k)


def test_small_models_are_gathered_only_when_nothing_else_fits() -> None:
    models = backblaze_like(300_000, small=150)
    placed = layout(models, 1280, 720)
    other = placed.gathered
    assert other is not None and other.key == OTHER
    assert any("gathered" in note for note in placed.notes)
    assert other.vendor.startswith(f"{len(other.models)} small models")
    shown = {b.key for b in placed.blocks} - {OTHER}
    assert shown | set(other.models) == {m.model for m in models}
    drives = {m.model: m.drives for m in models}
    assert other.drives == sum(drives[m] for m in other.models)
    # The gathered ones are the smallest.
    assert max(drives[m] for m in other.models) <= min(drives[m] for m in shown)
    assert_clean(placed)


def test_a_canvas_too_small_for_one_model_is_an_error() -> None:
    with pytest.raises(DrivestatsError, match="cannot hold"):
        layout([ModelEntry("HUGE", 2_000_000, 0)], 1280, 720)


def test_layout_is_deterministic() -> None:
    models = backblaze_like(120_000)
    assert layout(models, 1920, 1080) == layout(list(reversed(models)), 1920, 1080)


def test_layout_file_places_blocks_and_the_rest_flows_around(tmp_path: Path) -> None:
    text = "# x y model\n1000 700 HUH721212ALN604-001\n40 1000 WUH721816ALE6L4-002  # bottom left\n"
    overrides = parse_overrides(text)
    assert overrides == ((1000, 700, "HUH721212ALN604-001"), (40, 1000, "WUH721816ALE6L4-002"))
    placed = layout(backblaze_like(100_000), 1920, 1080, overrides)
    moved = {b.key: b for b in placed.blocks}
    assert (moved["HUH721212ALN604-001"].x, moved["HUH721212ALN604-001"].bottom) == (1000, 700)
    assert (moved["WUH721816ALE6L4-002"].x, moved["WUH721816ALE6L4-002"].bottom) == (40, 1000)
    assert_clean(placed)


def test_layout_file_errors_are_clear() -> None:
    with pytest.raises(DrivestatsError, match="line 2"):
        parse_overrides("10 10 A\nten 10 B\n")
    models = [ModelEntry("A", 100, 0), ModelEntry("B", 100, 0)]
    with pytest.raises(DrivestatsError, match="over"):
        layout(models, 1920, 1080, ((100, 500, "A"), (110, 505, "B")))
    with pytest.raises(DrivestatsError, match="outside"):
        layout(models, 1920, 1080, ((1900, 500, "A"),))


def test_auto_cells_grow_for_a_small_fleet_and_explicit_cells_shrink_if_needed(
    sample_models: list[ModelEntry],
) -> None:
    grown = layout(sample_models, 1920, 1080, cell="auto")
    assert grown.cell > 2 and grown.notes == ()
    assert_clean(grown)
    # One more pixel per cell would not fit: auto picks the largest.
    assert layout(sample_models, 1920, 1080, cell=grown.cell + 1).cell == grown.cell
    assert layout(sample_models, 1920, 1080, cell=3).cell == 3
