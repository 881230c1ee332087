"""`drivestats jobs`, `drivestats show` and `drivestats verify`: provenance from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from drivestats.cli.common import console, format_option, pass_workspace, print_rows
from drivestats.workspace import Workspace


@click.command("jobs")
@click.option("--stage", help="Only jobs of this stage (import, fleet-tables, afr, movie, ...).")
@click.option("--limit", type=int, default=50, show_default=True, help="How many (0: all).")
@format_option
@pass_workspace
def jobs_command(workspace: Workspace, stage: str | None, limit: int, output_format: str) -> None:
    """List jobs, newest first: id, stage, parameters, created, seconds, reused."""
    from drivestats.jobs import recent_jobs, short_parameters

    rows = [row for row in recent_jobs(workspace) if stage is None or row["stage"] == stage]
    rows = rows[:limit] if limit else rows
    for row in rows:
        row["parameters"] = short_parameters(json.loads(row["parameters"]))
        row["created"] = row["created"].replace("T", " ").split("+")[0]
    columns = ["id", "stage", "parameters", "created", "seconds", "reused"]
    print_rows(rows, output_format, columns=columns)


@click.command("show")
@click.argument("target")
@click.option(
    "--files",
    "file_limit",
    type=int,
    default=5,
    show_default=True,
    help="Input files shown per job (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as JSON.")
@pass_workspace
def show_command(workspace: Workspace, target: str, file_limit: int, as_json: bool) -> None:
    """Show the lineage of a job, or of a file a job made, down to the raw input files.

    TARGET is a job id (or a unique prefix), a file anywhere, or a path inside the
    workspace such as results/afr-lifetime.csv, from whatever directory.
    """
    from drivestats import jobs

    path = Path(target)
    if not path.exists() and (workspace.home / path).exists():
        path = workspace.home / path  # results/..., jobs/..., store/...: from any directory
    identity = jobs.job_of_file(workspace, path) if path.exists() else target
    tree = jobs.lineage(workspace, identity)
    if as_json:
        click.echo(json.dumps(tree, indent=2))
        return
    from rich.tree import Tree

    root = Tree(_label(tree))
    _grow(root, tree, file_limit)
    console().print(root)


def _label(node: dict[str, Any]) -> str:
    from drivestats.jobs import short_parameters

    parameters = short_parameters(node["parameters"])
    outputs = [o["name"] for o in node["outputs"]]
    shown = ", ".join(outputs[:4]) + (f", … {len(outputs) - 4} more" if len(outputs) > 4 else "")
    return f"[bold]{node['id']}[/]  {parameters}\n[dim]outputs: {shown}[/]"


def _grow(branch: Any, node: dict[str, Any], file_limit: int) -> None:
    if node.get("repeated"):
        branch.add("[dim](its inputs are shown above)[/]")
        return
    files = node["files"]
    for entry in files[: file_limit or None]:
        branch.add(f"[green]{entry['name']}[/]  sha256 {entry['sha256']}")
    if file_limit and len(files) > file_limit:
        branch.add(f"[dim]… {len(files) - file_limit} more input files (--files 0 lists all)[/]")
    for parent in node["upstream"]:
        _grow(branch.add(_label(parent)), parent, file_limit)


@click.command("verify")
@click.argument("job")
@click.option(
    "--shallow",
    is_flag=True,
    help="For a movie: only re-join its stored segments, without re-rendering their frames.",
)
@pass_workspace
def verify_command(workspace: Workspace, job: str, shallow: bool) -> None:
    """Re-make a job in a scratch folder and compare output hashes; exit 0 only if identical.

    A movie is re-made from its frames: every segment re-rendered and re-encoded.
    """
    from drivestats.jobs import load, verify

    target = load(workspace, job)
    frames = 0
    if target.manifest["stage"] == "movie" and not shallow:
        from drivestats.cli.common import frame_reporter, progress
        from drivestats.movie.render import verify_movie

        with progress(unit="frames") as bar:
            reports, frames = verify_movie(workspace, target.id, frame_reporter(bar, "verify"))
    else:
        reports = [verify(workspace, target.id)]
    rows = [
        {
            "job": report["id"],
            "output": c["name"],
            "manifest": c["manifest"][:16],
            "stored": (c["stored"] or "missing")[:16],
            "remade": (c["remade"] or "missing")[:16],
            "same": "yes" if c["manifest"] == c["stored"] == c["remade"] else "NO",
        }
        for report in reports
        for c in report["outputs"]
    ]
    print_rows(rows, "table", title=f"verify {target.id}")
    rendered = f" ({frames:,} frames rendered again)" if frames else ""
    if all(report["identical"] for report in reports):
        console().print(f"[green]identical:[/] {target.id} re-made bit for bit{rendered}")
    else:
        console(stderr=True).print(
            f"[red]differs:[/] {target.id} could not be re-made identically{rendered}"
        )
        sys.exit(1)
