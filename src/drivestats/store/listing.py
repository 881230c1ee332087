"""Reading the store: sources, stored days, the day files a job reads, DuckDB over them."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import catalog, jobs
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    pass

# pyarrow, the reader and the month writer are imported where rows are handled, so that a
from drivestats.store.publishing import publish_lock, recover

# --- reading the store ------------------------------------------------------------


def sources(workspace: Workspace) -> list[dict[str, Any]]:
    """Every imported source, in import order, with how many of its days the store holds now.

    A day also in a later source is held from that one (days_in_store < days).
    """
    recover(workspace)
    return catalog.query(
        workspace,
        "select path, sha256, first_day, last_day, days,"
        " (select count(*) from days d where d.source_sha256 = s.sha256) as days_in_store,"
        " rows, drives, failures, columns, imported_at, job_id"
        " from sources s order by imported_at, path",
    )


def stored_days(
    workspace: Workspace,
    start: str | None = None,
    end: str | None = None,
    read_only: bool = False,
) -> list[dict[str, Any]]:
    """The days in the store within [start, end], oldest first, with file and sha256."""
    if not read_only:
        recover(workspace)
    return catalog.query(
        workspace,
        "select * from days where day >= ? and day <= ? order by day",
        (start or "0000-00-00", end or "9999-99-99"),
    )


def day_inputs(days: list[dict[str, Any]]) -> dict[str, str]:
    """Stored days as a job's inputs: ``<file>#<day>`` and a digest of the rows the day holds.

    A day's rows are what its import job made of its member, wherever the store keeps them
    (a month file changes when later days join it; the day's rows do not), so the digest is
    that of the import job id and the member: a job over days up to D stays the same job
    after days past D are imported.
    """
    import hashlib

    return {
        f"{row['file']}#{row['day']}": hashlib.sha256(
            f"{row['job_id']}\0{row['member']}".encode()
        ).hexdigest()
        for row in days
    }


def files_of_inputs(inputs: dict[str, str]) -> list[str]:
    """The store files named by day_inputs, each once, in order."""
    return sorted({name.split("#", 1)[0] for name in inputs})


def day_files(workspace: Workspace, start: str | None = None, end: str | None = None) -> list[Path]:
    """The Parquet files holding the days in [start, end]: a date range reads only these.

    A file (a month) may hold days outside the range too: filter rows by date.
    """
    files = dict.fromkeys(row["file"] for row in stored_days(workspace, start, end))
    return [workspace.home / name for name in files]


def connect_duckdb(workspace: Workspace, start: str | None = None, end: str | None = None):  # type: ignore[no-untyped-def]
    """A DuckDB connection with a view ``drive_days`` over the store's days in [start, end]."""
    import duckdb

    files = day_files(workspace, start, end)
    if not files:
        raise DrivestatsError(
            f"the store in {workspace.home} holds no days in that range; run `drivestats import` first"
        )
    connection = duckdb.connect()
    listing = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
    connection.execute(
        f"create view drive_days as select * from read_parquet([{listing}], union_by_name = true)"
        f" where date between '{start or '0001-01-01'}' and '{end or '9999-12-31'}'"
    )
    return connection


@dataclass
class Snapshot:
    """The store's days up to a day, as they were at one moment, readable for as long as needed.

    Month files are never changed in place (publishing replaces them with new files), so
    hard links made under the publish lock keep the very bytes the catalog rows named.
    """

    days: list[dict[str, Any]]
    folder: Path  # holds the snapshot's links at the store files' workspace-relative paths

    def path(self, name: str) -> Path:
        return self.folder / name


@contextmanager
def snapshot(workspace: Workspace, until: str | None = None) -> Iterator[Snapshot]:
    """The days up to ``until`` and links to their files, consistent with each other.

    Jobs that read the store read a snapshot: a job is named after one store state and
    computed from exactly that state, whatever imports publish meanwhile.
    """
    recover(workspace)
    workspace.scratch.mkdir(parents=True, exist_ok=True)
    # A killed reader leaves its links, which would keep replaced month files on disk.
    jobs.sweep_abandoned(workspace.scratch, "snapshot-*")
    folder = workspace.scratch / f"snapshot-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with publish_lock(workspace, shared=True):
            days = stored_days(workspace, end=until, read_only=True)
            for name in dict.fromkeys(row["file"] for row in days):
                link = folder / name
                link.parent.mkdir(parents=True, exist_ok=True)
                os.link(workspace.home / name, link)
        yield Snapshot(days, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
