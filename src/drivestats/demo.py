"""The built-in default: a synthetic fleet, imported, and every result made from it.

Each step is a job (the synthetic zips too), so a second demo reuses everything
and finishes in seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivestats import jobs
from drivestats.errors import counted
from drivestats.workspace import Workspace


@dataclass(frozen=True)
class DemoOptions:
    """What the demo fleet is made of; defaults give a demo of a couple of minutes."""

    start: str = "2013-04-10"
    end: str = "2014-12-31"
    scale: float | None = None
    seed: int | None = None
    movie: bool = True
    # The demo fleet is small: its cells are drawn as large as the canvas allows.
    cell: str = "auto"


@dataclass
class DemoStep:
    """One step of the demo: what it made, where, and whether it was reused."""

    name: str
    result: str
    job_id: str | None
    reused: bool
    seconds: float


def _build_synthetic_zips(context: jobs.JobContext) -> None:
    """Write the synthetic fleet's zips and truth file into the job folder."""
    from drivestats.backblaze import synth

    synth.write_fleet(context.dir, _synth_params(context.params))


def _synth_params(params: dict[str, Any]):  # type: ignore[no-untyped-def]
    from drivestats.backblaze import synth

    chosen = {k: v for k, v in params.items() if v is not None}
    chosen["start"] = dt.date.fromisoformat(chosen["start"])
    chosen["end"] = dt.date.fromisoformat(chosen["end"])
    return synth.SynthParams(**chosen)


SYNTHETIC_ZIPS = jobs.Stage(
    Workspace(Path()).demo_zips.name,  # the folder the store knows as the demo's
    _build_synthetic_zips,
    (
        "drivestats.demo",
        "drivestats.backblaze.synth.dates",
        "drivestats.backblaze.synth.models",
        "drivestats.backblaze.synth.smart",
        "drivestats.backblaze.synth.simulation",
        "drivestats.backblaze.synth.days",
        "drivestats.backblaze.synth.packaging",
        "drivestats.backblaze.format",
    ),
)


def synthetic_zips(workspace: Workspace, options: DemoOptions) -> jobs.JobResult:
    """The job holding the demo's synthetic Backblaze zips (made once, then reused)."""
    # None is synth's default scale or seed: the job's code fingerprint covers synth, so
    # the id changes with the default, and naming the job needs no numpy.
    params = {
        "start": options.start,
        "end": options.end,
        "scale": options.scale,
        "seed": options.seed,
    }
    return jobs.run(workspace, SYNTHETIC_ZIPS, params)


def _refuse_foreign_data(workspace: Workspace) -> None:
    """The demo imports synthetic days; into a workspace of real data they would replace real days."""
    from drivestats import store
    from drivestats.errors import DrivestatsError

    own = workspace.demo_zips.resolve()
    foreign = [
        s["path"]
        for s in store.sources(workspace)
        if not Path(s["path"]).resolve().is_relative_to(own)
    ]
    if foreign:
        raise DrivestatsError(
            f"{workspace.home} holds imported data ({len(foreign)} sources, e.g. {Path(foreign[0]).name}); "
            "the demo's synthetic days would replace real ones. Run the demo in a workspace of its "
            "own: drivestats --home DIR demo"
        )


def run_demo(
    workspace: Workspace,
    options: DemoOptions = DemoOptions(),
    on_step: Callable[[DemoStep], None] | None = None,
    on_frames: Callable[[int, int], None] | None = None,
    cluster: str | None = None,
) -> list[DemoStep]:
    """Synthesize, import, and make the fleet tables, failure rates, survival and the movie.

    With a Dask scheduler's address as ``cluster``, the imports and movie segments run there.
    """
    steps: list[DemoStep] = []

    def record(
        name: str, started: float, job: jobs.JobResult | None, result: str, reused: bool
    ) -> None:
        step = DemoStep(
            name, result, job.id if job else None, reused, time.perf_counter() - started
        )
        steps.append(step)
        if on_step:
            on_step(step)

    workspace.ensure()
    _refuse_foreign_data(workspace)
    started = time.perf_counter()
    zips = synthetic_zips(workspace, options)
    record("synthetic fleet", started, zips, workspace.relative(zips.dir), zips.reused)

    from drivestats.store import import_sources

    started = time.perf_counter()
    archives = sorted(zips.dir.glob("*.zip"))
    report = import_sources(workspace, archives, cluster=cluster)
    if report.failed:
        raise RuntimeError(f"the demo's own zips failed to import: {report.failed[0].error}")
    imported = [o for o in report.outcomes if o.status == "imported"]
    rows = sum(o.rows for o in report.outcomes)
    record(
        "import",
        started,
        None,
        f"{counted(len(archives), 'zip')}, {rows:,} rows into store/",
        not imported,
    )

    from drivestats.fleet import fleet_tables

    started = time.perf_counter()
    fleet = fleet_tables(workspace)
    record("fleet tables", started, fleet, workspace.relative(fleet.dir), fleet.reused)

    from drivestats import rates

    started = time.perf_counter()
    lifetime = rates.afr_job(workspace, period="lifetime")
    rates.publish(workspace, lifetime)
    record(
        "failure rates (lifetime)",
        started,
        lifetime,
        _published(workspace, lifetime),
        lifetime.reused,
    )
    started = time.perf_counter()
    quarterly = rates.afr_job(workspace, period="lifetime", by="quarter")
    rates.publish(workspace, quarterly)
    record(
        "failure rates by quarter",
        started,
        quarterly,
        _published(workspace, quarterly),
        quarterly.reused,
    )
    started = time.perf_counter()
    survival = rates.survival_job(workspace)
    rates.publish(workspace, survival)
    record("survival", started, survival, _published(workspace, survival), survival.reused)

    if options.movie:
        from drivestats.movie.render import render_movie, render_poster
        from drivestats.movie.spec import Look

        look = Look(cell=options.cell)
        started = time.perf_counter()
        movie = render_movie(workspace, look=look, on_frames=on_frames, cluster=cluster)
        record("movie", started, movie.job, _published(workspace, movie.job), movie.job.reused)
        started = time.perf_counter()
        last_day = fleet.manifest["parameters"]["until"]
        poster_job, _ = render_poster(workspace, last_day, look=look)
        record("poster", started, poster_job, _published(workspace, poster_job), poster_job.reused)
    return steps


def _published(workspace: Workspace, job: jobs.JobResult) -> str:
    """The results/ links that point into a job, or the job folder if none does."""
    links = []
    if workspace.results.exists():
        for link in sorted(workspace.results.iterdir()):
            if link.is_symlink() and link.resolve().is_relative_to(job.dir.resolve()):
                links.append(f"results/{link.name}")
    return ", ".join(links) if links else workspace.relative(job.dir)
