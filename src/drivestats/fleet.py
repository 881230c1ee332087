"""Fleet tables: the store summarised per drive, per model, per day and per model-day.

One job (stage ``fleet-tables``) builds them with DuckDB over the store's day
files up to a date; the movie and the failure rates both read these tables and
never the raw rows again.

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
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from drivestats import jobs, store
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

TABLES = ("drives", "models", "daily", "model_days")

# Two scans of the store: one per (day, model, capacity) and one per drive;
# everything else is derived from their small results.
_SQL = {
    "model_capacity_days": """
        select date, model_clean as model, capacity_bytes, count(*)::bigint as drives,
               count(*) filter (where failure)::bigint as failures
        from rows group by all
    """,
    "drives": """
        select serial_number, arg_min(model_clean, date) as model,
               min(date) as first_day, max(date) as last_day,
               max(date) filter (where failure) as failure_day,
               count(*) filter (where failure)::bigint as failures,
               count(*)::bigint as days_reported
        from rows group by serial_number order by serial_number
    """,
    "model_days": """
        select date, model, sum(drives)::bigint as drives, sum(failures)::bigint as failures
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
}


def _build_fleet_tables(context: jobs.JobContext) -> None:
    """Scan the listed day files twice and write the four tables."""
    import duckdb

    files = [str(context.workspace.home / name) for name in store.files_of_inputs(context.inputs)]
    if not files:
        raise DrivestatsError(
            "the store holds no days in that range; run `drivestats import` first"
        )
    connection = duckdb.connect()
    connection.execute(f"set threads = {os.cpu_count() or 1}")
    listing = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
    # A month file may run past `until`.
    until = context.params["until"]
    connection.execute(
        "create view rows as select date, serial_number, model_clean, capacity_bytes, failure "
        f"from read_parquet([{listing}], union_by_name = true) where date <= '{until}'"
    )
    connection.execute(f"create table model_capacity_days as {_SQL['model_capacity_days']}")
    model_days = connection.sql(_SQL["model_days"]).to_arrow_table()
    capacities = connection.sql(_SQL["capacities"]).to_arrow_table()
    drives = connection.sql(_SQL["drives"]).to_arrow_table()
    connection.register("model_days_t", model_days)
    connection.register("drives_t", drives)
    connection.register("capacities_t", capacities)
    models = connection.sql(
        """
        select m.model, coalesce(c.capacity_bytes, 0)::bigint as capacity_bytes,
               min(m.date) as first_day, max(m.date) as last_day,
               (select count(*) from drives_t d where d.model = m.model)::bigint as drives,
               max(m.drives)::bigint as peak_drives, sum(m.failures)::bigint as failures
        from model_days_t m left join capacities_t c using (model)
        group by m.model, c.capacity_bytes order by first_day, m.model
        """
    ).to_arrow_table()
    daily = connection.sql(
        """
        select m.date, sum(m.drives)::bigint as drives, sum(m.failures)::bigint as failures,
               sum(m.drives * coalesce(c.capacity_bytes, 0))::bigint as storage_bytes
        from model_days_t m left join capacities_t c using (model)
        group by m.date order by m.date
        """
    ).to_arrow_table()
    from drivestats.backblaze.format import vendor_of

    vendors = pa.array([vendor_of(m) for m in models.column("model").to_pylist()], pa.string())
    models = models.add_column(1, "vendor", vendors)
    for name, table in (
        ("drives", drives),
        ("models", models),
        ("daily", daily),
        ("model_days", model_days),
    ):
        pq.write_table(table, context.dir / f"{name}.parquet", **store.PARQUET_OPTIONS)
        context.rows[name] = table.num_rows


FLEET_TABLES = jobs.Stage(
    "fleet-tables",
    _build_fleet_tables,
    ("drivestats.fleet", "drivestats.backblaze.format"),
)


def fleet_tables(
    workspace: Workspace, until: str | None = None, reuse_only: bool = False
) -> jobs.JobResult:
    """The fleet-tables job for the store's days up to ``until`` (default: all), reused if made.

    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    days = store.stored_days(workspace, end=until, read_only=reuse_only)
    if not days:
        where = f" up to {until}" if until else ""
        raise DrivestatsError(
            f"the store in {workspace.home} holds no days{where}; run `drivestats import` first"
        )
    # The effective last day, so that --until past the data gives the same job as no --until.
    params: dict[str, Any] = {"until": days[-1]["day"]}
    inputs = store.day_inputs(days)
    upstream = [
        jobs.load(workspace, identity) for identity in sorted({row["job_id"] for row in days})
    ]
    return jobs.run(
        workspace, FLEET_TABLES, params, inputs=inputs, upstream=upstream, reuse_only=reuse_only
    )


def read_table(job: jobs.JobResult, name: str) -> pa.Table:
    """One of the fleet tables of a fleet-tables job."""
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
