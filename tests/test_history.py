"""`drivestats log`: each command that made or reused a job, newest first, as it was typed.

Expected jobs come from the catalog's jobs table and the job folders, read with sqlite3.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import run_cli, sample_files


def logged(home: Path) -> list[dict]:
    done = run_cli(home, "log", "--format", "json", "--limit", "0")
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def stages_of(ids: list[str]) -> set[str]:
    return {identity.rsplit("-", 1)[0] for identity in ids}


def test_log_lists_runs_newest_first_with_what_each_made_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    day = sample_files()[0]
    command = [sys.executable, "-m", "drivestats", "--home", str(home)]
    subprocess.run([*command, "import", "-q", str(day)], check=True, capture_output=True)
    subprocess.run([*command, "afr", "--period", "lifetime"], check=True, capture_output=True)
    assert run_cli(home, "afr", "--period", "lifetime").exit_code == 0  # all reused
    assert run_cli(home, "afr", "--period", "1999").exit_code != 0  # no data: fails
    for quiet in (["show", "results/afr-lifetime.csv"], ["jobs"], ["log"]):
        assert run_cli(home, *quiet).exit_code == 0  # these use no job: no trace

    runs = logged(home)
    assert [run["command"] for run in runs] == [
        f"drivestats --home {home} afr --period 1999",
        f"drivestats --home {home} afr --period lifetime",
        f"drivestats --home {home} afr --period lifetime",
        f"drivestats --home {home} import -q {day}",
    ]
    failed, reused, made, imported = runs
    with sqlite3.connect(home / "catalog.sqlite") as db:
        by_stage = dict(db.execute("select stage, group_concat(id) from jobs group by stage"))
    assert imported["made"] == [by_stage["import"]] and imported["exit_code"] == 0
    assert stages_of(made["made"]) == {"fleet-partial", "fleet-tables", "afr"}
    assert set(made["made"]) == {
        *by_stage["fleet-partial"].split(","),
        by_stage["fleet-tables"],
        by_stage["afr"],
    }
    assert reused["made"] == [] and stages_of(reused["reused"]) == {"fleet-tables", "afr"}
    assert failed["exit_code"] == 1 and stages_of(failed["reused"]) == {"fleet-tables"}
    assert all(run["seconds"] > 0 and not run["interrupted"] for run in runs)
    assert made["seconds"] > reused["seconds"]


def test_a_run_killed_before_its_end_shows_as_interrupted(tmp_path: Path) -> None:
    """The kill comes after the import's job is recorded and before the command's end is."""
    import os
    import signal
    import time

    home = tmp_path / "home"
    days = sample_files()
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "import", "-q"]
    process = subprocess.Popen([*command, *map(str, days)])
    catalog = home / "catalog.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True) as db:
                if db.execute("select count(*) from job_runs").fetchone()[0] >= 3:
                    break
        except sqlite3.OperationalError:
            pass  # no catalog yet, or no tables in it yet
        time.sleep(0.01)
    assert process.poll() is None, "the import ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    (run,) = logged(home)
    assert run["interrupted"] and run["command"] is None and run["exit_code"] is None
    assert len(run["made"]) >= 3 and stages_of(run["made"]) == {"import"}
