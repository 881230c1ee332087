"""Failure rates: exact intervals, periods, inclusion rules, tables on hand-built and real fleets."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from scipy import optimize, stats

from conftest import run_cli, sample_files, write_day
from drivestats import jobs, rates
from drivestats.errors import DrivestatsError
from drivestats.rates import Period
from drivestats.workspace import Workspace

D = dt.date

# --- the exact Poisson interval -------------------------------------------------------------


def test_zero_failures_over_one_drive_year_gives_an_upper_bound_of_3_689():
    low, high = rates.poisson_interval(0)
    assert low == 0.0
    # -ln(0.025): the mean at which seeing no event has probability 2.5%.
    assert high == pytest.approx(3.6889, abs=5e-5)
    assert high == pytest.approx(-math.log(0.025), rel=1e-12)
    afr_low, afr_high = rates.afr_interval(0, 365)
    assert afr_low == 0.0 and afr_high == pytest.approx(368.89, abs=0.005)


@pytest.mark.parametrize(
    ("count", "low", "high"),
    # Garwood's exact 95% limits as tabulated (e.g. Ulm 1990, Am J Epidemiol 131:373).
    [(1, 0.0253, 5.5716), (2, 0.2422, 7.2247), (5, 1.6235, 11.6683), (10, 4.7954, 18.3904)],
)
def test_interval_matches_tabulated_exact_limits(count, low, high):
    got = rates.poisson_interval(count)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize("count", [0, 1, 3, 49, 1000])
def test_interval_is_where_the_poisson_tails_hold_2_5_percent(count):
    """Solve the defining equations with scipy's Poisson CDF, independently of chi2."""
    low, high = rates.poisson_interval(count)
    upper = optimize.brentq(lambda mu: stats.poisson.cdf(count, mu) - 0.025, 1e-9, 5000)
    assert high == pytest.approx(upper, rel=1e-8)
    if count:
        lower = optimize.brentq(lambda mu: stats.poisson.sf(count - 1, mu) - 0.025, 1e-9, 5000)
        assert low == pytest.approx(lower, rel=1e-8)


def test_afr_interval_scales_the_count_interval_by_drive_years():
    failures, drive_days = 49, 1_739_577
    years = drive_days / 365
    expected_low = 100 * stats.chi2.ppf(0.025, 2 * failures) / 2 / years
    expected_high = 100 * stats.chi2.ppf(0.975, 2 * failures + 2) / 2 / years
    low, high = rates.afr_interval(failures, drive_days)
    assert (low, high) == pytest.approx((expected_low, expected_high), rel=1e-12)
    # Backblaze's published Q2 2020 figure for ST4000DM000: 1.03%.
    assert round(rates.annualized_failure_rate(failures, drive_days), 2) == 1.03
    assert rates.afr_interval(3, 0) == (None, None)
    assert rates.annualized_failure_rate(3, 0) is None


# --- periods --------------------------------------------------------------------------------

FIRST, LAST = D(2013, 4, 10), D(2021, 5, 15)


@pytest.mark.parametrize(
    ("spec", "label", "start", "end"),
    [
        ("2021Q2", "2021Q2", D(2021, 4, 1), D(2021, 6, 30)),
        ("2020q4", "2020Q4", D(2020, 10, 1), D(2020, 12, 31)),
        ("2019-Q1", "2019Q1", D(2019, 1, 1), D(2019, 3, 31)),
        ("2021", "2021", D(2021, 1, 1), D(2021, 12, 31)),
        ("lifetime", "lifetime", FIRST, LAST),
        ("latest", "2021Q2", D(2021, 4, 1), D(2021, 6, 30)),
        ("2020-01-01..2020-06-30", "2020-01-01..2020-06-30", D(2020, 1, 1), D(2020, 6, 30)),
        ("..2014-01-01", "2013-04-10..2014-01-01", FIRST, D(2014, 1, 1)),
    ],
)
def test_period_specs(spec, label, start, end):
    assert rates.period_for(spec, FIRST, LAST) == Period(label, start, end)


@pytest.mark.parametrize(
    "spec", ["2021Q5", "Q2 2021", "2021-13-01..2021-12-31", "2021-06-30..2021-01-01", "soon"]
)
def test_bad_period_specs_say_what_is_accepted(spec):
    with pytest.raises(DrivestatsError):
        rates.period_for(spec, FIRST, LAST)


def test_periods_within_split_by_quarter_and_year_and_clip_the_ends():
    period = Period("x", D(2013, 4, 10), D(2014, 2, 3))
    quarters = rates.periods_within(period, "quarter")
    assert [(p.label, p.start, p.end) for p in quarters] == [
        ("2013Q2", D(2013, 4, 10), D(2013, 6, 30)),
        ("2013Q3", D(2013, 7, 1), D(2013, 9, 30)),
        ("2013Q4", D(2013, 10, 1), D(2013, 12, 31)),
        ("2014Q1", D(2014, 1, 1), D(2014, 2, 3)),
    ]
    years = rates.periods_within(period, "year")
    assert [(p.label, p.start, p.end) for p in years] == [
        ("2013", D(2013, 4, 10), D(2013, 12, 31)),
        ("2014", D(2014, 1, 1), D(2014, 2, 3)),
    ]
    assert rates.periods_within(period, None) == [period]


# --- inclusion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "capacity", "boot"),
    [
        ("ST4000DM000", 4_000_787_030_016, False),
        ("WDC WD10EADS", 1_000_204_886_016, False),
        ("ST500LM012 HN", 500_107_862_016, True),
        ("TOSHIBA MQ01ABF050", 500_107_862_016, True),
        ("CT250MX500SSD1", 250_059_350_016, True),
        ("Seagate BarraCuda SSD ZA2000CM10002", 2_000_398_934_016, True),
        ("Micron 5300 MTFDDAK480TDS", 480_103_981_056, True),
        ("DELLBOSS VD", 480_036_847_616, True),
        ("WDC WDS250G2B0A", 250_059_350_016, True),
        ("HGST HMS5C4040ALE640", None, False),
    ],
)
def test_boot_drive_rule(model, capacity, boot):
    assert rates.is_boot_drive(model, capacity) is boot


# --- AFR from a hand-built fleet ------------------------------------------------------------


def fleet(rows: list[tuple[dt.date, str, int, int]]) -> pa.Table:
    """A model_days table from (date, model, drives, failures) tuples."""
    date, model, drives, failures = zip(*rows, strict=True)
    return pa.table(
        {
            "date": pa.array(date, pa.date32()),
            "model": pa.array(model, pa.string()),
            "drives": pa.array(drives, pa.int64()),
            "failures": pa.array(failures, pa.int64()),
        }
    )


def models_of(facts: dict[str, tuple[str, int]]) -> pa.Table:
    return pa.table(
        {
            "model": list(facts),
            "vendor": [v for v, _ in facts.values()],
            "capacity_bytes": pa.array([c for _, c in facts.values()], pa.int64()),
        }
    )


MODELS = models_of(
    {
        "BIG": ("Seagate", 4 * 10**12),
        "SMALL": ("HGST", 8 * 10**12),
        "GONE": ("WDC", 3 * 10**12),
        "BOOT": ("Seagate", 500 * 10**9),
    }
)


def hand_fleet() -> pa.Table:
    """Two quarters: BIG grows, SMALL stays under 45, GONE retires mid-quarter, BOOT is small."""
    rows = []
    for offset in range(10):  # 2013-06-21 .. 2013-06-30 (Q2)
        day = D(2013, 6, 21) + dt.timedelta(days=offset)
        rows += [(day, "BIG", 100 + offset, 1 if offset in (2, 5) else 0), (day, "SMALL", 30, 0)]
        rows += [(day, "BOOT", 50, 0)]
        if offset < 5:
            rows.append((day, "GONE", 60, 1 if offset == 4 else 0))
    for offset in range(5):  # 2013-07-01 .. 2013-07-05 (Q3)
        day = D(2013, 7, 1) + dt.timedelta(days=offset)
        rows += [(day, "BIG", 200, 3 if offset == 0 else 0), (day, "SMALL", 30, 1)]
    return fleet(rows)


def test_afr_table_for_one_quarter_counts_rows_and_applies_the_rule():
    table = rates.afr_table(hand_fleet(), MODELS, Period("2013Q2", D(2013, 4, 1), D(2013, 6, 30)))
    by_model = {row["model"]: row for row in table.rows}
    assert list(by_model) == ["BIG", "ALL"]
    big = by_model["BIG"]
    assert big["drives"] == 109  # on 2013-06-30, the quarter's last day with data
    assert big["drive_days"] == sum(range(100, 110))
    assert big["failures"] == 2
    assert big["afr"] == 100 * 2 / (sum(range(100, 110)) / 365)
    assert big["vendor"] == "Seagate" and big["capacity_tb"] == 4.0
    assert set(big) == set(rates.AFR_COLUMNS)
    assert by_model["ALL"]["drive_days"] == big["drive_days"]
    reasons = {row["model"]: row["reason"] for row in table.left_out}
    # GONE had 60 drives but none on the last day: Backblaze drops retired models.
    assert reasons == {"SMALL": "below threshold", "GONE": "below threshold", "BOOT": "boot drive"}
    gone = next(row for row in table.left_out if row["model"] == "GONE")
    assert (gone["drives"], gone["drive_days"], gone["failures"]) == (0, 300, 1)
    summary = table.notes["left_out"]
    assert summary["boot drive"] == {"models": 1, "drives": 50, "drive_days": 500, "failures": 0}
    assert table.notes["rules"] == [
        "drive count >= 45 as of 2013-06-30 [ambiguous]; boot drives left out"
    ]


def test_afr_table_flags_include_everything():
    table = rates.afr_table(
        hand_fleet(),
        MODELS,
        Period("2013Q2", D(2013, 4, 1), D(2013, 6, 30)),
        min_drives=0,
        include_boot=True,
    )
    by_model = {row["model"]: row for row in table.rows}
    assert set(by_model) == {"BIG", "SMALL", "GONE", "BOOT", "ALL"}
    assert by_model["ALL"]["failures"] == 3
    assert by_model["ALL"]["drives"] == 109 + 30 + 0 + 50
    assert not table.left_out


def test_afr_table_by_quarter_has_one_row_per_model_and_quarter():
    period = Period("lifetime", D(2013, 6, 21), D(2013, 7, 5))
    table = rates.afr_table(hand_fleet(), MODELS, period, by="quarter", min_drives=1)
    keyed = {(row["period"], row["model"]): row for row in table.rows}
    assert sorted(keyed) == sorted(
        [
            ("2013Q2", "BIG"),
            ("2013Q2", "SMALL"),
            ("2013Q2", "ALL"),
            ("2013Q3", "BIG"),
            ("2013Q3", "SMALL"),
            ("2013Q3", "ALL"),
        ]
    )
    assert keyed[("2013Q3", "BIG")]["drive_days"] == 1000
    assert keyed[("2013Q3", "BIG")]["failures"] == 3
    assert keyed[("2013Q3", "SMALL")]["failures"] == 5
    assert keyed[("2013Q3", "ALL")]["drives"] == 230


def test_afr_chart_is_byte_identical_when_drawn_twice(tmp_path):
    period = Period("lifetime", D(2013, 6, 21), D(2013, 7, 5))
    table = rates.afr_table(hand_fleet(), MODELS, period, by="quarter", min_drives=1)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    paths = rates.afr_chart(table, first, "afr-job")
    rates.afr_chart(table, second, "afr-job")
    assert [p.name for p in paths] == ["afr.png", "afr.svg"]
    for path in paths:
        assert path.read_bytes() == (second / path.name).read_bytes()
    assert b"<svg" in (first / "afr.svg").read_bytes()
    assert (first / "afr.png").read_bytes()[:4] == b"\x89PNG"


# --- the real April 2013 files --------------------------------------------------------------


def independent_counts(files: list[Path]) -> tuple[Counter, Counter, Counter, Counter]:
    """Per cleaned model from the raw CSV: rows, failure rows, rows on the last day, capacity."""
    drive_days: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    last_day: Counter[str] = Counter()
    capacities: dict[str, Counter[int]] = {}
    for path in files:
        with open(path, newline="") as handle:
            for record in csv.DictReader(handle):
                model = " ".join(record["model"].split())
                drive_days[model] += 1
                failures[model] += record["failure"] == "1"
                if path == files[-1]:
                    last_day[model] += 1
                capacities.setdefault(model, Counter())[int(record["capacity_bytes"])] += 1
    capacity = Counter({m: c.most_common(1)[0][0] for m, c in capacities.items()})
    return drive_days, failures, last_day, capacity


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory) -> Path:
    """A workspace with the ten real days imported (once for this module)."""
    home = tmp_path_factory.mktemp("samples") / "home"
    result = run_cli(home, "import", *map(str, sample_files()))
    assert result.exit_code == 0, result.output
    return home


def afr_json(home: Path, *args: str) -> list[dict]:
    result = run_cli(home, "afr", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_real_samples_every_model_matches_the_raw_csv_to_the_last_digit(sample_home):
    files = sample_files()
    drive_days, failures, last_day, capacity = independent_counts(files)
    rows = afr_json(sample_home, "--period", "lifetime", "--min-drives", "0", "--include-boot")
    by_model = {row["model"]: row for row in rows}
    assert set(by_model) == set(drive_days) | {"ALL"}
    for model, days in drive_days.items():
        row = by_model[model]
        assert row["drive_days"] == days, model
        assert row["failures"] == failures[model], model
        assert row["drives"] == last_day[model], model
        assert row["afr"] == 100 * failures[model] / (days / 365), model
        assert row["capacity_tb"] == round(capacity[model] / 1e12, 2), model
        low = stats.chi2.ppf(0.025, 2 * failures[model]) / 2 if failures[model] else 0.0
        high = stats.chi2.ppf(0.975, 2 * failures[model] + 2) / 2
        assert row["ci_low"] == pytest.approx(100 * low / (days / 365), rel=1e-12)
        assert row["ci_high"] == pytest.approx(100 * high / (days / 365), rel=1e-12)
    total = by_model["ALL"]
    assert total["drive_days"] == sum(drive_days.values()) == 214_332
    assert total["failures"] == sum(failures.values()) == 28
    assert total["drives"] == 21_600


def test_real_samples_default_rule_keeps_models_with_45_drives_on_the_last_day(sample_home):
    files = sample_files()
    drive_days, failures, last_day, capacity = independent_counts(files)
    expected = {m for m, n in last_day.items() if n >= 45 and capacity[m] >= 10**12}
    rows = afr_json(sample_home, "--period", "2013Q2")
    assert {row["model"] for row in rows} == expected | {"ALL"}
    total = rows[-1]
    assert total["model"] == "ALL"
    assert total["drive_days"] == sum(drive_days[m] for m in expected)
    assert total["failures"] == sum(failures[m] for m in expected)
    # The rule and what it left out are in the job's notes (stdout stays pure JSON).
    job = rates.afr_job(Workspace(sample_home), "2013Q2")
    notes = job.manifest["notes"]
    assert job.reused
    assert notes["rules"][0].startswith("drive count >= 45 as of 2013-04-19")
    left = notes["left_out"]["below threshold"]
    assert left["drive_days"] == sum(drive_days.values()) - total["drive_days"]
    assert left["drives"] == sum(n for m, n in last_day.items() if m not in expected)


def test_cli_table_prints_the_rule_and_publishes_results(sample_home):
    result = run_cli(sample_home, "afr", "--period", "2013-04-10..2013-04-14")
    assert result.exit_code == 0, result.output
    assert "ST3000DM001" in result.stdout
    assert "Rule: drive count >= 45 as of 2013-04-14" in result.stderr
    assert "Left out" in result.stderr
    link = sample_home / "results" / "afr-2013-04-10_to_2013-04-14.csv"
    with open(link, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["model"] == "ALL" and list(rows[0]) == list(rates.AFR_COLUMNS)


def test_afr_tables_are_jobs_reused_and_verifiable(sample_home, tmp_path):
    workspace = Workspace(sample_home)
    first = rates.afr_job(workspace, "lifetime", by="quarter")
    again = rates.afr_job(workspace, "lifetime", by="quarter")
    assert again.id == first.id and again.reused
    assert {"afr.csv", "afr.json", "afr.png", "afr.svg", "left_out.csv"} <= set(first.outputs)
    assert jobs.verify(workspace, first.id)["identical"]
    out = tmp_path / "chart.svg"
    result = run_cli(
        sample_home, "afr", "--period", "lifetime", "--by", "quarter", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == first.output("afr.svg").read_bytes()
    assert f"{first.id} (reused)" in result.stderr


def test_until_gives_the_same_job_after_later_days_are_imported(home):
    files = sample_files()
    assert run_cli(home, "import", *map(str, files[:4])).exit_code == 0
    workspace = Workspace(home)
    before = rates.afr_job(workspace, "lifetime", until="2013-04-13")
    assert before.manifest["parameters"]["end"] == "2013-04-13"
    assert run_cli(home, "import", *map(str, files[4:6])).exit_code == 0
    after = rates.afr_job(workspace, "lifetime", until="2013-04-13")
    assert after.id == before.id and after.reused
    assert rates.afr_job(workspace, "lifetime").id != before.id


def test_cli_errors_are_one_clear_line(sample_home):
    result = run_cli(sample_home, "afr", "--period", "2030Q1")
    assert result.exit_code != 0 and "no data in 2030Q1" in result.output
    result = run_cli(sample_home, "afr", "--period", "someday")
    assert result.exit_code != 0 and "unknown period" in result.output
    result = run_cli(sample_home, "afr", "--period", "lifetime", "--out", "x.png")
    assert result.exit_code != 0 and "no chart" in result.output


def test_failing_twice_and_reporting_after_a_failure_count_row_by_row(home, tmp_path):
    """Serial A fails on days 2 and 4 and reports on all five; B fails on its last day, 3."""
    header = "date,serial_number,model,capacity_bytes,failure"
    lives = {"A": (range(1, 6), {2, 4}), "B": (range(1, 4), {3}), "C": (range(1, 6), set())}
    for number in range(1, 6):
        day = f"2016-03-0{number}"
        rows = [
            f"{day},{serial},ST4000DM000,4000787030016,{int(number in failed)}"
            for serial, (days, failed) in lives.items()
            if number in days
        ]
        write_day(tmp_path / "days", day, header, rows)
    assert run_cli(home, "import", str(tmp_path / "days")).exit_code == 0
    (row, total) = afr_json(home, "--period", "2016Q1", "--min-drives", "0")
    assert (row["model"], row["drive_days"], row["failures"], row["drives"]) == (
        "ST4000DM000",
        13,
        3,
        2,
    )
    assert row["afr"] == 100 * 3 / (13 / 365)
    survival = json.loads(run_cli(home, "survival", "--format", "json").stdout)
    assert survival[0]["failures"] == 2  # drives that failed, for the survival curve


def test_a_period_cut_by_until_is_published_under_its_own_name(samples, home):
    run_cli(home, "import", *map(str, samples))
    assert run_cli(home, "afr", "--period", "2013Q2").exit_code == 0
    assert run_cli(home, "afr", "--period", "2013Q2", "--until", "2013-04-15").exit_code == 0
    results = home / "results"
    whole, cut = results / "afr-2013Q2.csv", results / "afr-2013Q2-until-2013-04-15.csv"
    assert whole.exists() and cut.exists()
    assert whole.read_bytes() != cut.read_bytes()
