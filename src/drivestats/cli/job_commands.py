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
    if not rows and output_format == "table":
        what = f"no {stage} jobs" if stage else "no jobs"
        console().print(
            f"{what} in {workspace.home} yet: `drivestats import` and the commands after it "
            "make them (or `drivestats demo`, in a workspace of its own)"
        )
        return
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
@click.option(
    "--all", "expand_all", is_flag=True, help="Show every upstream job, not one line per stage."
)
@pass_workspace
def show_command(
    workspace: Workspace, target: str, file_limit: int, as_json: bool, expand_all: bool
) -> None:
    """Show the lineage of a job, or of a file a job made, down to the source zips.

    TARGET is a job id (or a unique prefix), a file anywhere (found by the job id written
    inside it, or by its sha256), or a path inside the workspace such as
    results/afr-lifetime.csv, from whatever directory. A store month file holding days of
    several imports shows each. --json prints the tree (a list of trees for several).
    """
    from drivestats import lineage
    from drivestats.errors import DrivestatsError

    path = _workspace_path(workspace, target)
    identities = lineage.jobs_of_file(workspace, path) if path.exists() else [target]
    try:
        trees = [lineage.lineage(workspace, identity) for identity in identities]
    except DrivestatsError:
        if not path.exists():
            raise
        _show_carried(workspace, path, as_json)  # made elsewhere: what the file says of itself
        return
    if as_json:
        click.echo(json.dumps(trees[0] if len(trees) == 1 else trees, indent=2))
        return
    from rich.tree import Tree

    if len(trees) > 1:
        console().print(f"{path.name} holds days of {len(trees)} imports:")
    for tree in trees:
        root = Tree(_label(tree))
        _grow(root, tree, file_limit, expand_all)
        console().print(root)


def _workspace_path(workspace: Workspace, target: str) -> Path:
    """A path as given, or inside the workspace (results/..., jobs/...) from any directory."""
    path = Path(target)
    if not path.exists() and (workspace.home / path).exists():
        return workspace.home / path
    return path


def _show_carried(workspace: Workspace, path: Path, as_json: bool) -> None:
    """The provenance a file carries, for a file whose jobs this workspace does not hold."""
    from drivestats import provenance
    from drivestats.errors import DrivestatsError

    said = provenance.read(path)
    if not said:
        raise DrivestatsError(f"no job in {workspace.home} made {path}, and it names none")
    if as_json:
        click.echo(json.dumps({"file": str(path), "carries": said}, indent=2))
        return
    from rich.tree import Tree

    if said.get("job"):
        made = f"made by job {said['job']}, which {workspace.home} does not hold"
    else:
        made = f"a store month merged from imports that {workspace.home} does not hold"
    root = Tree(f"[bold]{path.name}[/]: {made}")
    for key in ("stage", "code_sha256", "month", "inputs_sha256"):
        if key in said:
            root.add(f"{key}: {said[key]}")
    for name, digest in said.get("sources", {}).items():
        root.add(f"[green]{name}[/]  sha256 {digest}")
    if isinstance(said.get("days"), dict):
        by_source: dict[tuple[str, str], list[str]] = {}
        for day, entry in said["days"].items():
            by_source.setdefault((entry["source"], entry["source_sha256"]), []).append(day)
        for (name, digest), days in by_source.items():
            span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
            root.add(f"[green]{name}[/]  sha256 {digest}  ({span})")
    elif said.get("days"):
        first, last, count = said["days"]
        root.add(f"days: {first} to {last} ({count:,} days)")
    console().print(root)


def _label(node: dict[str, Any]) -> str:
    from drivestats.jobs import short_parameters

    parameters = short_parameters(node["parameters"])
    outputs = [o["name"] for o in node["outputs"]]
    shown = ", ".join(outputs[:4]) + (f", … {len(outputs) - 4} more" if len(outputs) > 4 else "")
    return f"[bold]{node['id']}[/]  {parameters}\n[dim]outputs: {shown}[/]"


# More upstream jobs of one stage than this are shown as one line (without --all).
FOLDED_JOBS = 3


def _grow(branch: Any, node: dict[str, Any], file_limit: int, expand_all: bool = False) -> None:
    if node.get("repeated"):
        branch.add("[dim](its inputs are shown above)[/]")
        return
    files = node["files"]
    for entry in files[: file_limit or None]:
        branch.add(f"[green]{entry['name']}[/]  sha256 {entry['sha256']}")
    if file_limit and len(files) > file_limit:
        branch.add(f"[dim]… {len(files) - file_limit} more input files (--files 0 lists all)[/]")
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for parent in node["upstream"]:
        by_stage.setdefault(parent["stage"], []).append(parent)
    for stage, parents in by_stage.items():
        if expand_all or len(parents) <= FOLDED_JOBS:
            for parent in parents:
                _grow(branch.add(_label(parent)), parent, file_limit, expand_all)
            continue
        # Many jobs of one stage (a partial per month, a segment per stretch of days): one
        # line for them, then what they were made from, each once.
        folded = branch.add(f"[bold]{len(parents)} {stage} jobs[/] [dim](--all shows each)[/]")
        below = {
            grandparent["id"]: grandparent
            for parent in parents
            for grandparent in parent["upstream"]
            if not grandparent.get("repeated")
        }
        # In the order of what they are (their parameters), not of their ids: a code change
        # renames every job, and the tree should read the same.
        ordered = sorted(below.values(), key=lambda n: json.dumps(n["parameters"], sort_keys=True))
        for grandparent in ordered:
            _grow(folded.add(_label(grandparent)), grandparent, file_limit, expand_all)


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

    JOB is a job id (or a unique prefix), or a file a job made, such as
    results/afr-lifetime.csv. A movie is re-made from its frames: every segment
    re-rendered and re-encoded.
    """
    from drivestats.jobs import load, verify
    from drivestats.lineage import job_of_file

    path = _workspace_path(workspace, job)
    target = load(workspace, job_of_file(workspace, path) if path.exists() else job)
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


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also keep the newest N jobs of each stage (and what they were made from).",
)
@format_option
@pass_workspace
def gc_command(workspace: Workspace, dry_run: bool, keep: int, output_format: str) -> None:
    """Remove the jobs nothing needs: not linked from results/, not holding store days,
    not upstream of a kept job. Safe to interrupt; run it when no other command is running.
    """
    from drivestats.cleanup import collect

    found = collect(workspace, keep=keep, dry_run=dry_run)
    rows = [
        {"stage": stage, "jobs": count, "size": _size(size)}
        for stage, (count, size) in sorted(found.by_stage.items())
    ]
    if found.leftovers:
        size = found.freed_bytes - sum(size for _, size in found.by_stage.values())
        rows.append(
            {"stage": "(left by killed runs)", "jobs": len(found.leftovers), "size": _size(size)}
        )
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "removed": found.removed,
                    "kept": found.kept,
                    "leftovers": [workspace.relative(p) for p in found.leftovers],
                    "freed_bytes": found.freed_bytes,
                },
                indent=2,
            )
        )
        return
    if rows:
        print_rows(rows, output_format, title="would remove" if dry_run else "removed")
    removed = len(found.removed)
    console().print(
        f"{removed:,} job{'' if removed == 1 else 's'} "
        f"{'to remove' if dry_run else 'removed'}, {len(found.kept):,} kept; "
        f"{'would free' if dry_run else 'freed'} {_size(found.freed_bytes)}"
        + (" (--dry-run: nothing was removed)" if dry_run else "")
    )


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


@click.command("log")
@click.option("--limit", type=int, default=20, show_default=True, help="How many runs (0: all).")
@format_option
@pass_workspace
def log_command(workspace: Workspace, limit: int, output_format: str) -> None:
    """The history of runs, newest first: when, the command, the jobs it made and reused,
    wall and CPU seconds. A run killed before its end shows as interrupted.
    """
    from drivestats import history

    listed = history.runs(workspace, limit or None)
    if not listed and output_format == "table":
        console().print(f"no runs recorded in {workspace.home} yet")
        return
    if output_format == "json":
        click.echo(history.as_json(listed))
        return
    rows = [
        {
            "started": run["started"].replace("T", " ").split("+")[0],
            "command": (run["command"] or "(interrupted)").removeprefix("drivestats "),
            "made": _by_stage(run["made"]),
            "reused": _by_stage(run["reused"]),
            "seconds": run["seconds"],
            "cpu seconds": run["cpu_seconds"],
            "exit": run["exit_code"],
        }
        for run in listed
    ]
    print_rows(rows, output_format, title=f"runs in {workspace.home}, newest first")


def _by_stage(ids: list[str]) -> str:
    """'movie-segment ×3, movie' for a list of job ids: stages, and how many of each."""
    counts: dict[str, int] = {}
    for identity in ids:
        stage = identity.rsplit("-", 1)[0]
        counts[stage] = counts.get(stage, 0) + 1
    return ", ".join(stage if n == 1 else f"{stage} ×{n}" for stage, n in counts.items())
