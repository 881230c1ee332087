"""Where each model's block and label go on the canvas.

Blocks are packed like a masonry wall: the canvas is cut into lanes one block
column wide (60 cells plus a gap), and each model, in the order in which models
first appear, goes to the highest free place, leftmost on ties. A block's
footprint is its full final size (every drive it will ever hold in the movie)
plus its two-line label, so nothing moves and nothing overlaps while the fleet
grows. All of it is a pure function of the model list and the canvas.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

from drivestats.backblaze.format import capacity_label, clean_model, model_without_vendor
from drivestats.errors import DrivestatsError

COLUMN_WIDTH = 60  # cells across one column of a block
COLUMN_HEIGHT = 200  # cells up one column before the block continues to the right
COLUMN_DRIVES = COLUMN_WIDTH * COLUMN_HEIGHT
BASE_HEIGHT = 1080  # the canvas height at which sizes below are given
BASE_CELL = 2
MAX_CELL_SCALE = 8  # fitted cells grow up to this many times 2 px at 1080p
RING_RADIUS_CELLS = 10  # a failure's ring grows to this radius, in cells of up to 4 px at 1080p
ROOM_SHARE = 0.25  # models still reporting keep room for this many more drives
OTHER = "(other)"  # block key of models gathered because the canvas cannot hold them
FONTS = Path(__file__).parent / "fonts"


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled DejaVu Sans at a pixel size, so output never depends on system fonts."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size)


@dataclass(frozen=True)
class ModelEntry:
    """What the layout needs to know of a model: its cell count, first day and label facts."""

    model: str
    drives: int
    first_day: int  # days since 1970-01-01
    vendor: str = ""
    capacity_bytes: int = 0
    growing: bool = False  # still reporting on the last day: later days may add drives
    room: int = 0  # drives the block reserves space for (0: just its own)


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle, x and y of its top-left corner."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def grown(self, margin: int) -> Rect:
        return Rect(self.x - margin, self.y - margin, self.w + 2 * margin, self.h + 2 * margin)

    def inside(self, width: int, height: int) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= width and self.bottom <= height


@dataclass(frozen=True)
class Typography:
    """Font sizes and spacing for one canvas, scaled from their 1080p values."""

    title_size: int
    detail_size: int
    date_size: int
    storage_size: int
    counts_size: int
    watermark_size: int
    margin: int
    gap: int
    label_pad: int
    line_gap: int

    @property
    def title_height(self) -> int:
        ascent, descent = font(self.title_size).getmetrics()
        return ascent + descent

    @property
    def detail_height(self) -> int:
        ascent, descent = font(self.detail_size).getmetrics()
        return ascent + descent

    def label_height(self, title_lines: int = 1) -> int:
        """Height of a label with this many title lines above its detail line."""
        return title_lines * (self.title_height + self.line_gap) + self.detail_height


def typography_for(height: int) -> Typography:
    """Text sizes and spacing for a canvas height (1080p: 12 px labels, 56 px date)."""
    scale = height / BASE_HEIGHT

    def px(value: float, least: int = 1) -> int:
        return max(least, round(value * scale))

    return Typography(
        title_size=px(12, 9),
        detail_size=px(11, 8),
        date_size=px(56, 20),
        storage_size=px(28, 12),
        counts_size=px(21, 9),
        watermark_size=px(150, 40),
        margin=px(16, 4),
        gap=px(6, 2),
        label_pad=px(3),
        line_gap=px(1, 0),
    )


def ring_radius(cell: int, height: int) -> int:
    """How far a failure's ring grows, in pixels: RING_RADIUS_CELLS cells, but never more than
    for 4-px cells at 1080p (the big cells of a small fleet would give rings across blocks)."""
    return RING_RADIUS_CELLS * min(cell, 2 * default_cell(height))


def default_cell(height: int) -> int:
    """The cell edge in pixels for a canvas height: 2 px at 1080p, scaled with the canvas."""
    return max(1, round(BASE_CELL * height / BASE_HEIGHT))


def block_shape(drives: int) -> tuple[int, int, int]:
    """A block's (columns, width in cells, height in cells) for a drive count."""
    columns = max(1, math.ceil(drives / COLUMN_DRIVES))
    if columns > 1:
        return columns, columns * COLUMN_WIDTH, COLUMN_HEIGHT
    rows = max(1, math.ceil(drives / COLUMN_WIDTH))
    return 1, min(max(drives, 1), COLUMN_WIDTH), rows


@dataclass(frozen=True)
class Block:
    """One model's block: where its cells grow from and where its label sits."""

    key: str  # the model name, or OTHER
    models: tuple[str, ...]
    drives: int
    first_day: int
    cell: int
    x: int  # left edge of the block
    bottom: int  # the cells grow upward from this row of pixels (exclusive bottom edge)
    title: str
    title_lines: tuple[str, ...]  # the title, wrapped at spaces when wider than the block
    capacity: str
    vendor: str
    label: Rect
    room: int = 0  # drives it reserves space for, above its own, so later days keep the layout

    @property
    def rect(self) -> Rect:
        """The pixels the block's cells can ever cover (its reserved room included)."""
        _, across, up = block_shape(max(self.drives, self.room))
        return Rect(self.x, self.bottom - up * self.cell, across * self.cell, up * self.cell)

    @property
    def footprint(self) -> Rect:
        """The block and its label together."""
        rect, label = self.rect, self.label
        left, top = min(rect.x, label.x), min(rect.y, label.y)
        right, bottom = max(rect.right, label.right), max(rect.bottom, label.bottom)
        return Rect(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class Layout:
    """Every block on the canvas, the cell size and the box for the date and storage."""

    width: int
    height: int
    cell: int
    blocks: tuple[Block, ...]
    date_box: Rect
    typography: Typography
    notes: tuple[str, ...] = ()
    block_of_model: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for index, block in enumerate(self.blocks):
            for model in block.models:
                self.block_of_model[model] = index

    @property
    def gathered(self) -> Block | None:
        """The block of gathered small models, if the canvas could not hold them apart."""
        return next((block for block in self.blocks if block.key == OTHER), None)


def cell_origins(
    block_x: int, block_bottom: int, cell: int, ranks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Top-left pixel (x, y) of the cells with these ranks in a block (rank 0 = first drive)."""
    ranks = np.asarray(ranks, dtype=np.int64)
    column, within = np.divmod(ranks, COLUMN_DRIVES)
    row, across = np.divmod(within, COLUMN_WIDTH)
    xs = block_x + (column * COLUMN_WIDTH + across) * cell
    ys = block_bottom - (row + 1) * cell
    return xs, ys


def label_lines(entry: ModelEntry, gathered: int = 0) -> tuple[str, str, str]:
    """The label's title, capacity and vendor texts ('4TB' and 'Seagate' sit on line two)."""
    if entry.model == OTHER:
        return "other", "", f"{gathered} small models gathered"
    capacity = capacity_label(entry.capacity_bytes) if entry.capacity_bytes > 0 else "?"
    return model_without_vendor(entry.model), capacity, entry.vendor


def wrapped(text: str, size: int, width: float) -> tuple[str, ...]:
    """Text broken at spaces into lines no wider than width (a single long word stays whole)."""
    typeface = font(size)
    lines: list[str] = []
    for word in text.split(" "):
        if lines and typeface.getlength(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return tuple(lines)


def label_size(
    typography: Typography, title_lines: Sequence[str], capacity: str, vendor: str
) -> tuple[int, int]:
    """Width and height in pixels of a label: title lines above capacity and vendor."""
    title_font = font(typography.title_size)
    title_width = max(title_font.getlength(line) for line in title_lines)
    detail = (capacity + " " + vendor).strip()
    detail_width = font(typography.detail_size).getlength(detail)
    return math.ceil(max(title_width, detail_width)), typography.label_height(len(title_lines))


def date_box(width: int, height: int, typography: Typography) -> Rect:
    """The bottom-right box: drives and failures, storage, and the date at the bottom."""
    date_font = font(typography.date_size, bold=True)
    storage_font = font(typography.storage_size)
    counts_font = font(typography.counts_size)
    box_w = math.ceil(
        max(
            date_font.getlength("8888-88-88"),
            storage_font.getlength("8,888,888 TB"),
            counts_font.getlength("888,888 drives \u00b7 888,888 failed"),
        )
    )
    box_h = sum(sum(f.getmetrics()) for f in (date_font, storage_font, counts_font))
    return Rect(width - typography.margin - box_w, height - typography.margin - box_h, box_w, box_h)


def parse_overrides(text: str) -> tuple[tuple[int, int, str], ...]:
    """Positions from a layout file: lines 'x y model' (the block's bottom-left pixel), '#' comments."""
    overrides = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(maxsplit=2)
        try:
            if len(parts) != 3:
                raise ValueError
            overrides.append((int(parts[0]), int(parts[1]), clean_model(parts[2])))
        except ValueError:
            raise DrivestatsError(
                f"layout file line {number}: expected 'x y model', got {raw.strip()!r}"
            ) from None
    return tuple(overrides)


def layout(
    models: Sequence[ModelEntry],
    width: int,
    height: int,
    overrides: Iterable[tuple[int, int, str]] = (),
    cell: int | str | None = None,
    anchors: Iterable[tuple[int, int, str]] = (),
    anchor_cell: int = 0,
) -> Layout:
    """The layout of every model on a canvas: the cell asked for if it fits, else smaller, else gathered.

    ``cell`` is None (or "auto") for the largest cell that fits, up to
    MAX_CELL_SCALE times 2 px at 1080p, or a size in pixels.
    ``anchors`` are the blocks of an earlier movie ('x bottom model', cells of
    ``anchor_cell`` px): kept where they were if every block still fits around
    them, so that a movie over more days keeps its frames; else everything is
    laid out anew and a note says why. Models still reporting on the last day
    reserve ROOM_SHARE more drives' space where the canvas allows.
    """
    anchors = tuple(anchors)
    if anchors:
        present = {m.model for m in models}
        kept = {model: (x, y) for x, y, model in anchors if model in present}
        kept.update({model: (x, y) for x, y, model in overrides})
        try:
            placed = _fitted(
                models, width, height, tuple((x, y, m) for m, (x, y) in kept.items()), anchor_cell
            )
            if placed.cell == anchor_cell and placed.gathered is None:
                return placed
            reason = f"{anchor_cell}-px cells no longer fit"
        except DrivestatsError as error:
            reason = str(error).replace("layout file puts", "the new days would put")
        fresh = _fitted(models, width, height, overrides, cell)
        note = f"every block laid out anew: the earlier layout no longer fits ({reason})"
        return dataclasses.replace(fresh, notes=(*fresh.notes, note))
    return _fitted(models, width, height, overrides, cell)


def _fitted(
    models: Sequence[ModelEntry],
    width: int,
    height: int,
    overrides: Iterable[tuple[int, int, str]] = (),
    cell: int | str | None = None,
) -> Layout:
    """A layout from nothing (or with fixed blocks): the largest cell that fits, else gathered."""
    if width % 2 or height % 2 or width < 320 or height < 180:
        raise DrivestatsError(
            f"the movie size must be even and at least 320x180, not {width}x{height}"
        )
    typography = typography_for(height)
    box = date_box(width, height, typography)
    ordered = sorted(models, key=_reading_order)
    fixed = {model: (x, y) for x, y, model in overrides}
    unknown = sorted(set(fixed) - {m.model for m in ordered})
    notes = [f"layout file names models not in the movie: {', '.join(unknown)}"] if unknown else []
    standard = default_cell(height)
    if cell is None or cell == "auto":
        # The largest cell at which everything fits, so a small fleet fills the canvas too.
        wanted, largest = standard, MAX_CELL_SCALE * standard
    else:
        wanted = largest = int(cell)
        if largest < 1:
            raise DrivestatsError(f"the cell size must be at least 1 px, not {cell}")
    roomy = [
        dataclasses.replace(m, room=math.ceil(m.drives * (1 + ROOM_SHARE))) if m.growing else m
        for m in ordered
    ]
    total_drives = sum(max(m.drives, 1) for m in ordered)
    for size in range(largest, 0, -1):
        if size > 1 and total_drives * size * size > width * height:
            continue  # the cells alone would cover more than the canvas
        blocks = None
        for entries in (roomy, ordered):  # room to grow where it fits, else none
            blocks = _pack_any_order(entries, size, fixed, typography, width, height, box)
            if blocks is not None:
                break
        if blocks is not None:
            if size < wanted:
                drives = sum(m.drives for m in ordered)
                hint = (
                    "pick --size 3840x2160 for bigger cells"
                    if width * height < 3840 * 2160
                    else "a larger --size gives bigger cells"
                )
                notes.append(
                    f"cells shrunk from {wanted} px to {size} px to fit {drives:,} drives; {hint}"
                )
            return Layout(width, height, size, tuple(blocks), box, typography, tuple(notes))
    # Even 1-px cells do not fit: gather the smallest models, fewest first, into one block.
    movable = sorted(
        (m for m in ordered if m.model not in fixed), key=lambda m: (m.drives, m.model)
    )
    for count in range(1, len(movable) + 1):
        gathered = movable[:count]
        other = ModelEntry(
            OTHER, sum(m.drives for m in gathered), min(m.first_day for m in gathered)
        )
        names = {m.model for m in gathered}
        rest = sorted([m for m in ordered if m.model not in names] + [other], key=_reading_order)
        blocks = _pack_any_order(rest, 1, fixed, typography, width, height, box, gathered)
        if blocks is not None:
            notes.append(
                f"{count} models with the fewest drives are gathered in one 'other' block; "
                "the canvas cannot hold them apart even with 1-px cells"
            )
            return Layout(width, height, 1, tuple(blocks), box, typography, tuple(notes))
    raise DrivestatsError(
        f"a {width}x{height} canvas cannot hold {sum(m.drives for m in ordered):,} drives; "
        "choose a larger --size"
    )


def _reading_order(entry: ModelEntry) -> tuple[int, int, str]:
    # First appearance; on the same day the bigger model first, then by name.
    return (entry.first_day, -entry.drives, entry.model)


def _pack_any_order(
    entries: Sequence[ModelEntry],
    cell: int,
    fixed: dict[str, tuple[int, int]],
    typography: Typography,
    width: int,
    height: int,
    box: Rect,
    gathered: Sequence[ModelEntry] = (),
) -> list[Block] | None:
    """Blocks in reading order if they fit so, else biggest first (which packs far tighter)."""
    for order in (entries, sorted(entries, key=_biggest_first)):
        blocks = _pack(order, cell, fixed, typography, width, height, box, gathered)
        if blocks is not None:
            return blocks
    return None


def _biggest_first(entry: ModelEntry) -> tuple[int, int, int, int, str]:
    columns, _, rows = block_shape(entry.drives)
    return (-columns, -rows, *_reading_order(entry))


def _pack(
    entries: Sequence[ModelEntry],
    cell: int,
    fixed: dict[str, tuple[int, int]],
    typography: Typography,
    width: int,
    height: int,
    box: Rect,
    gathered: Sequence[ModelEntry] = (),
) -> list[Block] | None:
    """Blocks packed into lanes in the given order, or None when one does not fit."""
    # Align blocks to even pixels so a 2x2 cell maps onto one chroma sample of yuv420p.
    unit = cell if cell % 2 == 0 else 2 * cell
    gap = _align_up(typography.gap, unit)
    lane = COLUMN_WIDTH * cell + gap
    # A failure's ring fades as it grows: its bright first half stays on the canvas (the
    # whole ring would cost a 1080p canvas of 180,000 drives its 2-px cells).
    edge = max(typography.margin, ring_radius(cell, height) // 2)
    lanes = (width - 2 * edge + gap) // lane
    if lanes < 1:
        return None
    left = _align_down((width - (lanes * lane - gap)) // 2, unit)
    tops = [_align_up(edge, unit)] * lanes
    floor = height - typography.margin
    obstacles = [box.grown(gap)]
    placed: dict[str, Block] = {}

    for entry in entries:
        if entry.model not in fixed:
            continue
        x, y = fixed[entry.model]
        block = _block(entry, cell, x - x % 2, y - y % 2, typography, gathered, gap)
        if not block.footprint.inside(width, height):
            raise DrivestatsError(f"layout file puts {entry.model} outside the canvas")
        for other in placed.values():
            if block.footprint.overlaps(other.footprint):
                raise DrivestatsError(f"layout file puts {entry.model} over {other.key}")
        placed[entry.model] = block
        obstacles.append(block.footprint.grown(gap))

    for entry in entries:
        if entry.model in fixed:
            continue
        columns, across, up = block_shape(max(entry.drives, entry.room))
        block_h = up * cell
        _, title_lines, capacity, vendor = _label_texts(entry, cell, gap, typography, gathered)
        label_w, label_h = label_size(typography, title_lines, capacity, vendor)
        span = math.ceil((max(across * cell, label_w) + gap) / lane)
        best: tuple[int, int, int] | None = None
        for first in range(lanes - span + 1):
            x = left + first * lane
            top = max(tops[first : first + span])
            while True:
                bottom = _align_up(top + block_h, unit)
                foot = Rect(
                    x, bottom - block_h, span * lane - gap, block_h + typography.label_pad + label_h
                )
                hit = next((o for o in obstacles if foot.overlaps(o)), None)
                if hit is None:
                    break
                top = hit.bottom
            if foot.bottom > floor:
                continue
            if best is None or (foot.y, first) < (best[0], best[1]):
                best = (foot.y, first, bottom)
        if best is None:
            return None
        _, first, bottom = best
        block = _block(entry, cell, left + first * lane, bottom, typography, gathered, gap)
        placed[entry.model] = block
        end = block.footprint.bottom + gap
        for index in range(first, first + span):
            tops[index] = end
    return [placed[entry.model] for entry in entries]


def _block(
    entry: ModelEntry,
    cell: int,
    x: int,
    bottom: int,
    typography: Typography,
    gathered: Sequence[ModelEntry],
    gap: int,
) -> Block:
    title, title_lines, capacity, vendor = _label_texts(entry, cell, gap, typography, gathered)
    label_w, label_h = label_size(typography, title_lines, capacity, vendor)
    models = tuple(m.model for m in gathered) if entry.model == OTHER else (entry.model,)
    return Block(
        key=entry.model,
        models=models,
        drives=entry.drives,
        first_day=entry.first_day,
        cell=cell,
        x=x,
        bottom=bottom,
        title=title,
        title_lines=title_lines,
        capacity=capacity,
        vendor=vendor,
        label=Rect(x, bottom + typography.label_pad, label_w, label_h),
        room=entry.room,
    )


def _label_texts(
    entry: ModelEntry, cell: int, gap: int, typography: Typography, gathered: Sequence[ModelEntry]
) -> tuple[str, tuple[str, ...], str, str]:
    """Title, title wrapped to the block's lanes, capacity and vendor of a model's label."""
    title, capacity, vendor = label_lines(entry, len(gathered))
    columns, _, _ = block_shape(entry.drives)
    room = columns * (COLUMN_WIDTH * cell + gap) - gap
    return title, wrapped(title, typography.title_size, room), capacity, vendor


def _align_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _align_down(value: int, unit: int) -> int:
    return value // unit * unit
