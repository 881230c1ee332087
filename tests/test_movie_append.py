"""A new quarter costs that quarter: the movie keeps its layout and reuses the segments it did not change."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import run_cli
from drivestats import jobs
from drivestats.fleet import fleet_tables
from drivestats.movie.draw import Painter
from drivestats.movie.render import render_movie, scene
from drivestats.movie.spec import Look, MovieSpec
from drivestats.workspace import Workspace

# A cell with room to spare for the new quarter, and a fixed rate: an automatic one rises
# as a short movie grows (a segment encoded at another rate is another segment).
LOOK = Look(width=640, height=360, fps=60, cell="1")
SEGMENT = 30  # frames per segment: a quarter makes three of them


@pytest.fixture(scope="module")
def quarters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quarters")
    made = run_cli(
        folder / "home", "synth", str(folder / "zips"), "--start", "2016-01-01",
        "--end", "2016-06-30", "--scale", "0.02", "--quiet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    return folder / "zips"


def frames(fleet_job, spec, first: int, count: int) -> list[np.ndarray]:
    return [frame.copy() for frame in Painter(scene(fleet_job, spec)).frames(first, count)]


def test_appending_a_quarter_keeps_the_layout_and_reuses_unchanged_segments(quarters, tmp_path):
    home = tmp_path / "home"
    workspace = Workspace(home)
    assert run_cli(home, "import", str(quarters / "data_Q1_2016.zip")).exit_code == 0
    first = render_movie(workspace, look=LOOK, workers=1, segment_frames=SEGMENT)
    assert first.segments_reused == 0
    first_spec_blocks = {b[2]: (b[0], b[1]) for b in first.job.manifest["notes"]["blocks"]}

    assert run_cli(home, "import", str(quarters / "data_Q2_2016.zip")).exit_code == 0
    second = render_movie(workspace, look=LOOK, workers=1, segment_frames=SEGMENT)
    assert not [note for note in second.notes if "anew" in note]
    second_blocks = {b[2]: (b[0], b[1]) for b in second.job.manifest["notes"]["blocks"]}
    assert {m: second_blocks[m] for m in first_spec_blocks} == first_spec_blocks

    def segments(result):
        """The movie's segment ids in frame order."""
        ids = [u for u in result.job.manifest["inputs"]["jobs"] if u.startswith("movie-segment")]
        loaded = [jobs.load(workspace, identity) for identity in ids]
        return [j.id for j in sorted(loaded, key=lambda j: j.manifest["parameters"]["first_frame"])]

    before, after = segments(first), segments(second)
    shared = [identity for identity in after if identity in before]
    # Q1 is 91 days: its first three segments (90 days) lie before the new days.
    assert second.segments_reused == len(shared) >= 2
    assert after[: len(shared)] == before[: len(shared)]  # the shared ones are the earliest
    assert second.segments_made == len(after) - len(shared)

    # What reuse claims, checked on pixels: the old and new scenes draw the same frames there.
    old_fleet = jobs.load(workspace, first.job.manifest["inputs"]["jobs"][0])
    new_fleet = fleet_tables(workspace)
    old_spec = MovieSpec.from_params(first.job.manifest["parameters"]["movie"])
    new_spec = MovieSpec.from_params(second.job.manifest["parameters"]["movie"])
    count = len(shared) * SEGMENT
    old, new = frames(old_fleet, old_spec, 0, count), frames(new_fleet, new_spec, 0, count)
    assert all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
    # ...and the first frame the new days change is really different.
    changed = count
    assert not np.array_equal(
        frames(old_fleet, old_spec, changed + 1, 1)[0],  # old movie: the tail holds Mar 31
        frames(new_fleet, new_spec, changed + 1, 1)[0],  # new movie: April 1
    )


def test_without_an_earlier_movie_the_layout_is_made_from_nothing(quarters, tmp_path):
    home = tmp_path / "home"
    assert run_cli(home, "import", str(quarters)).exit_code == 0
    result = render_movie(Workspace(home), look=LOOK, workers=1, segment_frames=SEGMENT)
    spec = result.job.manifest["parameters"]["movie"]
    assert spec["anchors"] == [] and spec["anchor_cell"] == 0
