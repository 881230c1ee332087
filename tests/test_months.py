"""Month files: each row group sorted by drive then date, every column kept, the same bytes twice."""

from __future__ import annotations

import hashlib
import zipfile

import pyarrow.parquet as pq

from conftest import run_cli, write_day
from drivestats import provenance

CORE = "date,serial_number,model,capacity_bytes,failure"


def test_a_month_whose_column_set_changes_keeps_every_column(home, tmp_path):
    folder = tmp_path / "days"
    write_day(
        folder,
        "2015-03-30",
        f"{CORE},smart_1_raw",
        ["2015-03-30,B,ST1,1,0,7", "2015-03-30,A,ST1,1,0,8"],
    )
    write_day(
        folder, "2015-03-31", f"{CORE},smart_1_raw,smart_9_raw", ["2015-03-31,A,ST1,1,1,9,100"]
    )
    archive = tmp_path / "data_Q1_2015.zip"
    with zipfile.ZipFile(archive, "w") as packed:  # one source: the column set changes inside it
        for path in sorted(folder.glob("*.csv")):
            packed.write(path, f"data_Q1_2015/{path.name}")
    assert run_cli(home, "import", str(archive)).exit_code == 0
    (month,) = (home / "store" / "months").rglob("*.parquet")
    table = pq.read_table(month)
    assert {"smart_1_raw", "smart_9_raw"} <= set(table.column_names)
    rows = [
        (r["serial_number"], str(r["date"]), r["smart_1_raw"], r["smart_9_raw"])
        for r in table.to_pylist()
    ]
    assert sorted(rows) == [
        ("A", "2015-03-30", 8, None),
        ("A", "2015-03-31", 9, 100),
        ("B", "2015-03-30", 7, None),
    ]
    assert provenance.read(month)["stage"] == "import"


def test_row_groups_are_sorted_by_drive_then_date_and_bytes_repeat(samples, tmp_path):
    for home in (tmp_path / "one", tmp_path / "two"):
        assert run_cli(home, "import", *map(str, samples)).exit_code == 0
    one, two = (
        next((tmp_path / h / "store" / "months").rglob("*.parquet")) for h in ("one", "two")
    )
    assert one.read_bytes() == two.read_bytes()
    parquet = pq.ParquetFile(one)
    for index in range(parquet.num_row_groups):
        group = parquet.read_row_group(index, columns=["serial_number", "date"])
        keys = list(zip(group["serial_number"].to_pylist(), group["date"].to_pylist(), strict=True))
        assert keys == sorted(keys)
    assert parquet.metadata.num_rows == sum(1 for path in samples for _ in open(path)) - len(
        samples
    )


def test_days_of_one_month_from_two_sources_are_merged_and_say_so(home, tmp_path):
    first = write_day(tmp_path / "a", "2015-03-30", CORE, ["2015-03-30,A,ST1,1,0"])
    write_day(tmp_path / "b", "2015-03-31", CORE, ["2015-03-31,A,ST1,1,0"])
    write_day(tmp_path / "b", "2015-04-01", CORE, ["2015-04-01,A,ST1,1,0"])  # the next month
    zipped = tmp_path / "data_Q1_2015.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for day in sorted((tmp_path / "b").glob("*.csv")):
            archive.write(day, f"data/{day.name}")
    assert run_cli(home, "import", str(first)).exit_code == 0
    assert run_cli(home, "import", str(zipped)).exit_code == 0
    month = home / "store" / "months" / "2015" / "2015-03.parquet"
    said = provenance.read(month)
    assert said["stage"] == "store-merge"
    assert {day: entry["source"] for day, entry in said["days"].items()} == {
        "2015-03-30": first.name,
        "2015-03-31": zipped.name,
    }  # its own days, not April's
    assert (
        said["days"]["2015-03-30"]["source_sha256"]
        == hashlib.sha256(first.read_bytes()).hexdigest()
    )
    assert pq.read_table(month).num_rows == 2
    assert not list(month.parent.glob(".*"))  # no merge or part files left behind
