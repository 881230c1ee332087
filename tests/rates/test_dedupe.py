"""Rows that repeat a drive on its day: counted as published, or once with --dedupe.

The expected counts come from DuckDB over the CSV files written here: count(*) for rows,
count(distinct ...) for drives.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from conftest import run_cli, write_day

HEADER = "date,serial_number,model,capacity_bytes,failure"


def fleet_with_repeats(folder: Path) -> list[Path]:
    seagate = [f"S{n:02},ST4000DM000,4000787030016" for n in range(30)]
    hitachi = [f"H{n:02},HDS5C3030ALA630,3000592982016" for n in range(20)]
    first = [f"2014-01-01,{drive},0" for drive in seagate + hitachi]
    first += [first[3], first[3]]  # S03 three times
    second = [f"2014-01-02,{drive},{int(drive.startswith('S05'))}" for drive in seagate + hitachi]
    second += [second[5]]  # S05 fails, and its failing row is there twice
    return [
        write_day(folder, "2014-01-01", HEADER, first),
        write_day(folder, "2014-01-02", HEADER, second),
    ]


def counted_by_sql(files: list[Path], distinct: bool) -> dict[str, tuple[int, int]]:
    listing = ", ".join(f"'{f}'" for f in files)
    rows = (
        f"(select distinct * from read_csv([{listing}]))" if distinct else f"read_csv([{listing}])"
    )
    return {
        model: (drive_days, failures)
        for model, drive_days, failures in duckdb.execute(
            f"select model, count(*), count(*) filter (where failure = 1) from {rows} group by model"
        ).fetchall()
    }


def afr_rows(home: Path, *flags: str) -> tuple[dict[str, tuple[int, int]], str]:
    args = ["afr", "--period", "2014-01-01..2014-01-02", "--min-drives", "0"]
    done = run_cli(home, *args, "--min-drive-days", "0", "--format", "json", *flags)
    assert done.exit_code == 0, done.output
    text = done.stdout
    rows = json.loads(text[text.index("[") : text.rindex("]") + 1])
    counts = {r["model"]: (r["drive_days"], r["failures"]) for r in rows if r["vendor"]}
    return counts, " ".join(done.stderr.split())


def test_repeated_rows_count_as_published_unless_dedupe(tmp_path: Path) -> None:
    files = fleet_with_repeats(tmp_path / "csv")
    home = tmp_path / "home"
    assert run_cli(home, "import", str(tmp_path / "csv")).exit_code == 0

    published, caption = afr_rows(home)
    assert published == counted_by_sql(files, distinct=False)
    assert "3 rows repeat a drive on its day: counted as published" in caption
    assert "afr-2014-01-01_to_2014-01-02.csv" in caption

    once, caption = afr_rows(home, "--dedupe")
    assert once == counted_by_sql(files, distinct=True)
    assert once != published
    assert "3 rows repeating a drive on its day left out (--dedupe)" in caption
    assert "afr-2014-01-01_to_2014-01-02-dedupe.csv" in caption
    assert (home / "results" / "afr-2014-01-01_to_2014-01-02.csv").exists()
