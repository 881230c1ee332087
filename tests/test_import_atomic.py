"""An import killed with SIGKILL at any moment, and two imports at once, never damage the store."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import sample_files

pytestmark = pytest.mark.slow


def many_days_zip(target: Path, first_day: str, days: int) -> Path:
    """A zip of `days` daily files made from a real sample, re-dated day by day."""
    import datetime as dt

    text = sample_files()[0].read_text()
    start = dt.date.fromisoformat(first_day)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for offset in range(days):
            day = (start + dt.timedelta(days=offset)).isoformat()
            archive.writestr(f"{target.stem}/{day}.csv", text.replace("2013-04-10", day))
    return target


def import_process(home: Path, *paths: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drivestats",
            "--home",
            str(home),
            "import",
            "--quiet",
            *map(str, paths),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def store_state(home: Path) -> dict[str, str]:
    """Every month file in the store with its sha256."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((home / "store" / "months").rglob("*.parquet"))
    }


def catalog_state(home: Path) -> tuple[list, list]:
    with sqlite3.connect(home / "catalog.sqlite") as connection:
        sources = connection.execute("select sha256, days from sources order by sha256").fetchall()
        days = connection.execute(
            "select day, sha256, source_sha256 from days order by day"
        ).fetchall()
    return sources, days


def assert_consistent(home: Path) -> None:
    """The catalog and the files agree: every listed day is there with its hash, nothing else is."""
    sources, days = catalog_state(home)
    files = store_state(home)
    assert {f"{day[:7]}.parquet": digest for day, digest, _ in days} == files
    # Every listed day is in its month file, and nothing else is.
    for name in files:
        held = sorted(day for day, *_ in days if day.startswith(name[:7]))
        stored = pq.read_table(
            home / "store" / "months" / name[:4] / name, columns=["date"]
        ).column("date")
        assert sorted({d.isoformat() for d in stored.to_pylist()}) == held
    for sha, count in sources:
        assert sum(1 for *_, source in days if source == sha) == count


def test_kill_9_at_any_moment_leaves_store_as_before_and_next_run_completes(tmp_path):
    home = tmp_path / "home"
    first = many_days_zip(tmp_path / "data_A.zip", "2013-05-01", 4)
    second = many_days_zip(tmp_path / "data_B.zip", "2013-06-01", 30)
    assert import_process(home, first).wait(timeout=120) == 0
    before_files, before_catalog = store_state(home), catalog_state(home)

    # How long a whole import of the second source takes here, to spread the kills over it.
    probe_home = tmp_path / "probe"
    started = time.perf_counter()
    assert import_process(probe_home, second).wait(timeout=300) == 0
    duration = time.perf_counter() - started

    completed_by_itself = 0
    for fraction in (0.15, 0.3, 0.45, 0.6, 0.75, 0.85, 0.95):
        process = import_process(home, second)
        time.sleep(duration * fraction)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        else:
            completed_by_itself += 1
        journal = home / "store" / "journal.json"
        if not journal.exists() and catalog_state(home)[0] == before_catalog[0]:
            # Not committed: the store is exactly as before the unfinished source.
            assert store_state(home) == before_files
            assert catalog_state(home) == before_catalog
        if catalog_state(home)[0] != before_catalog[0]:
            break  # this run got through; the rest of the loop would only skip
    # The next run completes (or skips) and the result equals a clean import of both.
    assert import_process(home, second).wait(timeout=300) == 0
    assert not (home / "store" / "journal.json").exists()
    assert_consistent(home)
    clean = tmp_path / "clean"
    assert import_process(clean, first, second).wait(timeout=300) == 0
    assert store_state(home) == store_state(clean)
    # No temporary build folders survive in the jobs tree.
    assert not list((home / "jobs" / "import").glob(".tmp-*"))
    assert completed_by_itself < 7, "every kill came too late to test anything"


def test_two_imports_at_once_wait_for_each_other(tmp_path):
    home = tmp_path / "home"
    first = many_days_zip(tmp_path / "data_A.zip", "2013-05-01", 60)
    second = many_days_zip(tmp_path / "data_B.zip", "2013-07-01", 12)
    one = import_process(home, first)
    wait_until_store_locked(home / "store" / ".lock", one)
    two = import_process(home, second)
    out_one, _ = one.communicate(timeout=300)
    out_two, _ = two.communicate(timeout=300)
    assert one.returncode == 0, out_one
    assert two.returncode == 0, out_two
    assert "another import is running" in out_one + out_two
    assert_consistent(home)
    assert sorted(store_state(home)) == ["2013-05.parquet", "2013-06.parquet", "2013-07.parquet"]
    assert len(catalog_state(home)[1]) == 72


def wait_until_store_locked(lock: Path, process: subprocess.Popen) -> None:
    """Return once another process holds the store's lock (the first import is under way)."""
    import fcntl

    deadline = time.time() + 60
    while time.time() < deadline:
        assert process.poll() is None, "the first import ended before it was seen holding the lock"
        if lock.exists():
            with open(lock, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                except BlockingIOError:
                    return
        time.sleep(0.01)
    raise AssertionError("the first import never took the store's lock")
