"""The store lock, the journal that publishes a source's months atomically, and snapshots."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import catalog
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    pass

# pyarrow, the reader and the month writer are imported where rows are handled, so that a

JOURNAL = "journal.json"  # in store/: the renames a publication commits to


# --- locking and the journal ----------------------------------------------------


@contextmanager
def store_lock(
    workspace: Workspace, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the store's exclusive lock; a second import waits for the first and says so."""
    workspace.ensure()
    with open(workspace.store_lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if on_wait:
                on_wait(f"another import is running (pid {holder}); waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        try:
            handle.write(f"{os.getpid()} on {socket.gethostname()}")  # for an import that waits
            handle.flush()
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(workspace.store_lock)) from None
        try:
            _roll_forward(workspace)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _journal_path(workspace: Workspace) -> Path:
    return workspace.store / JOURNAL


@contextmanager
def publish_lock(workspace: Workspace, shared: bool) -> Iterator[None]:
    """Publishing holds this exclusively; a reader taking a snapshot holds it shared.

    Held only while the journal is applied or a snapshot's links are made: milliseconds.
    """
    workspace.store.mkdir(parents=True, exist_ok=True)
    with open(workspace.store / ".publish-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(workspace: Workspace, entry: dict[str, Any]) -> None:
    """Write the journal, then apply it: links into days/, then the catalog rows."""
    with publish_lock(workspace, shared=False):
        _publish_now(workspace, entry)


def _publish_now(workspace: Workspace, entry: dict[str, Any]) -> None:
    journal = _journal_path(workspace)
    temporary = journal.with_suffix(".tmp")
    with open(temporary, "w") as handle:
        json.dump(entry, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, journal)
    _fsync_folder(workspace.store)
    _apply(workspace, entry)
    journal.unlink()


def _roll_forward(workspace: Workspace) -> None:
    """Finish a publication that a killed import had committed to; drop one it had not."""
    journal = _journal_path(workspace)
    if journal.exists():
        with publish_lock(workspace, shared=False):
            _apply(workspace, json.loads(journal.read_text()))
            journal.unlink()
    journal.with_suffix(".tmp").unlink(missing_ok=True)
    for pattern in ("*/.*.parquet.tmp", "*/.*.parquet.merge", "*/.*.parquet.merge.part*"):
        for leftover in workspace.months.glob(pattern):
            leftover.unlink(missing_ok=True)


def _apply(workspace: Workspace, entry: dict[str, Any]) -> None:
    """Put each month file in place (a link to the job's output, or a merged file), then the catalog.

    Idempotent: a journal applied twice (killed while applying) gives the same store.
    """
    for month in entry["months"]:
        target = workspace.home / month["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        if "merged" in month:
            merged = workspace.home / month["merged"]
            if merged.exists():
                os.replace(merged, target)
        else:
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.unlink(missing_ok=True)
            os.link(workspace.home / month["job_file"], temporary)
            os.replace(temporary, target)
    source = entry["source"]
    with catalog.connect(workspace) as connection:
        connection.execute("delete from sources where sha256 = ?", (source["sha256"],))
        connection.execute(
            "insert into sources values (:sha256, :path, :size, :mtime_ns, :first_day, :last_day,"
            " :days, :rows, :drives, :failures, :columns, :job_id, :imported_at)",
            source,
        )
        connection.executemany(
            "insert or replace into days values (:day, :file, :sha256, :size, :rows, :failures,"
            " :columns, :source_sha256, :member, :job_id)",
            entry["days"],
        )
        still_held = {row[0] for row in connection.execute("select distinct file from days")}
    # Files of an older layout (a file per day) whose days now live in a month file.
    for name in entry.get("obsolete", []):
        if name not in still_held:
            (workspace.home / name).unlink(missing_ok=True)
    from drivestats.iceberg import pins  # light: a stat, unless the store is exported

    pins.after_publication(workspace, entry)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def recover(workspace: Workspace) -> None:
    """Roll a killed import's committed journal forward now, unless an import is running."""
    if not _journal_path(workspace).exists():
        return
    with open(workspace.store_lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # the running import rolls it forward itself
        try:
            _roll_forward(workspace)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
