"""The import stage: one source's daily members read, checked and written as month files."""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import catalog, jobs
from drivestats.errors import BadInputError, DrivestatsError
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from drivestats.backblaze import read

# pyarrow, the reader and the month writer are imported where rows are handled, so that a
from drivestats.store.reports import ImportListener, SilentListener

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
    # The next member is decompressed (ISA-L releases the GIL) while this one is converted.
    try:
        with ThreadPoolExecutor(max_workers=1) as fetcher:
            fetched = _prefetched(fetcher, read.member_bytes, chosen, ahead=1)
            for member, info, unique, chunks in _in_order(convert, fetched, in_flight):
                if months.month_of(member.day) != month:
                    if writer is not None:
                        writer.close()  # written while the next month is parsed
                    month = months.month_of(member.day)
                    target = context.dir / "months" / f"{month}.parquet"
                    writer = months.MonthWriter(
                        target, {**provenance, "month": month}, after=writer
                    )
                assert writer is not None
                for chunk in chunks:
                    writer.add(chunk)
                days[member.day] = info
                serials.append(unique)
                if len(serials) > 8:  # a quarter's days would hold ~30 M serials until the end
                    serials = [pc.unique(pa.concat_arrays(serials))]
                total_rows += info["rows"]
                done_bytes += member.size
                listener.advanced(source, done_bytes, total_rows)
            if writer is not None:
                writer.finish()
                writer = None
    finally:
        if writer is not None:
            writer.abort()
    refuse_if_changed(source, context.hints.get("identity"))
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


def file_identity(stat: os.stat_result) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def refuse_if_changed(source: Path, before: list[int] | None) -> None:
    """The file read must be the file hashed: replaced or rewritten meanwhile, nothing is kept."""
    if before is None:
        return
    try:
        now = file_identity(source.stat())
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


def source_name(workspace: Workspace, source: Path) -> str:
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


# pyarrow, the reader and the month writer are imported inside the functions that handle
# rows, so that a command that only reuses jobs (reads the catalog, names days) never pays.
IMPORT = jobs.Stage(
    "import",
    _build_import,
    (
        "drivestats.store.import_stage",
        "drivestats.months",
        "drivestats.backblaze.read",
        "drivestats.backblaze.sources",
        "drivestats.backblaze.format",
        "drivestats.iceberg.mapping",
        "drivestats.iceberg.monthly",
        "drivestats.iceberg.parquet_source",
    ),
)
