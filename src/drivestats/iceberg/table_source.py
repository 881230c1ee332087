"""An Iceberg table snapshot as an import source, read month by month.

The source's identity is the table's uuid and snapshot id, as a zip's is its sha256: the
same snapshot imported again is skipped. A snapshot is planned once (its data files,
grouped by month of ``date``: the partition value of Backblaze's month partitioning, else
the files' ``date`` bounds); a month is named by a digest of its data and delete files
(paths, sizes, record counts: Iceberg never rewrites a file in place). A month the store
holds from an earlier import of the same table with the same digest is not read again, so
a second import of a newer snapshot reads only the months that are new (or changed).

Each month read is a job (stage ``iceberg-month``: one month file in the store's layout,
its footer naming the table and snapshot), streamed file by file and batch by batch; the
import of the snapshot is a job (stage ``import-table``) over those month jobs, whose
identity holds the table, the snapshot and the months read. It is published as a zip's
import job is (journal, store lock), so a snapshot is imported whole or not at all; a run
killed while reading keeps the months it finished, as jobs, for the next run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import catalog, jobs
from drivestats.errors import BadInputError, DrivestatsError
from drivestats.iceberg.refs import DEFAULT_IDENTIFIER, TableRef, table_ref
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from drivestats.store import ImportListener, SourceOutcome

_SCHEMES = {
    "sqlite": "sql",
    "postgresql": "sql",
    "mysql": "sql",
    "http": "rest",
    "https": "rest",
    "thrift": "hive",
}


def open_table(ref: TableRef) -> Any:
    """The table (a PyIceberg Table), its catalog's or its metadata file's; credentials and
    endpoints from PyIceberg's own configuration."""
    from pyiceberg.catalog import load_catalog
    from pyiceberg.table import StaticTable
    from pyiceberg.utils.config import Config

    try:
        if ref.metadata is not None:
            config = Config()
            properties = config.get_catalog_config(config.get_default_catalog_name()) or {}
            return StaticTable.from_metadata(ref.metadata, properties=dict(properties))
        if ref.catalog_name is not None:
            loaded = load_catalog(ref.catalog_name)
        else:
            assert ref.uri is not None
            scheme = ref.uri.split(":", 1)[0].split("+", 1)[0].lower()
            kind = {"type": _SCHEMES[scheme]} if scheme in _SCHEMES else {}
            loaded = load_catalog(None, uri=ref.uri, **kind)
        return loaded.load_table(ref.identifier or DEFAULT_IDENTIFIER)
    except DrivestatsError:
        raise
    except Exception as error:  # noqa: BLE001 - any catalog's or file system's failure
        raise BadInputError(
            ref.text, f"cannot open the Iceberg table ({type(error).__name__}: {error})"
        ) from None


@dataclass
class Month:
    """One month of a snapshot: its data files (scan tasks) and what names their content."""

    month: str
    tasks: list[Any] = field(default_factory=list)

    @property
    def digest(self) -> str:
        files = sorted(
            [
                task.file.file_path,
                task.file.file_size_in_bytes,
                task.file.record_count,
                sorted(
                    [d.file_path, d.file_size_in_bytes, d.record_count] for d in task.delete_files
                ),
            ]
            for task in self.tasks
        )
        return hashlib.sha256(json.dumps(files).encode()).hexdigest()

    @property
    def bytes(self) -> int:
        return sum(task.file.file_size_in_bytes for task in self.tasks)


def _month_text(months_since_1970: int) -> str:
    return f"{1970 + months_since_1970 // 12:04d}-{months_since_1970 % 12 + 1:02d}"


def _months_between(first: dt.date, last: dt.date) -> list[str]:
    found, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _months_of(table: Any, schema: Any, task: Any, date_id: int) -> list[str]:
    """The months a data file holds rows of: its month partition, else its date bounds,
    else its dates read."""
    from pyiceberg.conversions import from_bytes
    from pyiceberg.transforms import DayTransform, IdentityTransform, MonthTransform
    from pyiceberg.types import DateType

    spec = table.metadata.specs()[task.file.spec_id]
    epoch = dt.date(1970, 1, 1)
    for position, partition_field in enumerate(spec.fields):
        if partition_field.source_id != date_id:
            continue
        value = task.file.partition[position]
        if value is None:
            continue
        if isinstance(partition_field.transform, MonthTransform):
            return [_month_text(int(value))]
        if isinstance(partition_field.transform, DayTransform | IdentityTransform):
            day = value if isinstance(value, dt.date) else epoch + dt.timedelta(days=int(value))
            return [day.isoformat()[:7]]
    lower = (task.file.lower_bounds or {}).get(date_id)
    upper = (task.file.upper_bounds or {}).get(date_id)
    if lower is not None and upper is not None:
        first = epoch + dt.timedelta(days=int(from_bytes(DateType(), lower)))
        last = epoch + dt.timedelta(days=int(from_bytes(DateType(), upper)))
        return _months_between(first, last)
    import pyarrow.compute as pc
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    dates = ArrowScan(table.metadata, table.io, schema.select("date"), AlwaysTrue()).to_table(
        [task]
    )
    values = pc.unique(dates.column(0)).to_pylist()
    return sorted({value.isoformat()[:7] for value in values if value is not None})


def plan(table: Any, snapshot_id: int, label: str) -> tuple[Any, list[Month]]:
    """The snapshot's schema and its months, oldest first."""
    scan = table.scan(snapshot_id=snapshot_id)
    schema = scan.projection()
    names = {bb_name(f.name): f for f in schema.fields}
    if "date" not in names:
        raise BadInputError(label, "no column date: not Backblaze's Drive Stats schema")
    date_field = names["date"]
    by_month: dict[str, Month] = {}
    for task in scan.plan_files():
        for month in _months_of(table, schema, task, date_field.field_id):
            by_month.setdefault(month, Month(month)).tasks.append(task)
    return schema, [by_month[month] for month in sorted(by_month)]


def bb_name(name: str) -> str:
    from drivestats.backblaze.format import canonical_column

    return canonical_column(name)


def holding_values(schema: Any, month: Month) -> set[str] | None:
    """Stored names of the columns with a value in the month's files (None: cannot tell).

    From the files' column counts: a column a file lacks holds no value there.
    """
    holding: set[str] = set()
    for task in month.tasks:
        values = task.file.value_counts or {}
        nulls = task.file.null_value_counts or {}
        if not values:
            return None
        for column in schema.fields:
            if column.field_id not in values:
                continue
            if nulls.get(column.field_id, 0) < values[column.field_id]:
                holding.add(bb_name(column.name))
    return holding


def month_batches(
    table: Any, schema: Any, month: Month, progress: Progress
) -> Iterator[pa.RecordBatch]:
    """The month's rows, file after file, batch after batch (never a whole file in memory)."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
    from pyiceberg.io.pyarrow import ArrowScan, _read_all_delete_files

    first = dt.date.fromisoformat(f"{month.month}-01")
    after = (first + dt.timedelta(days=32)).replace(day=1)
    date_name = next(f.name for f in schema.fields if bb_name(f.name) == "date")
    row_filter = And(
        GreaterThanOrEqual(date_name, first.isoformat()),  # type: ignore[call-arg,arg-type]
        LessThan(date_name, after.isoformat()),  # type: ignore[call-arg,arg-type]
    )
    scan = ArrowScan(table.metadata, table.io, schema, row_filter)
    deletes = _read_all_delete_files(table.io, month.tasks)
    streaming = getattr(scan, "_record_batches_from_scan_tasks_and_deletes", None)
    for task in month.tasks:
        # The public to_record_batches reads a whole file into memory before it yields.
        batches = streaming([task], deletes) if streaming else scan.to_record_batches([task])
        for batch in batches:
            progress.rows(batch.num_rows)
            yield batch
        progress.file_done(task.file.file_size_in_bytes)


class Progress:
    """Bytes and rows read over all the months of one import, told to the listener."""

    def __init__(self, listener: ImportListener | None, name: Path) -> None:
        self.listener, self.name = listener, name
        self.done_bytes = self.done_rows = 0

    def rows(self, count: int) -> None:
        self.done_rows += count
        if self.listener is not None:
            self.listener.advanced(self.name, self.done_bytes, self.done_rows)

    def file_done(self, size: int) -> None:
        self.done_bytes += size
        if self.listener is not None:
            self.listener.advanced(self.name, self.done_bytes, self.done_rows)

    def note(self, message: str) -> None:
        if self.listener is not None:
            self.listener.note(message)


def _planned(context: jobs.JobContext) -> tuple[Any, Any, Month]:
    """The table, schema and month a job reads: as the import planned them, else planned again
    (verify), and then checked to be the same files."""
    params = context.params
    if "planned" in context.hints:
        return context.hints["table"], context.hints["schema"], context.hints["planned"]
    ref = table_ref(params["table"])
    if ref is None:
        raise DrivestatsError(f"{params['table']} no longer names an Iceberg table")
    table = open_table(ref)
    schema, months = plan(table, params["snapshot"], params["table"])
    month = next((m for m in months if m.month == params["month"]), Month(params["month"]))
    ((_, digest),) = context.inputs.items()
    if month.digest != digest:
        raise DrivestatsError(
            f"month {params['month']} of {params['table']} snapshot {params['snapshot']} is "
            "not the files it was read from"
        )
    return table, schema, month


def _build_month(context: jobs.JobContext) -> None:
    """One month of one snapshot as one store month file."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    from drivestats.iceberg.mapping import Mapping
    from drivestats.iceberg.monthly import write_month
    from drivestats.provenance import parquet_provenance

    table, schema, month = _planned(context)
    params = context.params
    progress: Progress = context.progress or Progress(None, Path(params["table"]))
    label = f"{params['table']}@{params['snapshot']}"
    mapping = Mapping(label, schema_to_pyarrow(schema, include_field_ids=False))
    holding = holding_values(schema, month)
    first = dt.date.fromisoformat(f"{month.month}-01")
    layout = {}
    for offset in range(31):
        day = (first + dt.timedelta(days=offset)).isoformat()
        if day.startswith(month.month):
            layout[day] = mapping.columns_for(day, holding)
    provenance = parquet_provenance(
        context.id,
        MONTH.name,
        MONTH.code_fingerprint()["sha256"],
        sources={f"{params['table']}#{month.month}": month.digest},
        table=params["table"],
        table_uuid=params["table_uuid"],
        snapshot_id=params["snapshot"],
    )
    (context.dir / "months").mkdir()
    days, serials = write_month(
        context.dir / "months" / f"{month.month}.parquet",
        month.month,
        month_batches(table, schema, month, progress),
        mapping,
        provenance,
        member=f"{params['name']}@{params['snapshot']} month {month.month}",
        layout=layout,
        on_note=progress.note,
    )
    context.rows.update(
        {"rows": sum(d["rows"] for d in days.values()), "days": len(days), "drives": len(serials)}
    )
    context.notes.update({"days": days, "digest": month.digest, "data_files": len(month.tasks)})


def _build_import_table(context: jobs.JobContext) -> None:
    """The snapshot's import: the months read, linked from their jobs, with their days."""
    (context.dir / "months").mkdir()
    days: dict[str, Any] = {}
    months: dict[str, Any] = {}
    files = []
    for job in sorted(
        context.upstream_of(MONTH.name), key=lambda j: j.manifest["parameters"]["month"]
    ):
        month = job.manifest["parameters"]["month"]
        months[month] = {"digest": job.manifest["notes"]["digest"], "job": job.id}
        if not job.manifest["notes"]["days"]:
            continue  # a month whose files hold no rows (all deleted)
        target = context.dir / "months" / f"{month}.parquet"
        os.link(job.output(f"months/{month}.parquet"), target)
        files.append(target)
        days.update(job.manifest["notes"]["days"])
    context.rows.update(
        {
            "rows": sum(d["rows"] for d in days.values()),
            "days": len(days),
            "drives": _drives(files),
        }
    )
    context.notes.update({"days": dict(sorted(days.items())), "months": months})


def _drives(files: list[Path]) -> int:
    if not files:
        return 0
    import duckdb

    listing = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
    connection = duckdb.connect()
    try:
        connection.execute("set memory_limit = '2GB'")
        row = connection.execute(
            f"select count(distinct serial_number) from read_parquet([{listing}], union_by_name = true)"
        ).fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0


_MODULES = (
    "drivestats.iceberg.table_source",
    "drivestats.iceberg.mapping",
    "drivestats.iceberg.monthly",
    "drivestats.months",
    "drivestats.backblaze.format",
    "drivestats.backblaze.read",
)
MONTH = jobs.Stage(
    "iceberg-month",
    _build_month,
    _MODULES,
    identity_params=("table_uuid", "snapshot", "month"),
)
IMPORT_TABLE = jobs.Stage(
    "import-table",
    _build_import_table,
    _MODULES,
    identity_params=("table_uuid", "snapshot", "months"),
)


def _held_months(workspace: Workspace, months: list[Month]) -> set[str]:
    """Months the store holds whole from an earlier import of these very files."""
    owners: dict[str, set[str]] = {}
    for row in catalog.query(workspace, "select day, job_id from days"):
        owners.setdefault(row["day"][:7], set()).add(row["job_id"] or "")
    manifests: dict[str, dict[str, Any] | None] = {}
    held = set()
    for month in months:
        found = owners.get(month.month, set())
        if len(found) != 1:
            continue
        (owner,) = found
        if not owner.startswith(f"{IMPORT_TABLE.name}-"):
            continue
        if owner not in manifests:
            folder = jobs.job_folder(workspace, IMPORT_TABLE.name, owner)
            try:
                manifests[owner] = json.loads((folder / jobs.MANIFEST).read_text())
            except (OSError, ValueError):
                manifests[owner] = None
        manifest = manifests[owner]
        noted = (manifest or {}).get("notes", {}).get("months", {}).get(month.month)
        if noted and noted["digest"] == month.digest:
            held.add(month.month)
    return held


def import_table(
    workspace: Workspace, ref: TableRef, listener: ImportListener, force: bool
) -> SourceOutcome:
    """Import the months of the table's current snapshot that the store does not hold yet."""
    from drivestats import store

    started = time.perf_counter()
    outcome = store.SourceOutcome(path=ref.text, status="skipped")

    def failed(error: Exception) -> SourceOutcome:
        outcome.status, outcome.error = "failed", str(error)
        outcome.seconds = time.perf_counter() - started
        return outcome

    try:
        table = open_table(ref)
        snapshot = table.current_snapshot()
        if snapshot is None:
            raise BadInputError(ref.text, "the table holds no snapshot: nothing to import")
        table_uuid, snapshot_id = str(table.metadata.table_uuid), snapshot.snapshot_id
        path = f"{ref.text}@{snapshot_id}"
        outcome.path = path
        identity = hashlib.sha256(f"iceberg\0{table_uuid}\0{snapshot_id}".encode()).hexdigest()
        known = catalog.query(workspace, "select * from sources where sha256 = ?", (identity,))
        if known and not force:
            owned = catalog.query(
                workspace, "select count(*) as n from days where source_sha256 = ?", (identity,)
            )[0]["n"]
            if owned == known[0]["days"]:
                store.fill_outcome(outcome, known[0])
                outcome.seconds = time.perf_counter() - started
                return outcome
        schema, months = plan(table, snapshot_id, path)
        held = set() if force else _held_months(workspace, months)
        wanted = [month for month in months if month.month not in held]
        if not wanted:
            listener.note(
                f"{ref.name}@{snapshot_id}: all {len(months)} months are in the store already"
            )
            outcome.seconds = time.perf_counter() - started
            return outcome
        if held:
            listener.note(
                f"{ref.name}@{snapshot_id}: {len(held)} months are in the store already; "
                f"reading {len(wanted)}"
            )
        shown = Path(f"{ref.name}@{snapshot_id}")
        total_bytes = sum(month.bytes for month in wanted)
        listener.source_started(shown, total_bytes)
        progress = Progress(listener, shown)
        common = {
            "table": ref.text,
            "name": ref.name,
            "table_uuid": table_uuid,
            "snapshot": snapshot_id,
        }
        month_jobs = []
        for month in wanted:
            month_jobs.append(
                jobs.run(
                    workspace,
                    MONTH,
                    params={**common, "month": month.month},
                    inputs={f"{ref.name}#{month.month}": month.digest},
                    progress=progress,
                    hints={"table": table, "schema": schema, "planned": month},
                )
            )
            progress.done_bytes = sum(m.bytes for m in wanted[: len(month_jobs)])
        job = jobs.run(
            workspace,
            IMPORT_TABLE,
            params={**common, "months": [month.month for month in wanted]},
            upstream=month_jobs,
        )
        if not job.manifest["notes"]["days"]:
            raise BadInputError(path, "the months to import hold no rows")
        store.refuse_shrinking_days(workspace, job, path, force)
    except BadInputError as error:
        return failed(error)
    entry = store.publication(
        workspace, job, path, total_bytes, snapshot.timestamp_ms * 1_000_000, identity
    )
    outcome.replaced_days = store.days_replaced(workspace, entry)
    store.publish(workspace, entry)
    store.fill_outcome(outcome, entry["source"])
    outcome.status = "imported"
    outcome.seconds = time.perf_counter() - started
    return outcome
