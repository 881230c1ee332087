"""The movie end to end: CSV days → import → fleet tables → segments → mp4, and posters.

Frame counts are days + the tail (50 frames); sizes and fps are what we asked
for; all of it is read back with the bundled ffmpeg, never with our own code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, sample_files, write_day
from drivestats import jobs, lineage
from drivestats.fleet import fleet_tables
from drivestats.movie.render import movie_job, scene
from drivestats.movie.spec import Look, movie_spec
from drivestats.provenance import JOB_KEY as PNG_JOB_KEY
from drivestats.provenance import read as read_provenance
from drivestats.workspace import Workspace

TAIL = 50  # frames after the last day, from the design: rings run ~50 frames
HEADER = "date,serial_number,model,capacity_bytes,failure"
SMALL = "640x360"


def decoded(path: Path) -> tuple[int, tuple[int, int], float]:
    """Frame count, size and fps of a video as the bundled ffmpeg reads it."""
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    return frames, meta["size"], meta["fps"]


@pytest.fixture(scope="module")
def samples_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the ten real 2013 days."""
    home = tmp_path_factory.mktemp("movie") / "home"
    assert run_cli(home, "import", str(sample_files()[0].parent)).exit_code == 0
    return home


def test_movie_command_makes_a_playable_mp4_of_every_day_plus_tail(
    samples_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy.mp4"
    result = run_cli(
        samples_home, "movie", "--size", SMALL, "--fps", "30", "--workers", "1", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    link = samples_home / "results" / "movie-640x360-30fps.mp4"  # named by its size and rate
    assert link.is_symlink() and out.read_bytes() == link.read_bytes()
    assert decoded(link) == (10 + TAIL, (640, 360), 30.0)
    # The job id travels inside the file, and `show` finds the job from a copy.
    job_id = read_provenance(out)["job"]
    assert job_id and job_id.startswith("movie-")
    assert lineage.job_of_file(Workspace.resolve(samples_home), out) == job_id
    again = run_cli(samples_home, "movie", "--size", SMALL, "--fps", "30", "--workers", "1")
    assert "reused" in again.output


def test_a_range_and_until_cut_the_movie(samples_home: Path) -> None:
    result = run_cli(
        samples_home,
        "movie",
        "--start",
        "2013-04-12",
        "--end",
        "2013-04-15",
        "--until",
        "2013-04-19",
        "--size",
        SMALL,
        "--workers",
        "1",
        "--layout",
        "range",
    )
    assert result.exit_code == 0, result.output
    # Its own layout and tail; 54 frames at an automatic 10 fps last 5.4 s.
    name = "movie-2013-04-12-to-2013-04-15-range-layout-until-2013-04-19-640x360.mp4"
    assert decoded(samples_home / "results" / name) == (4 + TAIL, (640, 360), 10.0)


def test_frames_and_bytes_are_identical_for_one_and_three_workers(
    samples_home: Path, tmp_path: Path
) -> None:
    movies = []
    for workers in (1, 3):
        home = tmp_path / f"w{workers}"
        shutil.copytree(samples_home, home, symlinks=True)
        workspace = Workspace.resolve(home)
        fleet = fleet_tables(workspace)
        spec = movie_spec(fleet, look=Look(640, 360), segment_frames=20)
        result = movie_job(workspace, spec, fleet, workers=workers)
        assert (result.segments_made, result.segments_reused) == (3, 0)
        movies.append(result)
    one, three = movies
    assert one.job.id == three.job.id
    assert one.job.output("movie.mp4").read_bytes() == three.job.output("movie.mp4").read_bytes()
    assert decoded(one.job.output("movie.mp4"))[0] == 10 + TAIL


def test_a_killed_run_resumes_from_finished_segments_and_verifies(
    samples_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "resume"
    shutil.copytree(samples_home, home, symlinks=True)
    workspace = Workspace.resolve(home)
    fleet = fleet_tables(workspace)
    spec = movie_spec(fleet, look=Look(640, 360), segment_frames=20)
    first = movie_job(workspace, spec, fleet, workers=1)
    original = first.job.output("movie.mp4").read_bytes()
    # As if killed after two segments: the last segment and the movie never finished,
    # and the killed build left its temporary folder behind.
    segments = sorted(
        (workspace.jobs / "movie-segment").iterdir(),
        key=lambda p: json.loads((p / "job.json").read_text())["parameters"]["first_frame"],
    )
    shutil.rmtree(segments[-1])
    shutil.rmtree(first.job.dir)
    leftover = workspace.jobs / "movie-segment" / f".tmp-{segments[-1].name}-999999-deadbeef"
    leftover.mkdir()
    heard: list[tuple[int, int]] = []
    again = movie_job(
        workspace, spec, fleet, workers=1, on_frames=lambda d, t: heard.append((d, t))
    )
    assert (again.segments_made, again.segments_reused) == (1, 2)
    assert again.job.output("movie.mp4").read_bytes() == original
    assert heard[0] == (40, 60) and heard[-1] == (60, 60)
    assert not leftover.exists()
    # Re-made in scratch, byte for byte.
    assert jobs.verify(workspace, again.job.id)["identical"]
    assert jobs.verify(workspace, segments[0].name)["identical"]


def hand_days(folder: Path) -> None:
    """Five days, one without a file; A misses a day, B leaves, C fails, D arrives late."""
    rows = {
        "2015-01-01": ["A", "B", "C"],
        "2015-01-02": ["A", "B", "C"],
        # 2015-01-03: no data file at all
        "2015-01-04": ["B_gone", "C!", "D"],
        "2015-01-05": ["A", "D"],
    }
    for day, drives in rows.items():
        lines = []
        for drive in drives:
            if drive == "B_gone":
                continue
            serial = drive.rstrip("!")
            failure = "1" if drive.endswith("!") else "0"
            # D is of another model, so its cell sits in another block, clear of C's ring.
            model = "ST8000DM002,8001563222016" if serial == "D" else "ST4000DM000,4000787030016"
            lines.append(f"{day},{serial},{model},{failure}")
        write_day(folder, day, HEADER, lines)


def test_hand_made_days_through_import_give_the_designed_colours(tmp_path: Path) -> None:
    hand_days(tmp_path / "csv")
    home = tmp_path / "home"
    assert run_cli(home, "import", str(tmp_path / "csv")).exit_code == 0
    workspace = Workspace.resolve(home)
    fleet = fleet_tables(workspace)
    spec = movie_spec(fleet, look=Look(640, 360))
    assert spec.timeline.frames == 5 + TAIL  # 2015-01-03 has no file but has a frame
    painter_scene = scene(fleet, spec)
    serials = list(painter_scene.fleet.serial)
    from drivestats.movie.draw import drive_pixels

    pixels = drive_pixels(painter_scene.layout, painter_scene.fleet)

    def colour(day: str, serial: str) -> tuple[int, ...]:
        result = run_cli(home, "frame", day, "--size", SMALL, "--out", str(tmp_path / "f.png"))
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / "f.png") as image:
            assert image.text[PNG_JOB_KEY].startswith("movie-frame-")  # type: ignore[attr-defined]
            frame = np.asarray(image.convert("RGB"))
        y, x = divmod(int(pixels[serials.index(serial)]), 640)
        return tuple(int(v) for v in frame[y, x])

    def is_red(rgb: tuple[int, ...]) -> bool:
        return rgb[0] > 180 and rgb[1] < 60 and rgb[2] < 60

    def is_lit_grey(rgb: tuple[int, ...]) -> bool:
        return rgb[0] == rgb[1] == rgb[2] and 147 <= rgb[0] <= 255

    assert colour("2015-01-01", "A") == (255, 255, 255)  # new: bright white
    assert colour("2015-01-03", "B") == (0, 0, 0)  # gone after 01-02, a day without data
    assert is_lit_grey(colour("2015-01-03", "A"))  # a day without data keeps A
    assert is_lit_grey(colour("2015-01-04", "A"))  # A misses 01-04 but reports 01-05
    assert is_red(colour("2015-01-04", "C")) and is_red(colour("2015-01-05", "C"))
    assert colour("2015-01-03", "D") == (64, 64, 64)  # not there yet: background
    assert colour("2015-01-04", "D") == (255, 255, 255)
    frame_job = lineage.job_of_file(workspace, tmp_path / "f.png")
    assert jobs.verify(workspace, frame_job)["identical"]


def test_frame_outside_the_range_is_a_clear_error(samples_home: Path) -> None:
    result = run_cli(samples_home, "frame", "2014-01-01", "--size", SMALL)
    assert result.exit_code != 0
    assert "outside" in result.output


def test_frames_dir_holds_every_frame_and_matches_the_poster(
    samples_home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    args = ("--size", SMALL, "--workers", "1")
    result = run_cli(samples_home, "movie", *args, "--frames-dir", str(folder))
    assert result.exit_code == 0, result.output
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 10 + TAIL
    movie_id = read_provenance(samples_home / "results" / "movie-640x360.mp4")["job"]
    poster = tmp_path / "poster.png"
    assert (
        run_cli(samples_home, "frame", "2013-04-13", *args[:2], "--out", str(poster)).exit_code == 0
    )
    with Image.open(pngs[3]) as third, Image.open(poster) as still:
        assert third.text[PNG_JOB_KEY] == movie_id  # type: ignore[attr-defined]
        assert np.array_equal(np.asarray(third), np.asarray(still))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--size", "1921x1080"), "even"),
        (("--size", "big"), "WIDTHxHEIGHT"),
        (("--cell", "banana"), "cell size"),
        (("--end", "2013-04-15", "--until", "2013-04-12"), "before"),
    ],
)
def test_bad_options_are_one_clear_error(samples_home: Path, option, message) -> None:
    result = run_cli(samples_home, "movie", "--workers", "1", *option)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_layout_file_moves_a_block(samples_home: Path, tmp_path: Path) -> None:
    placement = tmp_path / "layout.txt"
    placement.write_text("# x y model\n200 300 ST3000DM001\n")
    out = tmp_path / "moved.png"
    args = ("--size", SMALL, "--layout", str(placement), "--out", str(out))
    result = run_cli(samples_home, "frame", "2013-04-19", *args)
    assert result.exit_code == 0, result.output
    workspace = Workspace.resolve(samples_home)
    fleet = fleet_tables(workspace)
    spec = movie_spec(fleet, look=Look(640, 360, layout=((200, 300, "ST3000DM001"),)))
    placed = scene(fleet, spec).layout
    block = next(b for b in placed.blocks if b.key == "ST3000DM001")
    assert (block.x, block.bottom) == (200, 300)
    # The first ST3000DM001 drive sits at the block's bottom-left: a lit cell there.
    with Image.open(out) as image:
        frame = np.asarray(image.convert("RGB"))
    y, x = 300 - placed.cell, 200
    assert tuple(frame[y, x]) != (64, 64, 64)
