"""A new quarter costs that quarter: fleet tables from per-month partials equal a count over the raw CSV."""

from __future__ import annotations

import json
import zipfile

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import run_cli
from drivestats import catalog, jobs
from drivestats.fleet import fleet_tables
from drivestats.workspace import Workspace


@pytest.fixture(scope="module")
def two_quarters(tmp_path_factory):
    """Synthetic zips of 2016 Q1 and Q2, and their members unzipped for the independent count."""
    folder = tmp_path_factory.mktemp("two-quarters")
    home = folder / "home"
    made = run_cli(
        home, "synth", str(folder / "zips"), "--start", "2016-01-01", "--end", "2016-06-30",
        "--scale", "0.01", "--quiet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    csv = folder / "csv"
    csv.mkdir()
    for name in ("data_Q1_2016.zip", "data_Q2_2016.zip"):
        with zipfile.ZipFile(folder / "zips" / name) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".csv") and "__MACOSX" not in info.filename:
                    (csv / info.filename.rsplit("/", 1)[1]).write_bytes(archive.read(info))
    return folder


def raw_rows(csv_folder) -> str:
    """The raw CSV rows as DuckDB reads them, model whitespace normalised, nothing of ours used."""
    return f"""
        select cast(date as date) as date, serial_number,
               regexp_replace(trim(model), '\\s+', ' ', 'g') as model,
               failure = 1 as failure
        from read_csv('{csv_folder}/*.csv', union_by_name = true, all_varchar = false)
    """


def test_a_new_quarter_scans_only_its_months_and_equals_a_count_of_the_raw_rows(
    two_quarters, tmp_path
):
    home = tmp_path / "home"
    zips = two_quarters / "zips"
    assert run_cli(home, "import", str(zips / "data_Q1_2016.zip")).exit_code == 0
    workspace = Workspace(home)
    first = fleet_tables(workspace)
    partials_before = {u for u in first.manifest["inputs"]["jobs"]}
    assert len(partials_before) == 3  # January, February, March

    assert run_cli(home, "import", str(zips / "data_Q2_2016.zip")).exit_code == 0
    second = fleet_tables(workspace)
    # The tables of the first quarter, and the second quarter's three months.
    built_on = second.manifest["inputs"]["jobs"]
    assert first.id in built_on and len(built_on) == 4
    assert not partials_before & set(built_on)
    made = catalog.query(
        workspace, "select count(*) as n from job_runs r join jobs j on j.id = r.job_id"
        " where j.stage = 'fleet-partial' and r.reused = 0",
    )[0]["n"]  # fmt: skip
    assert made == 6  # three for the first quarter, three for the second: none made twice

    rows = raw_rows(two_quarters / "csv")
    expected_drives = duckdb.execute(
        f"""
        select serial_number, arg_min(model, date), min(date), max(date),
               max(date) filter (where failure), count(*) filter (where failure), count(*)
        from ({rows}) group by serial_number order by serial_number
        """
    ).fetchall()
    drives = pq.read_table(second.output("drives.parquet"))
    assert [tuple(r.values()) for r in drives.to_pylist()] == expected_drives

    expected_model_days = duckdb.execute(
        f"""
        select date, model, count(*), count(*) filter (where failure),
               count(*) - count(distinct serial_number),
               count(*) filter (where failure)
                 - count(distinct serial_number) filter (where failure)
        from ({rows}) group by all order by date, model
        """
    ).fetchall()
    model_days = pq.read_table(second.output("model_days.parquet"))
    assert [tuple(r.values()) for r in model_days.to_pylist()] == expected_model_days

    daily = pq.read_table(second.output("daily.parquet"), columns=["date", "drives", "failures"])
    expected_daily = duckdb.execute(
        f"select date, count(*), count(*) filter (where failure) from ({rows}) group by 1 order by 1"
    ).fetchall()
    assert [tuple(r.values()) for r in daily.to_pylist()] == expected_daily


def test_incremental_and_from_nothing_give_the_same_bytes(two_quarters, tmp_path):
    zips = two_quarters / "zips"
    step_by_step, at_once = tmp_path / "step", tmp_path / "once"
    for name in ("data_Q1_2016.zip", "data_Q2_2016.zip"):
        assert run_cli(step_by_step, "import", str(zips / name)).exit_code == 0
        fleet_tables(Workspace(step_by_step))
    assert run_cli(at_once, "import", str(zips)).exit_code == 0
    one, other = fleet_tables(Workspace(step_by_step)), fleet_tables(Workspace(at_once))
    assert one.id == other.id  # named by the days they cover, however they were combined
    for table in ("drives", "models", "daily", "model_days"):
        assert (
            one.output(f"{table}.parquet").read_bytes()
            == other.output(f"{table}.parquet").read_bytes()
        )


def test_tables_made_by_other_code_are_not_built_on(two_quarters, tmp_path):
    home = tmp_path / "home"
    zips = two_quarters / "zips"
    assert run_cli(home, "import", str(zips / "data_Q1_2016.zip")).exit_code == 0
    workspace = Workspace(home)
    first = fleet_tables(workspace)
    # As if an earlier release of drivestats had made them: its code fingerprint differs.
    manifest_path = first.dir / jobs.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["code"]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))

    assert run_cli(home, "import", str(zips / "data_Q2_2016.zip")).exit_code == 0
    second = fleet_tables(workspace)
    built_on = second.manifest["inputs"]["jobs"]
    assert first.id not in built_on
    assert len(built_on) == 6  # every month from its own partial
