"""The importer reads every synthetic zip, quirks included, and the store agrees with truth.csv."""

from __future__ import annotations

import csv

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

    with open(zips / "truth.csv", newline="") as handle:
        truth = {(r["quarter"], r["model"]): r for r in csv.DictReader(handle)}
    files = str(home / "store" / "days" / "*" / "*.parquet")
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
