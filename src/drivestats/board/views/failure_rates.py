"""The failure-rates page: the AFR table of a period, the quarterly trend, survival curves."""

from __future__ import annotations

import datetime as dt
import math
import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

from drivestats import jobs, rates
from drivestats.board.files import file_url
from drivestats.board.views.common import AfrRows, Board, Fleet, empty_state, job_link
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace


def period_choices(first: dt.date, last: dt.date) -> list[dict[str, str]]:
    """The periods offered in the picker: lifetime, latest, every year and quarter with data."""
    choices = [
        {"value": "lifetime", "kind": "span"},
        {"value": "latest", "kind": "span"},
    ]
    for year in range(last.year, first.year - 1, -1):
        choices.append({"value": str(year), "kind": "year"})
        for quarter in range(4, 0, -1):
            start = dt.date(year, 3 * quarter - 2, 1)
            if start <= last and rates.quarter_of(start).end >= first:
                choices.append({"value": f"{year}Q{quarter}", "kind": "quarter"})
    return choices


def interval_scale(rows: list[dict[str, Any]]) -> float:
    """A shared axis end for the interval bars: wide enough for most rows, not for the widest."""
    highs = sorted(r["ci_high"] for r in rows if r.get("ci_high") is not None)
    if not highs:
        return 1.0
    # Models with few drive days have enormous intervals (and estimates); letting them
    # set the axis would squeeze every other bar into a sliver, so they are clipped
    # with an arrow and their numbers printed beside the bar.
    chosen = max(highs[int(0.8 * (len(highs) - 1))], 1.0)
    power = 10 ** math.floor(math.log10(chosen))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= chosen)


def outputs_of(workspace: Workspace, job: jobs.JobResult, names: tuple[str, ...]) -> dict[str, str]:
    """Board URLs of some outputs of a job, by name, for those it has."""
    return {
        name: url
        for name in names
        if (job.dir / name).is_file() and (url := file_url(workspace, job.dir / name))
    }


def afr_command(period: str, by: str | None = None) -> str:
    """The command that makes the AFR table of a period as a job."""
    return f"drivestats afr --period {shlex.quote(period)}" + (f" --by {by}" if by else "")


@lru_cache(maxsize=16)
def computed_afr(folder: str, period: rates.Period, by: str | None = None) -> rates.AfrTable:
    """The AFR table the afr stage makes from a fleet-tables folder, computed here, not saved.

    The same reads and the same call as the afr stage's build with the CLI's defaults
    (Backblaze's rule, boot drives left out), so the rows and notes are those of the job.
    """
    import pyarrow.parquet as pq

    base = Path(folder)
    return rates.afr_table(
        pq.ParquetFile(base / "model_days.parquet").read(
            columns=["date", "model", "drives", "failures"]
        ),
        pq.ParquetFile(base / "models.parquet").read(columns=["model", "vendor", "capacity_bytes"]),
        period,
        by=by,
    )


def afr_rows(board: Board, fleet: Fleet, period: str, by: str | None = None) -> AfrRows:
    """The AFR table of a period over the fleet tables shown: the job's if made, else computed."""
    chosen = rates.resolved_period(period, fleet.job, None)  # a period without data says so
    command = afr_command(period, by)
    job = board.afr_job(fleet, period, by)
    if job is not None:
        return AfrRows(rates.read_rows(job, "afr.json"), job.manifest["notes"], job, command)
    table = computed_afr(str(fleet.job.dir), chosen, by)
    return AfrRows(table.rows, table.notes, None, command)


def rates_page(board: Board, period: str = "lifetime") -> dict[str, Any]:
    """The AFR table for a period with intervals, the quarterly trend and survival curves."""
    fleet = board.fleet()
    if fleet is None:
        return {"title": "Failure rates", **empty_state(board), "period": {"requested": period}}
    first, last = rates.data_span(fleet.job)
    page: dict[str, Any] = {
        "title": "Failure rates",
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet.job.id),
        "periods": period_choices(first, last),
    }
    try:
        page.update(afr_section(board.workspace, afr_rows(board, fleet, period), period))
    except DrivestatsError as error:
        # The page stays, with its picker, so another period is one click away.
        page.update({"status": 400, "error": str(error), "period": {"requested": period}})
    page.update(trend_section(board, fleet))
    page.update(survival_section(board, fleet))
    return page


def afr_section(workspace: Workspace, table: AfrRows, period: str) -> dict[str, Any]:
    """An AFR table: model rows, the all-models row, its caption, and its job and files."""
    everything = next((r for r in table.rows if r["model"] == rates.ALL_MODELS), None)
    models = [r for r in table.rows if r["model"] != rates.ALL_MODELS]
    names = ("afr.csv", "afr.json", "left_out.csv")
    return {
        "period": {"requested": period, **table.notes["period"]},
        "afr": {
            **table.made_by(),
            "rows": models,
            "all": everything,
            "interval_scale": interval_scale(models),
            "caption": rates.caption_of(table.notes),
            "downloads": outputs_of(workspace, table.job, names) if table.job else {},
        },
    }


def trend_section(board: Board, fleet: Fleet) -> dict[str, Any]:
    """The all-models AFR per quarter over the whole of the fleet tables shown."""
    trend = afr_rows(board, fleet, "lifetime", by="quarter")
    names = ("afr.svg", "afr.png", "afr.csv")
    return {
        "trend": {
            **trend.made_by(),
            "quarters": [
                {k: r[k] for k in ("period", "drive_days", "failures", "afr", "ci_low", "ci_high")}
                for r in trend.rows
                if r["model"] == rates.ALL_MODELS
            ],
            "charts": outputs_of(board.workspace, trend.job, names) if trend.job else {},
        }
    }


def survival_section(board: Board, fleet: Fleet) -> dict[str, Any]:
    """The Kaplan-Meier curves of the fleet tables shown, or the command that makes them."""
    job = board.survival_job(fleet)
    if job is None:
        return {
            "survival": {
                "job": None,
                "empty_message": (
                    "No survival curves have been made from these fleet tables: "
                    "`drivestats survival` makes them."
                ),
            }
        }
    return {
        "survival": {
            "job": job_link(job.id),
            "rows": rates.read_rows(job, "survival.json"),
            "charts": outputs_of(
                board.workspace, job, ("survival.svg", "survival.png", "survival.csv")
            ),
            "method": job.manifest["notes"].get("method"),
        }
    }
