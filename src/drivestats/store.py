"""The store: one Parquet file per day, imported source by source, atomically.

Importing a source is a job (stage ``import``) whose outputs are the day files,
written in the job's own folder. The store's ``days/YYYY/YYYY-MM-DD.parquet``
are hard links to those outputs, so the store costs no extra space, every day
file names the job that made it, and replacing a day is one atomic rename.

Publishing a source's days into the store goes through a journal: the list of
links is written first, then applied, then entered into the catalog. A run
killed at any point leaves either the store as it was (no journal yet) or a
journal that the next import rolls forward.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from drivestats import catalog, jobs
from drivestats.backblaze import read
from drivestats.errors import BadInputError, DrivestatsError
from drivestats.workspace import Workspace

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}
JOURNAL = "journal.json"


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


# --- the import stage ---------------------------------------------------------


def _build_import(context: jobs.JobContext) -> None:
    """Read every daily member of one source and write each day as Parquet into the job folder."""
    source = _source_file(context)
    listener: ImportListener = context.progress or SilentListener()
    members = read.members_of(source)
    latest = {member.day: member for member in members}  # a later member of the same day wins
    duplicates = [m.name for m in members if latest[m.day] is not m]
    if duplicates:
        context.notes["duplicate_members_ignored"] = duplicates
    chosen = list(latest.values())
    (context.dir / "days").mkdir()
    # Two days at a time, each streamed in batches: memory stays bounded whatever a day's size.
    in_flight = 2

    def convert(
        job: tuple[read.Member, Future[bytes]],
    ) -> tuple[read.Member, dict[str, Any], pa.Array]:
        member, data = job
        stream = read.day_stream(member, data.result())
        counts = {"rows": 0, "failures": 0}
        seen: list[pa.Array] = []

        def counted(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
            for chunk in chunks:
                counts["rows"] += chunk.num_rows
                counts["failures"] += int(pc.sum(chunk.column("failure")).as_py() or 0)
                seen.append(pc.unique(chunk.column("serial_number")))
                yield chunk

        write_day(
            stream.schema, counted(stream.chunks), context.dir / "days" / f"{member.day}.parquet"
        )
        info = {"member": member.name, **counts, "columns": len(stream.schema) - 2}
        unique = pc.unique(pa.concat_arrays(seen)) if seen else pa.array([], pa.string())
        return member, info, unique

    serials: list[pa.Array] = []
    days: dict[str, dict[str, Any]] = {}
    done_bytes = total_rows = 0
    # The next member is decompressed (zlib releases the GIL) while this one is converted.
    with ThreadPoolExecutor(max_workers=1) as fetcher:
        fetched = _prefetched(fetcher, read.member_bytes, chosen, ahead=in_flight + 1)
        for member, info, unique_serials in _in_order(convert, fetched, in_flight):
            days[member.day] = info
            serials.append(unique_serials)
            total_rows += info["rows"]
            done_bytes += member.size
            listener.advanced(source, done_bytes, total_rows)
    drives = len(pc.unique(pa.concat_arrays(serials))) if serials else 0
    context.rows.update({"rows": total_rows, "days": len(days), "drives": drives})
    context.notes["days"] = days


def write_day(schema: pa.Schema, chunks: Iterator[pa.Table], path: Path) -> None:
    """One day as Parquet, a row group per chunk, written on a thread while the next is parsed.

    zstd; dictionaries only for text (they only slow the mostly empty SMART numbers).
    """
    text = [f.name for f in schema if pa.types.is_string(f.type)]
    handoff: queue.Queue[pa.Table | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with pq.ParquetWriter(path, schema, use_dictionary=text, **PARQUET_OPTIONS) as writer:
                while (chunk := handoff.get()) is not None:
                    writer.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
        except BaseException as error:  # noqa: BLE001 - raised again in the reading thread
            failure.append(error)
            while handoff.get() is not None:  # keep the reader from blocking on a full queue
                pass

    writer_thread = threading.Thread(target=write, name=f"write {path.name}")
    writer_thread.start()
    try:
        for chunk in chunks:
            handoff.put(chunk)
    finally:
        handoff.put(None)
        writer_thread.join()
    if failure:
        raise failure[0]


def _prefetched(
    pool: ThreadPoolExecutor, function: Callable[[Any], Any], items: list[Any], ahead: int
) -> Iterator[tuple[Any, Future[Any]]]:
    """(item, future of function(item)) pairs, with up to `ahead` futures started in advance."""
    pending: deque[tuple[Any, Future[Any]]] = deque()
    queue = iter(items)
    try:
        for item in queue:
            pending.append((item, pool.submit(function, item)))
            if len(pending) > ahead:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
    finally:
        for _, future in pending:
            future.cancel()


def _in_order(
    function: Callable[[Any], Any], items: Iterable[Any], in_flight: int
) -> Iterator[Any]:
    """function over items on threads, at most in_flight at once, results in the items' order."""
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        pending: deque[Future[Any]] = deque()
        queue = iter(items)
        try:
            for item in itertools.islice(queue, in_flight):
                pending.append(pool.submit(function, item))
            while pending:
                result = pending.popleft().result()
                for item in itertools.islice(queue, 1):
                    pending.append(pool.submit(function, item))
                yield result
        finally:
            for future in pending:
                future.cancel()


def _source_name(workspace: Workspace, source: Path) -> str:
    """How an import names its source: workspace-relative inside the workspace, else the file name.

    Never the absolute path, so that a moved workspace or data folder keeps its import jobs.
    """
    resolved = source.resolve()
    if resolved.is_relative_to(workspace.home):
        return workspace.relative(resolved)
    return resolved.name


def _source_file(context: jobs.JobContext) -> Path:
    """The file an import reads: where the caller says, else where the catalog last saw it."""
    if "path" in context.hints:
        return Path(context.hints["path"])
    ((name, digest),) = context.inputs.items()
    known = catalog.query(context.workspace, "select path from sources where sha256 = ?", (digest,))
    for candidate in [row["path"] for row in known] + [str(context.workspace.home / name)]:
        path = Path(candidate)
        if path.is_file() and jobs.file_sha256(path) == digest:
            return path
    raise DrivestatsError(
        f"the source of this import ({name}, sha256 {digest[:16]}…) is no longer where it was "
        "imported from, or has changed"
    )


IMPORT = jobs.Stage(
    "import",
    _build_import,
    ("drivestats.store", "drivestats.backblaze.read", "drivestats.backblaze.format"),
)


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
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            _roll_forward(workspace)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _journal_path(workspace: Workspace) -> Path:
    return workspace.store / JOURNAL


def _publish(workspace: Workspace, entry: dict[str, Any]) -> None:
    """Write the journal, then apply it: links into days/, then the catalog rows."""
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
        _apply(workspace, json.loads(journal.read_text()))
        journal.unlink()
    journal.with_suffix(".tmp").unlink(missing_ok=True)
    for leftover in workspace.days.glob("*/.*.parquet.tmp"):
        leftover.unlink(missing_ok=True)


def _apply(workspace: Workspace, entry: dict[str, Any]) -> None:
    for day in entry["days"]:
        target = workspace.day_file(day["day"])
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.unlink(missing_ok=True)
        os.link(workspace.home / day["job_file"], temporary)
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


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- importing ------------------------------------------------------------------


def import_sources(
    workspace: Workspace,
    paths: list[Path],
    listener: ImportListener | None = None,
    force: bool = False,
) -> ImportReport:
    """Import zips, daily CSVs and folders of them; skip what is imported; one source at a time."""
    listener = listener or SilentListener()
    sources = read.sources_under([Path(p) for p in paths])
    outcomes = []
    with store_lock(workspace, on_wait=listener.note):
        _refuse_mixing_with_the_demo(workspace, sources)
        for source in sources:
            outcomes.append(_import_one(workspace, source, listener, force))
    return ImportReport(outcomes)


def _refuse_mixing_with_the_demo(workspace: Workspace, incoming: list[Path]) -> None:
    """Real data imported over the demo's synthetic days would leave a store of both."""
    demo = workspace.demo_zips.resolve()
    held = catalog.query(workspace, "select path from sources")
    if any(Path(row["path"]).resolve().is_relative_to(demo) for row in held) and not all(
        source.resolve().is_relative_to(demo) for source in incoming
    ):
        raise DrivestatsError(
            f"{workspace.home} holds the demo's synthetic fleet; import real data into a "
            "workspace of its own (drivestats --home DIR import ...), or delete this one first"
        )


def _import_one(
    workspace: Workspace, source: Path, listener: ImportListener, force: bool
) -> SourceOutcome:
    started = time.perf_counter()
    stat = source.stat()
    outcome = SourceOutcome(path=str(source), status="skipped")
    known = catalog.query(
        workspace,
        "select * from sources where path = ? and size = ? and mtime_ns = ?",
        (str(source), stat.st_size, stat.st_mtime_ns),
    )
    if not known or force:
        digest = jobs.file_sha256(source)
        known = (
            []
            if force
            else catalog.query(workspace, "select * from sources where sha256 = ?", (digest,))
        )
    if known:
        row = known[0]
        digest = row["sha256"]
        _remember_location(workspace, digest, source, stat)
        owned = catalog.query(
            workspace, "select count(*) as n from days where source_sha256 = ?", (digest,)
        )[0]["n"]
        if owned == row["days"]:
            _fill(outcome, row)
            outcome.seconds = time.perf_counter() - started
            return outcome
        # Some of its days were taken over by a later source; importing it again means it wins.
        listener.note(
            f"{source.name}: imported before, but {row['days'] - owned} of its days now come from another source; taking them back"
        )
    listener.source_started(source, stat.st_size)
    try:
        job = jobs.run(
            workspace,
            IMPORT,
            params={"source": _source_name(workspace, source)},
            inputs={_source_name(workspace, source): digest},
            progress=listener,
            hints={"path": str(source)},
        )
    except BadInputError as error:
        outcome.status, outcome.error = "failed", str(error)
        outcome.seconds = time.perf_counter() - started
        return outcome
    entry = _publication(workspace, job, source, stat, digest)
    outcome.replaced_days = _replaced_days(workspace, entry)
    _publish(workspace, entry)
    _fill(outcome, entry["source"])
    outcome.status = "imported"
    outcome.seconds = time.perf_counter() - started
    return outcome


def _remember_location(
    workspace: Workspace, digest: str, source: Path, stat: os.stat_result
) -> None:
    """A known source seen at a new path (or touched): note where, for the fast skip and verify."""
    with catalog.connect(workspace) as connection:
        connection.execute(
            "update sources set path = ?, size = ?, mtime_ns = ? where sha256 = ?"
            " and (path != ? or mtime_ns != ?)",
            (str(source), stat.st_size, stat.st_mtime_ns, digest, str(source), stat.st_mtime_ns),
        )


def _fill(outcome: SourceOutcome, row: dict[str, Any]) -> None:
    for name in (
        "sha256",
        "first_day",
        "last_day",
        "days",
        "rows",
        "drives",
        "failures",
        "columns",
        "job_id",
    ):
        setattr(outcome, name, row[name])


def _publication(
    workspace: Workspace, job: jobs.JobResult, source: Path, stat: os.stat_result, digest: str
) -> dict[str, Any]:
    outputs = {o["name"]: o for o in job.manifest["outputs"]}
    day_notes: dict[str, dict[str, Any]] = job.manifest["notes"]["days"]
    days = []
    for day, info in sorted(day_notes.items()):
        output = outputs[f"days/{day}.parquet"]
        days.append(
            {
                "day": day,
                "file": workspace.relative(workspace.day_file(day)),
                "job_file": workspace.relative(job.output(output["name"])),
                "sha256": output["sha256"],
                "size": output["size"],
                "rows": info["rows"],
                "failures": info["failures"],
                "columns": info["columns"],
                "source_sha256": digest,
                "member": info["member"],
                "job_id": job.id,
            }
        )
    source_row = {
        "sha256": digest,
        "path": str(source),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "first_day": days[0]["day"] if days else None,
        "last_day": days[-1]["day"] if days else None,
        "days": len(days),
        "rows": job.manifest["rows"]["rows"],
        "drives": job.manifest["rows"]["drives"],
        "failures": sum(d["failures"] for d in days),
        "columns": max((d["columns"] for d in days), default=0),
        "job_id": job.id,
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return {"source": source_row, "days": days}


def _replaced_days(workspace: Workspace, entry: dict[str, Any]) -> list[tuple[str, str]]:
    """Days this source takes over from an earlier source: (day, earlier source path)."""
    replaced = []
    rows = catalog.query(
        workspace,
        "select d.day, s.path from days d join sources s on s.sha256 = d.source_sha256",
    )
    earlier = {row["day"]: row["path"] for row in rows}
    for day in entry["days"]:
        if day["day"] in earlier and earlier[day["day"]] != entry["source"]["path"]:
            replaced.append((day["day"], earlier[day["day"]]))
    return replaced


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


def day_files(workspace: Workspace, start: str | None = None, end: str | None = None) -> list[Path]:
    """The Parquet files of the days in [start, end]: a date range reads only these."""
    return [workspace.home / row["file"] for row in stored_days(workspace, start, end)]


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
    )
    return connection
