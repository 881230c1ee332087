"""State → RGB frames: cells with numpy, labels and text with Pillow, failure rings on top.

A frame is drawn once in full (at the first frame a worker renders); after that
only the cells whose colour changes, labels of models that appear and the date
text are repainted into the same buffer. Rings are blended in just before a
frame is handed out (never over text) and taken off again afterwards, so the
buffer always holds the ring-free state. Labels are rendered into patches of the background once
and pasted when their model appears; the date box is redrawn only when its day
changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from drivestats.movie.layout import (
    RING_RADIUS_CELLS,
    Block,
    Layout,
    Rect,
    cell_origins,
    font,
    ring_radius,
)
from drivestats.movie.state import (
    BACKGROUND,
    RING_FRAMES,
    Changes,
    MovieFleet,
    Timeline,
    cell_colors,
    day_text,
)

TITLE_COLOR = (225, 225, 225)
CAPACITY_COLOR = (150, 230, 140)  # light green
VENDOR_COLOR = (170, 170, 170)
DATE_COLOR = (240, 240, 240)
STORAGE_COLOR = (200, 200, 200)
WATERMARK_COLOR = (72, 72, 72)  # barely lighter than the background
RING_COLOR = (255, 60, 60)


@dataclass(frozen=True)
class Scene:
    """Everything a frame depends on: layout, drives, the frame days, storage per day, watermark."""

    layout: Layout
    fleet: MovieFleet
    timeline: Timeline
    storage: np.ndarray  # fleet storage in bytes per day, start..end
    watermark: str = ""
    counts: np.ndarray | None = None  # (drives reporting, failures since start) per day


def storage_text(storage_bytes: int) -> str:
    """Fleet storage as shown above the date: '52,341 TB'."""
    return f"{round(storage_bytes / 10**12):,} TB"


def background(layout: Layout, watermark: str = "") -> np.ndarray:
    """The empty canvas: dark grey with the optional faint watermark."""
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    if watermark:
        draw = ImageDraw.Draw(image)
        typeface = font(layout.typography.watermark_size, bold=True)
        # Shrink a long watermark until it fits across the canvas.
        size = layout.typography.watermark_size
        while typeface.getlength(watermark) > 0.9 * layout.width and size > 10:
            size = int(size * 0.9)
            typeface = font(size, bold=True)
        draw.text(
            (layout.width // 2, layout.height // 2),
            watermark,
            font=typeface,
            fill=WATERMARK_COLOR,
            anchor="mm",
        )
    return np.asarray(image).copy()


def label_patch(canvas: np.ndarray, block: Block, layout: Layout) -> np.ndarray:
    """A block's two-line label drawn over its piece of the background."""
    rect = block.label
    image = Image.fromarray(canvas[rect.y : rect.bottom, rect.x : rect.right])
    draw = ImageDraw.Draw(image)
    typo = layout.typography
    step = typo.title_height + typo.line_gap
    for number, line in enumerate(block.title_lines):
        draw.text((0, number * step), line, font=font(typo.title_size), fill=TITLE_COLOR)
    detail_font = font(typo.detail_size)
    y = len(block.title_lines) * step
    x = 0.0
    if block.capacity:
        draw.text((0, y), block.capacity, font=detail_font, fill=CAPACITY_COLOR)
        x = detail_font.getlength(block.capacity + " ")
    draw.text((x, y), block.vendor, font=detail_font, fill=VENDOR_COLOR)
    return np.asarray(image)


def counts_text(drives: int, failures: int) -> str:
    """Drives reporting that day and failures so far: '21,345 drives · 1,204 failed'."""
    return f"{drives:,} drives \u00b7 {failures:,} failed"


def date_patch(
    canvas: np.ndarray, layout: Layout, day: str, storage: str, counts: str = ""
) -> np.ndarray:
    """The bottom-right box, right-aligned: counts, storage in TB, and the date at the bottom."""
    box = layout.date_box
    image = Image.fromarray(canvas[box.y : box.bottom, box.x : box.right])
    draw = ImageDraw.Draw(image)
    counts_font = font(layout.typography.counts_size)
    storage_font = font(layout.typography.storage_size)
    date_font = font(layout.typography.date_size, bold=True)
    below_counts = sum(counts_font.getmetrics())
    below_storage = below_counts + sum(storage_font.getmetrics())
    draw.text((box.w, 0), counts, font=counts_font, fill=STORAGE_COLOR, anchor="ra")
    draw.text((box.w, below_counts), storage, font=storage_font, fill=STORAGE_COLOR, anchor="ra")
    draw.text((box.w, below_storage), day, font=date_font, fill=DATE_COLOR, anchor="ra")
    return np.asarray(image)


@dataclass(frozen=True)
class RingSprites:
    """Every age of the failure ring as padded tables: row = age, column = one ring pixel."""

    dy: np.ndarray  # (RING_FRAMES, n) pixel offsets from the cell's top-left corner
    dx: np.ndarray
    offset: np.ndarray  # dy * width + dx: the same offsets in a flat frame
    alpha: np.ndarray  # (RING_FRAMES, n) uint16 out of 256; 0 pads the shorter rows
    reach: int  # no ring pixel lies further than this from the cell's corner


def ring_sprites(cell: int, width: int, outer: int) -> RingSprites:
    """The ring at each age: radius growing from the cell to ``outer`` pixels, fading out."""
    reach = int(outer + 2 * cell + 2)
    grid = np.arange(-reach, reach + cell)
    dy, dx = np.meshgrid(grid, grid, indexing="ij")
    # Distance from the cell centre to each pixel centre.
    distance = np.hypot(dy + 0.5 - cell / 2, dx + 0.5 - cell / 2)
    # Three quarters of a cell thick, for cells of at most 4 px at 1080p (as the radius).
    thickness = max(1.0, 0.75 * outer / RING_RADIUS_CELLS)
    rows = []
    for age in range(RING_FRAMES):
        radius = cell + (outer - cell) * age / (RING_FRAMES - 1)
        strength = 1.0 - age / RING_FRAMES
        alpha = np.clip(1.0 - np.abs(distance - radius) / thickness, 0.0, 1.0) * strength
        level = np.round(alpha * 256).astype(np.int64)
        keep = level > 0
        rows.append((dy[keep], dx[keep], level[keep]))
    size = max(len(row[0]) for row in rows)
    table = np.zeros((3, RING_FRAMES, size), dtype=np.int64)
    for age, row in enumerate(rows):
        for part in range(3):
            table[part, age, : len(row[part])] = row[part]
    dys, dxs, alphas = table
    return RingSprites(dys, dxs, dys * width + dxs, alphas.astype(np.uint16), reach + cell)


class Painter:
    """Draws the frames of one scene, repainting only what changes between frames."""

    def __init__(self, scene: Scene):
        self.scene = scene
        layout = scene.layout
        self.width, self.height, self.cell = layout.width, layout.height, layout.cell
        self.changes = Changes(scene.fleet.days)
        self.pixels = drive_pixels(layout, scene.fleet)
        corner = np.arange(self.cell)
        self.cell_offsets = (corner[:, None] * self.width + corner[None, :]).ravel()
        self.canvas = background(layout, scene.watermark)
        self.labels = [(block, label_patch(self.canvas, block, layout)) for block in layout.blocks]
        self.sprites = ring_sprites(self.cell, self.width, ring_radius(self.cell, self.height))
        # Rings pass under text: no ring pixel is drawn over the date box or a label shown.
        self.text_pixels = np.zeros(self.height * self.width, dtype=bool)
        self._date: tuple[str, str, str] | None = None

    @property
    def frame_count(self) -> int:
        return self.scene.timeline.frames

    def frames(self, first: int, count: int) -> Iterator[np.ndarray]:
        """Frames first..first+count-1; each yielded array is reused, copy it to keep it."""
        frame = self._state_at(first)
        channels = frame.reshape(-1)
        timeline = self.scene.timeline
        for number in range(first, first + count):
            if number > first:
                self._advance(frame, timeline.days(number - 1), timeline.days(number))
            where, original = self._draw_rings(channels, timeline.days(number))
            yield frame
            for channel in range(3):
                channels[where + channel] = original[channel]

    def still(self, number: int) -> np.ndarray:
        """One frame, drawn from scratch (posters)."""
        frame = self._state_at(number)
        self._draw_rings(frame.reshape(-1), self.scene.timeline.days(number))
        return frame

    def _state_at(self, number: int) -> np.ndarray:
        """The ring-free frame, computed from the closed-form state (the replay)."""
        status, frame_day = self.scene.timeline.days(number)
        frame = self.canvas.copy()
        self.text_pixels[:] = False
        self._mark_text(self.scene.layout.date_box)
        for block, patch in self.labels:
            if block.first_day <= status:
                _paste(frame, block.label, patch)
                self._mark_text(block.label)
        self._date = None
        self._paint_date(frame, status)
        seen = self.changes.seen(status)
        self._paint_cells(frame, seen, status, frame_day)
        return frame

    def _advance(
        self, frame: np.ndarray, previous: tuple[int, int], current: tuple[int, int]
    ) -> None:
        status, frame_day = current
        if status != previous[0]:
            for block, patch in self.labels:
                if previous[0] < block.first_day <= status:
                    _paste(frame, block.label, patch)
                    self._mark_text(block.label)
            self._paint_date(frame, status)
        changed = self.changes.changed(previous, current)
        self._paint_cells(frame, changed, status, frame_day)

    def _mark_text(self, rect: Rect) -> None:
        self.text_pixels.reshape(self.height, self.width)[
            rect.y : rect.bottom, rect.x : rect.right
        ] = True

    def _paint_cells(
        self, frame: np.ndarray, index: np.ndarray, status: int, frame_day: int
    ) -> None:
        if len(index) == 0:
            return
        colors = cell_colors(self.scene.fleet.days, index, status, frame_day)
        # Byte offsets of every pixel of every cell; one flat scatter per channel is
        # several times faster than scattering 3-byte rows.
        where = (self.pixels[index][:, None] + self.cell_offsets[None, :]).ravel() * 3
        channels = frame.reshape(-1)
        for channel in range(3):
            channels[where + channel] = np.repeat(colors[:, channel], len(self.cell_offsets))

    def _paint_date(self, frame: np.ndarray, status: int) -> None:
        timeline = self.scene.timeline
        offset = status - timeline.start
        counts = self.scene.counts
        texts = (
            day_text(status),
            storage_text(int(self.scene.storage[offset])),
            counts_text(*map(int, counts[offset])) if counts is not None else "",
        )
        if texts != self._date:
            patch = date_patch(self.canvas, self.scene.layout, *texts)
            _paste(frame, self.scene.layout.date_box, patch)
            self._date = texts

    def _draw_rings(
        self, channels: np.ndarray, days: tuple[int, int]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Blend running rings into the frame; returns byte offsets and values to restore."""
        index, ages = self.changes.rings(*days)
        if len(index) == 0:
            return np.empty(0, dtype=np.int64), [np.empty(0, dtype=np.uint8)] * 3
        origin = self.pixels[index]
        sprites = self.sprites
        # All rings at once from the padded tables. Rings come oldest first, so where
        # rings overlap the fresh one is written last and wins.
        alpha = sprites.alpha[ages]
        where = origin[:, None] + sprites.offset[ages]
        keep = alpha > 0
        oy, ox = np.divmod(origin, self.width)
        reach = sprites.reach
        near_edge = (
            (oy < reach) | (oy >= self.height - reach) | (ox < reach) | (ox >= self.width - reach)
        )
        if near_edge.any():
            ys = oy[:, None] + sprites.dy[ages]
            xs = ox[:, None] + sprites.dx[ages]
            keep &= (ys >= 0) & (ys < self.height) & (xs >= 0) & (xs < self.width)
        keep[keep] &= ~self.text_pixels[where[keep]]
        where = where[keep] * 3
        alpha = alpha[keep]
        original = []
        for channel, level in enumerate(RING_COLOR):
            below = channels[where + channel]
            original.append(below)
            # alpha is out of 256, so a shift divides; the sum stays below 2**16.
            mixed = (below.astype(np.uint16) * (256 - alpha) + level * alpha + 128) >> 8
            channels[where + channel] = mixed.astype(np.uint8)
        return where, original


def drive_pixels(layout: Layout, fleet: MovieFleet) -> np.ndarray:
    """The flat pixel index of each drive's cell (its top-left pixel)."""
    block_of_entry = np.array(
        [layout.block_of_model[entry.model] for entry in fleet.models], dtype=np.int64
    )
    block = block_of_entry[fleet.model] if len(fleet.model) else np.empty(0, dtype=np.int64)
    rank = fleet.rank.astype(np.int64).copy()
    gathered = layout.gathered
    if gathered is not None:
        # Drives of gathered models share one block, ordered by first day then serial.
        other = layout.blocks.index(gathered)
        members = np.flatnonzero(block == other)
        order = np.lexsort((fleet.serial[members], fleet.days.first[members]))
        rank[members[order]] = np.arange(len(members))
    xs_of_block = np.array([b.x for b in layout.blocks], dtype=np.int64)
    bottoms = np.array([b.bottom for b in layout.blocks], dtype=np.int64)
    xs, ys = cell_origins(xs_of_block[block], bottoms[block], layout.cell, rank)
    return ys * layout.width + xs


def _paste(frame: np.ndarray, rect: Rect, patch: np.ndarray) -> None:
    frame[rect.y : rect.bottom, rect.x : rect.right] = patch
