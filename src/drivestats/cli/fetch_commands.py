"""fetch and update: download Backblaze's zips into the workspace, then import what is new."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from drivestats.backblaze.fetch import BASE_URL, FetchReport
from drivestats.cli.common import cluster_option, pass_workspace, progress
from drivestats.errors import counted
from drivestats.workspace import Workspace

base_url_option = click.option(
    "--base-url",
    default=BASE_URL,
    show_default=True,
    help="Where the zips are served from (a mirror).",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


@click.command("fetch")
@click.argument("periods", nargs=-1)
@click.option("--since", metavar="PERIOD", help="Every period from this one to the latest.")
@click.option("--all", "everything", is_flag=True, help="Every period since 2013.")
@base_url_option
@quiet_option
@pass_workspace
def fetch_command(
    workspace: Workspace,
    periods: tuple[str, ...],
    since: str | None,
    everything: bool,
    base_url: str,
    quiet: bool,
) -> None:
    """Download Backblaze's zips into the data folder, resuming partial downloads.

    PERIODS are quarters (2021Q2) or years: 2013 to 2015 are yearly files,
    a later year stands for its four quarters. Complete files are skipped.
    """
    from drivestats.backblaze.fetch import fetch_periods, requested_periods

    chosen = requested_periods(periods, since, everything)
    with progress(quiet) as bar:
        report = fetch_periods(workspace, chosen, base_url, download_bar(bar))
    echo_report(report)
    failed = report.with_status("missing", "corrupt")
    if failed:
        names = ", ".join(f"{r.period.label} ({r.status})" for r in failed)
        raise click.ClickException(f"not fetched from {base_url}: {names}")


@click.command("update")
@base_url_option
@quiet_option
@cluster_option
@pass_workspace
def update_command(workspace: Workspace, base_url: str, quiet: bool, cluster: str | None) -> None:
    """Fetch every period not yet downloaded (2013 to the last finished quarter), then import it.

    A period the server lacks (a quarter not published yet) or a corrupt download is
    reported and the rest continues; a corrupt download makes the exit status 1.
    """
    from drivestats.backblaze.fetch import fetch_unfetched
    from drivestats.cli.store_commands import ProgressListener
    from drivestats.store import import_sources

    with progress(quiet) as bar:
        fetched = fetch_unfetched(workspace, base_url, download_bar(bar))
    echo_report(fetched)
    with progress(quiet) as bar:
        listener = ProgressListener(bar)
        paths = fetched.paths("downloaded", "present")
        report = import_sources(workspace, paths, listener, cluster=cluster)  # type: ignore[arg-type]
    for outcome in report.outcomes:
        if outcome.status == "imported":
            click.echo(
                f"imported {Path(outcome.path).name}: {counted(outcome.days, 'day')}, "
                f"{counted(outcome.rows, 'row')}"
            )
        elif outcome.status == "failed":
            click.echo(f"error: {outcome.error}", err=True)
    imported = sum(outcome.status == "imported" for outcome in report.outcomes)
    skipped = sum(outcome.status == "skipped" for outcome in report.outcomes)
    click.echo(f"{imported} source(s) imported, {skipped} already imported")
    if report.failed or fetched.with_status("corrupt"):
        raise click.ClickException("some periods were not fetched or not imported (see above)")


def download_bar(bar: Any) -> Callable[[str, int, int | None], None]:
    """A progress callback that draws one bar per file, with MB done and MB/s."""
    tasks: dict[str, Any] = {}

    def advance(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total, completed=done, rate="")
        bar.update(tasks[name], completed=done, total=total)
        speed = next(t.speed for t in bar.tasks if t.id == tasks[name]) or 0.0
        size = f"{done / 1e6:,.1f}" + (f"/{total / 1e6:,.1f}" if total else "")
        bar.update(tasks[name], rate=f"{size} MB {speed / 1e6:.1f} MB/s")

    return advance


def echo_report(report: FetchReport) -> None:
    """One line per downloaded, missing or corrupt file, a count of those already there."""
    for result in report.results:
        if result.status == "downloaded":
            click.echo(
                f"downloaded {result.path.name} ({result.path.stat().st_size / 1e6:,.1f} MB)"
            )
        elif result.status in ("missing", "corrupt"):
            click.echo(f"{result.status} {result.period.label}: {result.message}", err=True)
    present = report.paths("present")
    if present:
        click.echo(f"{len(present)} file(s) already complete")
