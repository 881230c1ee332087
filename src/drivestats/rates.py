"""Failure rates and survival: Backblaze's AFR tables with exact intervals, and Kaplan-Meier curves.

Counting follows Backblaze exactly, row by row. A drive day is one row of a
daily file; a failure is one row with ``failure = 1``. So a serial that reports
``failure = 1`` on two days counts as two failures, and the days a drive
reports after a failure are drive days like any other. This keeps every
figure comparable with Backblaze's published tables and with a plain count
over the raw CSV files; see docs/failure-rates.md.

    AFR = 100 * failures / (drive_days / 365)        (percent per drive year)

The interval is the exact (Garwood) Poisson interval on the failure count,
divided by the drive years: with zero failures it is [0, 368.9 / drive years].

The numbers come from the fleet tables (stage ``fleet-tables``): per model and
day, the number of rows and of failure rows. The pure functions here take those
tables as Arrow tables so they can be tested on tiny hand-built fleets; the
stages ``afr`` and ``survival`` wrap them as jobs.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import jobs
from drivestats.backblaze.format import clean_model, vendor_of
from drivestats.csv_cells import spreadsheet_safe
from drivestats.errors import DrivestatsError
from drivestats.fleet import model_facts
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

DAYS_PER_YEAR = 365
CONFIDENCE = 0.95
ALL_MODELS = "ALL"
AFR_COLUMNS = (
    "model",
    "vendor",
    "capacity_tb",
    "drives",
    "drive_days",
    "failures",
    "afr",
    "ci_low",
    "ci_high",
)
LEFT_OUT_COLUMNS = (
    "period",
    "model",
    "vendor",
    "capacity_tb",
    "drives",
    "drive_days",
    "failures",
    "reason",
)
COUNTING = (
    "Backblaze's row counting: each row is a drive day and each row with failure=1 is a "
    "failure, so a serial that reports failure=1 twice counts twice and the days it reports "
    "after a failure count as drive days."
)
DEDUPED_COUNTING = (
    "Each drive once a day (--dedupe): rows that repeat a serial number on its day are not "
    "counted; otherwise as Backblaze counts (a drive reporting after a failure still counts)."
)

# --- periods ------------------------------------------------------------------

_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$")
PERIOD_HELP = (
    "2021Q2, 2021, lifetime, latest (the last quarter with data) or 2020-01-01..2020-06-30"
)


@dataclass(frozen=True)
class Period:
    """A labelled span of days, both ends included."""

    label: str
    start: dt.date
    end: dt.date

    def clipped(self, first: dt.date, last: dt.date) -> Period:
        """The same period limited to [first, last]."""
        return Period(self.label, max(self.start, first), min(self.end, last))


def quarter_label(day: dt.date) -> str:
    """The quarter a day falls in, written as Backblaze does in file names: '2021Q2'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_of(day: dt.date) -> Period:
    """The whole calendar quarter a day falls in."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    if first_month == 10:
        following = dt.date(day.year + 1, 1, 1)
    else:
        following = dt.date(day.year, first_month + 3, 1)
    return Period(quarter_label(day), start, following - dt.timedelta(days=1))


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date, or a clear error naming the text."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DrivestatsError(f"{text!r} is not a date like 2021-06-30") from None


def period_for(spec: str, first_day: dt.date, last_day: dt.date) -> Period:
    """The period a spec names, given the first and last day that have data (for lifetime, latest)."""
    text = spec.strip()
    if text.lower() == "lifetime":
        return Period("lifetime", first_day, last_day)
    if text.lower() == "latest":
        return quarter_of(last_day)
    if match := _QUARTER.match(text):
        year, quarter = int(match.group(1)), int(match.group(2))
        return quarter_of(dt.date(year, 3 * quarter - 2, 1))
    if match := _YEAR.match(text):
        year = int(match.group(1))
        return Period(str(year), dt.date(year, 1, 1), dt.date(year, 12, 31))
    if match := _RANGE.match(text):
        start = parse_day(match.group(1)) if match.group(1) else first_day
        end = parse_day(match.group(2)) if match.group(2) else last_day
        if end < start:
            raise DrivestatsError(f"period {spec!r} ends before it starts")
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)
    raise DrivestatsError(f"unknown period {spec!r}; use {PERIOD_HELP}")


def periods_within(period: Period, by: str | None) -> list[Period]:
    """The quarters or years a period spans (clipped to it), or the period itself when by is None."""
    if by is None:
        return [period]
    if by not in ("quarter", "year"):
        raise DrivestatsError(f"cannot split a period by {by!r}; use quarter or year")
    parts = []
    day = period.start
    while day <= period.end:
        whole = (
            quarter_of(day)
            if by == "quarter"
            else Period(str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
        )
        parts.append(whole.clipped(period.start, period.end))
        day = whole.end + dt.timedelta(days=1)
    return parts


# --- which models a table includes ----------------------------------------------

# Part-number families and words of the SSDs Backblaze uses as boot drives.
_SSD_MARKERS = ("SSD", "DELLBOSS", "MTFD", "SSDSC", "WDS", "SA510", "ZA")
_SSD_VENDORS = {"Micron", "Crucial", "Intel", "Dell"}
BOOT_RULE = (
    "models under 1 TB (10^12 bytes) and SSDs (model names containing SSD, models of Micron, "
    "Crucial, Intel or Dell, Seagate ZA and WD WDS or SA510 parts) are boot drives"
)


def is_boot_drive(model: str, capacity_bytes: int | None) -> bool:
    """Whether a model is a boot drive by our rule: under 1 TB, or an SSD."""
    if capacity_bytes is not None and 0 < capacity_bytes < 10**12:
        return True
    if vendor_of(model) in _SSD_VENDORS:
        return True
    words = clean_model(model).upper().split(" ")
    return any(
        marker in word if marker == "SSD" else word.startswith(marker)
        for word in words
        for marker in _SSD_MARKERS
    )


@dataclass(frozen=True)
class InclusionRule:
    """Which models a period's table includes: at least this many drives and drive days."""

    min_drives: int
    min_drive_days: int
    include_boot: bool
    name: str

    def admits(self, drives: int, drive_days: int) -> bool:
        """Whether a model with these counts in the period is large enough to include."""
        return drives >= self.min_drives and drive_days >= self.min_drive_days

    def describe(self) -> str:
        """The rule in one sentence, as printed under a table and kept in the job's notes."""
        parts = [f"at least {self.min_drives:,} drives on the period's last day"]
        if self.min_drive_days:
            parts.append(f"at least {self.min_drive_days:,} drive days in the period")
        boot = "boot drives included" if self.include_boot else "boot drives left out"
        return f"{self.name}: {' and '.join(parts)}; {boot}"


def backblaze_rule(period_end: dt.date) -> InclusionRule:
    """Backblaze's own threshold for a period ending on this day."""
    if period_end < dt.date(2019, 4, 1):
        return InclusionRule(45, 0, False, "Backblaze's rule to 2019 Q1")
    if period_end < dt.date(2024, 1, 1):
        return InclusionRule(60, 0, False, "Backblaze's rule 2019 Q2 to 2023")
    # "More than 100 drives and more than 10,000 drive days" written as "at least".
    return InclusionRule(101, 10_001, False, "Backblaze's rule from 2024")


def inclusion_rule(
    period_end: dt.date,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
) -> InclusionRule:
    """Backblaze's rule for the period, with any part replaced by an explicit flag."""
    rule = backblaze_rule(period_end)
    if min_drives is None and min_drive_days is None:
        return InclusionRule(rule.min_drives, rule.min_drive_days, include_boot, rule.name)
    return InclusionRule(
        rule.min_drives if min_drives is None else min_drives,
        rule.min_drive_days if min_drive_days is None else min_drive_days,
        include_boot,
        f"{rule.name}, overridden by flags",
    )


# --- rates and intervals ------------------------------------------------------


def annualized_failure_rate(failures: int, drive_days: int) -> float | None:
    """Backblaze's AFR in percent: 100 * failures / (drive_days / 365); None without drive days."""
    if drive_days <= 0:
        return None
    return 100 * failures / (drive_days / DAYS_PER_YEAR)


def poisson_interval(count: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Garwood) interval for the mean of a Poisson variable observed as count."""
    from drivestats import poisson  # pure Python: scipy.special would cost 0.4 s of imports

    return poisson.poisson_interval(int(count), float(confidence))


def afr_interval(
    failures: int, drive_days: int, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    """The exact Poisson interval of the AFR in percent: the failure count's interval per drive year."""
    if drive_days <= 0:
        return None, None
    low, high = poisson_interval(failures, confidence)
    years = drive_days / DAYS_PER_YEAR
    return 100 * low / years, 100 * high / years


# --- AFR tables -----------------------------------------------------------------


@dataclass
class AfrTable:
    """An AFR table: included rows (with an ALL row per period), what was left out, and why."""

    rows: list[dict[str, Any]]
    left_out: list[dict[str, Any]]
    periods: list[Period]
    rules: list[str]
    by: str | None
    notes: dict[str, Any] = field(default_factory=dict)


def period_counts(
    model_days: pa.Table, periods: Sequence[Period], dedupe: bool = False
) -> list[dict[str, Any]]:
    """Per period and model: drives on the period's last day with data, drive days and failures.

    Rows as Backblaze counts them, or (dedupe) each drive once a day; ``repeats`` is the
    number of rows that repeat a drive on its day, whichever way they were counted.

    With Arrow's own kernels: DuckDB would import pandas to look at the table (0.6 s).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    counted = []
    for period in periods:
        inside = model_days.filter(
            pc.and_(
                pc.greater_equal(model_days["date"], pa.scalar(period.start, pa.date32())),
                pc.less_equal(model_days["date"], pa.scalar(period.end, pa.date32())),
            )
        )
        if inside.num_rows == 0:
            continue
        # The last day with data is the period's, not the model's: a model absent that day
        # has 0 drives.
        last_day = pc.max(inside["date"])
        if "repeats" not in inside.column_names:  # fleet tables made before repeats were kept
            zeros = pa.array([0] * inside.num_rows, pa.int64())
            inside = inside.append_column("repeats", zeros)
            inside = inside.append_column("repeated_failures", zeros)
        if dedupe:
            inside = inside.set_column(
                inside.schema.get_field_index("drives"),
                "drives",
                pc.subtract(inside["drives"], inside["repeats"]),
            ).set_column(
                inside.schema.get_field_index("failures"),
                "failures",
                pc.subtract(inside["failures"], inside["repeated_failures"]),
            )
        totals = inside.group_by("model", use_threads=False).aggregate(
            [("drives", "sum"), ("failures", "sum"), ("repeats", "sum")]
        )
        on_last = (
            inside.filter(pc.equal(inside["date"], last_day))
            .group_by("model", use_threads=False)
            .aggregate([("drives", "sum")])
        )
        last_drives = dict(
            zip(on_last["model"].to_pylist(), on_last["drives_sum"].to_pylist(), strict=True)
        )
        for model, drive_days, failures, repeats in sorted(
            zip(
                totals["model"].to_pylist(),
                totals["drives_sum"].to_pylist(),
                totals["failures_sum"].to_pylist(),
                totals["repeats_sum"].to_pylist(),
                strict=True,
            )
        ):
            counted.append(
                {
                    "period": period.label,
                    "model": model,
                    "last_day": last_day.as_py(),
                    "drives": int(last_drives.get(model, 0)),
                    "drive_days": int(drive_days),
                    "failures": int(failures),
                    "repeats": int(repeats),
                }
            )
    return counted


def capacity_tb(capacity_bytes: int | None) -> float | None:
    """Capacity in decimal terabytes, to two places (0.25, 1.5, 14.0)."""
    if capacity_bytes is None or capacity_bytes <= 0:
        return None
    return round(capacity_bytes / 10**12, 2)


def afr_row(
    model: str,
    vendor: str | None,
    capacity: float | None,
    drives: int,
    drive_days: int,
    failures: int,
) -> dict[str, Any]:
    """One row of an AFR table: counts, the rate and its 95% interval."""
    low, high = afr_interval(failures, drive_days)
    return {
        "model": model,
        "vendor": vendor,
        "capacity_tb": capacity,
        "drives": int(drives),
        "drive_days": int(drive_days),
        "failures": int(failures),
        "afr": annualized_failure_rate(failures, drive_days),
        "ci_low": low,
        "ci_high": high,
    }


def afr_table(
    model_days: pa.Table,
    models: pa.Table,
    period: Period,
    by: str | None = None,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
    dedupe: bool = False,
) -> AfrTable:
    """The AFR table of a period (or of each quarter or year in it) from the fleet tables."""
    periods = periods_within(period, by)
    facts = model_facts(models)
    counts = period_counts(model_days, periods, dedupe)
    by_period: dict[str, list[dict[str, Any]]] = {p.label: [] for p in periods}
    for count in counts:
        by_period[count["period"]].append(count)

    rows: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    rules: list[str] = []
    last_days: dict[str, str | None] = {}
    for part in periods:
        rule = inclusion_rule(part.end, min_drives, min_drive_days, include_boot)
        if rule.describe() not in rules:
            rules.append(rule.describe())
        included = []
        part_counts = by_period[part.label]
        last_days[part.label] = part_counts[0]["last_day"].isoformat() if part_counts else None
        for count in part_counts:
            vendor, capacity = facts.get(count["model"], (vendor_of(count["model"]), None))
            row = afr_row(
                count["model"],
                vendor,
                capacity_tb(capacity),
                count["drives"],
                count["drive_days"],
                count["failures"],
            )
            if not rule.include_boot and is_boot_drive(count["model"], capacity):
                reason = "boot drive"
            elif not rule.admits(count["drives"], count["drive_days"]):
                reason = "below threshold"
            else:
                included.append(row)
                continue
            left_out.append(
                {
                    "period": part.label,
                    **{k: row[k] for k in LEFT_OUT_COLUMNS[1:-1]},
                    "reason": reason,
                }
            )
        # Backblaze's order: by manufacturer, then capacity, then model.
        included.sort(key=lambda r: (r["vendor"] or "", r["capacity_tb"] or 0.0, r["model"]))
        total = afr_row(
            ALL_MODELS,
            None,
            None,
            sum(r["drives"] for r in included),
            sum(r["drive_days"] for r in included),
            sum(r["failures"] for r in included),
        )
        for row in [*included, total]:
            rows.append({"period": part.label, **row} if by else row)

    table = AfrTable(rows, left_out, periods, rules, by)
    table.notes = {
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "by": by,
            "last_day_with_data": {k: v for k, v in last_days.items()},
        },
        "rules": rules,
        "boot_rule": None if include_boot else BOOT_RULE,
        "left_out": left_out_summary(left_out),
        "counting": DEDUPED_COUNTING if dedupe else COUNTING,
        "repeated_rows": sum(count["repeats"] for count in counts),
        "dedupe": dedupe,
        "interval": "exact Poisson (Garwood) 95% interval on the failure count, per drive year",
    }
    return table


def left_out_summary(left_out: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """How many model-periods, drives (on last days), drive days and failures each reason left out."""
    summary: dict[str, Any] = {}
    for row in left_out:
        entry = summary.setdefault(
            row["reason"], {"models": 0, "drives": 0, "drive_days": 0, "failures": 0}
        )
        entry["models"] += 1
        entry["drives"] += row["drives"]
        entry["drive_days"] += row["drive_days"]
        entry["failures"] += row["failures"]
    return summary


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def caption_of(notes: Mapping[str, Any]) -> str:
    """The rule applied and what it left out, in words, for printing under a table."""
    period = notes["period"]
    lines = [
        f"Period {period['label']}: {period['start']} to {period['end']}"
        + (f", one row per {period['by']}" if period["by"] else "")
        + "."
    ]
    last_days = [day for day in period["last_day_with_data"].values() if day]
    if last_days and max(last_days) < period["end"]:
        lines.append(f"The data ends on {max(last_days)}; the last period is partial.")
    lines += [f"Rule: {rule}." for rule in notes["rules"]]
    repeated = notes.get("repeated_rows", 0)
    if repeated and notes.get("dedupe"):
        lines.append(
            f"Counted each drive once a day: {_count(repeated, 'row')} repeating a drive on its "
            "day left out (--dedupe)."
        )
    elif repeated:
        lines.append(
            f"{_count(repeated, 'row')} repeat a drive on its day: counted as published, as "
            "Backblaze counts rows (--dedupe counts each drive once a day)."
        )
    if notes.get("boot_rule"):
        lines.append(f"Boot rule: {notes['boot_rule']}.")
    summary = notes["left_out"]
    per = " (summed over periods)" if period["by"] else ""
    if not summary:
        lines.append("Left out: nothing.")
    for reason, entry in sorted(summary.items()):
        lines.append(
            f"Left out as {reason}{per}: {_count(entry['models'], 'model')} with "
            f"{_count(entry['drives'], 'drive')} on the last day, "
            f"{_count(entry['drive_days'], 'drive day')} and {_count(entry['failures'], 'failure')}."
        )
    return "\n".join(lines)


# --- writing tables -----------------------------------------------------------


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Rows as CSV; floats read back to the same value, text never runs as a formula."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: "" if row.get(k) is None else spreadsheet_safe(row.get(k)) for k in columns}
            )


def write_json(value: Any, path: Path) -> None:
    """A value as indented JSON with a final newline."""
    path.write_text(json.dumps(value, indent=2) + "\n")


def read_rows(job: jobs.JobResult, name: str) -> list[dict[str, Any]]:
    """A table a rates job wrote as JSON."""
    return json.loads(job.output(name).read_text())


# --- charts -------------------------------------------------------------------


def afr_axis_top(afr: Sequence[float | None], high: Sequence[float | None]) -> float:
    """The top of an AFR axis: the whole interval, unless a few drive days make it absurd."""
    rates = [v for v in afr if v is not None] or [0.0]
    highs = [v for v in high if v is not None] or [1.0]
    # An interval over a few drive days can reach hundreds of percent; it runs off the top.
    return min(max(highs), max(2.5 * max(rates), 2.0))


def afr_chart(
    table: AfrTable, folder: Path, job_id: str, stem: str = "afr", panels: int = 12
) -> list[Path]:
    """Small multiples of AFR per period with its interval: all models first, then the largest."""
    from drivestats import charts

    labels = [p.label for p in table.periods]
    index = {label: i for i, label in enumerate(labels)}
    exposure: dict[str, int] = {}
    for row in table.rows:
        exposure[row["model"]] = exposure.get(row["model"], 0) + row["drive_days"]
    chosen = [ALL_MODELS] + sorted(
        (m for m in exposure if m != ALL_MODELS), key=lambda m: (-exposure[m], m)
    )[: panels - 1]
    columns = min(3, len(chosen))
    lines = math.ceil(len(chosen) / columns)
    figure = charts.new_figure(4.0 * columns, 2.4 * lines + 0.6)
    axes_grid = figure.subplots(lines, columns, sharex=True, squeeze=False)
    for position, model in enumerate(chosen):
        axes = axes_grid[position // columns][position % columns]
        values: dict[str, list[float | None]] = {
            k: [None] * len(labels) for k in ("afr", "ci_low", "ci_high")
        }
        for row in table.rows:
            if row["model"] == model:
                for key in values:
                    values[key][index[row["period"]]] = row[key]
        series = charts.Series(
            model, list(range(len(labels))), values["afr"], values["ci_low"], values["ci_high"]
        )
        charts.plot_series(axes, [series])
        axes.set_title(model, fontsize=9)
        axes.set_ylim(0, 1.05 * afr_axis_top(values["afr"], values["ci_high"]))
        axes.set_ylabel("AFR %")
    for position in range(len(chosen), lines * columns):
        axes_grid[position // columns][position % columns].set_visible(False)
    step = max(1, math.ceil(len(labels) / 8))
    for column in range(columns):
        # The lowest panel shown in each column carries the period labels.
        lowest = max(p for p in range(len(chosen)) if p % columns == column)
        axes = axes_grid[lowest // columns][column]
        axes.xaxis.set_tick_params(labelbottom=True)
        axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")
    shown = f"{len(chosen) - 1} of {len(exposure) - 1} models with the most drive days"
    figure.suptitle(
        f"Annualized failure rate per {table.by or 'period'} with 95% exact Poisson interval ({shown})"
    )
    return charts.save_figure(figure, folder, stem, job_id)


# --- the afr stage -------------------------------------------------------------


def _fleet_job(workspace: Workspace, until: str | None, reuse_only: bool = False) -> jobs.JobResult:
    from drivestats import fleet

    return fleet.fleet_tables(workspace, until=until, reuse_only=reuse_only)


def fleet_table(
    fleet_job: jobs.JobResult, name: str, columns: Sequence[str] | None = None
) -> pa.Table:
    """One fleet table of a fleet-tables job, read without pyarrow.dataset (which imports pandas)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(fleet_job.output(f"{name}.parquet")).read(columns=columns)


def data_span(fleet_job: jobs.JobResult) -> tuple[dt.date, dt.date]:
    """The first and last day with any drive in the fleet tables."""
    noted = fleet_job.manifest["notes"].get("data_span")
    if noted:
        return parse_day(noted[0]), parse_day(noted[1])
    import pyarrow.compute as pc

    dates = fleet_table(fleet_job, "daily", ["date", "drives"])
    dates = dates.filter(pc.greater(dates["drives"], 0))["date"]
    if len(dates) == 0:
        raise DrivestatsError("the fleet tables hold no drives; import some data first")
    return pc.min(dates).as_py(), pc.max(dates).as_py()


def resolved_period(spec: str, fleet_job: jobs.JobResult, until: str | None) -> Period:
    """The period a spec names over the data in the fleet tables, ending by `until` if given."""
    first, last = data_span(fleet_job)
    period = period_for(spec, first, last)
    if until is not None and parse_day(until) < period.end:
        # The label says so: a cut period must not take the name (and results/ link) of the whole.
        cut = parse_day(until)
        period = Period(f"{period.label}-until-{cut.isoformat()}", period.start, cut)
    if period.end < first or period.start > last:
        raise DrivestatsError(
            f"no data in {period.label} ({period.start} to {period.end}); "
            f"the fleet tables hold {first} to {last}"
        )
    return period


def _model_days(fleet_job: jobs.JobResult) -> pa.Table:
    import pyarrow.parquet as pq

    wanted = ["date", "model", "drives", "failures", "repeats", "repeated_failures"]
    path = fleet_job.output("model_days.parquet")
    held = set(pq.ParquetFile(path).schema_arrow.names)
    return fleet_table(fleet_job, "model_days", [name for name in wanted if name in held])


def _build_afr(context: jobs.JobContext) -> None:
    params = context.params
    (fleet_job,) = context.upstream_of("fleet-tables")
    period = Period(params["label"], parse_day(params["start"]), parse_day(params["end"]))
    table = afr_table(
        _model_days(fleet_job),
        fleet_table(fleet_job, "models", ["model", "vendor", "capacity_bytes"]),
        period,
        by=params["by"],
        min_drives=params["min_drives"],
        min_drive_days=params["min_drive_days"],
        include_boot=params["include_boot"],
        dedupe=params.get("dedupe", False),
    )
    columns = (("period",) if table.by else ()) + AFR_COLUMNS
    write_csv(table.rows, columns, context.dir / "afr.csv")
    write_json(table.rows, context.dir / "afr.json")
    write_csv(table.left_out, LEFT_OUT_COLUMNS, context.dir / "left_out.csv")
    if table.by:
        afr_chart(table, context.dir, context.id)
    context.rows.update({"afr": len(table.rows), "left_out": len(table.left_out)})
    context.notes.update(table.notes)


AFR_STAGE = jobs.Stage(
    "afr",
    _build_afr,
    ("drivestats.rates", "drivestats.charts", "drivestats.poisson", "drivestats.csv_cells"),
)


def afr(
    workspace: Workspace,
    period: str = "latest",
    until: str | None = None,
    by: str | None = None,
    min_drives: int | None = None,
    min_drive_days: int | None = None,
    include_boot: bool = False,
    reuse_only: bool = False,
    dedupe: bool = False,
) -> jobs.JobResult:
    """The AFR table job for a period over the fleet tables (made from the store up to `until`).

    dedupe counts each drive once a day where a day repeats it; by default rows are counted,
    as Backblaze does.

    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    if until is not None:
        parse_day(until)
    if by not in (None, "quarter", "year"):
        raise DrivestatsError(f"cannot split a period by {by!r}; use quarter or year")
    fleet_job = _fleet_job(workspace, until, reuse_only)
    chosen = resolved_period(period, fleet_job, until)
    params = {
        "label": chosen.label,
        "start": chosen.start.isoformat(),
        "end": chosen.end.isoformat(),
        "by": by,
        "min_drives": min_drives,
        "min_drive_days": min_drive_days,
        "include_boot": include_boot,
    }
    if dedupe:  # only when asked, so that a table counted as Backblaze does keeps its id
        params["dedupe"] = True
    return jobs.run(workspace, AFR_STAGE, params, upstream=[fleet_job], reuse_only=reuse_only)


def afr_link_name(job: jobs.JobResult, suffix: str) -> str:
    """The results/ name of an AFR output: afr-2021Q2.csv, afr-lifetime-by-quarter.png."""
    params = job.manifest["parameters"]
    label = params["label"].replace("..", "_to_")
    by = f"-by-{params['by']}" if params["by"] else ""
    dedupe = "-dedupe" if params.get("dedupe") else ""
    return f"afr-{label}{by}{dedupe}{suffix}"


def publish(workspace: Workspace, job: jobs.JobResult) -> list[Path]:
    """Link an AFR or survival job's tables and charts into results/; the links made."""
    link_name = afr_link_name if job.stage == "afr" else survival_link_name
    links = []
    for name in job.outputs:
        if name.endswith(".json"):
            continue
        stem, suffix = name.rsplit(".", 1)
        extra = "" if stem in ("afr", "survival") else f"-{stem.replace('_', '-')}"
        links.append(jobs.publish(workspace, job, name, link_name(job, f"{extra}.{suffix}")))
    return links


# --- survival -----------------------------------------------------------------

SURVIVAL_YEARS = (1, 3, 5)
SURVIVAL_COLUMNS = (
    "model",
    "vendor",
    "capacity_tb",
    "drives",
    "failures",
    "median_days",
    "median_low",
    "median_high",
    *(f"survival_{y}y{part}" for y in SURVIVAL_YEARS for part in ("", "_low", "_high")),
)
DEFAULT_SURVIVAL_MODELS = 6
SURVIVAL_METHOD = (
    "Kaplan-Meier per model (the product-limit estimate with lifelines' exponential "
    "Greenwood interval, computed with numpy and checked against lifelines). Days in service run from a drive's first report to "
    "its failure (its last day with failure=1), counted inclusively; drives that stopped "
    "reporting without failing, and drives still reporting, are censored at their last day. "
    "Drives already running on the first day of the data entered at an unknown age, so "
    "their days in service start at zero there (left truncation is not modelled). Survival "
    "is in percent with 95% log(-log) intervals; a year is 365 days; a value is empty "
    "when no drive of the model was followed that long, a median when the curve never "
    "fell to 50%."
)


@dataclass
class SurvivalCurve:
    """One model's Kaplan-Meier curve, in years and percent, with its 95% band."""

    model: str
    years: list[float]
    survival: list[float]
    low: list[float]
    high: list[float]


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def survival_of_model(drives: pa.Table, model: str) -> tuple[dict[str, Any], SurvivalCurve]:
    """Kaplan-Meier for one model's drives: median life, survival at 1, 3, 5 years, and the curve."""
    import numpy as np
    import pyarrow.compute as pc

    from drivestats.kaplan_meier import kaplan_meier

    mine = drives.filter(pc.equal(drives["model"], model))
    if mine.num_rows == 0:
        raise DrivestatsError(
            f"{model} has no drives of its own to follow: a drive counts under the model it "
            "first reported as, and every drive that reported as this model first reported "
            "as another"
        )
    first = mine["first_day"].cast("int32").to_numpy(zero_copy_only=False).astype(np.int64)
    # A failed drive's life ends at its failure; any other drive is censored at its last report.
    end = pc.coalesce(mine["failure_day"], mine["last_day"]).cast("int32")
    failed = mine["failure_day"].is_valid().to_numpy(zero_copy_only=False)
    durations = end.to_numpy(zero_copy_only=False).astype(np.int64) - first + 1
    estimate = kaplan_meier(durations, failed, CONFIDENCE)
    row: dict[str, Any] = {
        "model": model,
        "drives": len(mine),
        "failures": int(failed.sum()),
        "median_days": _finite(estimate.median()),
        "median_low": _finite(estimate.median(estimate.low)),
        "median_high": _finite(estimate.median(estimate.high)),
    }
    for years in SURVIVAL_YEARS:
        found = estimate.at(years * DAYS_PER_YEAR)
        value, low, high = (None, None, None) if found is None else map(_finite, found)
        row[f"survival_{years}y"] = None if value is None else 100 * value
        row[f"survival_{years}y_low"] = None if low is None else 100 * low
        row[f"survival_{years}y_high"] = None if high is None else 100 * high
    curve = SurvivalCurve(
        model,
        [t / DAYS_PER_YEAR for t in estimate.timeline.tolist()],
        [100 * v for v in estimate.survival.tolist()],
        [100 * v for v in estimate.low.tolist()],
        [100 * v for v in estimate.high.tolist()],
    )
    return row, curve


def default_survival_models(models: pa.Table, count: int = DEFAULT_SURVIVAL_MODELS) -> list[str]:
    """The data-drive models with the most distinct drives (boot drives left out)."""
    candidates = [
        row
        for row in models.select(["model", "capacity_bytes", "drives"]).to_pylist()
        if not is_boot_drive(row["model"], row["capacity_bytes"])
    ]
    candidates.sort(key=lambda r: (-r["drives"], r["model"]))
    return [row["model"] for row in candidates[:count]]


def chosen_models(requested: Sequence[str] | None, models: pa.Table) -> list[str]:
    """The models to follow: the requested ones (whitespace-normalised, checked) or the default."""
    if not requested:
        return default_survival_models(models)
    known = set(models["model"].to_pylist())
    chosen = []
    for name in requested:
        model = clean_model(name)
        if model not in known:
            import difflib

            close = difflib.get_close_matches(model, sorted(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise DrivestatsError(f"no model {model!r} in the fleet tables{hint}")
        if model not in chosen:
            chosen.append(model)
    return chosen


def survival_table(
    drives: pa.Table, models: pa.Table, chosen: Sequence[str]
) -> tuple[list[dict[str, Any]], list[SurvivalCurve]]:
    """Kaplan-Meier rows and curves for the chosen models, in the order given."""
    facts = model_facts(models)
    rows, curves = [], []
    for model in chosen:
        row, curve = survival_of_model(drives, model)
        vendor, capacity = facts.get(model, (vendor_of(model), None))
        rows.append(
            {
                k: ({**row, "vendor": vendor, "capacity_tb": capacity_tb(capacity)}).get(k)
                for k in SURVIVAL_COLUMNS
            }
        )
        curves.append(curve)
    return rows, curves


def survival_chart(
    curves: Sequence[SurvivalCurve], folder: Path, job_id: str, stem: str = "survival"
) -> list[Path]:
    """Kaplan-Meier curves with 95% bands, one line per model, in years and percent."""
    from drivestats import charts

    figure = charts.new_figure(8.0, 4.8)
    axes = figure.add_subplot()
    series = [charts.Series(c.model, c.years, c.survival, c.low, c.high) for c in curves]
    charts.plot_series(axes, series, step=True)
    axes.set_xlabel("years in service (from first report)")
    axes.set_ylabel("still working, %")
    axes.set_xlim(left=0)
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    axes.set_title("Kaplan-Meier survival per model, 95% interval")
    return charts.save_figure(figure, folder, stem, job_id)


def _build_survival(context: jobs.JobContext) -> None:
    (fleet_job,) = context.upstream_of("fleet-tables")
    drives = fleet_table(fleet_job, "drives", ["model", "first_day", "last_day", "failure_day"])
    models = fleet_table(fleet_job, "models")
    chosen = chosen_models(context.params["models"], models)
    rows, curves = survival_table(drives, models, chosen)
    write_csv(rows, SURVIVAL_COLUMNS, context.dir / "survival.csv")
    write_json(rows, context.dir / "survival.json")
    write_json([asdict(c) for c in curves], context.dir / "curves.json")
    survival_chart(curves, context.dir, context.id)
    context.rows["survival"] = len(rows)
    default = chosen == default_survival_models(models)
    context.notes.update({"models": chosen, "method": SURVIVAL_METHOD, "default_models": default})


SURVIVAL_STAGE = jobs.Stage(
    "survival",
    _build_survival,
    ("drivestats.rates", "drivestats.charts", "drivestats.kaplan_meier", "drivestats.csv_cells"),
)


def survival(
    workspace: Workspace,
    models: Sequence[str] | None = None,
    until: str | None = None,
    reuse_only: bool = False,
) -> jobs.JobResult:
    """The Kaplan-Meier job for some models (default: the largest data-drive models).

    With reuse_only nothing is written and a job not made yet raises jobs.JobNotMade.
    """
    if until is not None:
        parse_day(until)
    fleet_job = _fleet_job(workspace, until, reuse_only)
    if not models:
        made = _default_survival(workspace, fleet_job, record=not reuse_only)
        if made is not None:
            return made
    chosen = chosen_models(models, fleet_table(fleet_job, "models"))
    if not chosen:
        raise DrivestatsError("no models to follow; import some data first")
    return jobs.run(
        workspace, SURVIVAL_STAGE, {"models": chosen}, upstream=[fleet_job], reuse_only=reuse_only
    )


def _default_survival(
    workspace: Workspace, fleet_job: jobs.JobResult, record: bool
) -> jobs.JobResult | None:
    """The survival job of the default models over these fleet tables, if made: found by
    its notes, so that the default need not be worked out from a table to name it."""
    from drivestats import catalog

    rows = catalog.query(
        workspace,
        "select id from jobs where stage = ? order by created desc",
        (SURVIVAL_STAGE.name,),
    )
    for row in rows:
        try:
            job = jobs.load(workspace, row["id"])
        except DrivestatsError:
            continue
        notes = job.manifest["notes"]
        if job.manifest["inputs"]["jobs"] != [fleet_job.id] or not notes.get("default_models"):
            continue
        # Made by this code: its id is the one these models would get now.
        if job.id == jobs.job_id(SURVIVAL_STAGE, {"models": notes["models"]}, {}, [fleet_job.id]):
            return jobs.existing(workspace, SURVIVAL_STAGE, job.id, record=record)
    return None


def survival_link_name(job: jobs.JobResult, suffix: str) -> str:
    """The results/ name of a survival output, distinct per set of models."""
    return f"survival-{job.id.rsplit('-', 1)[-1][:8]}{suffix}"
