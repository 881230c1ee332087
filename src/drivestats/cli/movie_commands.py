"""The movie and frame commands: parse options, call drivestats.movie.render, print what it made."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from drivestats.cli.common import (
    cluster_option,
    frame_reporter,
    pass_workspace,
    progress,
)
from drivestats.errors import DrivestatsError, counted


def _size(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", value.strip().lower())
    if not match:
        raise click.BadParameter(f"expected WIDTHxHEIGHT such as 1920x1080, not {value!r}")
    return int(match.group(1)), int(match.group(2))


def _overrides(path: str | None) -> tuple[tuple[int, int, str], ...]:
    if path is None:
        return ()
    from drivestats.movie.layout import parse_overrides

    return parse_overrides(Path(path).read_text())


def _date(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise DrivestatsError(f"dates are YYYY-MM-DD, not {value!r}")
    return value


_size_option = click.option(
    "--size", default="1920x1080", show_default=True, help="Canvas WIDTHxHEIGHT (even numbers)."
)
_until_option = click.option(
    "--until",
    help="Decide removal by each drive's last report up to this day (default: the last frame's day).",
)
_layout_option = click.option(
    "--layout",
    "layout_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Place blocks yourself: lines 'x y model', x y = the block's bottom-left pixel.",
)
_movie_layout_option = click.option(
    "--layout",
    "layout_choice",
    default="whole",
    show_default=True,
    help="'whole': a range is a clip of the movie of every imported day (same layout, same "
    "states); 'range': laid out for the drives seen in the range only; or a file of lines "
    "'x y model' placing blocks yourself (x y = the block's bottom-left pixel).",
)


def _fps(value: str) -> int | None:
    if value == "auto":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"expected 'auto' or frames per second, not {value!r}")
    return int(value)


_watermark_option = click.option(
    "--watermark", default="", help="Faint large text behind everything (default: none)."
)
_cell_option = click.option(
    "--cell",
    default="auto",
    show_default=True,
    help="Cell edge in pixels, or 'auto': the largest at which every block and label fits.",
)


def _look(size: str, fps: int | None, layout_file: str | None, watermark: str, cell: str) -> Any:
    from drivestats.movie.spec import Look

    width, height = _size(size)
    return Look(width, height, fps, _overrides(layout_file), watermark, cell)


@click.command("movie")
@click.option("--start", help="First day (default: the first imported day).")
@click.option("--end", help="Last day (default: the last imported day).")
@_until_option
@_size_option
@click.option(
    "--fps",
    default="auto",
    show_default=True,
    help="Frames (days) per second, or 'auto': 60, fewer so that a short range lasts 5 s.",
)
@click.option("--workers", type=int, help="Worker processes (default: one per core).")
@click.option("--out", type=click.Path(dir_okay=False), help="Also copy the movie here.")
@_movie_layout_option
@_watermark_option
@_cell_option
@click.option(
    "--frames-dir",
    type=click.Path(file_okay=False),
    help="Also write every frame as a PNG into this folder.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@cluster_option
@pass_workspace
def movie_command(
    workspace: Any,
    start: str | None,
    end: str | None,
    until: str | None,
    size: str,
    fps: str,
    workers: int | None,
    out: str | None,
    layout_choice: str,
    watermark: str,
    cell: str,
    frames_dir: str | None,
    quiet: bool,
    cluster: str | None,
) -> None:
    """Render the fleet movie: every drive a cell, every day a frame, as an mp4.

    A --start/--end range is a clip of the movie of every imported day: the same
    frames for those days. Each movie gets its own name in results/ from its range,
    size and frame rate; results/movie.mp4 is the whole movie at the default size.
    """
    from drivestats.movie.render import render_movie

    layout_file = None
    if layout_choice not in ("whole", "range"):
        if not Path(layout_choice).is_file():
            raise click.BadParameter(
                f"expected 'whole', 'range' or a layout file, not {layout_choice!r} (no such file)",
                param_hint="--layout",
            )
        layout_file, layout_choice = layout_choice, "whole"

    with progress(quiet=quiet, unit="frames") as bar:
        on_frames = frame_reporter(bar, "movie")

        result = render_movie(
            workspace,
            start=_date(start),
            end=_date(end),
            until=_date(until),
            look=_look(size, _fps(fps), layout_file, watermark, cell),
            workers=workers,
            out=Path(out) if out else None,
            frames_dir=Path(frames_dir) if frames_dir else None,
            on_frames=on_frames,
            layout=layout_choice,
            cluster=cluster,
        )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    state = "reused" if result.job.reused else "made"
    rate = result.job.manifest["parameters"]["movie"]["fps"]
    chosen = " (auto)" if fps == "auto" else ""
    click.echo(
        f"Job {result.job.id} ({state}): {result.frames:,} frames at {rate} fps{chosen}, "
        f"{result.frames / rate:.1f} s; "
        f"{counted(result.segments_made, 'segment')} rendered, {result.segments_reused} reused",
        err=True,
    )
    click.echo(workspace.relative(result.link.parent) + "/" + result.link.name)
    if out:
        click.echo(out)


@click.command("frame")
@click.argument("day")
@click.option("--out", type=click.Path(dir_okay=False), help="Also copy the PNG here.")
@_size_option
@_until_option
@_layout_option
@_watermark_option
@_cell_option
@pass_workspace
def frame_command(
    workspace: Any,
    day: str,
    out: str | None,
    size: str,
    until: str | None,
    layout_file: str | None,
    watermark: str,
    cell: str,
) -> None:
    """Render one day of the fleet movie as a PNG poster."""
    from drivestats.movie.render import render_poster

    job, link = render_poster(
        workspace,
        _date(day) or day,
        until=_date(until),
        look=_look(size, None, layout_file, watermark, cell),
        out=Path(out) if out else None,
    )
    for note in job.manifest["notes"].get("layout", []):
        click.echo(f"note: {note}", err=True)
    click.echo(f"Job {job.id} ({'reused' if job.reused else 'made'})", err=True)
    click.echo(workspace.relative(link.parent) + "/" + link.name)
    if out:
        click.echo(out)
