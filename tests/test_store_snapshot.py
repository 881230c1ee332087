"""A job reads exactly the store state its id names, whatever an import publishes meanwhile.

Expected counts come from the real sample files read with the csv module.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import raw_counts, sample_files
from drivestats import fleet, jobs
from drivestats.errors import DrivestatsError
from drivestats.store import import_sources
from drivestats.workspace import Workspace


@pytest.fixture
def paused_partials():
    """Fleet partial builds wait for a signal before they read the store (a seam, not a mock:
    the real build runs afterwards)."""
    stage = fleet.FLEET_PARTIAL
    real_build = stage.build
    reached, go_on = threading.Event(), threading.Event()

    def build_when_told(context: jobs.JobContext) -> None:
        reached.set()
        assert go_on.wait(120), "the test never let the build go on"
        real_build(context)

    object.__setattr__(stage, "build", build_when_told)
    try:
        yield reached, go_on
    finally:
        object.__setattr__(stage, "build", real_build)


def test_fleet_tables_read_the_days_their_id_names_while_an_import_replaces_one(
    tmp_path: Path, paused_partials
) -> None:
    reached, go_on = paused_partials
    originals = sample_files()[:2]  # 2013-04-10 and 2013-04-11
    workspace = Workspace(tmp_path / "home").ensure()
    assert not import_sources(workspace, originals).failed

    # Another copy of 2013-04-11 that lost its last 100 rows.
    later = tmp_path / "later" / originals[1].name
    later.parent.mkdir()
    lines = originals[1].read_text().splitlines(keepends=True)
    later.write_text("".join(lines[:-100]))

    built: list[jobs.JobResult | BaseException] = []

    def build() -> None:
        try:
            built.append(fleet.fleet_tables(workspace))
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            built.append(error)

    reader = threading.Thread(target=build)
    reader.start()
    assert reached.wait(120), "the fleet tables never started reading"
    assert not import_sources(workspace, [later]).failed  # published while the job reads
    go_on.set()
    reader.join(120)
    (job,) = built
    assert isinstance(job, jobs.JobResult), job

    before = raw_counts(originals)
    model_days = pq.read_table(job.output("model_days.parquet"))
    assert pc.sum(model_days["drives"]).as_py() == sum(before["rows_per_day"].values())

    # The store moved on: its fleet tables are another job, counting the new rows.
    now = fleet.fleet_tables(workspace)
    after = raw_counts([originals[0], later])
    assert now.id != job.id
    now_days = pq.read_table(now.output("model_days.parquet"))
    assert pc.sum(now_days["drives"]).as_py() == sum(after["rows_per_day"].values())

    # The old partial cannot be re-made from the store any more, and verify says why.
    partial = next(p for p in job.manifest["inputs"]["jobs"] if p.startswith("fleet-partial"))
    with pytest.raises(DrivestatsError, match="2013-04-11: imported again or removed since"):
        jobs.verify(workspace, partial)
    assert not list(workspace.scratch.glob("snapshot-*")), "a snapshot was left behind"
    shutil.rmtree(tmp_path / "later")


class SwapsTheZipAfterTheFirstDay:
    """A progress listener that replaces the zip being imported once its first day is read."""

    def __init__(self, source: Path, replacement: Path) -> None:
        self.source, self.replacement, self.swapped = source, replacement, False

    def source_started(self, source: Path, total_bytes: int) -> None:
        pass

    def advanced(self, source: Path, done_bytes: int, rows: int) -> None:
        if not self.swapped:
            os.replace(self.replacement, self.source)
            self.swapped = True

    def note(self, message: str) -> None:
        pass


def test_a_zip_replaced_while_it_is_imported_is_refused_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    from conftest import pack_like_backblaze

    files = sample_files()
    workspace = Workspace(tmp_path / "home").ensure()
    assert not import_sources(workspace, files[:1]).failed
    before = sorted((p.name, p.stat().st_ino) for p in workspace.months.rglob("*.parquet"))
    source = pack_like_backblaze(files[1:4], tmp_path / "data.zip")
    other = pack_like_backblaze(files[4:7], tmp_path / "other.zip")
    listener = SwapsTheZipAfterTheFirstDay(source, other)
    report = import_sources(workspace, [source], listener)
    assert listener.swapped
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "changed while it was imported" in outcome.error
    assert str(source) in outcome.error
    # The store is as it was: one day, the same file.
    assert sorted((p.name, p.stat().st_ino) for p in workspace.months.rglob("*.parquet")) == before
    from drivestats import catalog

    assert [r["day"] for r in catalog.query(workspace, "select day from days")] == ["2013-04-10"]
    # Imported again, the file now there is read whole and stored.
    again = import_sources(workspace, [source])
    assert not again.failed
    days = [r["day"] for r in catalog.query(workspace, "select day from days order by day")]
    assert days == ["2013-04-10", "2013-04-14", "2013-04-15", "2013-04-16"]


def test_a_snapshot_left_by_a_killed_reader_is_swept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from drivestats.store import snapshot

    workspace = Workspace(tmp_path / "home").ensure()
    assert not import_sources(workspace, sample_files()[:1]).failed
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    leftover = workspace.scratch / f"snapshot-{gone.stdout.strip()}-deadbeef"
    (leftover / "store").mkdir(parents=True)
    with snapshot(workspace) as taken:
        assert taken.folder.exists() and not leftover.exists()
    assert not taken.folder.exists()
