"""`drivestats import` and `drivestats sources`."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from drivestats.cli.common import (
    cluster_option,
    console,
    format_option,
    pass_workspace,
    print_rows,
)
from drivestats.errors import counted
from drivestats.workspace import Workspace


class ProgressListener:
    """Draws one progress bar per source, with rows/s and MB/s.

    On a cluster several sources are built at once, and a bar fills when its task ends.
    """

    def __init__(self, bar) -> None:  # type: ignore[no-untyped-def]
        self.bar = bar
        self.tasks: dict[Path, Any] = {}
        self.started: dict[Path, float] = {}

    def source_started(self, source: Path, total_bytes: int) -> None:
        self.started[source] = time.perf_counter()
        self.tasks[source] = self.bar.add_task(source.name, total=total_bytes, rate="")

    def advanced(self, source: Path, done_bytes: int, rows: int) -> None:
        seconds = max(time.perf_counter() - self.started[source], 1e-6)
        rate = f"{rows / seconds:,.0f} rows/s  {done_bytes / seconds / 1e6:,.1f} MB/s"
        self.bar.update(self.tasks[source], completed=done_bytes, rate=rate)

    def note(self, message: str) -> None:
        self.bar.console.print(f"[yellow]{message}")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--force",
    is_flag=True,
    help="Import again even if the same content was imported, and let days replace stored "
    "days that held more than twice their rows.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@cluster_option
@pass_workspace
def import_command(
    workspace: Workspace, paths: tuple[str, ...], force: bool, quiet: bool, cluster: str | None
) -> None:
    """Import Backblaze zips, daily CSVs, Parquet files, folders of them, or an Iceberg table.

    A table is named by its metadata file (or its folder), by a PyIceberg catalog URI
    with the table after '#' (sqlite:///catalog.db#default.drivestats), or by a catalog of
    PyIceberg's configuration (catalog:NAME#default.drivestats); credentials and endpoints
    come from PyIceberg's configuration (~/.pyiceberg.yaml, PYICEBERG_* variables) and are
    never stored. Only the months the store does not hold yet are read. With --cluster,
    the import jobs of zips and CSVs are built on a Dask cluster's workers.
    """
    from drivestats.cli.common import progress
    from drivestats.store import import_sources

    with progress(quiet=quiet) as bar:
        listener = ProgressListener(bar)
        report = import_sources(workspace, list(paths), listener, force=force, cluster=cluster)
    out = console()
    for outcome in report.outcomes:
        for day, earlier in outcome.replaced_days:
            out.print(
                f"[yellow]{day}: now from {Path(outcome.path).name} (was {Path(earlier).name})"
            )
        if outcome.status == "failed":
            console(stderr=True).print(f"[red]error:[/] {outcome.error}", soft_wrap=True)
    rows: list[dict[str, Any]] = [
        {
            "source": Path(o.path).name,
            "status": o.status,
            "days": o.days,
            "first day": o.first_day,
            "last day": o.last_day,
            "rows": o.rows,
            "drives": o.drives,
            "failures": o.failures,
            "seconds": round(o.seconds, 2),
        }
        for o in report.outcomes
    ]
    if len(rows) > 1:
        rows.append(
            {
                "source": counted(len(rows), "source"),
                "status": ", ".join(f"{n} {s}" for s, n in _counts(report.outcomes).items()),
                **{k: sum(r[k] for r in rows) for k in ("days", "rows", "failures", "seconds")},
            }
        )
    print_rows(rows, "table", title=f"import into {workspace.store}")
    if report.failed:
        imported = sum(o.status != "failed" for o in report.outcomes)
        console(stderr=True).print(
            f"[red]{len(report.failed)} of {counted(len(report.outcomes), 'source')} not imported[/]; "
            f"{imported} imported or already present. Nothing of a failed source was stored."
        )
        sys.exit(1)


def _counts(outcomes) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


@click.command("sources")
@format_option
@pass_workspace
def sources_command(workspace: Workspace, output_format: str) -> None:
    """List what is imported: file, sha256, first/last day, days, rows, columns."""
    from drivestats.store import sources

    rows = [
        {
            "file": Path(s["path"]).name,
            "sha256": s["sha256"] if output_format != "table" else s["sha256"][:16],
            "first_day": s["first_day"],
            "last_day": s["last_day"],
            "days": s["days"],
            "in_store": s["days_in_store"],
            "rows": s["rows"],
            "drives": s["drives"],
            "failures": s["failures"],
            "columns": s["columns"],
            "path": s["path"],
        }
        for s in sources(workspace)
    ]
    if not rows and output_format == "table":
        console().print(
            f"nothing imported into {workspace.home} yet: `drivestats import FILES` (zips, "
            "daily CSVs or folders), or `drivestats fetch` then `import` to download them"
        )
        return
    columns = ["file", "sha256", "first_day", "last_day", "days", "in_store", "rows", "columns"]
    print_rows(rows, output_format, columns=None if output_format == "json" else columns)
