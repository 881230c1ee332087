"""Importing sources: which to skip, builds (here or on a cluster), refusals, publication."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drivestats import catalog, jobs
from drivestats.errors import BadInputError, DrivestatsError, first_few
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    pass

# pyarrow, the reader and the month writer are imported where rows are handled, so that a
from drivestats.store.import_stage import IMPORT, file_identity, source_name
from drivestats.store.publishing import publish, store_lock
from drivestats.store.reports import ImportListener, ImportReport, SilentListener, SourceOutcome

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
    name = source_name(workspace, source)
    hints = {"path": str(source), "identity": file_identity(stat)}
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
            fill_outcome(outcome, row)
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
        refuse_shrinking_days(workspace, job, source, force)
    except BadInputError as error:
        outcome.status, outcome.error = "failed", str(error)
        outcome.seconds = time.perf_counter() - started
        return outcome
    entry = publication(workspace, job, str(source), stat.st_size, stat.st_mtime_ns, digest)
    outcome.replaced_days = days_replaced(workspace, entry)
    publish(workspace, entry)
    fill_outcome(outcome, entry["source"])
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
            " and (path != ? or size != ? or mtime_ns != ?)",  # older rows held a month file's size
            (
                str(source),
                stat.st_size,
                stat.st_mtime_ns,
                digest,
                str(source),
                stat.st_size,
                stat.st_mtime_ns,
            ),
        )


def fill_outcome(outcome: SourceOutcome, row: dict[str, Any]) -> None:
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


def publication(
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
            month_sha256 = outputs[f"months/{month}.parquet"]["sha256"]
            month_size = output.stat().st_size
        else:
            merged = _merged_month(workspace, month, output, kept, held, job, source, digest)
            month_entries.append(
                {"month": month, "file": file, "merged": workspace.relative(merged)}
            )
            month_sha256, month_size = jobs.file_sha256(merged), merged.stat().st_size
            obsolete |= {held[day]["file"] for day in kept}
            for day in kept:
                days.append({**held[day], "file": file, "sha256": month_sha256, "size": month_size})
        for day in new_days:
            info = day_notes[day]
            days.append(
                {
                    "day": day,
                    "file": file,
                    "sha256": month_sha256,
                    "size": month_size,
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


def refuse_shrinking_days(
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


def days_replaced(workspace: Workspace, entry: dict[str, Any]) -> list[tuple[str, str]]:
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
