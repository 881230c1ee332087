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
    """Show the lineage of a job, or of a file a job made, down to the raw input files."""
    from drivestats import jobs

    path = Path(target)
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
@pass_workspace
def verify_command(workspace: Workspace, job: str) -> None:
    """Re-make a job in a scratch folder and compare output hashes; exit 0 only if identical."""
    from drivestats.jobs import verify

    report = verify(workspace, job)
    rows = [
        {
            "output": c["name"],
            "manifest": c["manifest"][:16],
            "stored": (c["stored"] or "missing")[:16],
            "remade": (c["remade"] or "missing")[:16],
            "same": "yes" if c["manifest"] == c["stored"] == c["remade"] else "NO",
        }
        for c in report["outputs"]
    ]
    print_rows(rows, "table", title=f"verify {report['id']}")
    if report["identical"]:
        console().print(f"[green]identical:[/] {report['id']} re-made bit for bit")
    else:
        console(stderr=True).print(
            f"[red]differs:[/] {report['id']} could not be re-made identically"
        )
        sys.exit(1)
