"""Killing the main `drivestats movie` process leaves nothing running: workers and encoders
exit within 5 seconds, and the next run makes the same movie."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow


def descendants(root: int) -> set[int]:
    """Every process below root, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_and_encoders_leave_within_five_seconds_of_the_main_process(tmp_path: Path):
    home = tmp_path / "home"
    zips = tmp_path / "zips"
    made = run_cli(
        home, "synth", str(zips), "--start", "2013-04-10", "--end", "2015-03-31",
        "--scale", "0.005", "--quiet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert run_cli(home, "import", str(zips)).exit_code == 0
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "movie", "--quiet"]
    movie = subprocess.Popen(command + ["--workers", "2"], stderr=subprocess.PIPE)
    try:
        # Wait until both workers run an encoder each: the movie is well under way.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            below = descendants(movie.pid)
            encoders = [p for p in below if "ffmpeg" in Path(f"/proc/{p}/cmdline").read_text()]
            if len(encoders) >= 2:
                break
            assert movie.poll() is None, movie.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("the movie never had two encoders running")
        below = descendants(movie.pid)
        os.kill(movie.pid, signal.SIGKILL)
        movie.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in below):
            time.sleep(0.1)
        left = [p for p in below if alive(p)]
        assert not left, f"still running 5 s after the main process died: {left}"
    finally:
        if movie.poll() is None:
            movie.kill()
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert (home / "results" / "movie.mp4").exists()
