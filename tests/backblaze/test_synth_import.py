"""The importer reads every synthetic zip, quirks included, and the store agrees with truth.csv."""

from __future__ import annotations

import csv
import zipfile

import duckdb
import pytest

from conftest import run_cli

# Short ranges around the quirks' real dates: header-only days, CRLF and the
# bare-CR day with 2/25/18 dates, the 2023 location columns and a quarter boundary.
RANGES = [
    ("2014-10-30", "2014-11-03"),
    ("2018-02-23", "2018-02-27"),
    ("2019-06-16", "2019-06-18"),
    ("2023-09-29", "2023-10-02"),
    ("2024-06-29", "2024-07-02"),  # 197 columns; Q3 writes smart_211_normailized
]


@pytest.mark.parametrize("start, end", RANGES)
def test_store_equals_truth(home, tmp_path, start, end):
    zips = tmp_path / "zips"
    made = run_cli(
        home, "synth", str(zips), "--start", start, "--end", end, "--scale", "0.02", "--quiet"
    )
    assert made.exit_code == 0, made.output
    imported = run_cli(home, "import", str(zips))
    assert imported.exit_code == 0, imported.output
    assert_store_equals_truth(home, [zips / "truth.csv"])


def assert_store_equals_truth(home, truth_files):
    truth = {}
    for path in truth_files:
        with open(path, newline="") as handle:
            truth |= {(r["quarter"], r["model"]): r for r in csv.DictReader(handle)}
    files = str(home / "store" / "months" / "*" / "*.parquet")
    stored = duckdb.execute(
        f"""
        with rows as (
            select date, model_clean, failure,
                   year(date) || 'Q' || quarter(date) as quarter
            from read_parquet('{files}', union_by_name = true)
        ),
        last_day as (select quarter, max(date) as day from rows group by quarter)
        select r.quarter, r.model_clean, count(*) as drive_days,
               count(*) filter (where r.failure) as failures,
               count(*) filter (where r.date = l.day) as drives
        from rows r join last_day l using (quarter)
        group by all
        """
    ).fetchall()
    assert {(q, m) for q, m, *_ in stored} == set(truth)
    for quarter, model, drive_days, failures, drives in stored:
        expected = truth[(quarter, model)]
        assert drive_days == int(expected["drive_days"]), (quarter, model)
        assert failures == int(expected["failures"]), (quarter, model)
        assert drives == int(expected["drives"]), (quarter, model)


def test_a_store_of_2013_and_2024_days_queries_by_name(home, tmp_path):
    """Two eras in one store: 85 and 197 columns, the misspelt headers stored canonically."""
    truths = []
    for start, end in (("2013-04-10", "2013-04-12"), ("2024-09-29", "2024-10-01")):
        zips = tmp_path / start
        made = run_cli(home, "synth", str(zips), "--start", start, "--end", end, "--scale", "0.01")
        assert made.exit_code == 0, made.output
        assert run_cli(home, "import", str(zips)).exit_code == 0
        truths.append(zips / "truth.csv")
    with zipfile.ZipFile(tmp_path / "2024-09-29" / "data_Q3_2024.zip") as archive:
        header = archive.read("data_Q3_2024/2024-09-30.csv").split(b"\n", 1)[0].decode()
    assert "smart_211_normailized" in header.split(",")  # the quirk is really in the file
    assert_store_equals_truth(home, truths)
    files = str(home / "store" / "months" / "*" / "*.parquet")
    by_year = duckdb.execute(
        f"""
        select year(date), count(*), count(smart_211_normalized), count(smart_9_raw),
               count(pod_slot_num)
        from read_parquet('{files}', union_by_name = true) group by 1 order by 1
        """
    ).fetchall()
    (y2013, rows13, n211_13, n9_13, slot13), (y2024, rows24, _, n9_24, slot24) = by_year
    assert (y2013, y2024) == (2013, 2024)
    assert n211_13 == 0 and slot13 == 0 and n9_13 == rows13  # 2013: no location, SMART 9 raw
    assert n9_24 == rows24 and slot24 == rows24
    names = duckdb.execute(f"describe select * from read_parquet('{files}', union_by_name = true)")
    assert not [row[0] for row in names.fetchall() if "normailized" in row[0]]
