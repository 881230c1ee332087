"""A full disk under afr, survival, movie and gc: one line, nothing half made, and with room again
the same command gives the bytes of a run that never met a full disk.

The workspace lives on a small tmpfs (mounted here, so root only) filled to a few kilobytes
of free space; the expected bytes come from the same command run on an ordinary disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_cli, sample_files

pytestmark = pytest.mark.slow

COMMANDS = {
    "afr": ["afr", "--period", "lifetime", "--by", "quarter"],
    "survival": ["survival", "--format", "csv"],
    "movie": ["movie", "--size", "640x360", "--workers", "1"],
    "gc": ["gc"],
}
FREE_KB = (8, 64, 300)


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    point = tmp_path_factory.mktemp("small-disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(point)])
    if mounted.returncode != 0:
        pytest.skip("this machine does not let a tmpfs be mounted")
    yield point
    subprocess.run(["umount", str(point)], check=False)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("imported") / "home"
    assert run_cli(home, "import", *map(str, sample_files())).exit_code == 0
    return home


def drivestats(home: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "drivestats", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def results(home: Path) -> dict[str, bytes]:
    folder = home / "results"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def fill(disk: Path, leave_kb: int) -> Path:
    free = shutil.disk_usage(disk).free
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(0, free - leave_kb * 1024))
    return filler


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_full_disk_stops_a_command_with_one_line_and_a_later_run_completes(
    command: str, small_disk: Path, imported: Path, tmp_path: Path
) -> None:
    args = COMMANDS[command]
    clean = tmp_path / "clean"
    shutil.copytree(imported, clean, symlinks=True)
    assert drivestats(clean, args).returncode == 0
    expected = results(clean)

    for leave_kb in FREE_KB:
        home = small_disk / f"{command}-{leave_kb}"
        shutil.copytree(imported, home, symlinks=True)
        filler = fill(small_disk, leave_kb)
        try:
            full = drivestats(home, args)
        finally:
            filler.unlink()
        where = f"{command} with {leave_kb} kB free"
        assert "Traceback" not in full.stderr, where
        if full.returncode != 0:
            assert full.returncode == 1, where
            (line,) = [text for text in full.stderr.splitlines() if text.startswith("Error:")]
            assert "no space left on device while writing" in line and str(home) in line, line
        again = drivestats(home, args)
        assert again.returncode == 0, f"{where}, then with room: {again.stderr}"
        got = results(home)
        assert {name: got[name] for name in expected} == expected, where
        shutil.rmtree(home)
