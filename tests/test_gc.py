"""`drivestats gc`: what it keeps and removes, and that a gc killed at any moment breaks nothing.

What must be kept is worked out here from the files: the job folders that results/ links point
into, the import jobs the catalog's days name (read with sqlite3), and every job their
manifests name as an input, transitively, with the job folder holding an import's source.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import pack_like_backblaze, run_cli, sample_files


def folders(home: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in (home / "jobs").glob("*/*/job.json")}


def needed(home: Path) -> set[str]:
    on_disk = folders(home)
    queue = [
        os.path.realpath(link).split(os.sep + "jobs" + os.sep)[1].split(os.sep)[1]
        for link in (home / "results").iterdir()
        if link.is_symlink()
    ]
    with sqlite3.connect(home / "catalog.sqlite") as db:
        queue += [row[0] for row in db.execute("select distinct job_id from days")]
    kept: set[str] = set()
    while queue:
        job = queue.pop()
        if job in kept or job not in on_disk:
            continue
        kept.add(job)
        manifest = json.loads((on_disk[job] / "job.json").read_text())
        queue += manifest["inputs"]["jobs"]
        source = manifest["parameters"].get("source", "")
        if manifest["stage"] == "import" and source.startswith("jobs/"):
            queue.append(Path(source).parts[2])
    return kept


def intact(home: Path, job: str) -> bool:
    """Every output of the job is there with the sha256 its manifest names."""
    folder = folders(home).get(job)
    if folder is None:
        return False
    manifest = json.loads((folder / "job.json").read_text())
    return all(
        hashlib.sha256((folder / o["name"]).read_bytes()).hexdigest() == o["sha256"]
        for o in manifest["outputs"]
        if o["name"] != "job.json"
    )


@pytest.fixture(scope="module")
def with_garbage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tables and a movie made, then the data grew and they were made again: the old ones are
    garbage, as are the old fleet tables and the partial of the month that changed."""
    root = tmp_path_factory.mktemp("gc")
    home = root / "home"
    days = sample_files()
    first = pack_like_backblaze(days[:6], root / "data_Q2_2013.zip")
    later = pack_like_backblaze(days[6:], root / "data_Q2_2013_more.zip")
    assert run_cli(home, "import", str(first)).exit_code == 0
    periods = ["lifetime", "2013", "2013Q2", *(f"2013-04-10..2013-04-{d}" for d in range(11, 16))]
    for _ in range(2):
        for period in periods:
            assert run_cli(home, "afr", "--period", period).exit_code == 0
        assert run_cli(home, "movie", "--size", "640x360", "--workers", "1").exit_code == 0
        assert run_cli(home, "import", str(later)).exit_code == 0
    assert run_cli(home, "survival").exit_code == 0
    return home


def test_dry_run_names_what_nothing_needs_and_removes_nothing(with_garbage: Path, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(with_garbage, home, symlinks=True)
    before = set(folders(home))
    expected_removed = before - needed(home)
    assert expected_removed  # the fixture made garbage
    stages = {job.rsplit("-", 1)[0] for job in expected_removed}
    assert {"afr", "movie", "movie-segment"} <= stages

    said = run_cli(home, "gc", "--dry-run", "--format", "json")
    assert said.exit_code == 0, said.output
    report = json.loads(said.output)
    assert set(report["removed"]) == expected_removed
    assert set(folders(home)) == before


def test_gc_removes_exactly_that_and_what_is_kept_still_shows_and_verifies(
    with_garbage: Path, tmp_path
):
    home = tmp_path / "home"
    shutil.copytree(with_garbage, home, symlinks=True)
    kept = needed(home)
    size_before = sum(p.stat().st_size for p in (home / "jobs").rglob("*") if p.is_file())

    done = run_cli(home, "gc")
    assert done.exit_code == 0, done.output
    assert set(folders(home)) == kept
    assert all(intact(home, job) for job in kept)
    with sqlite3.connect(home / "catalog.sqlite") as db:
        listed = {row[0] for row in db.execute("select id from jobs")}
        outputs = {row[0] for row in db.execute("select distinct job_id from job_outputs")}
    assert listed == kept and outputs <= kept
    size_after = sum(p.stat().st_size for p in (home / "jobs").rglob("*") if p.is_file())
    assert size_after < size_before

    for link in (home / "results").iterdir():
        shown = run_cli(home, "show", f"results/{link.name}", "--json")
        assert shown.exit_code == 0, shown.output
    afr = os.path.realpath(home / "results" / "afr-lifetime.csv").split(os.sep)[-2]
    verified = run_cli(home, "verify", afr)
    assert verified.exit_code == 0, verified.output
    again = run_cli(home, "gc", "--format", "json")
    assert json.loads(again.output)["removed"] == {}


def test_keep_n_keeps_the_newest_of_each_stage(with_garbage: Path, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(with_garbage, home, symlinks=True)
    with sqlite3.connect(home / "catalog.sqlite") as db:
        rows = db.execute("select id, stage from jobs order by created desc, rowid desc").fetchall()
    newest: dict[str, str] = {}
    for job, stage in rows:
        newest.setdefault(stage, job)
    report = json.loads(run_cli(home, "gc", "--keep", "1", "--format", "json").output)
    assert not set(newest.values()) & set(report["removed"])
    assert set(newest.values()) <= set(folders(home))


def drivestats(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "drivestats", "--home", str(home), *args]


@pytest.mark.slow
def test_a_gc_killed_at_any_moment_leaves_every_kept_job_whole(with_garbage: Path, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(with_garbage, clean, symlinks=True)
    kept = needed(clean)
    started = time.monotonic()
    subprocess.run(drivestats(clean, "gc"), check=True, capture_output=True, timeout=120)
    length = time.monotonic() - started
    assert set(folders(clean)) == kept

    garbage = len(folders(with_garbage)) - len(kept)
    kills = int(os.environ.get("DRIVESTATS_KILLS", "4"))
    draw = random.Random("kill gc")
    # Half the kills at a moment of the run's length, half once the n-th job has gone (the
    # folders are watched), so that some land in the middle of removing.
    moments = [("time", m) for m in draw.sample(range(1000), (kills + 1) // 2)]
    moments += [("jobs", n) for n in draw.sample(range(1, garbage), min(kills // 2, garbage - 1))]
    for kind, moment in moments:
        home = tmp_path / f"killed-{kind}-{moment}"
        shutil.copytree(with_garbage, home, symlinks=True)
        total = len(folders(home))
        process = subprocess.Popen(
            drivestats(home, "gc"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if kind == "time":
            time.sleep(length * moment / 1000)
        else:
            while len(folders(home)) > total - moment and process.poll() is None:
                pass
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        where = f"killed at {kind} {moment}"
        assert kept <= set(folders(home)), where
        assert all(intact(home, job) for job in kept), where
        for link in (home / "results").iterdir():
            assert run_cli(home, "show", f"results/{link.name}").exit_code == 0
        finish = subprocess.run(drivestats(home, "gc"), capture_output=True, text=True, timeout=120)
        assert finish.returncode == 0, finish.stderr
        assert set(folders(home)) == kept
        assert not list((home / "scratch").glob("gc-*"))
        shutil.rmtree(home)
