"""The synthetic fleet: Backblaze's packaging, every quirk on its date, determinism, the truth.

Expected figures come from reading the written bytes with zipfile and the csv
module, never from the generator's own counting.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from drivestats.backblaze import format as bbformat
from drivestats.backblaze import synth
from drivestats.errors import DrivestatsError

D = dt.date.fromisoformat


def write(folder: Path, start: str, end: str, scale: float = 0.05, seed: int = 2013) -> Path:
    synth.write_fleet(folder, synth.SynthParams(D(start), D(end), scale, seed))
    return folder


def members(folder: Path) -> Iterator[tuple[str, str, bytes]]:
    """(zip name, member name, bytes) of every daily CSV, __MACOSX clutter left out."""
    for path in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(".csv") and not name.startswith("__MACOSX/"):
                    yield path.name, name, archive.read(name)


def day_of(member: str) -> dt.date:
    return D(member.rsplit("/", 1)[-1].removesuffix(".csv"))


def records(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("ascii"), newline="")))


def truth_of(folder: Path) -> list[dict[str, str]]:
    with open(folder / "truth.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def autumn_2014(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Across a quarter's end and the header-only day 2014-11-02."""
    return write(tmp_path_factory.mktemp("autumn"), "2014-09-25", "2014-11-05")


@pytest.fixture(scope="module")
def winter_2018(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CRLF all through Q1 2018, bare CR and short dates on 2018-02-25, LF again in Q2."""
    return write(tmp_path_factory.mktemp("winter"), "2018-02-24", "2018-04-01", scale=0.01)


@pytest.fixture(scope="module")
def summer_2023(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first days with all six location columns."""
    return write(tmp_path_factory.mktemp("summer"), "2023-06-30", "2023-07-14", scale=0.01)


# --- determinism -------------------------------------------------------------------


def test_same_options_give_identical_bytes(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "2013-04-10", "2013-04-25")
    second = write(tmp_path / "b", "2013-04-10", "2013-04-25")
    names = sorted(p.name for p in first.iterdir())
    assert names == ["data_2013.zip", "truth.csv"]
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other_seed = write(tmp_path / "c", "2013-04-10", "2013-04-25", seed=7)
    assert (other_seed / "data_2013.zip").read_bytes() != (first / "data_2013.zip").read_bytes()


def test_a_day_does_not_depend_on_the_range(tmp_path: Path) -> None:
    short = dict(
        (m, data) for _, m, data in members(write(tmp_path / "a", "2013-05-01", "2013-05-02"))
    )
    long = dict(
        (m, data) for _, m, data in members(write(tmp_path / "b", "2013-04-28", "2013-05-03"))
    )
    assert short["data_2013/2013-05-02.csv"] == long["data_2013/2013-05-02.csv"]


# --- packaging -----------------------------------------------------------------------


def test_zip_names_and_folders_per_year_and_quarter(tmp_path: Path, autumn_2014: Path) -> None:
    folder = write(tmp_path, "2015-12-30", "2016-04-02", scale=0.005)
    names = {
        zip_name: {m.split("/")[0] for z, m, _ in members(folder) if z == zip_name}
        for zip_name in ("data_2015.zip", "data_Q1_2016.zip", "data_Q2_2016.zip")
    }
    assert names == {
        "data_2015.zip": {"data_2015"},
        "data_Q1_2016.zip": {"data_Q1_2016"},
        "data_Q2_2016.zip": {"data_Q2_2016"},
    }
    assert {m.split("/")[0] for _, m, _ in members(autumn_2014)} == {"2014"}


def test_zips_carry_macos_clutter_and_members_out_of_date_order(autumn_2014: Path) -> None:
    with zipfile.ZipFile(autumn_2014 / "data_2014.zip") as archive:
        names = archive.namelist()
    assert "__MACOSX/" in names
    assert "2014/.DS_Store" in names
    assert "__MACOSX/2014/._2014-10-01.csv" in names
    days = [n for n in names if n.startswith("2014/") and n.endswith(".csv")]
    assert len(days) == 42
    assert days != sorted(days)


def test_header_only_days(tmp_path: Path, autumn_2014: Path) -> None:
    found = {m: data for _, m, data in members(autumn_2014)}
    header = ",".join(bbformat.columns_for_day(D("2014-11-02"))).encode() + b"\n"
    assert found["2014/2014-11-02.csv"] == header
    assert (
        found["2014/2014-11-03.csv"].startswith(header)
        and len(found["2014/2014-11-03.csv"]) > 10_000
    )
    for day, member in (
        ("2015-11-01", "data_2015/2015-11-01.csv"),
        ("2017-01-30", "data_Q1_2017/2017-01-30.csv"),
    ):
        only = {m: data for _, m, data in members(write(tmp_path / day, day, day))}
        assert only[member] == ",".join(bbformat.columns_for_day(D(day))).encode() + b"\n"


def test_every_header_is_the_periods_column_set(
    autumn_2014: Path, winter_2018: Path, summer_2023: Path
) -> None:
    for folder in (autumn_2014, winter_2018, summer_2023):
        for _, member, data in members(folder):
            first_line = data.split(b"\r")[0].split(b"\n")[0].decode()
            assert first_line.split(",") == bbformat.columns_for_day(day_of(member)), member


def test_line_endings_and_short_dates_of_2018(winter_2018: Path) -> None:
    found = {m: data for _, m, data in members(winter_2018)}
    crlf = found["data_Q1_2018/2018-02-24.csv"]
    assert crlf.count(b"\r\n") == crlf.count(b"\n") == crlf.count(b"\r") > 100
    bare = found["data_Q1_2018/2018-02-25.csv"]
    assert b"\n" not in bare and bare.count(b"\r") > 100
    rows = bare.split(b"\r")[1:-1]
    assert rows and all(row.startswith(b"2/25/18,") for row in rows)
    assert found["data_Q1_2018/2018-03-31.csv"].count(b"\r\n") > 100
    spring = found["data_Q2_2018/2018-04-01.csv"]
    assert b"\r" not in spring and spring.split(b"\n")[1].startswith(b"2018-04-01,")


def test_2019_06_17_has_bare_cr(tmp_path: Path) -> None:
    found = {m: data for _, m, data in members(write(tmp_path, "2019-06-16", "2019-06-18", 0.01))}
    assert b"\n" not in found["data_Q2_2019/2019-06-17.csv"]
    assert b"\r" not in found["data_Q2_2019/2019-06-16.csv"]
    assert b"\r" not in found["data_Q2_2019/2019-06-18.csv"]


def test_location_columns_of_2023(summer_2023: Path) -> None:
    found = {m: data for _, m, data in members(summer_2023)}
    june = found["data_Q2_2023/2023-06-30.csv"].split(b"\n")[0].decode().split(",")
    assert june[5:8] == ["vault_id", "pod_id", "is_legacy_format"]
    july_days = {day_of(m): records(d) for m, d in found.items() if m.startswith("data_Q3_2023/")}
    first = july_days[D("2023-07-01")]
    assert list(first[0])[5:11] == list(bbformat.LOCATION_COLUMNS)
    assert {row["is_legacy_format"] for row in first} == {"False", "True"}
    slots = {row["pod_slot_num"] for row in first}
    assert any(s.startswith("0") and len(s) == 2 for s in slots)  # zero-padded ids
    # On some day a whole vault reports a blank datacenter, and not on the day before.
    blank_vaults = {
        (day, row["vault_id"])
        for day, rows in july_days.items()
        for row in rows
        if row["datacenter"] == ""
    }
    assert blank_vaults
    for day, vault in blank_vaults:
        same_vault = [r for r in july_days[day] if r["vault_id"] == vault]
        assert all(r["datacenter"] == "" for r in same_vault)
        before = july_days.get(day - dt.timedelta(days=1), [])
        assert all(r["datacenter"] != "" for r in before if r["vault_id"] == vault)


def test_2024_spells_is_legacy_format_in_lower_case(tmp_path: Path) -> None:
    ((_, _, data),) = members(write(tmp_path, "2024-01-02", "2024-01-02", scale=0.005))
    assert {row["is_legacy_format"] for row in records(data)} == {"false", "true"}


def test_double_space_model_is_the_same_model_in_the_truth(tmp_path: Path) -> None:
    folder = write(tmp_path, "2021-01-04", "2021-01-04")
    ((_, _, data),) = members(folder)
    models = Counter(row["model"] for row in records(data))
    assert models["WDC  WUH721414ALE6L4"] > 0 and models["WDC WUH721414ALE6L4"] > 0
    truth = {row["model"]: row for row in truth_of(folder)}
    assert "WDC  WUH721414ALE6L4" not in truth
    spaced = models["WDC  WUH721414ALE6L4"] + models["WDC WUH721414ALE6L4"]
    assert int(truth["WDC WUH721414ALE6L4"]["drive_days"]) == spaced


def test_boot_drives_and_ssds_are_in_the_files(tmp_path: Path) -> None:
    folder = write(tmp_path, "2019-07-01", "2019-07-01")
    ((_, _, data),) = members(folder)
    capacities = {row["model"]: int(row["capacity_bytes"]) for row in records(data)}
    assert capacities["ST500LM012 HN"] == 500107862016
    # The 250 GB boot drives are all deployed by 2017 and retired from 2019 on.
    ((_, _, earlier),) = members(write(tmp_path / "2018", "2018-07-01", "2018-07-01"))
    assert {r["model"]: int(r["capacity_bytes"]) for r in records(earlier)}[
        "ST250LM004 HN"
    ] == 250059350016
    assert "Seagate BarraCuda SSD ZA250CM10002" in capacities
    assert {"ST4000DM000", "ST12000NM0007", "HGST HUH721212ALN604", "TOSHIBA MG07ACA14TA"} <= set(
        capacities
    )


# --- the 2013 rows and the lives of drives ---------------------------------------------


@pytest.fixture(scope="module")
def spring_2013(tmp_path_factory: pytest.TempPathFactory) -> dict[dt.date, list[dict[str, str]]]:
    folder = write(tmp_path_factory.mktemp("spring"), "2013-04-10", "2013-07-31", scale=0.04)
    return {day_of(m): records(data) for _, m, data in members(folder)}


def test_2013_rows_look_like_the_real_ones(
    spring_2013: dict[dt.date, list[dict[str, str]]],
) -> None:
    rows = spring_2013[D("2013-04-10")]
    filled = {name for row in rows for name, value in row.items() if value != ""}
    assert filled == {
        "date",
        "serial_number",
        "model",
        "capacity_bytes",
        "failure",
        "smart_1_raw",
        "smart_5_raw",
        "smart_9_raw",
        "smart_194_raw",
        "smart_197_raw",
    }
    assert all("," not in value and '"' not in value for row in rows for value in row.values())
    assert {row["failure"] for day in spring_2013.values() for row in day} == {"0", "1"}
    models = {row["model"] for row in rows}
    assert {"ST3000DM001", "Hitachi HDS722020ALA330", "Hitachi HDS5C3030ALA630"} <= models


def test_power_on_hours_grow_by_a_day_and_failures_end_a_life(
    spring_2013: dict[dt.date, list[dict[str, str]]],
) -> None:
    lives: dict[str, list[tuple[dt.date, dict[str, str]]]] = defaultdict(list)
    for day in sorted(spring_2013):
        for row in spring_2013[day]:
            lives[row["serial_number"]].append((day, row))
    steps = Counter()
    skipped_and_back = failed = climbed = 0
    for life in lives.values():
        for (d0, r0), (d1, r1) in zip(life, life[1:], strict=False):
            if r0["failure"] == "1":
                # A failed drive reports no more, unless it is put back to work weeks later.
                assert (d1 - d0).days >= 10
                continue
            steps[(int(r1["smart_9_raw"]) - int(r0["smart_9_raw"])) // (d1 - d0).days] += 1
            skipped_and_back += (d1 - d0).days == 2
        if life[-1][1]["failure"] == "1":
            failed += 1
            climbed += int(life[-1][1]["smart_5_raw"]) > int(life[0][1]["smart_5_raw"])
    assert set(steps) == {24}
    assert skipped_and_back > 0
    assert failed >= 5 and climbed >= failed / 3


def test_odd_capacities_on_single_rows(spring_2013: dict[dt.date, list[dict[str, str]]]) -> None:
    odd = Counter()
    for rows in spring_2013.values():
        per_day = [
            int(r["capacity_bytes"])
            for r in rows
            if int(r["capacity_bytes"]) not in synth.CAPACITIES.values()
        ]
        assert len(per_day) <= 1
        odd.update("negative" if v < 0 else "huge" for v in per_day)
    assert odd["negative"] > 0 and odd["huge"] > 0


# --- the truth file ------------------------------------------------------------------


def independent_truth(folder: Path) -> dict[tuple[str, str], tuple[str, int, int, int, int]]:
    """Per (quarter, model): vendor, capacity, drives on the last day with rows, drive days, failures."""
    days: dict[dt.date, list[dict[str, str]]] = {}
    for _, member, data in members(folder):
        days[day_of(member)] = records(data)
    capacities: dict[str, Counter[int]] = defaultdict(Counter)
    drive_days: Counter[tuple[str, str]] = Counter()
    failures: Counter[tuple[str, str]] = Counter()
    last_day: dict[str, dt.date] = {}
    for day, rows in days.items():
        quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
        if rows:
            last_day[quarter] = max(last_day.get(quarter, day), day)
        for row in rows:
            model = " ".join(row["model"].split())
            capacity = int(row["capacity_bytes"])
            if capacity > 0:
                capacities[model][capacity] += 1
            drive_days[(quarter, model)] += 1
            failures[(quarter, model)] += row["failure"] == "1"
    out = {}
    for (quarter, model), count in drive_days.items():
        last = Counter(" ".join(r["model"].split()) for r in days[last_day[quarter]])
        out[(quarter, model)] = (
            bbformat.vendor_of(model),
            capacities[model].most_common(1)[0][0],
            last[model],
            count,
            failures[(quarter, model)],
        )
    return out


@pytest.mark.parametrize("fixture", ["autumn_2014", "winter_2018"])
def test_truth_agrees_with_an_independent_count(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(fixture)
    truth = truth_of(folder)
    assert list(truth[0]) == [
        "quarter",
        "model",
        "vendor",
        "capacity_bytes",
        "drives",
        "drive_days",
        "failures",
    ]
    keys = [(row["quarter"], row["model"]) for row in truth]
    assert keys == sorted(keys)
    written = {
        (row["quarter"], row["model"]): (
            row["vendor"],
            int(row["capacity_bytes"]),
            int(row["drives"]),
            int(row["drive_days"]),
            int(row["failures"]),
        )
        for row in truth
    }
    assert written == independent_truth(folder)
    assert len({quarter for quarter, _ in written}) == 2
    assert sum(v[4] for v in written.values()) > 0


# --- the fleet as a whole --------------------------------------------------------------


def test_failure_rates_by_year_and_model() -> None:
    fleet = synth.fleet(1.0, synth.DEFAULT_SEED)
    names = [spec.model for spec in fleet.models]

    def afr(year: int, model: str | None = None) -> float:
        first, last = D(f"{year}-01-01").toordinal(), D(f"{year}-12-31").toordinal()
        chosen = np.ones(len(fleet), bool) if model is None else fleet.model == names.index(model)
        days = np.clip(np.minimum(fleet.end, last) - np.maximum(fleet.start, first) + 1, 0, None)
        failed = fleet.fails & (fleet.end >= first) & (fleet.end <= last)
        return 100 * failed[chosen].sum() / (days[chosen].sum() / 365)

    assert afr(2014, "ST3000DM001") > 10 and afr(2015, "ST3000DM001") > 10
    assert 2 < afr(2014) < 8
    for year in (2017, 2019, 2021, 2023, 2025):
        assert 0.7 < afr(year) < 2.2, year


def test_pods_hold_45_or_60_drives_of_one_model() -> None:
    fleet = synth.fleet(0.05, synth.DEFAULT_SEED)
    slots = {(int(p), int(s)) for p, s in zip(fleet.pod, fleet.slot, strict=True)}
    sizes = Counter(pod for pod, _ in slots)
    models_per_pod = {int(p): set() for p in fleet.pod}
    for pod, model in zip(fleet.pod, fleet.model, strict=True):
        models_per_pod[int(pod)].add(int(model))
    assert all(len(models) == 1 for models in models_per_pod.values())
    data_pods = [p for p in sizes if not fleet.models[next(iter(models_per_pod[p]))].boot]
    share = sum(sizes[p] in (45, 60) for p in data_pods) / len(data_pods)
    assert share > 0.9


def test_a_rare_serial_fails_twice() -> None:
    fleet = synth.fleet(0.05, synth.DEFAULT_SEED)
    serials = np.asarray(fleet.serial.to_numpy(zero_copy_only=False))
    failures = Counter(serials[fleet.fails])
    assert 0 < sum(n == 2 for n in failures.values()) < 0.05 * len(failures)


# --- the command ---------------------------------------------------------------------


def test_synth_command_writes_the_zips(tmp_path: Path) -> None:
    from drivestats.cli import cli

    out = tmp_path / "out"
    args = [
        "synth",
        str(out),
        "--start",
        "2014-12-30",
        "--end",
        "2015-01-02",
        "--scale",
        "0.01",
        "--quiet",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["data_2014.zip", "data_2015.zip", "truth.csv"]
    bad = CliRunner().invoke(cli, ["synth", str(out), "--start", "2012-01-01"])
    assert bad.exit_code != 0 and "2013-04-10" in bad.output and "Traceback" not in bad.output


def test_command_defaults_are_the_librarys() -> None:
    from drivestats.cli.synth_commands import synth_command

    defaults = {p.name: p.default for p in synth_command.params}
    assert D(defaults["start"]) == synth.DEFAULT_START
    assert D(defaults["end"]) == synth.DEFAULT_END
    assert defaults["scale"] == synth.DEFAULT_SCALE
    assert defaults["seed"] == synth.DEFAULT_SEED


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(DrivestatsError):
        synth.SynthParams(D("2014-01-02"), D("2014-01-01"))
    with pytest.raises(DrivestatsError):
        synth.SynthParams(scale=0)


# Backblaze's fleet as reported (drives reporting on the day), to within 10%.
REAL_FLEET = {
    "2013-04-10": 21_000,
    "2014-12-31": 41_000,
    "2015-12-31": 56_000,
    "2017-12-31": 93_000,
    "2020-12-31": 165_000,
    "2021-12-31": 207_000,
    "2023-12-31": 270_000,
    "2025-12-31": 333_000,
    "2026-06-30": 345_000,
}


def test_the_whole_range_at_scale_1_grows_as_backblazes_fleet_did() -> None:
    """Counted from the simulation's own records, not from any zip: cheap at full scale."""
    fleet = synth.fleet(1.0, synth.DEFAULT_SEED)
    boot = np.array([spec.boot for spec in fleet.models])[fleet.model]
    for day, expected in REAL_FLEET.items():
        d = dt.date.fromisoformat(day).toordinal()
        live = (fleet.start <= d) & (fleet.end >= d)
        assert abs(live.sum() / expected - 1) <= 0.10, (day, int(live.sum()), expected)
    end = dt.date(2025, 12, 31).toordinal()
    assert 3_600 <= (boot & (fleet.start <= end) & (fleet.end >= end)).sum() <= 4_400
    first, last = synth.FIRST_DAY.toordinal(), dt.date(2026, 6, 30).toordinal()
    rows = (np.minimum(fleet.end, last) - np.maximum(fleet.start, first) + 1).clip(0).sum()
    # Days a drive or pod skips take away far less than 1% of the rows.
    assert abs(rows / 744_525_690 - 1) <= 0.10
    recent = {bbformat.clean_model(s.model) for s in fleet.models if s.capacity_bytes >= 16e12}
    vendors = {
        (bbformat.vendor_of(m), round(s.capacity_bytes / 1e12))
        for s in fleet.models
        for m in [s.model]
        if bbformat.clean_model(m) in recent
    }
    for size in (16, 20, 24):
        assert {"Seagate", "WDC", "Toshiba"} <= {v for v, c in vendors if c == size}, size
    assert ("WDC", 22) in vendors
