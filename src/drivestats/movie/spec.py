"""What decides every frame of a movie: its days, its look, where it is cut into segments.

A ``MovieSpec`` is plain data: the movie job's identity is a hash of it (and of its fleet
tables), and a segment's of the part of it its frames show.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from drivestats import jobs
from drivestats.errors import DrivestatsError
from drivestats.movie.days import Timeline, day_number, day_text

# Frames per segment job (10 s at 60 fps). Each segment pays an encoder start and a drain at
# its end (~0.3 s); 600 frames keep that near 5% while a 13-year movie still splits into
# eight jobs to spread over workers and to resume from.
SEGMENT_FRAMES = 600


DEFAULT_SIZE = (1920, 1080)


DEFAULT_FPS = 60


MIN_SECONDS = 5  # an automatic frame rate makes a short range last at least this long


@dataclass(frozen=True)
class Look:
    """How a movie looks, apart from its days: canvas, frame rate, placement, watermark, cell."""

    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    fps: int | None = None  # None: DEFAULT_FPS, fewer when that would last under MIN_SECONDS
    layout: tuple[tuple[int, int, str], ...] = ()  # 'x y model' overrides from a layout file
    watermark: str = ""
    cell: str = "auto"  # "auto" (the largest that fits the fleet) or pixels


DEFAULT_LOOK = Look()


@dataclass(frozen=True)
class MovieSpec:
    """Plain data that decides every frame: the days, the removal cut-off, the look, the cuts."""

    start: str
    end: str
    until: str
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    fps: int = DEFAULT_FPS
    segment_frames: int = SEGMENT_FRAMES
    layout: tuple[tuple[int, int, str], ...] = ()
    watermark: str = ""
    cell: str = "auto"
    # The blocks of the earlier movie of this look ('x bottom model' at anchor_cell px), kept
    # where they were if they still fit, so that its segments stay valid.
    anchors: tuple[tuple[int, int, str], ...] = ()
    anchor_cell: int = 0
    # A clip shows only these days of the movie above (start..end), exactly as it shows
    # them: the same layout and states. Empty: every frame.
    clip_start: str = ""
    clip_end: str = ""

    def params(self) -> dict[str, Any]:
        values = asdict(self)
        values["layout"] = [list(entry) for entry in self.layout]
        values["anchors"] = [list(entry) for entry in self.anchors]
        return values

    @classmethod
    def from_params(cls, values: dict[str, Any]) -> MovieSpec:
        values = dict(values)
        for key in ("layout", "anchors"):
            values[key] = tuple((int(x), int(y), str(m)) for x, y, m in values.get(key, ()))
        return cls(**values)

    def same_look(self, other: MovieSpec) -> bool:
        """Whether two movies draw the same frames for their common days (their ends may differ)."""
        # Not the frame rate nor the clip: they change no pixel of any frame.
        keys = ("start", "width", "height", "segment_frames", "layout", "watermark", "cell")
        return all(getattr(self, key) == getattr(other, key) for key in keys)

    @property
    def timeline(self) -> Timeline:
        return Timeline(day_number(self.start), day_number(self.end))

    @property
    def frame_range(self) -> tuple[int, int]:
        """(first frame, frame after the last) shown: every frame, or the clip's days."""
        timeline = self.timeline
        first = day_number(self.clip_start) - timeline.start if self.clip_start else 0
        if self.clip_end and self.clip_end != self.end:
            return first, day_number(self.clip_end) - timeline.start + 1
        return first, timeline.frames  # up to the end: the tail too

    @property
    def frame_count(self) -> int:
        first, stop = self.frame_range
        return stop - first

    def segments(self) -> list[tuple[int, int]]:
        """(first frame, frame count) of each segment: cut where the whole movie's are."""
        first, stop = self.frame_range
        cuts = range(
            first - first % self.segment_frames + self.segment_frames, stop, self.segment_frames
        )
        starts = [first, *cuts]
        return [(a, b - a) for a, b in zip(starts, [*cuts, stop], strict=True)]

    def whole(self) -> MovieSpec:
        """The movie this one is a clip of (itself when it is no clip)."""
        return dataclasses.replace(self, clip_start="", clip_end="")

    def result_name(self, asked: dict[str, Any]) -> str:
        """Its name in results/: movie.mp4 for the default movie, else from range, size, fps.

        Movies that differ get different names: `--until`, a frame rate other than the
        automatic one, and the other look options (layout file, cell, watermark) show.
        """
        parts = []
        if asked.get("layout") == "range":
            parts.append(f"{self.start}-to-{self.end}-range-layout")
        elif self.clip_start or self.clip_end:
            parts.append(f"{self.clip_start or self.start}-to-{self.clip_end or self.end}")
        if asked.get("until"):
            parts.append(f"until-{self.until}")
        if (self.width, self.height) != DEFAULT_SIZE:
            parts.append(f"{self.width}x{self.height}")
        if asked.get("fps") is not None and asked["fps"] != automatic_fps(self.frame_count):
            parts.append(f"{self.fps}fps")
        others = {"layout": self.layout, "cell": self.cell, "watermark": self.watermark}
        if others != {"layout": (), "cell": "auto", "watermark": ""}:
            look = json.dumps([list(map(list, self.layout)), self.cell, self.watermark])
            parts.append("look-" + hashlib.sha256(look.encode()).hexdigest()[:6])
        return "-".join(["movie", *parts]) + ".mp4"


def movie_spec(
    fleet_job: jobs.JobResult,
    start: str | None = None,
    end: str | None = None,
    look: Look = DEFAULT_LOOK,
    segment_frames: int = SEGMENT_FRAMES,
) -> MovieSpec:
    """The spec of a movie over a fleet job's days: default range is everything it holds."""
    noted = fleet_job.manifest["notes"].get("days")
    if noted:
        first_day = day_number(noted[0])
    else:  # fleet tables made before they noted their days
        import pyarrow.compute as pc

        from drivestats.fleet import read_table

        daily = read_table(fleet_job, "daily")
        if daily.num_rows == 0:
            raise DrivestatsError("the fleet tables hold no days; run `drivestats import` first")
        first_day = day_number(pc.min(daily["date"]).as_py())
    until = day_number(fleet_job.manifest["parameters"]["until"])
    begin = max(day_number(start), first_day) if start else first_day
    finish = min(day_number(end), until) if end else until
    if begin > finish:
        raise DrivestatsError(
            f"the movie range {start or day_text(first_day)} .. {end or day_text(until)} "
            "holds no imported day"
        )
    if (look.fps is not None and look.fps < 1) or segment_frames < 1:
        raise DrivestatsError("fps and segment length must be positive")
    if look.cell == "default":  # the name of 'auto' before the fitted cell became the default
        look = dataclasses.replace(look, cell="auto")
    if look.cell != "auto" and not look.cell.isdigit():
        raise DrivestatsError(f"the cell size is 'auto' or pixels, not {look.cell!r}")
    values = {**asdict(look), "layout": tuple(look.layout), "fps": look.fps or DEFAULT_FPS}
    return MovieSpec(
        start=day_text(begin),
        end=day_text(finish),
        until=day_text(until),
        segment_frames=segment_frames,
        **values,
    )


def clipped(spec: MovieSpec, start: str | None, end: str | None) -> MovieSpec:
    """The clip of a movie that shows only the days start..end (within the movie's days)."""
    first = max(start or spec.start, spec.start)
    last = min(end or spec.end, spec.end)
    if first > last:
        raise DrivestatsError(
            f"the clip {start or spec.start} .. {end or spec.end} lies outside the imported "
            f"days {spec.start} .. {spec.end}"
        )
    if first == spec.start and last == spec.end:
        return spec.whole()
    return dataclasses.replace(spec, clip_start=first, clip_end=last)


def with_frame_rate(spec: MovieSpec, fps: int | None) -> MovieSpec:
    """The spec at the asked frame rate, or the automatic one: DEFAULT_FPS unless that would
    make the movie shorter than MIN_SECONDS."""
    return dataclasses.replace(spec, fps=automatic_fps(spec.frame_count) if fps is None else fps)


def automatic_fps(frames: int) -> int:
    """DEFAULT_FPS, or fewer frames per second so that a short movie lasts MIN_SECONDS."""
    return min(DEFAULT_FPS, max(1, frames // MIN_SECONDS))
