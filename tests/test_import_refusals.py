"""A stored day is never replaced by an empty copy, nor by one missing most of its rows (without --force).

Row counts come from the sample files read with the csv module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import raw_counts, run_cli, sample_files
from drivestats import catalog
from drivestats.workspace import Workspace


def stored_rows(home: Path) -> dict[str, int]:
    rows = catalog.query(Workspace(home), "select day, rows from days order by day")
    return {row["day"]: row["rows"] for row in rows}


def test_an_empty_or_shrunken_copy_of_a_stored_day_is_refused(tmp_path: Path) -> None:
    original = sample_files()[1]  # 2013-04-11
    home = tmp_path / "home"
    assert run_cli(home, "import", str(original)).exit_code == 0
    expected = raw_counts([original])["rows_per_day"]
    assert stored_rows(home) == expected

    lines = original.read_text().splitlines(keepends=True)
    empty = tmp_path / "empty" / original.name
    empty.parent.mkdir()
    empty.write_text(lines[0])  # the header only
    refused = run_cli(home, "import", str(empty))
    assert refused.exit_code != 0
    assert str(empty) in refused.output and "2013-04-11" in refused.output
    assert f"{expected['2013-04-11']:,} rows stored" in refused.output
    assert stored_rows(home) == expected

    shrunk = tmp_path / "shrunk" / original.name
    shrunk.parent.mkdir()
    shrunk.write_text("".join(lines[:1001]))  # the header and 1,000 rows
    refused = run_cli(home, "import", str(shrunk))
    assert refused.exit_code != 0 and "--force" in refused.output
    assert "1,000 in" in refused.output
    assert stored_rows(home) == expected

    forced = run_cli(home, "import", "--force", str(shrunk))
    assert forced.exit_code == 0, forced.output
    assert stored_rows(home) == {"2013-04-11": 1_000}
    # Even --force never stores an empty day over a full one.
    assert run_cli(home, "import", "--force", str(empty)).exit_code != 0
    assert stored_rows(home) == {"2013-04-11": 1_000}


def test_a_member_that_unpacks_past_the_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch
) -> None:
    import zipfile

    from drivestats.backblaze import read

    # The cap is 1 GiB; a 3 MiB member stands in for a 4 GiB bomb under a 1 MiB cap.
    monkeypatch.setattr(read, "MAX_MEMBER_BYTES", 1 << 20)
    bomb = tmp_path / "data_Q2_2013.zip"
    header = "date,serial_number,model,capacity_bytes,failure\n"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/2013-04-12.csv", header + "0" * (3 << 20))
    home = tmp_path / "home"
    refused = run_cli(home, "import", str(bomb))
    assert refused.exit_code != 0
    assert "data/2013-04-12.csv" in refused.output and "unpacks to" in refused.output
    assert "refused before reading" in refused.output and str(bomb) in refused.output
    assert stored_rows(home) == {}


def test_a_full_disk_stops_the_import_with_one_line_and_keeps_the_store(tmp_path: Path) -> None:
    """A file-size limit (RLIMIT_FSIZE) fails writes past 300 kB as a full disk does."""
    import resource
    import signal
    import subprocess
    import sys

    days = sample_files()[:3]
    home = tmp_path / "home"
    assert run_cli(home, "import", str(days[0])).exit_code == 0
    before = stored_rows(home)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    command = [sys.executable, "-m", "drivestats", "--home", str(home), "import", "--quiet"]
    full = subprocess.run(
        [*command, *map(str, days[1:])],
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    (line,) = [text for text in full.stderr.splitlines() if text.startswith("Error:")]
    assert "no space left on device while writing" in line and str(home) in line
    assert stored_rows(home) == before
    # The lock is free and nothing is half done: with room again the same import completes.
    again = subprocess.run(
        [*command, *map(str, days[1:])], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert stored_rows(home) == raw_counts(days)["rows_per_day"]


def test_a_month_failing_while_the_next_is_parsed_stops_the_import_cleanly(
    tmp_path: Path,
) -> None:
    """April is written on its own thread while May is parsed; April's failure stops it all."""
    import resource
    import signal
    import subprocess
    import sys
    import zipfile

    april = sample_files()[:3]
    archive = tmp_path / "data_2013.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
        for path in april:
            packed.write(path, f"data_2013/{path.name}")
        for number, path in enumerate(sample_files()[3:6], start=1):
            day = f"2013-05-{number:02d}"
            packed.writestr(f"data_2013/{day}.csv", path.read_text().replace(path.stem, day))
    home = tmp_path / "home"
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "import", "--quiet"]

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    full = subprocess.run(
        [*command, str(archive)], preexec_fn=small_disk, capture_output=True, text=True
    )
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    (line,) = [text for text in full.stderr.splitlines() if text.startswith("Error:")]
    assert "no space left on device while writing" in line and "2013-04.parquet" in line
    assert stored_rows(home) == {}
    assert not list((home / "store").rglob("*.parquet"))
    assert not [p for p in (home / "jobs").rglob("*") if p.is_file() and ".part" in p.name]
    again = subprocess.run([*command, str(archive)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    counts = raw_counts(sample_files()[:6])["rows_per_day"]
    assert sorted(stored_rows(home).values()) == sorted(counts.values())


def test_repeated_drives_in_a_day_are_reported_and_a_flood_of_them_refused(
    tmp_path: Path,
) -> None:
    from conftest import write_day

    header = "date,serial_number,model,capacity_bytes,failure"
    rows = [f"2014-01-01,S{n},ST4000DM000,4000787030016,0" for n in range(30)]
    # S3 again on lines 32 and 33 (the header is line 1, S0 to S29 lines 2 to 31).
    few = [*rows, rows[3], rows[3]]
    write_day(tmp_path / "few", "2014-01-01", header, few)
    home = tmp_path / "home"
    kept = run_cli(home, "import", str(tmp_path / "few"))
    assert kept.exit_code == 0, kept.output
    said = " ".join(kept.output.split())  # the console wraps long lines
    assert "2 rows repeat a drive of that day (S3 at lines 5, 32, 33)" in said
    assert stored_rows(home) == {"2014-01-01": 32}  # as published: Backblaze counts rows

    flood = rows + [rows[7]] * 11 + [rows[9]]
    write_day(
        tmp_path / "flood", "2014-01-02", header, [r.replace("01-01", "01-02") for r in flood]
    )
    refused = run_cli(home, "import", str(tmp_path / "flood"))
    assert refused.exit_code != 0
    said = " ".join(refused.output.split())
    assert "12 rows repeat a drive" in said and "S7 at lines 9, 32, 33" in said
    assert stored_rows(home) == {"2014-01-01": 32}


def test_a_line_longer_than_any_row_is_named_by_its_number(tmp_path: Path) -> None:
    from conftest import write_day

    header = "date,serial_number,model,capacity_bytes,failure"
    rows = ["2013-04-10,A,M,1,0", "2013-04-10,B," + "x" * 3_000_000 + ",1,0"]
    path = write_day(tmp_path / "long", "2013-04-10", header, rows)
    refused = run_cli(tmp_path / "home", "import", str(path))
    said = " ".join(refused.output.split())
    assert refused.exit_code != 0
    assert f"{path} line 3: a line of 3,000,017 bytes" in said  # the header, A, then B


@pytest.mark.parametrize(
    "member", ["../2013-04-10.csv", "/data/2013-04-10.csv", "data\\2013-04-10.csv"]
)
def test_a_zip_with_a_member_path_out_of_the_ordinary_is_refused(tmp_path: Path, member) -> None:
    import zipfile

    text = sample_files()[0].read_bytes()
    bad = tmp_path / "data_Q2_2013.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr(zipfile.ZipInfo(member), text)
    from drivestats.store import import_sources

    home = tmp_path / "home"
    (failed,) = import_sources(Workspace(home).ensure(), [bad]).failed
    assert f"member {member}: a member path" in failed.error and "refused" in failed.error
    assert stored_rows(home) == {}


def test_an_empty_folder_named_like_a_day_is_named_not_passed_by(tmp_path: Path) -> None:
    (tmp_path / "data" / "2013-04-10.csv").mkdir(parents=True)
    refused = run_cli(tmp_path / "home", "import", str(tmp_path / "data"))
    assert refused.exit_code != 0
    assert "2013-04-10.csv: a folder named like a data file" in " ".join(refused.output.split())


def test_an_unreadable_file_in_a_folder_fails_alone(tmp_path: Path) -> None:
    """Root reads any file; without its override capabilities it meets permissions as users do."""
    import os
    import shutil
    import subprocess
    import sys

    days = sample_files()[:3]
    folder = tmp_path / "data"
    folder.mkdir()
    for day in days:
        shutil.copy(day, folder / day.name)
    locked = folder / days[1].name
    locked.chmod(0)
    as_a_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no file is unreadable")
        drop = "-dac_override,-dac_read_search"
        as_a_user = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"]
    home = tmp_path / "home"
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "import", "--quiet"]
    done = subprocess.run(
        [*as_a_user, *command, str(folder)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{locked}: cannot be read (Permission denied)" in " ".join(done.stderr.split())
    readable = [days[0], days[2]]
    assert stored_rows(home) == raw_counts(readable)["rows_per_day"]
