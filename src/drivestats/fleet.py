"""Fleet tables: the store summarised per drive, per model, per day and per model-day.

One job (stage ``fleet-partial``) per stored month scans its rows once into
partial tables (per drive, per day-model-capacity); the ``fleet-tables`` job
combines the partials up to a date. A new quarter scans only its three months.
The movie and the failure rates read these tables and never the raw rows again.

Outputs (Parquet):
- ``drives``: serial_number, model, first_day, last_day, failure_day, failures, days_reported.
  A drive's model is the first it reported; failure_day is its last day with
  failure = 1 (a drive that reports after failing keeps its failure).
- ``models``: model, vendor, capacity_bytes (the most common positive value: single
  rows carry nonsense), first_day, last_day, drives, peak_drives, failures.
- ``daily``: date, drives, failures, storage_bytes (drives reporting times their
  model's capacity, never the row's own capacity).
- ``model_days``: date, model, drives, failures: enough for any failure-rate table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import jobs, store
from drivestats.errors import DrivestatsError, first_few
from drivestats.provenance import with_provenance
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

TABLES = ("drives", "models", "daily", "model_days")
PARTIAL_TABLES = ("drives", "model_capacity_days")
MEMORY_LIMIT = "2GB"  # DuckDB spills beyond this: every step stays well under 4 GB

# One scan of a month's rows gives its partial tables; the fleet tables combine the partials.
_PARTIAL_SQL = {
    # Rows as published (Backblaze counts rows), and how many of them repeat a drive already
    # reported that day (from the table `repeats`), so that a table can count drives instead.
    "model_capacity_days": """
        with counted as (
            select date, model_clean as model, capacity_bytes, count(*)::bigint as drives,
                   count(*) filter (where failure)::bigint as failures
            from rows group by all
        )
        select c.*, coalesce(r.repeats, 0)::bigint as repeats,
               coalesce(r.repeated_failures, 0)::bigint as repeated_failures
        from counted c left join repeats r
          on c.date = r.date and c.model is not distinct from r.model
         and c.capacity_bytes is not distinct from r.capacity_bytes
        order by all
    """,
    "drives": """
        select serial_number, arg_min(model_clean, date) as model,
               min(date) as first_day, max(date) as last_day,
               max(date) filter (where failure) as failure_day,
               count(*) filter (where failure)::bigint as failures,
               count(*)::bigint as days_reported
        from rows group by serial_number order by serial_number
    """,
}
# The drives that report more than once on a day, grouped as the rows they repeat: a drive's
# extra rows are filed under the model and capacity of its least row, one of its own.
_REPEATS_SQL = """
    with repeated as (
        select date, min({{'model': model_clean, 'capacity': capacity_bytes}}) as first,
               count(*) - 1 as extra,
               count(*) filter (where failure) - (count(*) filter (where failure) > 0)::int
                   as extra_failures
        from rows where date in ({days}) group by date, serial_number having count(*) > 1
    )
    select date, first.model as model, first.capacity as capacity_bytes,
           sum(extra)::bigint as repeats, sum(extra_failures)::bigint as repeated_failures
    from repeated group by all
"""
_NO_REPEATS_SQL = """
    select null::date as date, null::varchar as model, null::bigint as capacity_bytes,
           0::bigint as repeats, 0::bigint as repeated_failures
    where false
"""
_COMBINED_SQL = {
    # A drive's model is the one of its first day: that of its earliest partial.
    "drives": """
        select serial_number, arg_min(model, first_day) as model,
               min(first_day) as first_day, max(last_day) as last_day,
               max(failure_day) as failure_day, sum(failures)::bigint as failures,
               sum(days_reported)::bigint as days_reported
        from partial_drives group by serial_number order by serial_number
    """,
    "model_days": """
        select date, model, sum(drives)::bigint as drives, sum(failures)::bigint as failures,
               sum(repeats)::bigint as repeats, sum(repeated_failures)::bigint as repeated_failures
        from model_capacity_days group by all order by date, model
    """,
    "capacities": """
        with counted as (
            select model, capacity_bytes, sum(drives) as n
            from model_capacity_days where capacity_bytes > 0 group by all
        )
        select model, arg_max(capacity_bytes, (n, capacity_bytes)) as capacity_bytes
        from counted group by model
    """,
    "models": """
        select m.model, coalesce(c.capacity_bytes, 0)::bigint as capacity_bytes,
               min(m.date) as first_day, max(m.date) as last_day,
               (select count(*) from drives_t d where d.model = m.model)::bigint as drives,
               max(m.drives)::bigint as peak_drives, sum(m.failures)::bigint as failures
        from model_days_t m left join capacities_t c using (model)
        group by m.model, c.capacity_bytes order by first_day, m.model
    """,
    "daily": """
        select m.date, sum(m.drives)::bigint as drives, sum(m.failures)::bigint as failures,
               sum(m.drives * coalesce(c.capacity_bytes, 0))::bigint as storage_bytes,
               sum(m.repeats)::bigint as repeats,
               sum(m.repeated_failures)::bigint as repeated_failures
        from model_days_t m left join capacities_t c using (model)
        group by m.date order by m.date
    """,
}


def _duckdb():  # type: ignore[no-untyped-def]
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"set threads = {os.cpu_count() or 1}")
    connection.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("set preserve_insertion_order = true")
    return connection


def _listing(paths: list[str]) -> str:
    return ", ".join("'" + path.replace("'", "''") + "'" for path in paths)


def _build_fleet_partial(context: jobs.JobContext) -> None:
    """Scan one month's stored days (up to the last day it names) into its partial tables."""
    import pyarrow.parquet as pq

    from drivestats import months

    # From the snapshot its caller took; else (verify) from the store, which still holds
    # these days if the digests of its inputs still match (checked by the caller).
    folder = Path(context.hints.get("snapshot", context.workspace.home))
    files = [str(folder / name) for name in store.files_of_inputs(context.inputs)]
    connection = _duckdb()
    first, last = context.params["first_day"], context.params["last_day"]
    # A month file may hold days past `last`; an older store's daily files are one day each.
    connection.execute(
        "create view rows as select date, serial_number, model_clean, capacity_bytes, failure "
        f"from read_parquet([{_listing(files)}], union_by_name = true) "
        f"where date between '{first}' and '{last}'"
    )
    repeat_days = _days_with_repeats(context.workspace, context.inputs, first, last)
    listing = ", ".join(f"date '{day}'" for day in repeat_days)
    connection.execute(
        "create table repeats as "
        + (_REPEATS_SQL.format(days=listing) if repeat_days else _NO_REPEATS_SQL)
    )
    context.notes["days_with_repeats"] = repeat_days
    said = _provenance(context, FLEET_PARTIAL, first_day=first, last_day=last)
    for name in PARTIAL_TABLES:
        table = connection.sql(_PARTIAL_SQL[name]).to_arrow_table()
        target = context.dir / f"{name}.parquet"
        pq.write_table(with_provenance(table, said), target, **months.PARQUET_OPTIONS)
        context.rows[name] = table.num_rows


def _provenance(context: jobs.JobContext, stage: jobs.Stage, **more: Any) -> dict[str, Any]:
    """What a table's footer says: its job, stage, code, and the days it covers.

    The import jobs behind the days are found from the store (``drivestats show`` does);
    they are not written here, as the catalog may have moved on while this job was built.
    """
    import hashlib
    import json

    from drivestats.provenance import parquet_provenance

    days = sorted(name.rsplit("#", 1)[1] for name in context.inputs)
    # Not the upstream jobs: the same tables are made from partials or from earlier tables.
    inputs = json.dumps(context.inputs, sort_keys=True).encode()
    return parquet_provenance(
        context.id,
        stage.name,
        stage.code_fingerprint()["sha256"],
        days=[days[0], days[-1], len(days)] if days else [],
        inputs_sha256=hashlib.sha256(inputs).hexdigest(),
        **more,
    )


def _days_with_repeats(
    workspace: Workspace, inputs: dict[str, str], first: str, last: str
) -> list[str]:
    """The days among these inputs on which some drive reported more than once.

    Each day's import counted its repeats; a day's input digest names that import (job and
    member), so its notes are trusted only for the very rows read. A day whose import is not
    at hand is listed too: the repeats query then looks at it, which costs one day's scan.
    """
    wanted = {name.rsplit("#", 1)[1]: digest for name, digest in inputs.items()}
    wanted = {day: digest for day, digest in wanted.items() if first <= day <= last}
    by_day = {row["day"]: row for row in store.stored_days(workspace, first, last, read_only=True)}
    notes: dict[str, dict[str, Any]] = {}
    found: list[str] = []
    for day, digest in sorted(wanted.items()):
        row = by_day.get(day)
        if row is None or store.day_inputs([row]).get(f"{row['file']}#{day}") != digest:
            found.append(day)
            continue
        if row["job_id"] not in notes:
            try:
                notes[row["job_id"]] = jobs.load(workspace, row["job_id"]).manifest["notes"]
            except DrivestatsError:
                notes[row["job_id"]] = {}
        day_notes = notes[row["job_id"]].get("days", {}).get(day)
        if day_notes is None or day_notes.get("duplicates"):
            found.append(day)
    return found


def _build_fleet_tables(context: jobs.JobContext) -> None:
    """Combine partial tables (of months, and of earlier fleet tables) into the fleet tables.

    Partial tables combine by the same sums, minima and maxima whatever they cover, so
    earlier fleet tables plus the new months' partials equal the partials of every month.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from drivestats import months

    parts = context.upstream_of(FLEET_PARTIAL.name) + context.upstream_of(FLEET_TABLES.name)
    if not parts:
        raise DrivestatsError(
            "the store holds no days in that range; run `drivestats import` first"
        )
    connection = _duckdb()
    for name in PARTIAL_TABLES:
        listing = _listing([str(job.output(f"{name}.parquet")) for job in parts])
        table = "partial_drives" if name == "drives" else name
        connection.execute(f"create table {table} as select * from read_parquet([{listing}])")
    model_days = connection.sql(_COMBINED_SQL["model_days"]).to_arrow_table()
    capacities = connection.sql(_COMBINED_SQL["capacities"]).to_arrow_table()
    drives = connection.sql(_COMBINED_SQL["drives"]).to_arrow_table()
    connection.execute("drop table partial_drives")
    connection.register("model_days_t", model_days)
    connection.register("drives_t", drives)
    connection.register("capacities_t", capacities)
    models = connection.sql(_COMBINED_SQL["models"]).to_arrow_table()
    daily = connection.sql(_COMBINED_SQL["daily"]).to_arrow_table()
    from drivestats.backblaze.format import vendor_of

    vendors = pa.array([vendor_of(m) for m in models.column("model").to_pylist()], pa.string())
    models = models.add_column(1, "vendor", vendors)
    said = _provenance(context, FLEET_TABLES, until=context.params["until"])
    model_capacity_days = connection.sql(
        "select * from model_capacity_days order by all"
    ).to_arrow_table()
    for name, table in (
        ("drives", drives),
        ("models", models),
        ("daily", daily),
        ("model_days", model_days),
        ("model_capacity_days", model_capacity_days),  # for the next fleet tables to build on
    ):
        target = context.dir / f"{name}.parquet"
        pq.write_table(with_provenance(table, said), target, **months.PARQUET_OPTIONS)
        context.rows[name] = table.num_rows
    # The first and last day with drives, for commands that only need the span of the data
    # to name their jobs (they then need not read a table).
    if daily.num_rows:
        days = [pc.min(daily["date"]).as_py(), pc.max(daily["date"]).as_py()]
        context.notes["days"] = [day.isoformat() for day in days]
    reporting = daily.filter(pc.greater(daily["drives"], 0))["date"]
    if len(reporting):
        span = [pc.min(reporting).as_py().isoformat(), pc.max(reporting).as_py().isoformat()]
        context.notes["data_span"] = span


def _days_still_stored(workspace: Workspace, inputs: dict[str, str]) -> None:
    """Refuse to re-make a partial whose days the store no longer holds as they were."""
    days = [name.rsplit("#", 1)[1] for name in inputs]
    now = store.day_inputs(store.stored_days(workspace, min(days), max(days), read_only=True))
    # By file and day: a day moved into another file (its digest unchanged) is not where
    # the job read it.
    gone = sorted(
        name.rsplit("#", 1)[1] for name, digest in inputs.items() if now.get(name) != digest
    )
    if gone:
        raise DrivestatsError(
            f"the store no longer holds the days this job was made from as they were "
            f"({first_few(gone)}: imported again or removed since); it cannot be re-made "
            "from its inputs"
        )


FLEET_PARTIAL = jobs.Stage(
    "fleet-partial",
    _build_fleet_partial,
    ("drivestats.fleet",),
    check_inputs=_days_still_stored,
)
# Decided by the days it covers (its inputs), not by which partials it was combined from.
FLEET_TABLES = jobs.Stage(
    "fleet-tables",
    _build_fleet_tables,
    ("drivestats.fleet", "drivestats.backblaze.format"),
    identity_upstream=(),
)


def fleet_tables(
    workspace: Workspace, until: str | None = None, reuse_only: bool = False
) -> jobs.JobResult:
    """The fleet-tables job for the store's days up to ``until`` (default: all), reused if made.

    Built from one partial job per month, or from the latest fleet tables over a beginning
    of these days plus the partials of the days after them: a new quarter scans its own
    months and combines them with the tables it extends.
    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    days = store.stored_days(workspace, end=until, read_only=reuse_only)
    made = _made(workspace, days, until, record=not reuse_only)
    if made is not None:
        return made
    if reuse_only:
        raise jobs.JobNotMade(FLEET_TABLES.name, _identity(days)[0])
    # Built from a snapshot: the days and the bytes they name, whatever imports publish now.
    with store.snapshot(workspace, until) as snapshot:
        made = _made(workspace, snapshot.days, until, record=True)
        return made if made is not None else _combined(workspace, snapshot)


def _identity(days: list[dict[str, Any]]) -> tuple[str, dict[str, Any], dict[str, str]]:
    # The effective last day, so that --until past the data gives the same job as no --until.
    params: dict[str, Any] = {"until": days[-1]["day"]}
    inputs = store.day_inputs(days)
    return jobs.job_id(FLEET_TABLES, params, inputs, []), params, inputs


def _made(
    workspace: Workspace, days: list[dict[str, Any]], until: str | None, record: bool
) -> jobs.JobResult | None:
    if not days:
        where = f" up to {until}" if until else ""
        raise DrivestatsError(
            f"the store in {workspace.home} holds no days{where}; run `drivestats import` first"
        )
    return jobs.existing(workspace, FLEET_TABLES, _identity(days)[0], record=record)


def _combined(workspace: Workspace, snapshot: store.Snapshot) -> jobs.JobResult:
    """The fleet tables of a snapshot's days: earlier tables and partials of the months after."""
    days = snapshot.days
    _, params, inputs = _identity(days)
    base = _earlier_tables(workspace, inputs)
    after = base.manifest["parameters"]["until"] if base is not None else ""
    by_month: dict[str, list[dict[str, Any]]] = {}
    for row in days:
        if row["day"] > after:
            by_month.setdefault(row["day"][:7], []).append(row)
    imports = {made_by: jobs.load(workspace, made_by) for made_by in {r["job_id"] for r in days}}
    upstream = [
        jobs.run(
            workspace,
            FLEET_PARTIAL,
            {"month": month, "first_day": rows[0]["day"], "last_day": rows[-1]["day"]},
            store.day_inputs(rows),
            [imports[made_by] for made_by in sorted({row["job_id"] for row in rows})],
            hints={"snapshot": str(snapshot.folder)},
        )
        for month, rows in sorted(by_month.items())
    ]
    if base is not None:
        upstream.insert(0, base)
    return jobs.run(workspace, FLEET_TABLES, params, inputs=inputs, upstream=upstream)


def _earlier_tables(workspace: Workspace, inputs: dict[str, str]) -> jobs.JobResult | None:
    """The latest fleet tables over a beginning of these days (the same days, the same rows)."""
    from drivestats import catalog

    rows = catalog.query(
        workspace,
        "select id from jobs where stage = ? order by created desc, rowid desc limit 20",
        (FLEET_TABLES.name,),
    )
    code = FLEET_TABLES.code_fingerprint()["sha256"]
    for row in rows:
        try:
            earlier = jobs.load(workspace, row["id"])
        except DrivestatsError:
            continue
        if earlier.manifest["code"]["sha256"] != code:
            continue  # made by other code: building on it would carry that code's results
        if not (earlier.dir / "model_capacity_days.parquet").exists():
            continue  # made before fleet tables kept what the next ones build on
        covered = {f["name"]: f["sha256"] for f in earlier.manifest["inputs"]["files"]}
        until = earlier.manifest["parameters"]["until"]
        later = {name for name in inputs if name.rsplit("#", 1)[1] > until}
        if (
            covered
            and all(inputs.get(name) == digest for name, digest in covered.items())
            and (set(inputs) - later == set(covered))
        ):
            return earlier
    return None


def read_table(job: jobs.JobResult, name: str) -> pa.Table:
    """One of the fleet tables of a fleet-tables job."""
    import pyarrow.parquet as pq

    if name not in TABLES:
        raise ValueError(f"unknown fleet table {name!r}")
    return pq.read_table(job.output(f"{name}.parquet"))


def model_facts(models: pa.Table) -> dict[str, tuple[str, int | None]]:
    """Vendor and capacity (most common positive value, None if unknown) per model name."""
    from drivestats.backblaze.format import vendor_of

    facts: dict[str, tuple[str, int | None]] = {}
    for row in models.select(["model", "vendor", "capacity_bytes"]).to_pylist():
        capacity = row["capacity_bytes"] or None  # 0: no positive capacity ever reported
        facts[row["model"]] = (row["vendor"] or vendor_of(row["model"]), capacity)
    return facts
