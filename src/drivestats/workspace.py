"""Where things live: one workspace folder holds the store, the jobs, the results and the data.

The workspace is chosen by ``--home DIR``, else the environment variable
``DRIVESTATS_HOME``, else ``$XDG_DATA_HOME/drivestats`` (``~/.local/share/drivestats``).
``drivestats demo`` uses ``~/.local/share/drivestats-demo`` instead of the last, so that
its synthetic fleet never mixes with real data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "DRIVESTATS_HOME"


def default_home() -> Path:
    """The workspace used when neither --home nor DRIVESTATS_HOME is given."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "drivestats"


def demo_home() -> Path:
    """Where `drivestats demo` works unless told otherwise: apart from real data."""
    return default_home().with_name("drivestats-demo")


@dataclass(frozen=True)
class Workspace:
    """The folder layout of one workspace; the only place that knows these paths."""

    home: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace for an explicit folder, the environment, or the default."""
        chosen = home or os.environ.get(HOME_ENV) or default_home()
        return cls(Path(chosen).expanduser().resolve())

    @property
    def store(self) -> Path:
        return self.home / "store"

    @property
    def months(self) -> Path:
        """One Parquet file per month, each drive's rows together: months/YYYY/YYYY-MM.parquet."""
        return self.store / "months"

    @property
    def store_lock(self) -> Path:
        return self.store / ".lock"

    @property
    def catalog(self) -> Path:
        """The SQLite catalog of sources, days and jobs."""
        return self.home / "catalog.sqlite"

    @property
    def jobs(self) -> Path:
        return self.home / "jobs"

    @property
    def demo_zips(self) -> Path:
        """Where the demo's synthetic zips are made (the jobs of stage synthetic-zips)."""
        return self.jobs / "synthetic-zips"

    @property
    def results(self) -> Path:
        return self.home / "results"

    @property
    def data(self) -> Path:
        """Downloaded or synthesized raw zips."""
        return self.home / "data"

    @property
    def scratch(self) -> Path:
        return self.home / "scratch"

    def month_file(self, month: str) -> Path:
        """The store file of one month, given as YYYY-MM."""
        return self.months / month[:4] / f"{month}.parquet"

    def day_file(self, day: str) -> Path:
        """The store file that holds a day (given as YYYY-MM-DD): its month's."""
        return self.month_file(day[:7])

    def relative(self, path: Path) -> str:
        """A path as written into catalogs and manifests: relative to the workspace."""
        return path.resolve().relative_to(self.home).as_posix()

    def ensure(self) -> Workspace:
        for folder in (self.home, self.store, self.months, self.jobs, self.results, self.data):
            folder.mkdir(parents=True, exist_ok=True)
        return self
