"""The workspace's SQLite catalog: imported sources, stored days, jobs and their outputs.

WAL mode, so the board can read while an import or a render writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from drivestats.workspace import Workspace

SCHEMA = """
create table if not exists sources (
    sha256 text primary key,
    path text not null,
    size integer not null,
    mtime_ns integer not null,
    first_day text,
    last_day text,
    days integer not null,
    rows integer not null,
    drives integer not null,
    failures integer not null,
    columns integer not null,
    job_id text,
    imported_at text not null
);
create index if not exists sources_by_path on sources(path, size, mtime_ns);
create table if not exists days (
    day text primary key,
    file text not null,
    sha256 text not null,
    size integer not null,
    rows integer not null,
    failures integer not null,
    columns integer not null,
    source_sha256 text not null,
    member text not null,
    job_id text
);
create table if not exists jobs (
    id text primary key,
    stage text not null,
    parameters text not null,
    folder text not null,
    created text not null,
    seconds real not null,
    cpu_seconds real not null
);
create table if not exists job_runs (
    job_id text not null,
    at text not null,
    reused integer not null
);
create index if not exists job_runs_by_job on job_runs(job_id);
create table if not exists job_outputs (
    job_id text not null,
    name text not null,
    sha256 text not null,
    size integer not null,
    primary key (job_id, name)
);
create index if not exists job_outputs_by_hash on job_outputs(sha256);
create table if not exists runs (
    id text primary key,
    command text not null,
    started text not null,
    seconds real not null,
    cpu_seconds real not null,
    exit_code integer not null
);
"""
# Columns added since a catalog was first made: (table, column, declaration).
ADDED_COLUMNS = [("job_runs", "run_id", "text")]


@contextmanager
def connect(workspace: Workspace) -> Iterator[sqlite3.Connection]:
    """A connection in one transaction: committed on success, rolled back on error."""
    workspace.home.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(workspace.catalog, timeout=60)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("pragma journal_mode=wal")
        connection.execute("pragma synchronous=normal")
        connection.executescript(SCHEMA)
        for table, column, declaration in ADDED_COLUMNS:
            held = {row[1] for row in connection.execute(f"pragma table_info({table})")}
            if column not in held:
                connection.execute(f"alter table {table} add column {column} {declaration}")
        with connection:
            yield connection
    finally:
        connection.close()


def query(workspace: Workspace, sql: str, params: tuple = ()) -> list[dict]:
    """Rows of a read query as plain dicts (an empty list when there is no catalog yet).

    The connection is read-only: a reader (the board) never writes to the catalog.
    """
    if not workspace.catalog.exists():
        return []
    connection = sqlite3.connect(f"{workspace.catalog.as_uri()}?mode=ro", uri=True, timeout=60)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()
