"""What every command shares: the workspace option, output formats, progress, the console."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import click

from drivestats.workspace import Workspace

home_option = click.option(
    "--home",
    envvar="DRIVESTATS_HOME",
    type=click.Path(file_okay=False),
    help="Workspace folder (store, jobs, results, data). "
    "Default: $DRIVESTATS_HOME, else ~/.local/share/drivestats.",
)


cluster_option = click.option(
    "--cluster",
    envvar="DRIVESTATS_CLUSTER",
    metavar="ADDRESS",
    help="Run the heavy jobs (imports, movie segments) as tasks on this Dask scheduler "
    "(tcp://host:8786); the workspace must be on a filesystem every worker mounts at the "
    "same path. Needs drivestats[cluster]. Default: $DRIVESTATS_CLUSTER, else this machine.",
)


def workspace_passer(fallback: Callable[[], Path] | None = None) -> Callable[..., Any]:
    """A decorator giving a command its workspace: --home (before or after the command name),
    else DRIVESTATS_HOME, else ``fallback()`` if given, else the default workspace."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @home_option
        @click.pass_context
        @wraps(command)
        def wrapper(ctx: click.Context, home: str | None, *args: Any, **kwargs: Any) -> Any:
            given = ctx.find_root().obj
            if ctx.get_parameter_source("home") is click.core.ParameterSource.ENVIRONMENT:
                home = given or home  # `drivestats --home X cmd` beats the environment
            chosen = home or given or (fallback() if fallback else None)
            return command(Workspace.resolve(chosen), *args, **kwargs)

        return wrapper

    return decorate


pass_workspace = workspace_passer()


def format_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The same --format flag for every tabular command."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "csv", "json", "markdown"]),
        default="table",
        show_default=True,
        help="How to print the table.",
    )(command)


def console(stderr: bool = False):  # type: ignore[no-untyped-def]
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output (CI logs, README examples) should not be squeezed into 80 columns.
    width = None if stream.isatty() or "COLUMNS" in os.environ else 140
    return Console(stderr=stderr, highlight=False, width=width)


def render_rows(
    rows: Sequence[dict[str, Any]],
    output_format: str,
    title: str | None = None,
    columns: Iterable[str] | None = None,
) -> str | None:
    """Rows as csv/json/markdown text; for 'table' prints a rich table and returns None."""
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if output_format == "json":
        return json.dumps(list(rows), indent=2, default=str)
    if output_format == "csv":
        from drivestats.csv_cells import spreadsheet_safe

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(row.get(k)) for k in names} for row in rows)
        return buffer.getvalue().rstrip("\n")
    if output_format == "markdown":
        lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        for row in rows:
            lines.append("| " + " | ".join(_cell(row.get(k)) for k in names) + " |")
        return "\n".join(lines)
    from rich.table import Table

    table = Table(title=title)
    for position, name in enumerate(names):
        # The first column is the row's key (a job id, a model): never wrapped or cut.
        key = position == 0
        table.add_column(name, justify="right" if _numeric(rows, name) else "left", no_wrap=key)
    for row in rows:
        table.add_row(*(_cell(row.get(k)) for k in names))
    console().print(table)
    return None


def print_rows(rows: Sequence[dict[str, Any]], output_format: str, **kwargs: Any) -> None:
    text = render_rows(rows, output_format, **kwargs)
    if text is not None:
        click.echo(text)


def _numeric(rows: Sequence[dict[str, Any]], name: str) -> bool:
    return any(isinstance(row.get(name), int | float) for row in rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def progress(quiet: bool = False, unit: str = "rows"):  # type: ignore[no-untyped-def]
    """A rich progress bar (or a silent one) for the library to advance."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        disable=quiet,
    )


def frame_reporter(bar: Any, description: str = "movie"):  # type: ignore[no-untyped-def]
    """An on_frames(done, total) callback drawing a bar with frames/s (hidden until frames come)."""
    task = bar.add_task(description, total=None, rate="", visible=False, start=False)

    def on_frames(done: int, total: int) -> None:
        if not bar.tasks[task].started:
            bar.start_task(task)  # the clock starts with the first frames, not with the command
        elapsed = bar.tasks[task].elapsed or 0.0
        # A reused movie reports all its frames at once: no rate to speak of.
        rate = f"{done / elapsed:,.0f} frames/s" if elapsed > 0.5 and done else ""
        bar.update(task, completed=done, total=total, rate=rate, visible=True)

    return on_frames
