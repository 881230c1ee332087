"""`drivestats demo`: the main job on the built-in synthetic fleet."""

from __future__ import annotations

import time

import click

from drivestats.cli.common import cluster_option, console, workspace_passer
from drivestats.errors import counted
from drivestats.workspace import Workspace, demo_home


@click.command("demo")
@click.option(
    "--start", default="2013-04-10", show_default=True, help="First day of the synthetic fleet."
)
@click.option(
    "--end", default="2014-12-31", show_default=True, help="Last day of the synthetic fleet."
)
@click.option(
    "--scale",
    type=float,
    help="Fraction of the real fleet's size (default: small, for a quick demo).",
)
@click.option("--seed", type=int, help="Random seed of the synthetic fleet.")
@click.option("--no-movie", is_flag=True, help="Skip the movie and its poster.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@cluster_option
@workspace_passer(demo_home)
def demo_command(
    workspace: Workspace,
    start: str,
    end: str,
    scale: float | None,
    seed: int | None,
    no_movie: bool,
    quiet: bool,
    cluster: str | None,
) -> None:
    """Synthesize a Backblaze-like fleet, import it, and make every result from it.

    Without --home or DRIVESTATS_HOME it works in ~/.local/share/drivestats-demo,
    apart from the workspace of real data.
    """
    from drivestats.cli.common import frame_reporter, progress
    from drivestats.demo import DemoOptions, DemoStep, run_demo

    out = console()
    out.print(f"workspace: {workspace.home}")
    began = time.perf_counter()
    with progress(quiet=quiet) as bar:
        on_frames = frame_reporter(bar, "movie frames")

        def on_step(step: DemoStep) -> None:
            verb = "reused" if step.reused else "made"
            # On stdout with the summary, so that redirected output keeps its order; on a
            # terminal the live progress bar (stderr) shows these lines above itself.
            out.print(
                f"[green]✓[/] {step.name:<25} {verb:<6} {step.seconds:5.1f} s  {step.job_id or ''}"
            )
            out.print(f"  [dim]→ {step.result}[/]", soft_wrap=True)

        options = DemoOptions(start=start, end=end, scale=scale, seed=seed, movie=not no_movie)
        steps = run_demo(workspace, options, on_step=on_step, on_frames=on_frames, cluster=cluster)
    reused = sum(step.reused for step in steps)
    out.print(
        f"demo done in {time.perf_counter() - began:.1f} s: {counted(len(steps), 'step')}, "
        f"{reused} reused."
    )
    out.print(f"Results are in {workspace.results}")
    # Every later command names this workspace the same way, so the README's tour works as printed.
    out.print(f"Go on in this workspace:  export DRIVESTATS_HOME={workspace.home}")
    out.print(
        "then:  drivestats board   (and open http://127.0.0.1:8520),  drivestats afr --by quarter"
    )
