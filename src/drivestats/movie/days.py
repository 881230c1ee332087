"""Days and frames: day numbers, and which day each frame of a movie shows.

Apart from the cell states so that planning a movie (naming its jobs, finding them
made) needs neither numpy nor Arrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RING_FRAMES = 50  # a failure's ring expands and fades out over this many frames
TAIL_FRAMES = RING_FRAMES  # frames after the last day, so running rings can finish
EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date | str) -> int:
    """Days since 1970-01-01 for a date or 'YYYY-MM-DD'."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return (day - EPOCH).days


def day_text(number: int) -> str:
    """'YYYY-MM-DD' for a day number."""
    return (EPOCH + dt.timedelta(days=int(number))).isoformat()


@dataclass(frozen=True)
class Timeline:
    """Frames of a movie: one per day from start to end, then a tail that holds the last day."""

    start: int
    end: int
    tail: int = TAIL_FRAMES

    @property
    def frames(self) -> int:
        return self.end - self.start + 1 + self.tail

    def days(self, frame: int) -> tuple[int, int]:
        """(day whose state the frame shows, day that drives its animations)."""
        frame_day = self.start + frame
        return min(frame_day, self.end), frame_day
