"""`afr`, `survival` and `movie` killed with SIGKILL at random moments: the next run gives the
bytes of a run nobody interrupted.

A handful of moments run in CI; DRIVESTATS_KILLS=20 runs twenty per command. The
moments are drawn from a fixed seed over the length of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli, sample_files

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("DRIVESTATS_KILLS", "2"))
COMMANDS = {
    "afr": (["afr", "--period", "lifetime", "--by", "quarter"], "afr-lifetime-by-quarter.csv"),
    "survival": (["survival", "--format", "csv"], None),
    "movie": (["movie", "--size", "640x360", "--workers", "2"], "movie-640x360.mp4"),
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kills") / "home"
    assert run_cli(home, "import", *map(str, sample_files())).exit_code == 0
    return home


def drivestats(home: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "drivestats", "--home", str(home), *args]


def published(home: Path, name: str | None) -> dict[str, bytes]:
    """What a command published in results/: the named file, or every file it wrote."""
    results = home / "results"
    names = [name] if name else sorted(p.name for p in results.iterdir())
    return {n: (results / n).read_bytes() for n in names}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_killed_command_reruns_to_the_bytes_of_an_uninterrupted_one(
    imported: Path, tmp_path: Path, command: str
) -> None:
    args, result = COMMANDS[command]
    clean = tmp_path / "clean"
    shutil.copytree(imported, clean, symlinks=True)
    started = time.monotonic()
    done = subprocess.run(drivestats(clean, args), capture_output=True, text=True, timeout=600)
    length = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    expected = published(clean, result)

    moments = random.Random(f"kill {command}").sample(range(1000), KILLS)
    for moment in moments:
        home = tmp_path / f"killed-{moment}"
        shutil.copytree(imported, home, symlinks=True)
        process = subprocess.Popen(
            drivestats(home, args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(length * moment / 1000)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        again = subprocess.run(drivestats(home, args), capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, f"killed at {moment / 10:.1f}%: {again.stderr}"
        got = published(home, result)
        if result is None:  # survival names its files by its models: compare the same names
            got = {n: got[n] for n in expected}
        assert got == expected, f"killed at {moment / 10:.1f}% of {length:.1f} s"
        shutil.rmtree(home)
