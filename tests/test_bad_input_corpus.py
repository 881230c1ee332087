"""Every bad input of the corpus is refused by a real ``drivestats import`` process.

Each case runs against a workspace that already holds one day, and must: exit 1, print no
traceback, name the file (and the member and line where there are some), stay under the
memory budget, and leave the store byte for byte as it was. The store's fingerprint is taken
here, from its files and the catalog's tables read with sqlite3, not by drivestats.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bad_inputs import CORPUS, GOOD, BadInput, _day

# A refused import reads at most one member in bounded chunks: far under the 1 GiB a member
# may unpack to, and under the budget of a real import (3.4 GB at the whole history).
PEAK_MEMORY_BUDGET = 700 * 2**20


def store_fingerprint(home: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((home / "store").rglob("*")):
        if path.is_file() and path.name != ".lock":
            digest.update(str(path.relative_to(home)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    with sqlite3.connect(home / "catalog.sqlite") as db:
        for table in ("sources", "days"):
            for row in db.execute(f"select * from {table} order by 1, 2"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def holding_one_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    home = root / "home"
    day = _day(root / "good", GOOD)
    done = run_import(home, day)
    assert done[0] == 0, done[1]
    return home


# A child's peak resident size counts the memory of the process that forked it (Linux keeps
# the high-water mark across exec), and pytest's grows: a small launcher forks the import.
LAUNCHER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:])
with open(sys.argv[1], "w") as report:
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=report)
sys.exit(done.returncode)
"""


def run_import(home: Path, source: Path) -> tuple[int, str, int]:
    """Exit code, everything printed, and peak resident bytes of one import process."""
    log = home.parent / f"{home.name}.log"
    peak = home.parent / f"{home.name}.rss"
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "import", "--quiet"]
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(peak), *command, str(source)],
            stdout=out,
            stderr=out,
        )
    peak_kib = int(peak.read_text())
    return done.returncode, log.read_text(errors="replace"), peak_kib * 1024


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_a_bad_input_is_refused_clearly_and_the_store_kept(
    case: BadInput, holding_one_day: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(holding_one_day, home)
    before = store_fingerprint(home)
    source = case.build(tmp_path / "input")

    code, output, peak = run_import(home, source)

    said = " ".join(output.split())  # the console wraps long lines
    assert code == 1, output
    assert "Traceback" not in output
    assert str(source) in said
    if case.member is not None:
        assert f"member {case.member}" in said
    if case.line is not None:
        assert f"line {case.line}:" in said
    for words in case.says:
        assert words in said
    assert peak < PEAK_MEMORY_BUDGET, f"{peak / 2**20:.0f} MiB"
    assert store_fingerprint(home) == before
