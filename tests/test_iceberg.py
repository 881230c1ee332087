"""Iceberg both ways (#17): Backblaze's table and Parquet files in, the store out as a table.

The tables are built in Backblaze's schema from synthetic days (backblaze_iceberg.py), with
a PyIceberg SQL catalog on a SQLite file and a local warehouse; the same days are imported
as zips into another workspace, and the two stores are compared by DuckDB here (count and
a checksum over every row and column), not by drivestats.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

pytest.importorskip("pyiceberg")

import backblaze_iceberg as bi  # noqa: E402
from conftest import run_cli  # noqa: E402
from drivestats import provenance  # noqa: E402
from drivestats.workspace import Workspace  # noqa: E402


def synth(tmp_path: Path, start: str, end: str) -> Path:
    zips = tmp_path / f"zips-{start}"
    made = run_cli(
        tmp_path / "synth-home",
        "synth",
        str(zips),
        "--start",
        start,
        "--end",
        end,
        "--scale",
        "0.01",
        "--quiet",
    )
    assert made.exit_code == 0, made.output
    return zips


def store_view(home: Path, until: str | None = None) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    files = home / "store" / "months" / "*" / "*.parquet"
    where = f" where date <= '{until}'" if until else ""
    connection.execute(
        f"create view rows as select * from read_parquet('{files}', union_by_name = true){where}"
    )
    return connection


def arrow_view(table: pa.Table) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("rows", table)
    return connection


def columns_of(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {row[0]: row[1] for row in connection.execute("describe rows").fetchall()}


def checksum(connection: duckdb.DuckDBPyConnection, columns: list[str]) -> tuple[int, int]:
    """Rows and a sum of row hashes over a canonical column list (a column a side lacks is null)."""
    held = columns_of(connection)
    cells = ", ".join(
        f'"{name}"' if name in held else f"null::{TYPES[name]}" for name in sorted(columns)
    )
    count, total = connection.execute(f"select count(*), sum(hash({cells})) from rows").fetchone()
    return count, total


TYPES: dict[str, str] = {}


def assert_same_rows(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection) -> int:
    left, right = columns_of(a), columns_of(b)
    for name, kind in {**left, **right}.items():
        TYPES[name] = kind
    assert {n: t.replace("LARGE_", "") for n, t in left.items()} == {
        n: t.replace("LARGE_", "") for n, t in right.items()
    }
    names = sorted(left)
    rows, total = checksum(a, names)
    assert (rows, total) == checksum(b, names)
    assert rows > 0
    return rows


def days_of(home: Path) -> list[tuple]:
    import sqlite3

    connection = sqlite3.connect(home / "catalog.sqlite")
    try:
        return connection.execute(
            "select day, rows, failures, columns from days where rows > 0 order by day"
        ).fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "start, end",
    [
        ("2018-02-23", "2018-02-27"),  # the bare-CR day with 2/25/18 dates
        ("2024-09-29", "2024-10-01"),  # 197 columns; Q3 writes smart_211_normailized
    ],
)
def test_a_table_imports_as_its_zips_do(tmp_path, start, end):
    zips = synth(tmp_path, start, end)
    lake = tmp_path / "lake"
    days = list(bi.days_of(sorted(zips.glob("*.zip"))))
    if start.startswith("2024"):
        # Q3 2024 copies write smart_211_normailized; the synthetic fleet leaves smart_211
        # empty (so Backblaze's table drops it): a filled column spelt so shows the mapping.
        days = [(day, _misspelt(table) if day.month == 9 else table) for day, table in days]
    table = bi.append_days(lake, days)
    if start.startswith("2024"):  # both spellings are in the table, each under its own name
        assert {"smart_9_normailized", "smart_9_normalized"} <= set(table.schema().column_names)
    assert {str(f.field_type) for f in table.schema().fields if f.name == "failure"} == {"int"}
    from_table, from_zips = tmp_path / "a", tmp_path / "b"
    imported = run_cli(from_table, "import", bi.uri(lake))
    assert imported.exit_code == 0, imported.output
    assert run_cli(from_zips, "import", str(zips)).exit_code == 0
    assert_same_rows(store_view(from_table), store_view(from_zips))
    assert days_of(from_table) == days_of(from_zips)


def _misspelt(table: pa.Table) -> pa.Table:
    return table.rename_columns(
        ["smart_9_normailized" if n == "smart_9_normalized" else n for n in table.column_names]
    )


def test_a_newer_snapshot_reads_only_its_new_months(tmp_path):
    zips = synth(tmp_path, "2024-06-27", "2024-07-02")
    days = list(bi.days_of(sorted(zips.glob("*.zip"))))
    lake, home = tmp_path / "lake", tmp_path / "home"
    bi.append_days(lake, [(d, t) for d, t in days if d.month == 6])
    first = run_cli(home, "import", bi.uri(lake))
    assert first.exit_code == 0, first.output
    table = bi.append_days(lake, [(d, t) for d, t in days if d.month == 7])
    second = run_cli(home, "import", bi.uri(lake))
    assert second.exit_code == 0, second.output
    assert "1 months are in the store already; reading 1" in second.output
    again = run_cli(home, "import", bi.uri(lake))
    assert again.exit_code == 0 and "skipped" in again.output
    imports = sorted((home / "jobs" / "import-table").glob("import-table-*/job.json"))
    read = sorted(json.loads(p.read_text())["parameters"]["months"] for p in imports)
    assert read == [["2024-06"], ["2024-07"]]
    snapshot = str(table.current_snapshot().snapshot_id)
    listed = json.loads(run_cli(home, "sources", "--format", "json").output)
    assert snapshot in {source["path"].rsplit("@", 1)[1] for source in listed}
    # The month's footer names the table and the snapshot it was read from.
    said = provenance.read(home / "store" / "months" / "2024" / "2024-07.parquet")
    assert said["stage"] == "iceberg-month" and str(said["snapshot_id"]) == snapshot
    assert said["table"] == bi.uri(lake) and said["job"].startswith("iceberg-month-")
    from_zips = tmp_path / "zip-home"
    assert run_cli(from_zips, "import", str(zips)).exit_code == 0
    assert_same_rows(store_view(home), store_view(from_zips))
    assert days_of(home) == days_of(from_zips)


def test_parquet_files_import_as_their_zips_do(tmp_path):
    zips = synth(tmp_path, "2024-06-29", "2024-07-01")
    parquet = bi.write_parquet(
        bi.days_of(sorted(zips.glob("*.zip"))), tmp_path / "drivestats.parquet"
    )
    home, from_zips = tmp_path / "home", tmp_path / "zip-home"
    imported = run_cli(home, "import", str(parquet))
    assert imported.exit_code == 0, imported.output
    assert "skipped" in run_cli(home, "import", str(parquet)).output
    assert run_cli(from_zips, "import", str(zips)).exit_code == 0
    assert_same_rows(store_view(home), store_view(from_zips))
    assert days_of(home) == days_of(from_zips)


def test_a_column_that_cannot_be_mapped_is_named_and_nothing_is_stored(tmp_path):
    zips = synth(tmp_path, "2024-06-29", "2024-07-01")
    days = list(bi.days_of(sorted(zips.glob("*.zip"))))
    day, last = days[-1]
    broken = last.set_column(
        last.schema.get_field_index("vault_id"),
        "vault_id",
        pa.array(["vault-7"] * last.num_rows),
    )
    lake, home = tmp_path / "lake", tmp_path / "home"
    bi.append_days(lake, [*days[:-1], (day, broken)])
    failed = run_cli(home, "import", bi.uri(lake))
    assert failed.exit_code == 1
    assert "column vault_id: 'vault-7' is not a valid int64" in " ".join(failed.output.split())
    assert days_of(home) == []
    assert not list((home / "store" / "months").rglob("*.parquet"))


def test_an_import_of_zips_never_imports_pyiceberg(tmp_path):
    zips = synth(tmp_path, "2024-06-30", "2024-07-01")
    program = (
        "import sys\nfrom drivestats.cli import main\n"
        f"sys.argv = ['drivestats', '--home', {str(tmp_path / 'h')!r}, 'import', {str(zips)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pyiceberg' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


# --- the store as an Iceberg table ---------------------------------------------------


def read_table(home: Path, snapshot_id: int | None = None) -> pa.Table:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("default", uri=f"sqlite:///{home / 'iceberg' / 'catalog.db'}")
    table = catalog.load_table("drivestats.drive_days")
    return table, table.scan(snapshot_id=snapshot_id).to_arrow()


def test_the_exported_table_reads_as_the_store_and_travels_in_time(tmp_path, monkeypatch):
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")  # its own planner is a plugin
    zips = synth(tmp_path, "2024-06-28", "2024-07-02")
    home = tmp_path / "home"
    june, july = sorted(zips.glob("*.zip"))
    assert run_cli(home, "import", str(june)).exit_code == 0
    exported = run_cli(home, "export", "iceberg")
    assert exported.exit_code == 0, exported.output
    assert run_cli(home, "import", str(july)).exit_code == 0
    exported = run_cli(home, "export", "iceberg")
    assert exported.exit_code == 0, exported.output
    assert "up to date" in run_cli(home, "export", "iceberg").output

    table, rows = read_table(home)
    assert [f.name for f in table.spec().fields] == ["date_month"]
    assert assert_same_rows(arrow_view(rows), store_view(home)) == rows.num_rows
    import polars as pl

    second = pl.scan_iceberg(table).collect().to_arrow()
    assert assert_same_rows(arrow_view(second), store_view(home)) == rows.num_rows
    # One snapshot per import; the first one is the store as --until its last day gives it.
    snapshots = [s for s in table.metadata.snapshots]
    assert len(snapshots) == 2
    until = snapshots[0].summary["drivestats.until"]
    assert until == "2024-06-30" and snapshots[0].summary["drivestats.source"].endswith(june.name)
    _, then = read_table(home, snapshots[0].snapshot_id)
    assert assert_same_rows(arrow_view(then), store_view(home, until)) == then.num_rows
    # Registered where they lie, never copied: the pinned hard links of the store's files.
    for task in table.scan().plan_files():
        path = Path(task.file.file_path.removeprefix("file://"))
        assert path.is_relative_to(home / "iceberg" / "data") and path.stat().st_nlink > 1

    # The exported table imports back as the store it came from.
    again = tmp_path / "again"
    round_trip = run_cli(
        again, "import", f"sqlite:///{home / 'iceberg' / 'catalog.db'}#drivestats.drive_days"
    )
    assert round_trip.exit_code == 0, round_trip.output
    assert_same_rows(store_view(again), store_view(home))


def test_a_month_replaced_later_leaves_every_snapshot_readable(tmp_path):
    zips = synth(tmp_path, "2024-06-28", "2024-06-30")
    home = tmp_path / "home"
    assert run_cli(home, "import", str(zips)).exit_code == 0
    assert run_cli(home, "export", "iceberg").exit_code == 0
    _, before = read_table(home)
    # The same day again as a loose file: the month is merged into a new file of its name.
    loose = tmp_path / "loose"
    loose.mkdir()
    with zipfile.ZipFile(next(zips.glob("*.zip"))) as archive:
        name = next(n for n in archive.namelist() if n.endswith("2024-06-29.csv"))
        (loose / "2024-06-29.csv").write_bytes(archive.read(name))
    assert run_cli(home, "import", str(loose / "2024-06-29.csv")).exit_code == 0
    exported = run_cli(home, "export", "iceberg")
    assert exported.exit_code == 0, exported.output
    table, now = read_table(home)
    assert assert_same_rows(arrow_view(now), store_view(home)) == now.num_rows
    first, second = table.metadata.snapshots
    assert second.summary["deleted-data-files"] == "1" and second.summary["added-data-files"] == "1"
    _, then = read_table(home, first.snapshot_id)
    assert assert_same_rows(arrow_view(then), arrow_view(before)) == before.num_rows
    assert (
        Workspace(home).month_file("2024-06").stat().st_ino
        != Path(
            table.scan(snapshot_id=first.snapshot_id)
            .plan_files()[0]
            .file.file_path.removeprefix("file://")
        )
        .stat()
        .st_ino
    )
