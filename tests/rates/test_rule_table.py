"""Backblaze's inclusion rules as a table: each era and kind of table on a hand-built fleet.

Each test builds a small fleet in which a row of the rule table includes a model that the
neighbouring era's row leaves out, or the reverse, by placing the same fleet in the last
period of one era and the first of the next. The expected inclusion is worked out by hand
in the comments from the thresholds in the issue (#20), not from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import run_cli, sample_files
from drivestats import rates
from drivestats.rates import Period, rule_doc
from drivestats.workspace import Workspace

D = dt.date
DAY = dt.timedelta(days=1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "failure-rates.md"

Rows = list[tuple[dt.date, str, int]]


def steady(model: str, first: dt.date, last: dt.date, drives: int) -> Rows:
    """The same number of drives of a model on every day from first to last."""
    return [(first + n * DAY, model, drives) for n in range((last - first).days + 1)]


def fleet(rows: Rows) -> pa.Table:
    """A model_days table (no failures: inclusion depends on drives and drive days only)."""
    date, model, drives = zip(*rows, strict=True)
    return pa.table(
        {
            "date": pa.array(date, pa.date32()),
            "model": pa.array(model, pa.string()),
            "drives": pa.array(drives, pa.int64()),
            "failures": pa.array([0] * len(rows), pa.int64()),
        }
    )


def included(rows: Rows, period: Period, **flags: object) -> list[str]:
    """The models a table of this period includes, from the fleet of these rows."""
    names = sorted({model for _, model, _ in rows})
    models = pa.table(
        {
            "model": names,
            "vendor": ["HGST"] * len(names),
            "capacity_bytes": pa.array([4 * 10**12] * len(names), pa.int64()),
        }
    )
    table = rates.afr_table(fleet(rows), models, period, **flags)  # type: ignore[arg-type]
    return sorted(r["model"] for r in table.rows if r["model"] != rates.ALL_MODELS)


def table_of(rows: Rows, period: Period, **flags: object) -> rates.AfrTable:
    models = pa.table(
        {"model": ["X"], "vendor": ["HGST"], "capacity_bytes": pa.array([4 * 10**12], pa.int64())}
    )
    return rates.afr_table(fleet(rows), models, period, **flags)  # type: ignore[arg-type]


def quarter(label: str) -> Period:
    return rates.period_for(label, D(2000, 1, 1), D(2030, 12, 31))


def year(number: int) -> Period:
    return Period(str(number), D(number, 1, 1), D(number, 12, 31))


def constant(period: Period, drives: dict[str, int]) -> Rows:
    """Each model with a constant number of drives on every day of the period."""
    return [
        row for model, n in drives.items() for row in steady(model, period.start, period.end, n)
    ]


# --- the table itself -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", rates.rule_table.KINDS)
def test_every_period_end_falls_in_exactly_one_row_of_each_kind(kind):
    rows = [row for row in rates.RULE_TABLE if row.kind == kind]
    day = D(2000, 1, 1)
    while day <= D(2035, 12, 31):
        assert sum(row.covers(day) for row in rows) == 1, (kind, day)
        day += DAY


def test_every_row_names_its_source_and_marks_what_is_not_quoted_or_is_open():
    for row in rates.RULE_TABLE:
        assert row.report and row.wording, row
        assert ("[secondary source]" in row.marks()) == (row.standing == "secondary"), row
        assert ("[assumed]" in row.marks()) == (row.standing == "assumed"), row
        assert ("[ambiguous]" in row.marks()) == bool(row.ambiguity), row
    quoted = [row for row in rates.RULE_TABLE if row.standing == "quoted"]
    # Only the two passages issue #20 quotes from Backblaze are quoted.
    assert {row.report for row in quoted} == {
        "Backblaze Drive Stats reports of Q1 2019 and earlier",
        "Backblaze Drive Stats for Q3 2025",
    }


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("2021Q2", "quarterly"),
        ("2021Q2-until-2021-05-15", "quarterly"),
        ("2020-01-01..2020-06-30", "quarterly"),
        ("2021", "yearly"),
        ("2021-until-2021-06-30", "yearly"),
        ("lifetime", "lifetime"),
        ("lifetime-until-2013-04-13", "lifetime"),
    ],
)
def test_the_kind_of_table_follows_the_period_asked_for(label, kind):
    assert rates.rule_kind(Period(label, D(2021, 1, 1), D(2021, 6, 30))) == kind


def test_docs_rule_section_is_what_the_table_generates():
    committed = DOCS.read_text()
    assert rule_doc.BEGIN in committed
    assert rule_doc.with_rules_section(committed) == committed, (
        "run: python -m drivestats.rates.rule_doc docs/failure-rates.md"
    )
    for row in rates.RULE_TABLE:
        assert row.wording in committed


# --- quarterly tables -----------------------------------------------------------------------


def test_quarterly_to_2019q1_takes_45_drives_where_from_2019q2_60_are_needed():
    drives = {"FORTY_FOUR": 44, "FORTY_FIVE": 45, "FIFTY": 50, "SIXTY": 60}
    # 2019Q1, row 1 (>= 45 drives on the last day): 45, 50 and 60 in; 44 out.
    q1 = quarter("2019Q1")
    assert included(constant(q1, drives), q1) == ["FIFTY", "FORTY_FIVE", "SIXTY"]
    # 2019Q2, row 2 (>= 60): only 60; FIFTY, in the quarter before, is now out.
    q2 = quarter("2019Q2")
    assert included(constant(q2, drives), q2) == ["SIXTY"]


def test_quarterly_2024_needs_more_than_100_drives_and_10000_drive_days():
    drives = {"SEVENTY": 70, "HUNDRED": 100, "THIN": 101, "BIG": 111}
    # 2023Q4, row 2 (>= 60 drives, no drive-day threshold): all four in.
    q4 = quarter("2023Q4")
    assert included(constant(q4, drives), q4) == ["BIG", "HUNDRED", "SEVENTY", "THIN"]
    # 2024Q1 (91 days), row 3 (> 100 drives and > 10,000 drive days): SEVENTY and
    # HUNDRED have too few drives (100 is not > 100); THIN has 101 * 91 = 9,191 drive days;
    # BIG has 111 * 91 = 10,101.
    q1 = quarter("2024Q1")
    assert included(constant(q1, drives), q1) == ["BIG"]
    caption = rates.caption_of(table_of(constant(q1, drives), q1).notes)
    assert (
        "Rule: drive count > 100 as of 2024-03-31 and drive days > 10,000 in 2024Q1 "
        "[secondary source]; boot drives left out." in caption
    )


def test_quarterly_2024q2_to_2025q2_is_the_q1_2024_rule_marked_ambiguous_for_its_count_day():
    drives = {"THIN": 101, "BIG": 111}
    # Rows 3 and 4 have the same thresholds and day: 2024Q2 has 91 days as 2024Q1, so the
    # same models are in (BIG, 10,101 drive days) and out (THIN, 9,191).
    q1, q2 = quarter("2024Q1"), quarter("2024Q2")
    assert included(constant(q1, drives), q1) == included(constant(q2, drives), q2) == ["BIG"]
    first = table_of(constant(q1, drives), q1).notes
    second = table_of(constant(q2, drives), q2).notes
    assert "[ambiguous]" not in first["rules"][0] and "[ambiguous]" in second["rules"][0]
    assert "Ambiguous: the Q1 2024 report counts the drives at the quarter's end" in (
        rates.caption_of(second)
    )


def early_and_late(period: Period) -> Rows:
    """EARLY: 150 drives to the day before the last, 50 on the last; LATE: none on the first
    day, 120 from the second day on."""
    return [
        *steady("EARLY", period.start, period.end - DAY, 150),
        *steady("EARLY", period.end, period.end, 50),
        *steady("LATE", period.start + DAY, period.end, 120),
    ]


def test_quarterly_from_2025q3_counts_the_drives_on_the_first_day():
    # 2025Q2 (91 days), row 4, counted on the last day: EARLY has 50 there: out; LATE has
    # 120 > 100 and 120 * 90 = 10,800 > 10,000 drive days: in.
    q2 = quarter("2025Q2")
    assert included(early_and_late(q2), q2) == ["LATE"]
    # 2025Q3 (92 days), row 5, counted on the first day: EARLY has 150 > 100 on July 1 and
    # 150 * 91 + 50 = 13,700 drive days: in; LATE has none on July 1: out, although its
    # 120 * 91 = 10,920 drive days are enough.
    q3 = quarter("2025Q3")
    assert included(early_and_late(q3), q3) == ["EARLY"]
    table = table_of(early_and_late(q3), q3)
    assert table.notes["rules"] == [
        "drive count > 100 as of 2025-07-01 and drive days > 10,000 in 2025Q3; boot drives left out"
    ]
    caption = rates.caption_of(table.notes)
    assert (
        "Source of Backblaze's quarterly rule from 2025Q3: Backblaze Drive Stats for Q3 2025: \""
        "Drive models with drive count > 100 as of July 1, 2025 and drive days > 10,000 in "
        'Q3 2025".' in caption
    )
    assert table.notes["period"]["count_day"] == {"2025Q3": "2025-07-01"}
    (rule,) = table.notes["inclusion"]
    assert rule["drive_count"] == {"comparison": ">", "threshold": 100, "counted_on": "first"}
    assert rule["drive_days"] == {"comparison": ">", "threshold": 10_000}
    assert rule["source"]["standing"] == "quoted" and rule["periods"] == ["2025Q3"]
    # drives stays the count on the last day; drives_counted is the one the rule used.
    early = next(r for r in table.rows if r["model"] == "EARLY")
    assert (early["drives"], early["drives_counted"], early["drive_days"]) == (50, 150, 13_700)
    late = next(r for r in table.left_out if r["model"] == "LATE")
    assert (late["drives"], late["drives_counted"], late["drive_days"]) == (120, 0, 10_920)


def test_a_first_day_without_data_counts_on_the_first_day_that_has_data():
    q3 = quarter("2025Q3")
    # No rows on July 1: the drives are counted on July 2, where LATE has 120 > 100 drives
    # and 120 * 91 = 10,920 drive days: in. STEADY: 150 and 150 * 91 = 13,650: in.
    rows = [
        *steady("LATE", D(2025, 7, 2), q3.end, 120),
        *steady("STEADY", D(2025, 7, 2), q3.end, 150),
    ]
    assert included(rows, q3) == ["LATE", "STEADY"]
    notes = table_of(rows, q3).notes
    assert notes["rules"][0].startswith("drive count > 100 as of 2025-07-02 and")
    assert notes["period"]["first_day_without_data"] == {"2025Q3": "2025-07-02"}
    assert (
        "No data on the first day of 2025Q3: its drives are counted on 2025-07-02, its first "
        "day with data." in rates.caption_of(notes)
    )


def test_count_on_and_the_threshold_flags_replace_their_part_of_the_rule():
    q3 = quarter("2025Q3")
    # --count-on last in 2025Q3: as row 4 would count: EARLY (50 on the last day) out,
    # LATE (120) in.
    assert included(early_and_late(q3), q3, count_on="last") == ["LATE"]
    notes = table_of(early_and_late(q3), q3, count_on="last").notes
    assert notes["rules"][0].startswith(
        "drive count > 100 as of 2025-09-30 (--count-on last) and drive days > 10,000"
    )
    # --min-drives 0 means at least 0: LATE's 0 drives on July 1 pass; the drive days part
    # stays Backblaze's (> 10,000), which both pass.
    assert included(early_and_late(q3), q3, min_drives=0) == ["EARLY", "LATE"]
    # --min-drives 150: at least 150 (EARLY has exactly 150 on July 1: in).
    assert included(early_and_late(q3), q3, min_drives=150) == ["EARLY"]
    notes = table_of(early_and_late(q3), q3, min_drives=150).notes
    assert notes["rules"][0].startswith("drive count >= 150 (--min-drives) as of 2025-07-01")
    assert notes["inclusion"][0]["overridden_by"] == ["--min-drives"]
    # --min-drive-days 13,701: EARLY's 13,700 fall short.
    assert included(early_and_late(q3), q3, min_drive_days=13_701) == []


def test_by_quarter_applies_each_quarters_rule_and_lists_the_distinct_rules():
    period = Period("lifetime", D(2018, 10, 1), D(2019, 6, 30))
    rows = steady("FIFTY", period.start, period.end, 50)
    table = table_of(rows, period, by="quarter")
    kept = [(r["period"], r["model"]) for r in table.rows if r["model"] != rates.ALL_MODELS]
    # 50 >= 45 in 2018Q4 and 2019Q1 (row 1); 50 < 60 in 2019Q2 (row 2).
    assert kept == [("2018Q4", "FIFTY"), ("2019Q1", "FIFTY")]
    assert table.notes["rules"] == [
        "2018Q4 to 2019Q1: drive count >= 45 as of each quarter's last day with data "
        "[ambiguous]; boot drives left out",
        "2019Q2: drive count >= 60 as of each quarter's last day with data "
        "[secondary source] [ambiguous]; boot drives left out",
    ]
    assert [rule["periods"] for rule in table.notes["inclusion"]] == [
        ["2018Q4", "2019Q1"],
        ["2019Q2"],
    ]


# --- yearly tables --------------------------------------------------------------------------


def test_yearly_to_2018_takes_45_drives_where_2019_needs_60():
    drives = {"FIFTY": 50, "SIXTY": 60}
    # 2018, row 6 (>= 45): both in; 2019, row 7 (>= 60): SIXTY only.
    assert included(constant(year(2018), drives), year(2018)) == ["FIFTY", "SIXTY"]
    assert included(constant(year(2019), drives), year(2019)) == ["SIXTY"]


def test_yearly_from_2024_needs_more_than_100_drives_and_10000_drive_days_over_the_year():
    drives = {"SEVENTY": 70, "THIN": 101}
    # 2023, row 7 (>= 60): both in. 2024 (366 days), row 8 (> 100 and > 10,000): SEVENTY
    # out; THIN has 101 * 366 = 36,966 drive days: in, where the quarterly table of 2024Q1
    # leaves it out (9,191 drive days, above).
    assert included(constant(year(2023), drives), year(2023)) == ["SEVENTY", "THIN"]
    assert included(constant(year(2024), drives), year(2024)) == ["THIN"]
    q1 = quarter("2024Q1")
    assert included(constant(q1, drives), q1) == []


def test_yearly_2025_counts_on_the_years_last_day_where_2025q3_counts_on_its_first():
    # STEADY: 150 drives all year. AUGUST: 200 drives from 2025-08-01 to the year's end.
    rows = [
        *steady("STEADY", D(2025, 1, 1), D(2025, 12, 31), 150),
        *steady("AUGUST", D(2025, 8, 1), D(2025, 12, 31), 200),
    ]
    # Year 2025, row 8 (last day): AUGUST has 200 on Dec 31 and 200 * 153 = 30,600 drive
    # days: in. 2025Q3, row 5 (first day): AUGUST has none on July 1: out, although its
    # 200 * 61 = 12,200 drive days in the quarter are enough.
    assert included(rows, year(2025)) == ["AUGUST", "STEADY"]
    q3 = quarter("2025Q3")
    inside = [row for row in rows if q3.start <= row[0] <= q3.end]
    assert included(inside, q3) == ["STEADY"]
    notes = table_of(rows, year(2025)).notes
    assert notes["rules"] == [
        "drive count > 100 as of 2025-12-31 and drive days > 10,000 in 2025 [assumed] "
        "[ambiguous]; boot drives left out"
    ]


# --- lifetime tables ------------------------------------------------------------------------


def lifetime_ending(end: dt.date, drives: dict[str, int], days: int = 7) -> tuple[Rows, Period]:
    """A fleet whose data spans `days` days ending on `end`, and its lifetime period."""
    start = end - (days - 1) * DAY
    return constant(Period("x", start, end), drives), Period("lifetime", start, end)


def test_lifetime_to_2019q1_takes_45_drives_where_from_2019q2_60_are_needed():
    drives = {"FIFTY": 50, "SIXTY": 60}
    # Lifetime ending 2019-03-31, row 9 (>= 45): both in; ending 2019-06-30, row 10: SIXTY.
    assert included(*lifetime_ending(D(2019, 3, 31), drives)) == ["FIFTY", "SIXTY"]
    assert included(*lifetime_ending(D(2019, 6, 30), drives)) == ["SIXTY"]


def new_24tb_fleet(end: dt.date) -> tuple[Rows, Period]:
    """OLD: 600 drives for 201 days to `end`; SEVENTY: 70 drives, the same days; NEW24: 148
    drives on `end` - 10 days, then 2,400 on the last ten days (issue #20's new 24 TB model:
    2,400 drives, 148 + 10 * 2,400 = 24,148 drive days)."""
    start = end - 200 * DAY
    rows = [
        *steady("OLD", start, end, 600),
        *steady("SEVENTY", start, end, 70),
        *steady("NEW24", end - 10 * DAY, end - 10 * DAY, 148),
        *steady("NEW24", end - 9 * DAY, end, 2_400),
    ]
    return rows, Period("lifetime", start, end)


def test_lifetime_from_2024_takes_more_than_500_drives_and_100000_drive_days():
    # Lifetime ending 2023-12-31, row 10 (>= 60): all three in.
    assert included(*new_24tb_fleet(D(2023, 12, 31))) == ["NEW24", "OLD", "SEVENTY"]
    # Lifetime ending 2024-03-31, row 11 (> 500 and > 100,000): OLD (600 drives,
    # 600 * 201 = 120,600 drive days) in; NEW24 (2,400 drives, 24,148 drive days) and
    # SEVENTY (70 drives) out.
    rows, lifetime = new_24tb_fleet(D(2024, 3, 31))
    assert included(rows, lifetime) == ["OLD"]
    # The same model "hit the thresholds for the quarterly stats, but not the lifetime":
    # 2024Q1, row 3: NEW24 has 2,400 > 100 drives and 24,148 > 10,000 drive days; OLD has
    # 600 and 600 * 91 = 54,600.
    q1 = quarter("2024Q1")
    assert included([row for row in rows if row[0] >= q1.start], q1) == ["NEW24", "OLD"]
    notes = table_of(rows, lifetime).notes
    assert notes["rules"] == [
        "drive count > 500 as of 2024-03-31 and drive days > 100,000 over the lifetime "
        "[secondary source] [ambiguous]; boot drives left out"
    ]
    assert "Source of Backblaze's lifetime rule from 2024Q1 [secondary source] [ambiguous]" in (
        rates.caption_of(notes)
    )


# --- the command line on the real April 2013 files ------------------------------------------


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("rules") / "home"
    result = run_cli(home, "import", *map(str, sample_files()))
    assert result.exit_code == 0, result.output
    return home


def rows_per_model(path: Path) -> Counter[str]:
    with open(path, newline="") as handle:
        return Counter(" ".join(record["model"].split()) for record in csv.DictReader(handle))


def test_cli_count_on_first_counts_on_the_periods_first_day_in_the_raw_files(sample_home):
    files = {path.stem: path for path in sample_files()}
    first, last = rows_per_model(files["2013-04-12"]), rows_per_model(files["2013-04-19"])
    args = ["afr", "--period", "2013-04-12..2013-04-19", "--min-drives", "0", "--include-boot"]
    result = run_cli(sample_home, *args, "--count-on", "first", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    for row in rows[:-1]:
        assert row["drives_counted"] == first[row["model"]], row["model"]
        assert row["drives"] == last[row["model"]], row["model"]
    assert rows[-1]["drives_counted"] == sum(first.values())
    assert "as of 2013-04-12 (--count-on first)" in result.stderr
    # By default the 2013 rule counts on the last day: drives_counted is drives.
    default = run_cli(sample_home, *args, "--format", "json")
    assert all(r["drives_counted"] == r["drives"] for r in json.loads(default.stdout))
    workspace = Workspace(sample_home)
    plain = rates.afr_job(workspace, "2013-04-12..2013-04-19", min_drives=0, include_boot=True)
    counted = rates.afr_job(
        workspace, "2013-04-12..2013-04-19", min_drives=0, include_boot=True, count_on="first"
    )
    assert plain.reused and counted.reused and plain.id != counted.id
    assert "count_on" not in plain.manifest["parameters"]
    assert counted.manifest["parameters"]["count_on"] == "first"
