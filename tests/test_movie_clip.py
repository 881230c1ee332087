"""A range is a clip of the whole movie; movies are named by what they show; short ranges slow down.

Expected values come from the real April 2013 samples counted with the csv
module, from frame arithmetic done by hand, and from the bundled ffmpeg reading
the mp4s back.
"""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from conftest import raw_counts, run_cli, sample_files
from drivestats.fleet import fleet_tables
from drivestats.movie.draw import counts_text
from drivestats.movie.render import scene
from drivestats.movie.spec import movie_spec
from drivestats.workspace import Workspace

SIZE = "640x360"
TAIL = 50  # frames after the last day (the design: rings run about 50 frames)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("clip") / "home"
    assert run_cli(home, "import", str(sample_files()[0].parent)).exit_code == 0
    return home


def pixels(folder: Path) -> list[np.ndarray]:
    """The frames a --frames-dir holds, decoded (the PNGs' metadata name their own job)."""
    return [np.asarray(Image.open(p)) for p in sorted(folder.glob("frame-*.png"))]


def movie(home: Path, *args: str) -> str:
    made = run_cli(home, "movie", "--size", SIZE, "--quiet", *args)
    assert made.exit_code == 0, made.output
    return made.output


def test_a_range_is_the_whole_movies_frames_for_those_days(home: Path, tmp_path: Path) -> None:
    movie(home, "--frames-dir", str(tmp_path / "whole"))
    movie(
        home, "--start", "2013-04-12", "--end", "2013-04-15", "--frames-dir", str(tmp_path / "mid")
    )
    movie(home, "--start", "2013-04-17", "--frames-dir", str(tmp_path / "last"))
    whole, mid, last = (pixels(tmp_path / name) for name in ("whole", "mid", "last"))
    assert len(whole) == 10 + TAIL
    # April 12..15 are frames 2..5 of the whole movie; a clip to the end keeps the tail.
    assert len(mid) == 4 and all(np.array_equal(a, b) for a, b in zip(mid, whole[2:6], strict=True))
    assert len(last) == 3 + TAIL
    assert all(np.array_equal(a, b) for a, b in zip(last, whole[7:], strict=True))

    # A layout of only the range's drives is another picture.
    movie(
        home, "--start", "2013-04-12", "--end", "2013-04-15", "--layout", "range",
        "--frames-dir", str(tmp_path / "range"),
    )  # fmt: skip
    laid_out_anew = pixels(tmp_path / "range")
    assert len(laid_out_anew) == 4 + TAIL  # its own end, so its own tail
    assert not np.array_equal(laid_out_anew[0], mid[0])


def test_every_movie_has_its_own_name_and_movie_mp4_is_the_whole_one(home: Path) -> None:
    results = home / "results"
    movie(home)
    whole = (results / "movie-640x360.mp4").read_bytes()
    movie(home, "--start", "2013-04-12", "--end", "2013-04-15")
    movie(home, "--fps", "30")
    movie(home, "--start", "2013-04-12", "--end", "2013-04-15", "--layout", "range")
    names = {p.name for p in results.glob("movie*.mp4")}
    assert {
        "movie-640x360.mp4",
        "movie-2013-04-12-to-2013-04-15-640x360.mp4",
        "movie-640x360-30fps.mp4",
        "movie-2013-04-12-to-2013-04-15-range-layout-640x360.mp4",
    } <= names
    assert (results / "movie-640x360.mp4").read_bytes() == whole  # no later movie replaced it
    # Options that change the picture show in the name too: --until, another look.
    movie(home, "--start", "2013-04-12", "--end", "2013-04-15", "--until", "2013-04-16")
    movie(home, "--cell", "3")
    names = {p.name for p in results.glob("movie*.mp4")}
    assert "movie-2013-04-12-to-2013-04-15-until-2013-04-16-640x360.mp4" in names
    assert len([n for n in names if n.startswith("movie-640x360-look-")]) == 1
    made = run_cli(home, "movie", "--quiet")  # the default size: results/movie.mp4
    assert made.exit_code == 0 and "results/movie.mp4" in made.output


def test_a_short_range_gets_a_frame_rate_that_lasts_five_seconds(home: Path) -> None:
    results = home / "results"
    output = movie(home)
    # Ten days and the tail: 60 frames; 60 fps would last one second, 12 fps lasts five.
    assert "60 frames at 12 fps (auto), 5.0 s" in output
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(results / "movie-640x360.mp4"))
    assert frames == 60 and seconds == pytest.approx(5.0, abs=0.1)
    output = movie(home, "--fps", "24")
    assert "60 frames at 24 fps, 2.5 s" in output


def test_the_frame_counts_drives_reporting_and_failures_so_far(home: Path) -> None:
    counts = raw_counts(sample_files())
    days = sorted(counts["rows_per_day"])
    fleet = fleet_tables(Workspace(home))
    shown = scene(fleet, movie_spec(fleet)).counts
    failures_so_far = np.cumsum([counts["failures_per_day"].get(day, 0) for day in days])
    assert shown[:, 0].tolist() == [counts["rows_per_day"][day] for day in days]
    assert shown[:, 1].tolist() == failures_so_far.tolist()
    assert counts_text(21_345, 1_204) == "21,345 drives \u00b7 1,204 failed"


def test_verify_re_renders_a_movies_frames_and_shallow_only_re_joins(home: Path) -> None:
    from drivestats import jobs

    movie(home, "--start", "2013-04-12", "--end", "2013-04-19")  # 8 days and the tail
    (identity,) = [
        row["id"]
        for row in jobs.recent_jobs(Workspace(home))
        if row["stage"] == "movie"
        and json.loads(row["parameters"])["movie"]["clip_start"] == "2013-04-12"
        and json.loads(row["parameters"])["movie"]["clip_end"] == "2013-04-19"
    ]
    deep = run_cli(home, "verify", identity)
    assert deep.exit_code == 0, deep.output
    assert "58 frames rendered again" in deep.output and "identical" in deep.output
    shallow = run_cli(home, "verify", identity, "--shallow")
    assert shallow.exit_code == 0 and "rendered again" not in shallow.output

    # A segment whose stored bytes no longer match what its frames give is caught.
    segment = next(p for p in jobs.load(Workspace(home), identity).manifest["inputs"]["jobs"]
                   if p.startswith("movie-segment"))  # fmt: skip
    stored = jobs.load(Workspace(home), segment).output("segment.mp4")
    stored.chmod(0o644)
    with open(stored, "ab") as handle:
        handle.write(b"tampered")
    bad = run_cli(home, "verify", identity)
    assert bad.exit_code == 1 and "NO" in bad.output
