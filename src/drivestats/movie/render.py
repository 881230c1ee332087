"""Cut the movie into segments, render and encode each as a job in a worker, join them.

A segment (stage ``movie-segment``) is a job named by a digest of what its
frames show (``segment_content``): a worker builds the scene from the fleet
tables job its parameters name, checks the digest, draws its frames from the
closed-form state at its first frame and pipes them to ffmpeg. The whole
movie (stage ``movie``) is decided by its spec and fleet tables; it joins its
segments without re-encoding. Segments are cut by frame count, never by the
number of workers, so a run with other workers, or one resumed after a kill,
reuses every finished segment and gives the same bytes; and a movie over more
days, which keeps the earlier movie's blocks where they were, reuses every
segment whose frames the new days leave unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import jobs
from drivestats.errors import DrivestatsError
from drivestats.movie.days import day_number, day_text
from drivestats.movie.spec import (
    DEFAULT_LOOK,
    SEGMENT_FRAMES,
    Look,
    MovieSpec,
    clipped,
    movie_spec,
    with_frame_rate,
)
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    from drivestats.movie.draw import Painter, Scene

# numpy, Pillow, Arrow and the drawing modules are imported where frames are made, so that
# a movie found made is published without them.

_MODULES = (
    "drivestats.movie.render",
    "drivestats.movie.spec",
    "drivestats.movie.days",
    "drivestats.movie.draw",
    "drivestats.movie.state",
    "drivestats.movie.layout",
    "drivestats.movie.encode",
    "drivestats.backblaze.format",
)
_REPORT_EVERY = 10  # frames between progress reports from a worker

# Set in a worker (or in this process for one worker) to hear about frames as they are encoded.
_frame_listener: Callable[[int], None] | None = None
# The scene of the movie this process is rendering: built once, reused by its next segments
# (a painter starts every segment from the closed-form state, so reuse changes no pixel).
_painters: dict[str, Painter] = {}


@dataclass
class MovieResult:
    """A finished movie: its job, where it is published, and what the run did."""

    job: jobs.JobResult
    link: Path
    frames: int
    segments_made: int
    segments_reused: int
    notes: list[str] = field(default_factory=list)


def scene(fleet_job: jobs.JobResult, spec: MovieSpec) -> Scene:
    """Everything the frames of a movie depend on, from the fleet tables."""
    from drivestats.fleet import read_table
    from drivestats.movie.draw import Scene
    from drivestats.movie.layout import layout
    from drivestats.movie.state import (
        movie_fleet,
        reporting_and_failures_by_day,
        storage_by_day,
    )

    timeline = spec.timeline
    fleet = movie_fleet(
        read_table(fleet_job, "drives"),
        read_table(fleet_job, "models"),
        timeline.start,
        timeline.end,
    )
    cell = None if spec.cell == "auto" else int(spec.cell)
    placed = layout(
        fleet.models, spec.width, spec.height, spec.layout, cell, spec.anchors, spec.anchor_cell
    )
    daily = read_table(fleet_job, "daily")
    storage = storage_by_day(daily, timeline.start, timeline.end)
    counts = reporting_and_failures_by_day(daily, timeline.start, timeline.end)
    return Scene(placed, fleet, timeline, storage, spec.watermark, counts)


def segment_content(painter: Painter, first: int, count: int) -> str:
    """A digest of everything frames first..first+count-1 show, and of nothing else.

    The cells of drives seen by the segment's last day (where, first report, last report
    and failure as far as the segment can tell), the labels of models seen by then, the
    days and storage shown, and how the frame days map to status days (the tail). A
    later quarter leaves it unchanged unless it changes one of these frames: a drive that
    comes back after the segment, a block moved by a new layout.
    """
    import numpy as np

    from drivestats.movie.state import NEVER

    scene = painter.scene
    timeline = scene.timeline
    last_frame_day = timeline.start + first + count - 1
    status_last = min(last_frame_day, timeline.end)
    days = scene.fleet.days
    shown = days.first <= status_last
    digest = hashlib.sha256()
    for values in (
        painter.pixels[shown],
        days.first[shown],
        np.minimum(days.last[shown], status_last),
        np.where(days.failed[shown] <= last_frame_day, days.failed[shown], NEVER),
        scene.storage[first : status_last - timeline.start + 1],
        np.empty(0)
        if scene.counts is None
        else scene.counts[first : status_last - timeline.start + 1],
    ):
        digest.update(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    layout = scene.layout
    blocks = sorted(  # by name: the packing order may change while no block moves
        [block.key, block.x, block.bottom, block.first_day, list(block.title_lines),
         block.capacity, block.vendor, dataclasses.astuple(block.label)]
        for block in layout.blocks
        if block.first_day <= status_last
    )  # fmt: skip
    digest.update(
        json.dumps(
            [blocks, layout.cell, dataclasses.astuple(layout.date_box), timeline.start + first,
             status_last, last_frame_day, scene.watermark],
            default=int,
        ).encode()
    )  # fmt: skip
    return digest.hexdigest()


def _look(spec: MovieSpec) -> dict[str, Any]:
    """What shapes every frame besides its content: canvas, frame rate, watermark."""
    return {
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "watermark": spec.watermark,
    }


def _build_segment(context: jobs.JobContext) -> None:
    """Render and encode frames first_frame .. first_frame+frames-1 of a movie."""
    from drivestats.movie.encode import Encoder

    spec = MovieSpec.from_params(context.params["movie"])
    first, count = context.params["first_frame"], context.params["frames"]
    # A cluster worker is handed the fleet job: it never reads the catalog.
    fleet_job = context.hints.get("fleet_job") or jobs.load(
        context.workspace, context.params["fleet_job"]
    )
    painter = _painter(fleet_job, spec)
    if segment_content(painter, first, count) != context.params["content"]:
        raise DrivestatsError(f"segment {context.id}: its fleet tables no longer give its frames")
    comment = context.id
    reported = 0
    with Encoder(context.dir / "segment.mp4", spec.width, spec.height, spec.fps, comment) as out:
        for done, frame in enumerate(painter.frames(first, count), start=1):
            out.write(frame)
            if _frame_listener is not None and (done - reported >= _REPORT_EVERY or done == count):
                _frame_listener(done - reported)
                reported = done
    context.rows["frames"] = count
    context.notes["layout"] = list(painter.scene.layout.notes)
    context.notes["cell_px"] = painter.scene.layout.cell


def _build_movie(context: jobs.JobContext) -> None:
    """Join the segments, in frame order, into movie.mp4."""
    from drivestats.movie.encode import concat

    segments = sorted(
        context.upstream_of(SEGMENT.name), key=lambda job: job.manifest["parameters"]["first_frame"]
    )
    concat(
        [job.output("segment.mp4") for job in segments],
        context.dir / "movie.mp4",
        context.id,
    )
    context.rows["frames"] = sum(job.manifest["parameters"]["frames"] for job in segments)
    context.rows["segments"] = len(segments)
    # Where the blocks are, for the next movie of this look to keep them there.
    context.notes["blocks"] = context.hints.get("blocks", [])
    context.notes["cell_px"] = context.hints.get("cell_px")
    context.notes["layout"] = segments[0].manifest["notes"].get("layout", []) if segments else []


def _build_frame(context: jobs.JobContext) -> None:
    """One frame of a movie as a PNG (a poster)."""
    from drivestats.movie.draw import Painter
    from drivestats.movie.encode import png_bytes

    spec = MovieSpec.from_params(context.params["movie"])
    painter = Painter(scene(_fleet_of(context), spec))
    number = day_number(context.params["day"]) - day_number(spec.start)
    frame = painter.still(number)
    (context.dir / "frame.png").write_bytes(png_bytes(frame, context.id))
    context.notes["layout"] = list(painter.scene.layout.notes)


# A segment is named by what its frames show, so a movie over more days reuses it.
SEGMENT = jobs.Stage(
    "movie-segment",
    _build_segment,
    _MODULES,
    identity_params=("look", "first_day", "frames", "content"),
)
MOVIE = jobs.Stage("movie", _build_movie, _MODULES, identity_upstream=("fleet-tables",))
FRAME = jobs.Stage("movie-frame", _build_frame, _MODULES)


def _painter(fleet_job: jobs.JobResult, spec: MovieSpec) -> Painter:
    """The painter of a movie, kept for the next segment this process renders of the same movie."""
    from drivestats.movie.draw import Painter

    key = json.dumps([fleet_job.id, str(fleet_job.dir), spec.params()], sort_keys=True)
    if key not in _painters:
        _painters.clear()  # one movie at a time: memory stays bounded
        _painters[key] = Painter(scene(fleet_job, spec))
    return _painters[key]


def forget_scenes() -> None:
    """Drop the scene kept for the next segment (a long-lived cluster worker's memory)."""
    _painters.clear()


def _fleet_of(context: jobs.JobContext) -> jobs.JobResult:
    found = context.upstream_of("fleet-tables")
    if len(found) != 1:
        raise DrivestatsError("a movie job needs exactly one fleet-tables job upstream")
    return found[0]


# --- planning and running -----------------------------------------------------


def render_movie(
    workspace: Workspace,
    start: str | None = None,
    end: str | None = None,
    until: str | None = None,
    look: Look = DEFAULT_LOOK,
    workers: int | None = None,
    out: Path | None = None,
    frames_dir: Path | None = None,
    on_frames: Callable[[int, int], None] | None = None,
    segment_frames: int = SEGMENT_FRAMES,
    layout: str = "whole",
    cluster: str | None = None,
) -> MovieResult:
    """The movie job for a range (made or reused), published under its name in results/.

    With ``layout="whole"`` a range is a clip: exactly the frames that the movie of
    every imported day (up to ``until``) shows for those days. With
    ``layout="range"`` the movie is laid out for the drives seen in the range and
    removal is decided by ``until`` (default: ``end``). ``on_frames(done, total)``
    hears about progress. With a Dask scheduler's address as ``cluster``, the segments
    are rendered on its workers; the join stays here.
    """
    from drivestats.fleet import fleet_tables

    if until and end and until < end:
        raise DrivestatsError(f"--until {until} is before --end {end}")
    if layout == "range":
        fleet_job = fleet_tables(workspace, until or end)
        spec = movie_spec(fleet_job, start, end, look, segment_frames)
        spec = with_earlier_layout(workspace, spec)
    elif layout == "whole":
        fleet_job = fleet_tables(workspace, until)
        spec = with_earlier_layout(
            workspace, movie_spec(fleet_job, None, None, look, segment_frames)
        )
        spec = clipped(spec, start, end)
    else:
        raise DrivestatsError(f"the layout is 'whole', 'range' or a layout file, not {layout!r}")
    spec = with_frame_rate(spec, look.fps)
    result = movie_job(workspace, spec, fleet_job, workers, on_frames, cluster)
    name = spec.result_name({"layout": layout, "until": until, "fps": look.fps})
    result.link = jobs.publish(workspace, result.job, "movie.mp4", name)
    if out is not None:
        shutil.copyfile(result.job.output("movie.mp4"), out)
    if frames_dir is not None:
        write_frames(spec, fleet_job, frames_dir, result.job.id)
    return result


def with_earlier_layout(workspace: Workspace, spec: MovieSpec) -> MovieSpec:
    """The spec anchored to the blocks of the latest earlier movie of the same look, if any."""
    from drivestats import catalog

    rows = catalog.query(
        workspace,
        "select id from jobs where stage = ? order by created desc, rowid desc",
        (MOVIE.name,),
    )
    for row in rows:
        earlier = jobs.load(workspace, row["id"])
        other = MovieSpec.from_params(earlier.manifest["parameters"]["movie"])
        blocks, cell = (
            earlier.manifest["notes"].get("blocks"),
            earlier.manifest["notes"].get("cell_px"),
        )
        if other.same_look(spec) and blocks and cell:
            if other.end == spec.end and other.until == spec.until:
                # The same movie (or a clip of it): its anchors, hence its layout and job.
                return dataclasses.replace(
                    spec, anchors=other.anchors, anchor_cell=other.anchor_cell
                )
            anchors = tuple((int(x), int(y), str(model)) for x, y, model in blocks)
            return dataclasses.replace(spec, anchors=anchors, anchor_cell=int(cell))
    return spec


def movie_job(
    workspace: Workspace,
    spec: MovieSpec,
    fleet_job: jobs.JobResult,
    workers: int | None = None,
    on_frames: Callable[[int, int], None] | None = None,
    cluster: str | None = None,
) -> MovieResult:
    """The movie job of a spec: finished segments reused, the others rendered by workers."""
    total = spec.frame_count
    report = on_frames or (lambda done, total: None)
    movie_params = {"movie": spec.params()}
    made = jobs.existing(workspace, MOVIE, jobs.job_id(MOVIE, movie_params, {}, [fleet_job.id]))
    if made is not None:
        report(total, total)
        return _result(workspace, made, total, made=0)
    painter = _painter(fleet_job, spec)
    planned: list[dict[str, Any]] = [
        {
            "look": _look(spec),
            "first_day": day_text(spec.timeline.start + first),
            "frames": count,
            "content": segment_content(painter, first, count),
            "movie": spec.params(),
            "first_frame": first,
            "fleet_job": fleet_job.id,
        }
        for first, count in spec.segments()
    ]
    finished: dict[int, jobs.JobResult] = {}
    pending = []
    done = 0
    for number, params in enumerate(planned):
        reused = jobs.existing(workspace, SEGMENT, jobs.job_id(SEGMENT, params, {}, []))
        if reused is not None:
            finished[number] = reused
            done += params["frames"]
        else:
            pending.append(number)
    report(done, total)
    placed = painter.scene.layout
    del painter
    if cluster is not None or min(workers or os.cpu_count() or 1, len(pending)) > 1:
        _painters.clear()  # the workers draw; this process need not hold a scene meanwhile

    def heard(frames: int) -> None:
        nonlocal done
        done += frames
        report(done, total)

    work = [planned[number] for number in pending]
    for number, job in _run_segments(workspace, work, fleet_job, workers, heard, cluster):
        finished[pending[number]] = job

    segments = [finished[number] for number in range(len(planned))]
    from drivestats.movie.layout import OTHER

    blocks = [[b.x, b.bottom, b.key] for b in placed.blocks if b.key != OTHER]
    job = jobs.run(
        workspace,
        MOVIE,
        movie_params,
        upstream=[fleet_job, *segments],
        hints={"blocks": blocks, "cell_px": placed.cell},
    )
    return _result(workspace, job, total, made=len(pending))


def _result(workspace: Workspace, job: jobs.JobResult, frames: int, made: int) -> MovieResult:
    return MovieResult(
        job=job,
        link=job.output("movie.mp4"),  # until render_movie publishes it
        frames=frames,
        segments_made=made,
        segments_reused=job.manifest["rows"].get("segments", 0) - made,
        notes=list(job.manifest["notes"].get("layout", [])),
    )


def render_poster(
    workspace: Workspace,
    day: str,
    until: str | None = None,
    look: Look = DEFAULT_LOOK,
    out: Path | None = None,
) -> tuple[jobs.JobResult, Path]:
    """The frame of the whole-range movie on one day, as a PNG job; published and copied to out."""
    from drivestats.fleet import fleet_tables

    fleet_job = fleet_tables(workspace, until)
    spec = with_earlier_layout(workspace, movie_spec(fleet_job, None, None, look))
    if not spec.start <= day <= spec.end:
        raise DrivestatsError(f"{day} is outside the imported range {spec.start} .. {spec.end}")
    job = jobs.run(workspace, FRAME, {"movie": spec.params(), "day": day}, upstream=[fleet_job])
    link = jobs.publish(workspace, job, "frame.png", f"frame-{day}.png")
    if out is not None:
        shutil.copyfile(job.output("frame.png"), out)
    return job, link


def _run_segments(
    workspace: Workspace,
    planned: list[dict[str, Any]],
    fleet_job: jobs.JobResult,
    workers: int | None,
    heard: Callable[[int], None],
    cluster: str | None = None,
) -> Iterable[tuple[int, jobs.JobResult]]:
    """Build segment jobs: in this process for one worker, else in spawned worker processes,
    or as tasks of a Dask cluster."""
    global _frame_listener
    workers = max(1, min(workers or os.cpu_count() or 1, len(planned)))
    if not planned:
        return
    if cluster is not None:
        from drivestats.cluster import cluster_segments

        yield from cluster_segments(workspace, cluster, planned, fleet_job, heard)
        return
    if workers == 1:
        _frame_listener = heard
        try:
            for number, params in enumerate(planned):
                yield number, jobs.run(workspace, SEGMENT, params)
        finally:
            _frame_listener = None
            _painters.clear()
        return

    import multiprocessing

    context = multiprocessing.get_context("spawn")
    progress: Any = context.Queue()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(progress, os.getpid())
    ) as pool:
        futures: dict[Future[jobs.JobResult], int] = {
            pool.submit(_segment_in_worker, str(workspace.home), params, fleet_job): number
            for number, params in enumerate(planned)
        }
        try:
            remaining = set(futures)
            while remaining:
                finished, remaining = wait(remaining, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress, heard)
                for future in finished:
                    yield futures[future], future.result()
            _drain(progress, heard)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _start_worker(progress: Any, parent: int) -> None:
    from drivestats.pandas_free import keep_pandas_out

    keep_pandas_out()
    global _frame_listener
    _frame_listener = progress.put
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Leave at once when the main process is gone (killed).

    Workers would otherwise wait forever on a task queue nobody writes to. The parent's
    pid comes from the parent itself: asked here, a parent that died before this thread
    started would already read as 1. A segment cut short leaves only a temporary folder,
    which the next run removes; its encoder sees its input close and exits too.
    """
    while os.getppid() == parent:
        time.sleep(0.25)
    os._exit(1)


def _segment_in_worker(
    home: str, params: dict[str, Any], fleet_job: jobs.JobResult
) -> jobs.JobResult:
    """Build one segment job in a worker process (a module-level function, so spawn can find it)."""
    return jobs.run(Workspace(Path(home)), SEGMENT, params)


def _drain(progress: Any, heard: Callable[[int], None]) -> None:
    while True:
        try:
            heard(progress.get_nowait())
        except queue.Empty:
            return


def write_frames(spec: MovieSpec, fleet_job: jobs.JobResult, folder: Path, job_id: str) -> int:
    """Write every frame of a movie as frame-NNNNNN.png into a folder; returns the count."""
    from drivestats.movie.draw import Painter
    from drivestats.movie.encode import png_bytes

    folder.mkdir(parents=True, exist_ok=True)
    painter = Painter(scene(fleet_job, spec))
    first, stop = spec.frame_range
    for number, frame in enumerate(painter.frames(first, stop - first)):
        (folder / f"frame-{number:06d}.png").write_bytes(png_bytes(frame, job_id))
    return stop - first


def verify_movie(
    workspace: Workspace, identity: str, on_frames: Callable[[int, int], None] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Re-render and re-encode every segment of a movie, then re-join them; compare bytes.

    Returns the verify report of each segment and of the movie, and the frames rendered.
    """
    movie = jobs.load(workspace, identity)
    if movie.manifest["stage"] != MOVIE.name:
        raise DrivestatsError(f"{movie.id} is a {movie.manifest['stage']} job, not a movie")
    segments = sorted(
        (jobs.load(workspace, parent) for parent in movie.manifest["inputs"]["jobs"]
         if parent.startswith(SEGMENT.name)),
        key=lambda job: job.manifest["parameters"]["first_frame"],
    )  # fmt: skip
    total = sum(job.manifest["parameters"]["frames"] for job in segments)
    report = on_frames or (lambda done, total: None)
    reports, rendered = [], 0
    report(0, total)
    for segment in segments:
        reports.append(jobs.verify(workspace, segment.id))
        rendered += segment.manifest["parameters"]["frames"]
        report(rendered, total)
    reports.append(jobs.verify(workspace, movie.id))
    return reports, rendered
