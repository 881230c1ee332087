"""Failure rates computed in a loop while imports keep replacing a day: no run fails, and every
fleet partial made counts exactly the rows of the store state its inputs name.

The expected counts are the line counts of the files each state was imported from.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import run_cli, sample_files
from drivestats import jobs
from drivestats.workspace import Workspace

pytestmark = pytest.mark.slow

VERSIONS = 12  # copies of 2013-04-11, each with fewer rows, imported one after another

IMPORTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from drivestats.store import import_sources
    from drivestats.workspace import Workspace
    workspace = Workspace(Path(sys.argv[1]))
    for folder in sys.argv[2:]:
        report = import_sources(workspace, [Path(folder)])
        assert not report.failed, report.failed
    """
)


def test_rates_while_imports_publish_are_always_right(tmp_path: Path) -> None:
    first, second = sample_files()[:2]
    home = tmp_path / "home"
    assert run_cli(home, "import", str(first), str(second)).exit_code == 0
    lines = second.read_text().splitlines(keepends=True)
    rows_of_file = {hashlib.sha256(second.read_bytes()).hexdigest(): len(lines) - 1}
    folders = []
    for version in range(1, VERSIONS + 1):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        text = "".join(lines[: len(lines) - 37 * version])
        (folder / second.name).write_text(text)
        rows_of_file[hashlib.sha256(text.encode()).hexdigest()] = text.count("\n") - 1
        folders.append(str(folder))

    importer = subprocess.Popen([sys.executable, "-c", IMPORTER, str(home), *folders])
    runs = []
    try:
        while importer.poll() is None or len(runs) < 3:
            runs.append(
                subprocess.run(
                    [sys.executable, "-m", "drivestats", "--home", str(home), "afr",
                     "--period", "lifetime", "--format", "csv"],
                    capture_output=True, text=True, timeout=300,
                )
            )  # fmt: skip
            if len(runs) > 60:
                break
        assert importer.wait(timeout=300) == 0
    finally:
        if importer.poll() is None:
            importer.kill()
    failed = [run.stderr for run in runs if run.returncode != 0]
    assert not failed, failed[0]

    workspace = Workspace(home)
    imports = {}  # the digest a day input carries -> the rows of the file it was read from
    for row in jobs.recent_jobs(workspace):
        if row["stage"] != "import":
            continue
        job = jobs.load(workspace, row["id"])
        (source_digest,) = [f["sha256"] for f in job.manifest["inputs"]["files"]]
        for day, info in job.manifest["notes"]["days"].items():
            digest = hashlib.sha256(f"{job.id}\0{info['member']}".encode()).hexdigest()
            imports[digest] = (day, source_digest)
    first_rows = len(first.read_text().splitlines()) - 1
    partials = [r["id"] for r in jobs.recent_jobs(workspace) if r["stage"] == "fleet-partial"]
    assert len(partials) >= 2, "the loop made too few fleet tables to mean anything"
    for identity in partials:
        partial = jobs.load(workspace, identity)
        expected = 0
        for day_input in partial.manifest["inputs"]["files"]:
            day, source_digest = imports[day_input["sha256"]]
            expected += first_rows if day == "2013-04-10" else rows_of_file[source_digest]
        counted = pq.read_table(partial.output("model_capacity_days.parquet"))
        assert pc.sum(counted["drives"]).as_py() == expected, json.dumps(partial.manifest)[:300]
