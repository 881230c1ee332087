"""The errors the library raises for a person to read; the CLI prints them without a traceback."""

from __future__ import annotations


class DrivestatsError(Exception):
    """A problem with the user's input or workspace, said in one clear sentence."""


class BadInputError(DrivestatsError):
    """An input file that cannot be read as Backblaze data; names the file, member and line."""

    def __init__(
        self, source: str, message: str, member: str | None = None, line: int | None = None
    ):
        self.source, self.member, self.line, self.reason = source, member, line, message
        where = source + (f" member {member}" if member else "") + (f" line {line}" if line else "")
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[BadInputError], tuple[str, str, str | None, int | None]]:
        # Pickled as what made it, so that it crosses to and from worker processes intact.
        return (BadInputError, (self.source, self.reason, self.member, self.line))


def counted(number: int, noun: str) -> str:
    """'1 segment', '2 segments', '1,200 jobs': a count and its noun in agreement."""
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def first_few(items: list[str], limit: int = 5) -> str:
    """Items for a message: 'a, b, c and 4 more' (a message names examples, not thousands)."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
