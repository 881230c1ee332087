"""The afr and survival stages: the pure functions of this package as jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from drivestats import jobs
from drivestats.errors import DrivestatsError
from drivestats.rates.afr import AFR_COLUMNS, LEFT_OUT_COLUMNS, afr_table
from drivestats.rates.charts import afr_chart, survival_chart
from drivestats.rates.files import write_csv, write_json
from drivestats.rates.periods import Period, parse_day, period_for
from drivestats.rates.rule_table import CountOn
from drivestats.rates.survival import (
    SURVIVAL_COLUMNS,
    SURVIVAL_METHOD,
    chosen_models,
    default_survival_models,
    survival_table,
)
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa


def _fleet_job(workspace: Workspace, until: str | None, reuse_only: bool = False) -> jobs.JobResult:
    from drivestats import fleet

    return fleet.fleet_tables(workspace, until=until, reuse_only=reuse_only)


def fleet_table(
    fleet_job: jobs.JobResult, name: str, columns: Sequence[str] | None = None
) -> pa.Table:
    """One fleet table of a fleet-tables job, read without pyarrow.dataset (which imports pandas)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(fleet_job.output(f"{name}.parquet")).read(columns=columns)


def data_span(fleet_job: jobs.JobResult) -> tuple[dt.date, dt.date]:
    """The first and last day with any drive in the fleet tables."""
    noted = fleet_job.manifest["notes"].get("data_span")
    if noted:
        return parse_day(noted[0]), parse_day(noted[1])
    import pyarrow.compute as pc

    dates = fleet_table(fleet_job, "daily", ["date", "drives"])
    dates = dates.filter(pc.greater(dates["drives"], 0))["date"]
    if len(dates) == 0:
        raise DrivestatsError("the fleet tables hold no drives; import some data first")
    return pc.min(dates).as_py(), pc.max(dates).as_py()


def resolved_period(spec: str, fleet_job: jobs.JobResult, until: str | None) -> Period:
    """The period a spec names over the data in the fleet tables, ending by `until` if given."""
    first, last = data_span(fleet_job)
    period = period_for(spec, first, last)
    if until is not None and parse_day(until) < period.end:
        # The label says so: a cut period must not take the name (and results/ link) of the whole.
        cut = parse_day(until)
        period = Period(f"{period.label}-until-{cut.isoformat()}", period.start, cut)
    if period.end < first or period.start > last:
        raise DrivestatsError(
            f"no data in {period.label} ({period.start} to {period.end}); "
            f"the fleet tables hold {first} to {last}"
        )
    return period


def _model_days(fleet_job: jobs.JobResult) -> pa.Table:
    import pyarrow.parquet as pq

    wanted = ["date", "model", "drives", "failures", "repeats", "repeated_failures"]
    path = fleet_job.output("model_days.parquet")
    held = set(pq.ParquetFile(path).schema_arrow.names)
    return fleet_table(fleet_job, "model_days", [name for name in wanted if name in held])


def _build_afr(context: jobs.JobContext) -> None:
    params = context.params
    (fleet_job,) = context.upstream_of("fleet-tables")
    period = Period(params["label"], parse_day(params["start"]), parse_day(params["end"]))
    table = afr_table(
        _model_days(fleet_job),
        fleet_table(fleet_job, "models", ["model", "vendor", "capacity_bytes"]),
        period,
        by=params["by"],
        min_drives=params["min_drives"],
        min_drive_days=params["min_drive_days"],
        include_boot=params["include_boot"],
        dedupe=params.get("dedupe", False),
        count_on=params.get("count_on"),
    )
    columns = (("period",) if table.by else ()) + AFR_COLUMNS
    write_csv(table.rows, columns, context.dir / "afr.csv")
    write_json(table.rows, context.dir / "afr.json")
    write_csv(table.left_out, LEFT_OUT_COLUMNS, context.dir / "left_out.csv")
    if table.by:
        afr_chart(table, context.dir, context.id)
    context.rows.update({"afr": len(table.rows), "left_out": len(table.left_out)})
    context.notes.update(table.notes)


AFR_STAGE = jobs.Stage(
    "afr",
    _build_afr,
    (
        "drivestats.rates.stages",
        "drivestats.rates.afr",
        "drivestats.rates.periods",
        "drivestats.rates.rules",
        "drivestats.rates.rule_table",
        "drivestats.rates.intervals",
        "drivestats.rates.charts",
        "drivestats.rates.files",
        "drivestats.charts",
        "drivestats.poisson",
        "drivestats.csv_cells",
    ),
)


def afr_job(
    workspace: Workspace,
    period: str = "latest",
    until: str | None = None,
    by: str | None = None,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
    reuse_only: bool = False,
    dedupe: bool = False,
    count_on: CountOn | None = None,
) -> jobs.JobResult:
    """The AFR table job for a period over the fleet tables (made from the store up to `until`).

    dedupe counts each drive once a day where a day repeats it; by default rows are counted,
    as Backblaze does. count_on ('first' or 'last') replaces the day the rule table's row
    counts the drives on.

    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    if until is not None:
        parse_day(until)
    if by not in (None, "quarter", "year"):
        raise DrivestatsError(f"cannot split a period by {by!r}; use quarter or year")
    if count_on not in (None, "first", "last"):
        raise DrivestatsError(f"cannot count drives on the {count_on!r} day; use first or last")
    fleet_job = _fleet_job(workspace, until, reuse_only)
    chosen = resolved_period(period, fleet_job, until)
    params = {
        "label": chosen.label,
        "start": chosen.start.isoformat(),
        "end": chosen.end.isoformat(),
        "by": by,
        "min_drives": min_drives,
        "min_drive_days": min_drive_days,
        "include_boot": include_boot,
    }
    if dedupe:  # only when asked, so that a table counted as Backblaze does keeps its id
        params["dedupe"] = True
    if count_on is not None:  # likewise: without the flag, the parameters are as before
        params["count_on"] = count_on
    return jobs.run(workspace, AFR_STAGE, params, upstream=[fleet_job], reuse_only=reuse_only)


def afr_link_name(job: jobs.JobResult, suffix: str) -> str:
    """The results/ name of an AFR output: afr-2021Q2.csv, afr-lifetime-by-quarter.png."""
    params = job.manifest["parameters"]
    label = params["label"].replace("..", "_to_")
    by = f"-by-{params['by']}" if params["by"] else ""
    dedupe = "-dedupe" if params.get("dedupe") else ""
    return f"afr-{label}{by}{dedupe}{suffix}"


def publish(workspace: Workspace, job: jobs.JobResult) -> list[Path]:
    """Link an AFR or survival job's tables and charts into results/; the links made."""
    link_name = afr_link_name if job.stage == "afr" else survival_link_name
    links = []
    for name in job.outputs:
        if name.endswith(".json"):
            continue
        stem, suffix = name.rsplit(".", 1)
        extra = "" if stem in ("afr", "survival") else f"-{stem.replace('_', '-')}"
        links.append(jobs.publish(workspace, job, name, link_name(job, f"{extra}.{suffix}")))
    return links


def _build_survival(context: jobs.JobContext) -> None:
    (fleet_job,) = context.upstream_of("fleet-tables")
    drives = fleet_table(fleet_job, "drives", ["model", "first_day", "last_day", "failure_day"])
    models = fleet_table(fleet_job, "models")
    chosen = chosen_models(context.params["models"], models)
    rows, curves = survival_table(drives, models, chosen)
    write_csv(rows, SURVIVAL_COLUMNS, context.dir / "survival.csv")
    write_json(rows, context.dir / "survival.json")
    write_json([asdict(c) for c in curves], context.dir / "curves.json")
    survival_chart(curves, context.dir, context.id)
    context.rows["survival"] = len(rows)
    default = chosen == default_survival_models(models)
    context.notes.update({"models": chosen, "method": SURVIVAL_METHOD, "default_models": default})


SURVIVAL_STAGE = jobs.Stage(
    "survival",
    _build_survival,
    (
        "drivestats.rates.stages",
        "drivestats.rates.survival",
        "drivestats.rates.rules",
        "drivestats.rates.afr",
        "drivestats.rates.intervals",
        "drivestats.rates.charts",
        "drivestats.rates.files",
        "drivestats.charts",
        "drivestats.kaplan_meier",
        "drivestats.csv_cells",
    ),
)


def survival_job(
    workspace: Workspace,
    models: Sequence[str] | None = None,
    until: str | None = None,
    reuse_only: bool = False,
) -> jobs.JobResult:
    """The Kaplan-Meier job for some models (default: the largest data-drive models).

    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    if until is not None:
        parse_day(until)
    fleet_job = _fleet_job(workspace, until, reuse_only)
    if not models:
        made = _default_survival(workspace, fleet_job, record=not reuse_only)
        if made is not None:
            return made
    chosen = chosen_models(models, fleet_table(fleet_job, "models"))
    if not chosen:
        raise DrivestatsError("no models to follow; import some data first")
    return jobs.run(
        workspace, SURVIVAL_STAGE, {"models": chosen}, upstream=[fleet_job], reuse_only=reuse_only
    )


def _default_survival(
    workspace: Workspace, fleet_job: jobs.JobResult, record: bool
) -> jobs.JobResult | None:
    """The survival job of the default models over these fleet tables, if made: found by
    its notes, so that the default need not be worked out from a table to name it."""
    from drivestats import catalog

    rows = catalog.query(
        workspace,
        "select id from jobs where stage = ? order by created desc",
        (SURVIVAL_STAGE.name,),
    )
    for row in rows:
        try:
            job = jobs.load(workspace, row["id"])
        except DrivestatsError:
            continue
        notes = job.manifest["notes"]
        if job.manifest["inputs"]["jobs"] != [fleet_job.id] or not notes.get("default_models"):
            continue
        # Made by this code: its id is the one these models would get now.
        if job.id == jobs.job_id(SURVIVAL_STAGE, {"models": notes["models"]}, {}, [fleet_job.id]):
            return jobs.existing(workspace, SURVIVAL_STAGE, job.id, record=record)
    return None


def survival_link_name(job: jobs.JobResult, suffix: str) -> str:
    """The results/ name of a survival output, distinct per set of models."""
    return f"survival-{job.id.rsplit('-', 1)[-1][:8]}{suffix}"
