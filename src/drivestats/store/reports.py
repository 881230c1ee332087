"""What an import run tells its caller: listeners for progress, one outcome per source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    pass


class ImportListener(Protocol):
    """Receives progress from an import; the CLI draws it, tests may count it."""

    def source_started(self, source: Path, total_bytes: int) -> None: ...
    def advanced(self, source: Path, done_bytes: int, rows: int) -> None: ...
    def note(self, message: str) -> None: ...


class SilentListener:
    """An ImportListener that ignores everything."""

    def source_started(self, source: Path, total_bytes: int) -> None:
        pass

    def advanced(self, source: Path, done_bytes: int, rows: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class SourceOutcome:
    """What happened to one source in an import run."""

    path: str
    status: str  # imported | skipped | failed
    sha256: str | None = None
    first_day: str | None = None
    last_day: str | None = None
    days: int = 0
    rows: int = 0
    drives: int = 0
    failures: int = 0
    columns: int = 0
    seconds: float = 0.0
    job_id: str | None = None
    error: str | None = None
    replaced_days: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    outcomes: list[SourceOutcome]

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]
