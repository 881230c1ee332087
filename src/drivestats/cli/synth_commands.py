"""drivestats synth: write a synthetic Backblaze fleet in Backblaze's packaging."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from drivestats.cli.common import console, pass_workspace, progress
from drivestats.errors import counted
from drivestats.workspace import Workspace

DAY = click.DateTime(["%Y-%m-%d"])


@click.command("synth")
@click.argument("outdir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--start", type=DAY, default="2013-04-10", show_default=True, help="First day.")
@click.option("--end", type=DAY, default="2014-12-31", show_default=True, help="Last day.")
@click.option(
    "--scale", type=float, default=0.05, show_default=True, help="Share of the real fleet."
)
@click.option("--seed", type=int, default=2013, show_default=True, help="Seed of the simulation.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_workspace
def synth_command(
    workspace: Workspace,
    outdir: Path | None,
    start: dt.datetime,
    end: dt.datetime,
    scale: float,
    seed: int,
    quiet: bool,
) -> None:
    """Write zips like Backblaze's (data_2013.zip, data_Q1_2016.zip, ...) and truth.csv to OUTDIR.

    OUTDIR defaults to the workspace's data/synthetic folder.
    """
    outdir = outdir or workspace.data / "synthetic"
    from drivestats.backblaze.synth import SynthParams, write_fleet

    params = SynthParams(start=start.date(), end=end.date(), scale=scale, seed=seed)
    with progress(quiet) as bar:
        task = bar.add_task("synth", total=None, rate="days")

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = write_fleet(outdir, params, on_progress=advance)
    console().print(
        f"{counted(summary.rows, 'row')} over {counted(summary.days, 'day')} in "
        f"{counted(len(summary.zips), 'zip')}; "
        f"truth in {summary.truth}"
    )
