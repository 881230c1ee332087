"""Importing real Backblaze files: counts against the raw CSV, reuse, replacement, bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import pack_like_backblaze, raw_counts, run_cli, write_day
from drivestats.workspace import Workspace


def store_glob(home: Path) -> str:
    return str(home / "store" / "months" / "*" / "*.parquet")


def test_zip_of_real_samples_matches_independent_count(samples, home, tmp_path):
    archive = pack_like_backblaze(samples, tmp_path / "data_2013.zip")
    result = run_cli(home, "import", str(archive))
    assert result.exit_code == 0, result.output
    expected = raw_counts(samples)

    con = duckdb.connect()
    per_day = dict(
        con.execute(
            f"select strftime(date, '%Y-%m-%d'), count(*) from '{store_glob(home)}' group by 1"
        ).fetchall()
    )
    assert per_day == expected["rows_per_day"]
    failures = dict(
        con.execute(
            f"select strftime(date, '%Y-%m-%d'), count(*) from '{store_glob(home)}' where failure group by 1"
        ).fetchall()
    )
    assert failures == expected["failures_per_day"]
    per_model = dict(
        con.execute(f"select model_clean, count(*) from '{store_glob(home)}' group by 1").fetchall()
    )
    assert per_model == expected["model_days"]
    drives = con.execute(
        f"select count(distinct serial_number) from '{store_glob(home)}'"
    ).fetchone()
    assert drives[0] == expected["drives"]
    # The summary names the source and its totals.
    assert "data_2013.zip" in result.output and "imported" in result.output


def test_store_types_and_derived_columns(samples, home):
    run_cli(home, "import", str(samples[0]))
    schema = pq.read_schema(Workspace(home).day_file("2013-04-10"))
    assert str(schema.field("date").type) == "date32[day]"
    assert str(schema.field("capacity_bytes").type) == "int64"
    assert str(schema.field("failure").type) == "bool"
    assert str(schema.field("smart_9_raw").type) == "int64"
    assert str(schema.field("smart_9_normalized").type) == "int64"
    assert {"model_clean", "vendor"} <= set(schema.names)
    # 85 raw columns kept, plus the two derived ones.
    assert len(schema.names) == 87
    vendors = dict(
        duckdb.execute(
            f"select model, any_value(vendor) from '{store_glob(home)}' group by 1"
        ).fetchall()
    )
    assert vendors["ST3000DM001"] == "Seagate"
    assert vendors["Hitachi HDS5C3030ALA630"] == "Hitachi"
    assert vendors["HGST HMS5C4040ALE640"] == "HGST"


def test_sources_lists_sha256_days_rows(samples, home):
    import hashlib

    run_cli(home, "import", *map(str, samples[:2]))
    result = run_cli(home, "sources", "--format", "json")
    listed = json.loads(result.output)
    assert [s["file"] for s in listed] == [samples[0].name, samples[1].name]
    assert listed[0]["sha256"] == hashlib.sha256(samples[0].read_bytes()).hexdigest()
    assert listed[0]["rows"] == raw_counts([samples[0]])["rows_per_day"]["2013-04-10"]
    assert listed[0]["days"] == 1 and listed[0]["columns"] == 85


def test_reimport_is_skipped_and_changes_nothing(samples, home, tmp_path):
    archive = pack_like_backblaze(samples[:3], tmp_path / "data_2013.zip")
    run_cli(home, "import", str(archive))
    day = Workspace(home).day_file("2013-04-11")
    before = day.stat()
    again = run_cli(home, "import", str(archive))
    assert again.exit_code == 0
    assert "skipped" in again.output and "imported" not in again.output
    assert day.stat().st_mtime_ns == before.st_mtime_ns and day.stat().st_ino == before.st_ino


def test_a_source_is_remembered_by_its_own_size_and_mtime(samples, home, tmp_path):
    """What lets a re-import skip the source's sha256: its path, size and mtime, not a month's."""
    import sqlite3

    archive = pack_like_backblaze(samples[:3], tmp_path / "data_2013.zip")
    assert run_cli(home, "import", str(archive)).exit_code == 0
    with sqlite3.connect(home / "catalog.sqlite") as db:
        (row,) = db.execute("select path, size, mtime_ns from sources").fetchall()
    stat = archive.stat()
    assert row == (str(archive), stat.st_size, stat.st_mtime_ns)


def test_new_month_touches_only_its_month(home, tmp_path):
    header = "date,serial_number,model,capacity_bytes,failure"
    april = write_day(tmp_path / "a", "2016-04-30", header, ["2016-04-30,A,ST1,1,0"])
    may = write_day(tmp_path / "b", "2016-05-01", header, ["2016-05-01,A,ST1,1,0"])
    run_cli(home, "import", str(april))
    old = (home / "store/months/2016/2016-04.parquet").stat()
    run_cli(home, "import", str(may))
    files = sorted(p.name for p in (home / "store/months/2016").glob("*.parquet"))
    assert files == ["2016-04.parquet", "2016-05.parquet"]
    now = (home / "store/months/2016/2016-04.parquet").stat()
    assert (now.st_ino, now.st_mtime_ns) == (old.st_ino, old.st_mtime_ns)


def test_two_sources_of_one_month_share_its_file(samples, home, tmp_path):
    first = pack_like_backblaze(samples[:5], tmp_path / "a.zip")
    second = pack_like_backblaze(samples[5:], tmp_path / "b.zip")
    run_cli(home, "import", str(first))
    first_job = json.loads(run_cli(home, "sources", "--format", "json").output)[0]
    job_file = next((home / "jobs" / "import").glob("import-*/months/2013-04.parquet"))
    before = job_file.read_bytes()
    output = run_cli(home, "import", str(second)).output
    assert "now from" not in output  # the first source's days moved, nothing was replaced
    assert [p.name for p in (home / "store/months").rglob("*.parquet")] == ["2013-04.parquet"]
    expected = raw_counts(samples)
    per_day = dict(
        duckdb.execute(
            f"select strftime(date, '%Y-%m-%d'), count(*) from '{store_glob(home)}' group by 1"
        ).fetchall()
    )
    assert per_day == expected["rows_per_day"]
    assert job_file.read_bytes() == before  # the first import's output is not touched
    sources = json.loads(run_cli(home, "sources", "--format", "json").output)
    assert [s["in_store"] for s in sources] == [5, 5]
    assert sources[0]["sha256"] == first_job["sha256"]


def test_day_in_two_sources_is_stored_once_later_wins(home, tmp_path):
    header = "date,serial_number,model,capacity_bytes,failure"
    older = write_day(
        tmp_path / "old", "2016-03-31", header, ["2016-03-31,A,ST4000DM000,4000787030016,0"]
    )
    newer_zip = tmp_path / "data_Q1_2016.zip"
    with zipfile.ZipFile(newer_zip, "w") as archive:
        archive.writestr(
            "data_Q1_2016/2016-03-31.csv",
            header
            + "\n2016-03-31,A,ST4000DM000,4000787030016,0\n2016-03-31,B,ST4000DM000,4000787030016,1\n",
        )
    run_cli(home, "import", str(older))
    result = run_cli(home, "import", str(newer_zip))
    assert "2016-03-31: now from data_Q1_2016.zip (was 2016-03-31.csv)" in result.output
    rows = duckdb.execute(
        f"select count(*), count(*) filter (where failure) from '{store_glob(home)}'"
    ).fetchone()
    assert rows == (2, 1)
    # Importing the older file again makes it the later import: it wins, and says so.
    again = run_cli(home, "import", str(older))
    assert "taking them back" in again.output
    assert "2016-03-31: now from 2016-03-31.csv (was data_Q1_2016.zip)" in again.output
    rows = duckdb.execute(f"select count(*) from '{store_glob(home)}'").fetchone()
    assert rows == (1,)
    sources = {
        s["file"]: s for s in json.loads(run_cli(home, "sources", "--format", "json").output)
    }
    assert sources["2016-03-31.csv"]["days"] == sources["2016-03-31.csv"]["in_store"] == 1
    assert sources["data_Q1_2016.zip"]["days"] == 1
    assert sources["data_Q1_2016.zip"]["in_store"] == 0


@pytest.mark.parametrize(
    "case, content, expected",
    [
        (
            "wrong field count",
            "{h}\n2013-04-10,A,ST1,1,0\n2013-04-10,B,ST1,1\n",
            "line 3: row has 4 fields, the header has 5",
        ),
        (
            "missing column",
            "date,serial_number,capacity_bytes,failure\n2013-04-10,A,1,0\n",
            "line 1: missing required column(s) model",
        ),
        (
            "unparsable date",
            "{h}\n2013-04-10,A,ST1,1,0\n2013-04-10,B,ST1,1,0\nyesterday,C,ST1,1,0\n",
            "line 4: unparsable date 'yesterday'",
        ),
        (
            "bad integer",
            "{h}\n2013-04-10,A,ST1,1,0\n2013-04-10,B,ST1,lots,0\n",
            "line 3: column capacity_bytes: 'lots' is not a valid int64",
        ),
        (
            "bad SMART value",
            "{h},smart_9_raw\n2013-04-10,A,ST1,1,0,5\n2013-04-10,B,ST1,1,0,7.5\n",
            "line 3: column smart_9_raw: '7.5' is not a valid int64",
        ),
        (
            "row of another day",
            "{h}\n2013-04-10,A,ST1,1,0\n2013-04-21,B,ST1,1,0\n",
            "line 3: a row dated 2013-04-21 in the file of 2013-04-10",
        ),
        (
            "bad boolean",
            "{h}\n2013-04-10,A,ST1,1,maybe\n",
            "line 2: column failure: 'maybe' is not a valid bool",
        ),
    ],
)
def test_bad_rows_are_named_by_file_member_and_line(home, tmp_path, case, content, expected):
    header = "date,serial_number,model,capacity_bytes,failure"
    archive = tmp_path / "data_2013.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("2013/2013-04-09.csv", f"{header}\n2013-04-09,Z,ST1,1,0\n")
        zipped.writestr("2013/2013-04-10.csv", content.format(h=header))
    result = run_cli(home, "import", str(archive))
    assert result.exit_code == 1
    assert f"data_2013.zip member 2013/2013-04-10.csv {expected}" in result.output, result.output
    # Nothing of the failed source is stored, not even its good first day.
    assert not list((home / "store" / "months").rglob("*.parquet"))


def test_text_that_is_not_utf8_is_named_by_line(home, tmp_path):
    header = "date,serial_number,model,capacity_bytes,failure"
    path = tmp_path / "2013-04-10.csv"
    path.write_bytes(
        f"{header}\n2013-04-10,A,ST1,1,0\n".encode() + b"2013-04-10,B,Hitachi \xe9,1,0\n"
    )
    result = run_cli(home, "import", str(path))
    assert result.exit_code == 1
    assert "2013-04-10.csv line 3: text that is not UTF-8" in result.output, result.output


def test_corrupt_and_truncated_zips_fail_cleanly_others_import(samples, home, tmp_path):
    good = pack_like_backblaze(samples[:2], tmp_path / "good.zip")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(
        pack_like_backblaze(samples[2:4], tmp_path / "whole.zip").read_bytes()[:400_000]
    )
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    result = run_cli(home, "import", str(good), str(truncated), str(garbage))
    assert result.exit_code == 1
    assert "truncated.zip: not a readable zip" in result.output
    assert "garbage.zip: not a readable zip" in result.output
    assert "2 of 3 sources not imported" in result.output
    stored = duckdb.execute(
        f"select distinct strftime(date, '%Y-%m-%d') from '{store_glob(home)}' order by 1"
    ).fetchall()
    assert stored == [("2013-04-10",), ("2013-04-11",)]


def test_corrupted_member_bytes_are_caught(samples, home, tmp_path):
    archive = pack_like_backblaze(samples[:2], tmp_path / "data_2013.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zipped:
        info = zipped.getinfo("data_2013/2013-04-10.csv")
    # Flip bytes in the middle of the member's compressed data: a CRC or inflate error.
    middle = info.header_offset + 100 + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    archive.write_bytes(bytes(data))
    result = run_cli(home, "import", str(archive))
    assert result.exit_code == 1
    assert "member data_2013/2013-04-10.csv" in result.output
    assert not list((home / "store/months").rglob("*.parquet"))


def test_missing_path_is_a_clear_error(home, tmp_path):
    result = run_cli(home, "import", str(tmp_path / "nowhere.zip"))
    assert result.exit_code != 0
    assert "nowhere.zip: no such file or folder" in result.output
