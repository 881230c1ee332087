"""A workspace made by a release that stored one Parquet file per day (store/days/YYYY/
YYYY-MM-DD.parquet) keeps working: tables are made from its day files, and a new import into
one of its months gathers the month into one month file, removes the day files it replaced,
and leaves a store equal to a fresh one's.

The old layout is made here by hand from a current import: each day's rows written to its own
file, the catalog's days pointed at them (as the old release's rows did), the month file
removed. Expected counts come from the raw CSV files read with the csv module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from conftest import pack_like_backblaze, raw_counts, run_cli, sample_files


def to_daily_layout(home: Path) -> list[Path]:
    month = home / "store" / "months" / "2013" / "2013-04.parquet"
    table = pq.read_table(month)
    written = []
    with sqlite3.connect(home / "catalog.sqlite") as db:
        for (day,) in db.execute("select day from days order by day").fetchall():
            rows = table.filter(pc.equal(table["date"], pa.scalar(day).cast(pa.date32())))
            path = home / "store" / "days" / day[:4] / f"{day}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows, path, compression="zstd")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            db.execute(
                "update days set file = ?, sha256 = ?, size = ? where day = ?",
                (f"store/days/{day[:4]}/{day}.parquet", digest, path.stat().st_size, day),
            )
            written.append(path)
    month.unlink()
    return written


def stored_rows(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "catalog.sqlite") as db:
        return dict(db.execute("select day, rows from days order by day").fetchall())


def test_an_old_daily_store_makes_tables_and_takes_new_imports(tmp_path: Path) -> None:
    days = sample_files()
    first = pack_like_backblaze(days[:6], tmp_path / "data_2013_a.zip")
    later = pack_like_backblaze(days[6:], tmp_path / "data_2013_b.zip")
    old = tmp_path / "old"
    assert run_cli(old, "import", str(first)).exit_code == 0
    day_files = to_daily_layout(old)
    expected_first = raw_counts(days[:6])["rows_per_day"]

    # Tables from the day files as they are.
    every = ["--min-drives", "0", "--min-drive-days", "0", "--include-boot", "--format", "csv"]
    made = run_cli(old, "afr", "--period", "lifetime", *every)
    assert made.exit_code == 0, made.output
    (total,) = [row for row in csv.DictReader(io.StringIO(made.stdout)) if row["model"] == "ALL"]
    assert int(total["drive_days"]) == sum(expected_first.values())  # every row

    # A new import into the same month gathers it into one file and drops the day files.
    assert run_cli(old, "import", str(later)).exit_code == 0
    month = old / "store" / "months" / "2013" / "2013-04.parquet"
    assert month.exists()
    assert not any(path.exists() for path in day_files)
    assert stored_rows(old) == raw_counts(days)["rows_per_day"]
    assert pq.read_table(month).num_rows == sum(raw_counts(days)["rows_per_day"].values())

    fresh = tmp_path / "fresh"
    assert run_cli(fresh, "import", str(first)).exit_code == 0
    assert run_cli(fresh, "import", str(later)).exit_code == 0
    for home in (old, fresh):
        assert run_cli(home, "afr", "--period", "lifetime").exit_code == 0
    assert (old / "results" / "afr-lifetime.csv").read_bytes() == (
        fresh / "results" / "afr-lifetime.csv"
    ).read_bytes()
    assert (old / "results" / "afr-lifetime.csv").resolve().parent.name == (
        fresh / "results" / "afr-lifetime.csv"
    ).resolve().parent.name  # the same job: the same days, read from the same kind of file
