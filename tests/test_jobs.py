"""Provenance: reuse, new jobs on any change, kill -9 mid-run, verify, lineage, --until stability."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import pack_like_backblaze, run_cli
from drivestats import jobs
from drivestats.fleet import fleet_tables
from drivestats.workspace import Workspace

STEP = textwrap.dedent(
    '''
    """A computation step used by the tests: writes the square of a number, slowly if asked."""
    import time
    from drivestats import jobs

    def _build(context):
        partial = context.dir / "square.txt"
        partial.write_text("partial")
        time.sleep(context.params.get("sleep", 0))
        partial.write_text(str(context.params["n"] ** 2 + OFFSET))

    OFFSET = 0
    SQUARE = jobs.Stage("square", _build, (__name__,))
    '''
)


@pytest.fixture
def step_module(tmp_path, monkeypatch):
    """A real stage in a real module file on sys.path, so that editing it changes its code."""
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / "square_step.py").write_text(STEP)
    monkeypatch.syspath_prepend(str(folder))
    sys.modules.pop("square_step", None)
    jobs._module_digest.cache_clear()
    module = importlib.import_module("square_step")
    yield module, folder
    sys.modules.pop("square_step", None)
    jobs._module_digest.cache_clear()


def test_reuse_and_new_job_on_parameter_input_or_code_change(step_module, tmp_path):
    module, folder = step_module
    workspace = Workspace(tmp_path / "home")
    first = jobs.run(workspace, module.SQUARE, {"n": 3})
    assert not first.reused and first.output("square.txt").read_text() == "9"
    again = jobs.run(workspace, module.SQUARE, {"n": 3})
    assert again.reused and again.id == first.id

    other_parameter = jobs.run(workspace, module.SQUARE, {"n": 4})
    other_input = jobs.run(workspace, module.SQUARE, {"n": 3}, inputs={"data.csv": "ab" * 32})
    assert len({first.id, other_parameter.id, other_input.id}) == 3

    # Change the stage's code on disk: a new job, and the old one stays.
    (folder / "square_step.py").write_text(STEP.replace("OFFSET = 0", "OFFSET = 1"))
    jobs._module_digest.cache_clear()
    sys.modules.pop("square_step")
    changed = importlib.import_module("square_step")
    new_code = jobs.run(workspace, changed.SQUARE, {"n": 3})
    assert new_code.id != first.id and not new_code.reused
    assert new_code.output("square.txt").read_text() == "10"
    assert first.output("square.txt").read_text() == "9"


def test_manifest_names_everything(step_module, tmp_path):
    module, _ = step_module
    workspace = Workspace(tmp_path / "home")
    job = jobs.run(workspace, module.SQUARE, {"n": 5}, inputs={"in.csv": "cd" * 32})
    manifest = json.loads((job.dir / "job.json").read_text())
    assert manifest["id"] == job.id and manifest["stage"] == "square"
    assert manifest["parameters"] == {"n": 5}
    assert manifest["inputs"]["files"] == [{"name": "in.csv", "sha256": "cd" * 32}]
    source = Path(module.__file__).read_bytes()
    assert manifest["code"]["modules"]["square_step"] == hashlib.sha256(source).hexdigest()
    assert {"python", "pyarrow", "duckdb", "numpy", "Pillow", "ffmpeg"} <= set(manifest["versions"])
    (output,) = manifest["outputs"]
    assert output == {
        "name": "square.txt",
        "sha256": hashlib.sha256(b"25").hexdigest(),
        "size": 2,
    }
    for key in ("started", "ended", "wall_seconds", "cpu_seconds"):
        assert key in manifest


def test_job_killed_mid_run_is_redone_not_reused(step_module, tmp_path):
    module, folder = step_module
    home = tmp_path / "home"
    script = (
        "from drivestats import jobs; from drivestats.workspace import Workspace; import square_step;"
        f"jobs.run(Workspace.resolve({str(home)!r}), square_step.SQUARE, {{'n': 7, 'sleep': 60}})"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    stage_folder = home / "jobs" / "square"
    deadline = time.time() + 60
    while not list(stage_folder.glob(".tmp-*/square.txt")) and time.time() < deadline:
        assert process.poll() is None, "the job process died by itself"
        time.sleep(0.05)
    assert list(stage_folder.glob(".tmp-*/square.txt")), "the job never started"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # The killed build left only a temporary folder: no finished job to reuse.
    assert not [p for p in stage_folder.iterdir() if not p.name.startswith(".tmp-")]
    job = _run_quick_equivalent(home, module)
    assert not job.reused and job.output("square.txt").read_text() == "49"
    assert not list(stage_folder.glob(".tmp-*")), "the abandoned folder is swept"


def _run_quick_equivalent(home: Path, module) -> jobs.JobResult:
    """The killed job's exact identity, built now without waiting its sleep out."""
    original = module.time.sleep
    module.time.sleep = lambda seconds: None
    try:
        return jobs.run(Workspace(home), module.SQUARE, {"n": 7, "sleep": 60})
    finally:
        module.time.sleep = original


def test_fleet_tables_reuse_until_and_verify(samples, home, tmp_path):
    first = pack_like_backblaze(samples[:6], tmp_path / "first.zip")
    later = pack_like_backblaze(samples[6:], tmp_path / "later.zip")
    run_cli(home, "import", str(first))
    workspace = Workspace(home)
    before = fleet_tables(workspace, until="2013-04-14")
    assert not before.reused
    before_bytes = {n: before.output(n).read_bytes() for n in before.outputs}
    # More data arrives; the same --until gives the same job, the same bytes.
    run_cli(home, "import", str(later))
    after = fleet_tables(workspace, until="2013-04-14")
    assert after.reused and after.id == before.id
    assert {n: after.output(n).read_bytes() for n in after.outputs} == before_bytes
    everything = fleet_tables(workspace)
    assert everything.id != before.id and everything.manifest["parameters"]["until"] == "2013-04-19"
    # --until past the data is the same job as no --until.
    assert fleet_tables(workspace, until="2030-01-01").id == everything.id

    ok = run_cli(home, "verify", before.id)
    assert ok.exit_code == 0 and "identical" in ok.output
    with open(before.output("models.parquet"), "ab") as handle:
        handle.write(b"tampered")
    bad = run_cli(home, "verify", before.id)
    assert bad.exit_code == 1 and "NO" in bad.output


def test_verify_remakes_an_import_bit_for_bit(samples, home):
    run_cli(home, "import", str(samples[0]))
    (job,) = [row["id"] for row in jobs.recent_jobs(Workspace(home))]
    result = run_cli(home, "verify", job)
    assert result.exit_code == 0, result.output


def test_show_traces_a_file_to_raw_inputs(samples, home, tmp_path):
    import shutil

    run_cli(home, "import", *map(str, samples[:2]))
    fleet = fleet_tables(Workspace(home))
    # A copy of an output, far from the workspace, is still traced by its sha256.
    copy = tmp_path / "elsewhere.parquet"
    shutil.copy(fleet.output("daily.parquet"), copy)
    result = run_cli(home, "show", str(copy), "--json")
    tree = json.loads(result.output)
    assert tree["id"] == fleet.id
    # fleet tables <- a partial per month <- the imports <- the raw files
    imports = [up for partial in tree["upstream"] for up in partial["upstream"]]
    raw = {f["name"]: f["sha256"] for up in imports for f in up["files"]}
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in samples[:2]}
    assert raw == expected
    text = run_cli(home, "show", fleet.id)
    assert samples[0].name in text.output and fleet.id in text.output


def test_show_resolves_a_results_path_from_any_directory(samples, home, tmp_path, monkeypatch):
    run_cli(home, "import", str(samples[0]))
    assert run_cli(home, "afr", "--period", "lifetime").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no results/ here: the path is the workspace's
    shown = run_cli(home, "show", "results/afr-lifetime.csv", "--json")
    assert shown.exit_code == 0, shown.output
    assert (
        json.loads(shown.output)["id"]
        == (home / "results" / "afr-lifetime.csv").resolve().parent.name
    )


def test_an_ambiguous_prefix_lists_the_jobs_it_matches(samples, home):
    run_cli(home, "import", str(samples[0]))
    made = [run_cli(home, "afr", "--period", p) for p in ("lifetime", "2013Q2", "2013")]
    assert all(result.exit_code == 0 for result in made)
    ids = [row["id"] for row in jobs.recent_jobs(Workspace(home)) if row["stage"] == "afr"]
    result = run_cli(home, "verify", "afr")
    assert result.exit_code != 0
    assert f"{len(ids)} jobs match 'afr'" in result.output
    assert all(identity in result.output for identity in ids)
    # Each with its parameters and age, and a way on: the shortest prefix of the newest.
    said = result.output
    assert "label=2013Q2" in said and "label=lifetime" in said and " ago" in said
    newest = ids[0]
    prefix = said.split("enough of it to be unique: ")[1].split()[0]
    assert newest.startswith(prefix) and not any(i.startswith(prefix) for i in ids[1:])
    assert json.loads(run_cli(home, "show", prefix, "--json").output)["id"] == newest


def test_jobs_lists_newest_first_with_reuse_counts(samples, home):
    run_cli(home, "import", str(samples[0]))
    workspace = Workspace(home)
    fleet_tables(workspace)
    fleet_tables(workspace)
    listed = json.loads(run_cli(home, "jobs", "--format", "json").output)
    assert [row["stage"] for row in listed] == ["fleet-tables", "fleet-partial", "import"]
    # The second call finds the fleet tables made and never asks for their partials again.
    assert [row["reused"] for row in listed] == [1, 0, 0]
    assert listed[0]["parameters"] == "until=2013-04-10"


def test_unknown_job_is_a_clear_error(home):
    result = run_cli(home, "verify", "nothing-like-this")
    assert result.exit_code != 0 and "no job matching 'nothing-like-this'" in result.output


def test_reuse_only_writes_nothing_and_names_a_missing_job(samples, home):
    import sqlite3

    run_cli(home, "import", str(samples[0]))
    workspace = Workspace(home)
    with pytest.raises(jobs.JobNotMade):
        fleet_tables(workspace, reuse_only=True)
    assert not (home / "jobs" / "fleet-tables").exists()
    made = fleet_tables(workspace)
    with sqlite3.connect(home / "catalog.sqlite") as connection:
        runs_before = connection.execute("select count(*) from job_runs").fetchone()
    found = fleet_tables(workspace, reuse_only=True)
    assert found.id == made.id and found.reused
    with sqlite3.connect(home / "catalog.sqlite") as connection:
        assert connection.execute("select count(*) from job_runs").fetchone() == runs_before


def test_show_finds_an_edited_poster_by_its_embedded_job_id(samples, home, tmp_path):
    from PIL import Image, PngImagePlugin

    from drivestats.provenance import JOB_KEY as PNG_JOB_KEY

    run_cli(home, "import", *map(str, samples[:2]))
    poster = tmp_path / "poster.png"
    made = run_cli(home, "frame", "2013-04-11", "--size", "640x360", "--out", str(poster))
    assert made.exit_code == 0, made.output
    with Image.open(poster) as image:
        job_id = image.text[PNG_JOB_KEY]
        edited = image.convert("RGB")
    edited.putpixel((0, 0), (255, 0, 255))  # someone touched it up: a new sha256
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_JOB_KEY, job_id)
    copy = tmp_path / "touched-up.png"
    edited.save(copy, pnginfo=info)
    tree = json.loads(run_cli(home, "show", str(copy), "--json").output)
    assert tree["id"] == job_id and tree["stage"] == "movie-frame"


def test_a_moved_workspace_and_data_still_verify(samples, home, tmp_path):
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    archive = pack_like_backblaze(samples[:2], data / "data_2013.zip")
    run_cli(home, "import", str(archive))
    (job,) = [row["id"] for row in jobs.recent_jobs(Workspace(home))]
    moved_home, moved_data = tmp_path / "moved-home", tmp_path / "moved-data"
    shutil.move(home, moved_home)
    shutil.move(data, moved_data)
    # The catalog still names the old path: verify says the source is gone, clearly.
    lost = run_cli(moved_home, "verify", job)
    assert lost.exit_code != 0 and "no longer where it was imported from" in lost.output
    # Importing it from its new place is a skip (same content), and verify finds it again.
    again = run_cli(moved_home, "import", str(moved_data / "data_2013.zip"))
    assert "skipped" in again.output
    assert run_cli(moved_home, "verify", job).exit_code == 0


def test_show_on_a_store_day_names_the_import_that_holds_it(samples, home, tmp_path):
    loose = samples[0]
    zipped = pack_like_backblaze([loose], tmp_path / "data_2013.zip")
    run_cli(home, "import", str(loose))
    run_cli(home, "import", str(zipped))  # the same day, the same bytes, from a later source
    by_source = {
        json.loads(row["parameters"])["source"]: row["id"]
        for row in jobs.recent_jobs(Workspace(home))
        if row["stage"] == "import"
    }
    day = Workspace(home).day_file("2013-04-10")
    tree = json.loads(run_cli(home, "show", str(day), "--json").output)
    assert tree["id"] == by_source["data_2013.zip"]


def test_a_stage_may_name_what_decides_its_outputs():
    def build(context):
        (context.dir / "out.txt").write_text(str(context.params["content"]))

    named_by_content = jobs.Stage(
        "test-by-content", build, ("drivestats.jobs",), identity_params=("content",)
    )
    one = jobs.job_id(named_by_content, {"content": 1, "found_in": "a"}, {}, [])
    assert one == jobs.job_id(named_by_content, {"content": 1, "found_in": "b"}, {}, [])
    assert one != jobs.job_id(named_by_content, {"content": 2, "found_in": "a"}, {}, [])

    decided_by_tables = jobs.Stage(
        "test-by-tables", build, ("drivestats.jobs",), identity_upstream=("fleet-tables",)
    )
    base = jobs.job_id(decided_by_tables, {}, {}, ["fleet-tables-1"])
    assert base == jobs.job_id(decided_by_tables, {}, {}, ["fleet-tables-1", "movie-segment-9"])
    assert base != jobs.job_id(decided_by_tables, {}, {}, ["fleet-tables-2"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_parquet_file_names_its_job_stage_code_and_source(samples, home, tmp_path):
    """Read with pyarrow alone: the footer key 'drivestats' holds the provenance as JSON."""
    import pyarrow.parquet as pq

    zipped = pack_like_backblaze(samples[:2], tmp_path / "data_Q2_2013.zip")
    run_cli(home, "import", str(zipped))
    fleet = fleet_tables(Workspace(home))
    workspace = Workspace(home)

    def footer(path: Path) -> dict:
        return json.loads(pq.read_schema(path).metadata[b"drivestats"])

    month = footer(workspace.month_file("2013-04"))
    (imported,) = [r["id"] for r in jobs.recent_jobs(workspace) if r["stage"] == "import"]
    assert month["job"] == imported and month["stage"] == "import"
    assert month["sources"] == {zipped.name: _sha256(zipped)}
    assert len(month["code_sha256"]) == 64
    for name in ("drives", "models", "daily", "model_days"):
        said = footer(fleet.output(f"{name}.parquet"))
        assert said["job"] == fleet.id and said["stage"] == "fleet-tables"
        assert said["days"] == ["2013-04-10", "2013-04-11", 2]
        assert said["code_sha256"] == fleet.manifest["code"]["sha256"]
    (partial,) = fleet.manifest["inputs"]["jobs"]
    partial_job = jobs.load(workspace, partial)
    said = footer(partial_job.output("drives.parquet"))
    assert said["job"] == partial and said["stage"] == "fleet-partial"


def test_show_traces_copies_of_store_files_and_charts(samples, home, tmp_path):
    import shutil

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = pack_like_backblaze(samples[:3], tmp_path / "a" / "data_Q2_2013.zip")
    later = pack_like_backblaze(samples[3:5], tmp_path / "b" / "data_Q2_2013_fix.zip")
    run_cli(home, "import", str(first))
    run_cli(home, "import", str(later))  # same month: the store's month file is merged
    copies = tmp_path / "copies"
    copies.mkdir()
    merged = str(shutil.copy(Workspace(home).month_file("2013-04"), copies / "april.parquet"))

    shown = run_cli(home, "show", merged)
    said = " ".join(shown.output.split())
    assert shown.exit_code == 0, shown.output
    assert "holds days of 2 imports" in said
    assert _sha256(first) in said and _sha256(later) in said

    # In a workspace that never saw these imports, the file still says where it came from.
    stranger = run_cli(tmp_path / "other", "show", merged)
    said = " ".join(stranger.output.split())
    assert stranger.exit_code == 0, stranger.output
    assert "does not hold" in said
    assert f"{first.name} sha256 {_sha256(first)} (2013-04-10 to 2013-04-12)" in said
    assert f"{later.name} sha256 {_sha256(later)} (2013-04-13 to 2013-04-14)" in said
    import pyarrow.parquet as pq

    footer = json.loads(pq.read_schema(merged).metadata[b"drivestats"])
    assert sorted(footer["days"]) == [f"2013-04-{d}" for d in range(10, 15)]  # its own days

    # A chart, edited after the fact (its sha256 no longer in the catalog), by its job id.
    assert run_cli(home, "afr", "--period", "lifetime", "--by", "quarter").exit_code == 0
    from PIL import Image, PngImagePlugin

    for suffix in ("svg", "png"):
        chart = home / "results" / f"afr-lifetime-by-quarter.{suffix}"
        edited = copies / f"chart.{suffix}"
        if suffix == "svg":
            edited.write_bytes(chart.read_bytes() + b"<!-- edited -->")
        else:
            with Image.open(chart) as image:
                info = PngImagePlugin.PngInfo()
                for key, value in image.text.items():  # type: ignore[attr-defined]
                    info.add_text(key, value)
                image.crop((0, 0, 200, 100)).save(edited, pnginfo=info)
        assert _sha256(edited) != _sha256(chart)
        tree = json.loads(run_cli(home, "show", str(edited), "--json").output)
        assert tree["id"] == chart.resolve().parent.name
