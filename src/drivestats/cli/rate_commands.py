"""The afr and survival commands: parse options, call drivestats.rates, print the table."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

import click

from drivestats.cli.common import format_option, pass_workspace, render_rows
from drivestats.errors import DrivestatsError

_OUT_FORMATS = {".json": "json", ".md": "markdown", ".csv": "csv"}
_OUT_HELP = (
    "Also write to this file; the suffix decides what: .csv, .json or .md the table, "
    ".png or .svg the chart."
)


def _write_out(path: str, rows: list[dict[str, Any]], columns: tuple[str, ...], job: Any) -> None:
    """Write the table or copy the chart to a file the user named."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".png", ".svg"):
        chart = [name for name in job.outputs if name.endswith(suffix)]
        if not chart:
            raise DrivestatsError(f"this table has no chart to write to {path}; add --by quarter")
        shutil.copyfile(job.output(chart[0]), target)
        return
    text = render_rows(rows, _OUT_FORMATS.get(suffix, "csv"), columns=columns)
    target.write_text((text or "") + "\n")


def _links(workspace: Any, links: list[Path]) -> list[str]:
    return [f"results/{link.name}" for link in links]


def _with_interval(value: float | None, low: float | None, high: float | None) -> str:
    """A value and its interval in one cell: '98.71 (98.52-98.88)', or '' when not reached."""
    if value is None:
        return ""
    band = "" if low is None or high is None else f" ({low:.2f}-{high:.2f})"
    return f"{value:.2f}{band}"


def _survival_view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The survival table narrowed for a terminal: each value with its interval in one cell."""
    view = []
    for row in rows:
        cells = {k: row[k] for k in ("model", "drives", "failures")}
        cells["median days"] = _with_interval(
            row["median_days"], row["median_low"], row["median_high"]
        )
        for years in (1, 3, 5):
            key = f"survival_{years}y"
            cells[f"{years} year %"] = _with_interval(
                row[key], row[f"{key}_low"], row[f"{key}_high"]
            )
        view.append(cells)
    return view


def _report(job: Any, links: list[str], caption: str | None = None) -> None:
    """Say on stderr which job made the table, what it applied and where it was published."""
    if caption:
        click.echo(caption, err=True)
    state = "reused" if job.reused else "made"
    click.echo(f"Job {job.id} ({state}); results: {', '.join(links)}", err=True)


@click.command("afr")
@click.option(
    "--period",
    help="2021Q2, 2021, lifetime, latest (the last quarter with data) or 2020-01-01..2020-06-30 "
    "[default: latest; with --by, lifetime: the trend over every stored day].",
)
@click.option("--until", metavar="DATE", help="Use only data up to this day (YYYY-MM-DD).")
@click.option("--min-drives", type=click.IntRange(min=0), help="Override: at least N drives.")
@click.option(
    "--min-drive-days", type=click.IntRange(min=0), help="Override: at least N drive days."
)
@click.option("--include-boot", is_flag=True, help="Keep boot drives (under 1 TB, SSDs).")
@click.option(
    "--dedupe",
    is_flag=True,
    help="Count each drive once a day where a day repeats it (default: count rows, as "
    "Backblaze does; the caption says how many rows repeat).",
)
@click.option(
    "--by", type=click.Choice(["quarter", "year"]), help="One row per model and quarter or year."
)
@click.option(
    "--count-on",
    type=click.Choice(["first", "last"]),
    help="Override: count a model's drives on the period's first or last day with data "
    "(default: the day Backblaze's rule for the period counts on).",
)
@format_option
@click.option("--out", type=click.Path(dir_okay=False), help=_OUT_HELP)
@pass_workspace
def afr_command(
    workspace: Any,
    period: str | None,
    until: str | None,
    min_drives: int | None,
    min_drive_days: int | None,
    include_boot: bool,
    dedupe: bool,
    by: str | None,
    count_on: Literal["first", "last"] | None,
    output_format: str,
    out: str | None,
) -> None:
    """Annualized failure rates per model as Backblaze computes them, with 95% intervals."""
    from drivestats import rates

    period = period or ("lifetime" if by else "latest")

    job = rates.afr_job(
        workspace,
        period,
        until,
        by,
        min_drives,
        min_drive_days,
        include_boot,
        dedupe=dedupe,
        count_on=count_on,
    )
    rows = rates.read_rows(job, "afr.json")
    columns = (("period",) if by else ()) + rates.AFR_COLUMNS
    label = job.manifest["parameters"]["label"]
    text = render_rows(
        rows, output_format, title=f"Annualized failure rate, {label}", columns=columns
    )
    if text is not None:
        click.echo(text)
    if out:
        _write_out(out, rows, columns, job)
    _report(
        job,
        _links(workspace, rates.publish(workspace, job)),
        rates.caption_of(job.manifest["notes"]),
    )


@click.command("survival")
@click.option(
    "--models",
    help="Comma-separated models (default: the six data-drive models with the most drives).",
)
@click.option("--until", metavar="DATE", help="Use only data up to this day (YYYY-MM-DD).")
@format_option
@click.option("--out", type=click.Path(dir_okay=False), help=_OUT_HELP)
@pass_workspace
def survival_command(
    workspace: Any, models: str | None, until: str | None, output_format: str, out: str | None
) -> None:
    """Kaplan-Meier survival per model: median life and survival at 1, 3 and 5 years."""
    from drivestats import rates

    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    job = rates.survival_job(workspace, chosen, until)
    rows = rates.read_rows(job, "survival.json")
    title = "Kaplan-Meier survival, 95% intervals (empty: not followed that long / not reached)"
    if output_format == "table":
        render_rows(_survival_view(rows), "table", title=title)
        text = None
    else:
        text = render_rows(rows, output_format, columns=rates.SURVIVAL_COLUMNS)
    if text is not None:
        click.echo(text)
    if out:
        _write_out(out, rows, rates.SURVIVAL_COLUMNS, job)
    _report(job, _links(workspace, rates.publish(workspace, job)))
