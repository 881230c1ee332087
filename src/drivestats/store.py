"""The store: one Parquet file per month (see months.py), imported source by source, atomically.

Importing a source is a job (stage ``import``) whose outputs are its month
files, written in the job's own folder. The store's
``months/YYYY/YYYY-MM.parquet`` are hard links to those outputs when one
source holds the month, so the store costs no extra space and every month file
names the job that made it; a month that keeps days of another source is
merged into a new file first. The catalog lists every day and where it is.

Publishing a source's months into the store goes through a journal: the list
of renames is written first, then applied, then entered into the catalog. A run
killed at any point leaves either the store as it was (no journal yet) or a
journal that the next import rolls forward.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import json
import os
import shutil
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drivestats import catalog, jobs
from drivestats.errors import BadInputError, DrivestatsError, first_few
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from drivestats.backblaze import read

# pyarrow, the reader and the month writer are imported where rows are handled, so that a
# command that only reuses jobs (reads the catalog, names days) never pays for them.
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
    """Read every daily member of one source and write each month as one Parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from drivestats import months
    from drivestats.backblaze import read

    source = _source_file(context)
    if source.suffix.lower() == ".parquet":  # Backblaze's Parquet files (drivestats.iceberg)
        from drivestats.iceberg import parquet_source

        return parquet_source.build(context, source)
    listener: ImportListener = context.progress or SilentListener()
    members = read.members_of(source)
    latest = {member.day: member for member in members}  # a later member of the same day wins
    duplicates = [m.name for m in members if latest[m.day] is not m]
    if duplicates:
        context.notes["duplicate_members_ignored"] = duplicates
    # Day by day, so that each month is finished before the next one starts.
    chosen = [latest[day] for day in sorted(latest)]
    (context.dir / "months").mkdir()
    # One day parsed (on all cores) while the last one is handed to the month writer, whose
    # thread sorts and writes: a second day in flight cost 0.8 GB at 2026's 345,000 drives a
    # day (3.6 GB peak instead of 2.9) and gained nothing on two cores.
    in_flight = 1

    def convert(
        job: tuple[read.Member, Future[bytes]],
    ) -> tuple[read.Member, dict[str, Any], pa.Array, list[pa.Table]]:
        member, data = job
        stream = read.day_stream(member, data.result())
        counts = {"rows": 0, "failures": 0}
        seen: list[pa.Array] = []
        chunks: list[pa.Table] = []
        for chunk in stream.chunks:
            counts["rows"] += chunk.num_rows
            counts["failures"] += int(pc.sum(chunk.column("failure")).as_py() or 0)
            seen.append(pc.unique(chunk.column("serial_number")))
            chunks.append(chunk)
        info: dict[str, Any] = {"member": member.name, **counts}
        info["columns"] = len(stream.schema) - 2
        unique = pc.unique(pa.concat_arrays(seen)) if seen else pa.array([], pa.string())
        if len(unique) < counts["rows"]:
            repeated = _duplicates(source, member, chunks)
            info["duplicates"] = repeated
            listener.note(
                f"{Path(member.name).name}: {repeated['rows']:,} rows repeat a drive "
                f"of that day ({_lines_text(repeated)}); kept as published"
            )
        return member, info, unique, chunks or [stream.schema.empty_table()]

    serials: list[pa.Array] = []
    days: dict[str, dict[str, Any]] = {}
    done_bytes = total_rows = 0
    month: str | None = None
    writer: months.MonthWriter | None = None
    from drivestats.provenance import parquet_provenance

    provenance = parquet_provenance(
        context.id, IMPORT.name, IMPORT.code_fingerprint()["sha256"], sources=dict(context.inputs)
    )
    # The next member is decompressed (zlib releases the GIL) while this one is converted.
    try:
        with ThreadPoolExecutor(max_workers=1) as fetcher:
            fetched = _prefetched(fetcher, read.member_bytes, chosen, ahead=in_flight + 1)
            for member, info, unique, chunks in _in_order(convert, fetched, in_flight):
                if months.month_of(member.day) != month:
                    if writer is not None:
                        writer.finish()
                    month = months.month_of(member.day)
                    target = context.dir / "months" / f"{month}.parquet"
                    writer = months.MonthWriter(target, {**provenance, "month": month})
                assert writer is not None
                for chunk in chunks:
                    writer.add(chunk)
                days[member.day] = info
                serials.append(unique)
                total_rows += info["rows"]
                done_bytes += member.size
                listener.advanced(source, done_bytes, total_rows)
            if writer is not None:
                writer.finish()
                writer = None
    finally:
        if writer is not None:
            writer.abort()
    _refuse_if_changed(source, context.hints.get("identity"))
    drives = len(pc.unique(pa.concat_arrays(serials))) if serials else 0
    context.rows.update({"rows": total_rows, "days": len(days), "drives": drives})
    context.notes["days"] = days


# A day may repeat a drive's row a few times (kept and reported); more than this is a broken
# file, not data: the source is refused.
DUPLICATE_LIMIT = 10


def _duplicates(source: Path, member: read.Member, chunks: list[pa.Table]) -> dict[str, Any]:
    """Rows of a day that repeat a serial number: how many, and the first few by line."""
    import pyarrow as pa

    serials = pa.chunked_array([chunk.column("serial_number") for chunk in chunks])
    table = pa.table({"serial": serials, "line": pa.array(range(2, len(serials) + 2))})
    groups = table.group_by("serial", use_threads=False).aggregate([("line", "list")])
    repeated = [
        (lines[0], serial, lines)
        for serial, lines in zip(
            groups["serial"].to_pylist(), groups["line_list"].to_pylist(), strict=True
        )
        if len(lines) > 1
    ]
    extra = sum(len(lines) - 1 for _, _, lines in repeated)
    found = {
        "rows": extra,
        "first": [
            {"serial": serial, "lines": lines[:5]} for _, serial, lines in sorted(repeated)[:3]
        ],
    }
    if extra > DUPLICATE_LIMIT:
        raise BadInputError(
            str(source),
            f"{extra:,} rows repeat a drive already reported that day ({_lines_text(found)}); "
            f"more than {DUPLICATE_LIMIT} is a broken file, so nothing was stored",
            member=member.name if member.in_zip else None,
        )
    return found


def _lines_text(found: dict[str, Any]) -> str:
    return "; ".join(
        f"{entry['serial']} at lines {', '.join(map(str, entry['lines']))}"
        for entry in found["first"]
    )


def _file_identity(stat: os.stat_result) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _refuse_if_changed(source: Path, before: list[int] | None) -> None:
    """The file read must be the file hashed: replaced or rewritten meanwhile, nothing is kept."""
    if before is None:
        return
    try:
        now = _file_identity(source.stat())
    except FileNotFoundError:
        now = None
    if now != list(before):
        raise BadInputError(
            str(source),
            "the file changed while it was imported (replaced, rewritten or deleted after "
            "it was hashed); nothing was stored: import it again",
        )


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
    (
        "drivestats.store",
        "drivestats.months",
        "drivestats.backblaze.read",
        "drivestats.backblaze.sources",
        "drivestats.backblaze.format",
        "drivestats.iceberg.mapping",
        "drivestats.iceberg.monthly",
        "drivestats.iceberg.parquet_source",
    ),
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


def _publish(workspace: Workspace, entry: dict[str, Any]) -> None:
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


# --- importing ------------------------------------------------------------------


def import_sources(
    workspace: Workspace,
    paths: list[Path] | list[str] | list[Path | str],
    listener: ImportListener | None = None,
    force: bool = False,
    cluster: str | None = None,
) -> ImportReport:
    """Import zips, daily CSVs, Parquet files, folders of them and Iceberg tables (see
    drivestats.iceberg.refs); skip what is imported; one source at a time, in the order given.

    With a Dask scheduler's address as ``cluster``, the import jobs of files are built on its
    workers in parallel; publishing stays here, source by source in the same order.
    """
    from drivestats.backblaze.sources import sources_under
    from drivestats.iceberg.refs import TableRef, table_ref

    listener = listener or SilentListener()
    sources: list[Path | TableRef] = []
    for given in paths:
        table = table_ref(str(given))
        found = [table] if table is not None else sources_under([Path(given)])
        sources += [s for s in found if s not in sources]
    outcomes = []
    with store_lock(workspace, on_wait=listener.note):
        _refuse_mixing_with_the_demo(
            workspace, [Path(s.text) if isinstance(s, TableRef) else s for s in sources]
        )
        files = [source for source in sources if not isinstance(source, TableRef)]
        builder: ImportBuilder = LocalBuilder()
        if cluster is not None and files:
            from drivestats.cluster import ClusterImportBuilder

            builder = ClusterImportBuilder(workspace, cluster, files, force, listener)
        with builder:
            for source in sources:
                if isinstance(source, TableRef):
                    from drivestats.iceberg.table_source import import_table

                    outcomes.append(import_table(workspace, source, listener, force))
                else:
                    outcomes.append(_import_one(workspace, source, listener, force, builder))
    return ImportReport(outcomes)


@dataclass(frozen=True)
class ImportBuild:
    """What an import job is made of: all a process here or on another machine needs to build it."""

    source: Path
    size: int
    params: dict[str, Any]
    inputs: dict[str, str]
    hints: dict[str, Any]

    def job_id(self) -> str:
        return jobs.job_id(IMPORT, self.params, self.inputs, [])


def import_build(
    workspace: Workspace, source: Path, stat: os.stat_result, digest: str
) -> ImportBuild:
    name = _source_name(workspace, source)
    hints = {"path": str(source), "identity": _file_identity(stat)}
    return ImportBuild(source, stat.st_size, {"source": name}, {name: digest}, hints)


class ImportBuilder(Protocol):
    """How an import run hashes its sources and gets their import jobs built."""

    def __enter__(self) -> ImportBuilder: ...
    def __exit__(self, *exc: object) -> None: ...
    def digest(self, source: Path) -> str: ...
    def build(
        self, workspace: Workspace, build: ImportBuild, listener: ImportListener
    ) -> jobs.JobResult: ...


class LocalBuilder:
    """Builds each import job in this process, when its turn comes."""

    def __enter__(self) -> LocalBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def digest(self, source: Path) -> str:
        return jobs.file_sha256(source)

    def build(
        self, workspace: Workspace, build: ImportBuild, listener: ImportListener
    ) -> jobs.JobResult:
        listener.source_started(build.source, build.size)
        return jobs.run(
            workspace,
            IMPORT,
            params=build.params,
            inputs=build.inputs,
            progress=listener,
            hints=build.hints,
        )


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


def known_source(
    workspace: Workspace,
    source: Path,
    stat: os.stat_result,
    force: bool,
    digest_of: Callable[[Path], str],
) -> tuple[str, dict[str, Any] | None]:
    """A source's sha256 and its catalog row if that content is imported (never with force).

    The same path, size and mtime as an imported source is taken as that source, unhashed.
    """
    known = catalog.query(
        workspace,
        "select * from sources where path = ? and size = ? and mtime_ns = ?",
        (str(source), stat.st_size, stat.st_mtime_ns),
    )
    if not known or force:
        digest = digest_of(source)
        known = (
            []
            if force
            else catalog.query(workspace, "select * from sources where sha256 = ?", (digest,))
        )
    if known:
        return known[0]["sha256"], known[0]
    return digest, None


def days_held(workspace: Workspace, digest: str) -> int:
    """How many of a source's days the store holds from it now."""
    held: int = catalog.query(
        workspace, "select count(*) as n from days where source_sha256 = ?", (digest,)
    )[0]["n"]
    return held


def _import_one(
    workspace: Workspace,
    source: Path,
    listener: ImportListener,
    force: bool,
    builder: ImportBuilder,
) -> SourceOutcome:
    started = time.perf_counter()
    outcome = SourceOutcome(path=str(source), status="skipped")
    try:
        stat = source.stat()
        digest, row = known_source(workspace, source, stat, force, builder.digest)
    except OSError as error:  # not ours to read, or gone: the other sources go on
        return _unreadable(outcome, source, error, started)
    if row is not None:
        _remember_location(workspace, digest, source, stat)
        owned = days_held(workspace, digest)
        if owned == row["days"]:
            _fill(outcome, row)
            outcome.seconds = time.perf_counter() - started
            return outcome
        # Some of its days were taken over by a later source; importing it again means it wins.
        listener.note(
            f"{source.name}: imported before, but {row['days'] - owned} of its days now come from another source; taking them back"
        )
    try:
        job = builder.build(workspace, import_build(workspace, source, stat, digest), listener)
    except BadInputError as error:
        outcome.status, outcome.error = "failed", str(error)
        outcome.seconds = time.perf_counter() - started
        return outcome
    try:
        _refuse_shrinking_days(workspace, job, source, force)
    except BadInputError as error:
        outcome.status, outcome.error = "failed", str(error)
        outcome.seconds = time.perf_counter() - started
        return outcome
    entry = _publication(workspace, job, str(source), stat.st_size, stat.st_mtime_ns, digest)
    outcome.replaced_days = _replaced_days(workspace, entry)
    _publish(workspace, entry)
    _fill(outcome, entry["source"])
    outcome.status = "imported"
    outcome.seconds = time.perf_counter() - started
    return outcome


def _unreadable(
    outcome: SourceOutcome, source: Path, error: OSError, started: float
) -> SourceOutcome:
    outcome.status = "failed"
    outcome.error = f"{source}: cannot be read ({error.strerror or error})"
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
    workspace: Workspace,
    job: jobs.JobResult,
    source: str,
    size: int,
    mtime_ns: int,
    digest: str,
) -> dict[str, Any]:
    """What publishing this import changes: month files, day rows, the source row.

    A month the store holds no other days of is a link to the job's month file; a
    month that keeps days of other sources is merged into a new file here, before
    the journal names it, so that applying the journal is only renames.
    """
    from drivestats import months

    outputs = {o["name"]: o for o in job.manifest["outputs"]}
    day_notes: dict[str, dict[str, Any]] = job.manifest["notes"]["days"]
    held = {row["day"]: row for row in catalog.query(workspace, "select * from days")}
    by_month: dict[str, list[str]] = {}
    for day in sorted(day_notes):
        by_month.setdefault(months.month_of(day), []).append(day)
    month_entries: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    obsolete: set[str] = set()
    for month, new_days in by_month.items():
        output = job.output(outputs[f"months/{month}.parquet"]["name"])
        file = workspace.relative(workspace.month_file(month))
        kept = sorted(day for day in held if months.month_of(day) == month and day not in day_notes)
        obsolete |= {held[day]["file"] for day in new_days if day in held}
        if not kept:
            month_entries.append(
                {"month": month, "file": file, "job_file": workspace.relative(output)}
            )
            sha256, size = outputs[f"months/{month}.parquet"]["sha256"], output.stat().st_size
        else:
            merged = _merged_month(workspace, month, output, kept, held, job, source, digest)
            month_entries.append(
                {"month": month, "file": file, "merged": workspace.relative(merged)}
            )
            sha256, size = jobs.file_sha256(merged), merged.stat().st_size
            obsolete |= {held[day]["file"] for day in kept}
            for day in kept:
                days.append({**held[day], "file": file, "sha256": sha256, "size": size})
        for day in new_days:
            info = day_notes[day]
            days.append(
                {
                    "day": day,
                    "file": file,
                    "sha256": sha256,
                    "size": size,
                    "rows": info["rows"],
                    "failures": info["failures"],
                    "columns": info["columns"],
                    "source_sha256": digest,
                    "member": info["member"],
                    "job_id": job.id,
                }
            )
    days.sort(key=lambda row: row["day"])
    mine = [d for d in days if d["job_id"] == job.id]
    source_row = {
        "sha256": digest,
        "path": source,
        "size": size,
        "mtime_ns": mtime_ns,
        "first_day": mine[0]["day"] if mine else None,
        "last_day": mine[-1]["day"] if mine else None,
        "days": len(mine),
        "rows": job.manifest["rows"]["rows"],
        "drives": job.manifest["rows"]["drives"],
        "failures": sum(d["failures"] for d in mine),
        "columns": max((d["columns"] for d in mine), default=0),
        "job_id": job.id,
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    obsolete -= {entry["file"] for entry in month_entries}
    return {
        "source": source_row,
        "months": month_entries,
        "days": days,
        "obsolete": sorted(obsolete),
    }


def _merged_month(
    workspace: Workspace,
    month: str,
    new_file: Path,
    kept: list[str],
    held: dict[str, Any],
    job: jobs.JobResult,
    source: str,
    digest: str,
) -> Path:
    """A month file of the new import's days and the days the store keeps from other sources.

    Its footer names, day by day, the import job and the source (with its sha256) it holds.
    """
    from drivestats import months

    target = workspace.month_file(month)
    target.parent.mkdir(parents=True, exist_ok=True)
    merged = target.with_name(f".{target.name}.merge")
    names = {
        row["sha256"]: row["path"] for row in catalog.query(workspace, "select * from sources")
    }
    days = {
        day: {
            "job": held[day]["job_id"],
            "source": Path(names.get(held[day]["source_sha256"], "?")).name,
            "source_sha256": held[day]["source_sha256"],
        }
        for day in kept
    }
    for day in job.manifest["notes"]["days"]:
        if months.month_of(day) == month:
            days[day] = {"job": job.id, "source": Path(source).name, "source_sha256": digest}
    provenance = {"stage": "store-merge", "month": month, "days": dict(sorted(days.items()))}
    writer = months.MonthWriter(merged, provenance)
    try:
        by_file: dict[str, list[str]] = {}
        for day in kept:
            by_file.setdefault(held[day]["file"], []).append(day)
        for table in months.rows_of(new_file):
            writer.add(table)
        for name, its_days in sorted(by_file.items()):
            for table in months.rows_of(workspace.home / name, its_days):
                writer.add(table)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    with open(merged, "rb") as handle:
        os.fsync(handle.fileno())
    return merged


# A replacement day with fewer than this share of the stored day's rows looks like a broken
# copy (a truncated or header-only file), not a correction: refused unless --force.
KEEP_SHARE = 0.5


def _refuse_shrinking_days(
    workspace: Workspace, job: jobs.JobResult, source: Path | str, force: bool
) -> None:
    """A stored day is never replaced by an empty one, nor by one with most of its rows gone."""
    incoming: dict[str, dict[str, Any]] = job.manifest["notes"]["days"]
    held = {
        row["day"]: row["rows"]
        for row in catalog.query(workspace, "select day, rows from days where rows > 0")
    }
    empty = sorted(day for day, info in incoming.items() if day in held and info["rows"] == 0)
    shrunk = sorted(
        day
        for day, info in incoming.items()
        if day in held and 0 < info["rows"] < KEEP_SHARE * held[day]
    )
    if empty:
        described = [
            f"{day} ({held[day]:,} rows stored, {incoming[day]['member']} has none)"
            for day in empty
        ]
        raise BadInputError(
            str(source),
            f"would replace stored days with empty ones: {first_few(described)}; "
            "nothing was stored",
        )
    if shrunk and not force:
        described = [
            f"{day} ({held[day]:,} rows stored, {incoming[day]['rows']:,} in "
            f"{incoming[day]['member']})"
            for day in shrunk
        ]
        raise BadInputError(
            str(source),
            f"would replace stored days with far fewer rows: {first_few(described)}; "
            "nothing was stored (--force to replace them anyway)",
        )


def _replaced_days(workspace: Workspace, entry: dict[str, Any]) -> list[tuple[str, str]]:
    """Days this source takes over from an earlier source: (day, earlier source path)."""
    replaced = []
    rows = catalog.query(
        workspace,
        "select d.day, s.path from days d join sources s on s.sha256 = d.source_sha256",
    )
    earlier = {row["day"]: row["path"] for row in rows}
    for day in entry["days"]:
        if day["job_id"] != entry["source"]["job_id"]:
            continue  # a day of another source that only moves into a merged month file
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
