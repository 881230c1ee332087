"""AFR tables: counts per model and period from the fleet tables, rows, what was left out, captions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivestats.backblaze.format import vendor_of
from drivestats.errors import counted
from drivestats.fleet import model_facts
from drivestats.rates.intervals import afr_interval, annualized_failure_rate
from drivestats.rates.periods import Period, periods_within
from drivestats.rates.rule_table import CountOn
from drivestats.rates.rules import BOOT_RULE, InclusionRule, inclusion_rule, is_boot_drive

if TYPE_CHECKING:
    import pyarrow as pa

ALL_MODELS = "ALL"
AFR_COLUMNS = (
    "model",
    "vendor",
    "capacity_tb",
    "drives",
    "drives_counted",
    "drive_days",
    "failures",
    "afr",
    "ci_low",
    "ci_high",
)
# A model left out: its counts as in the table (up to its failures), and why.
LEFT_OUT_COLUMNS = ("period", *AFR_COLUMNS[: AFR_COLUMNS.index("failures") + 1], "reason")
COUNTING = (
    "Backblaze's row counting: each row is a drive day and each row with failure=1 is a "
    "failure, so a serial that reports failure=1 twice counts twice and the days it reports "
    "after a failure count as drive days."
)
DEDUPED_COUNTING = (
    "Each drive once a day (--dedupe): rows that repeat a serial number on its day are not "
    "counted; otherwise as Backblaze counts (a drive reporting after a failure still counts)."
)


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
    """Per period and model: drives on the period's first and last day with data, drive days
    and failures.

    ``drives`` is the count on the last day with data (``last_day``), ``first_day_drives``
    the count on the first (``first_day``); both days are the period's, not the model's, so
    a model absent that day has 0 drives there.

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
        first_day, last_day = pc.min(inside["date"]), pc.max(inside["date"])
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
        first_drives, last_drives = drives_on(inside, first_day, last_day)
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
                    "first_day": first_day.as_py(),
                    "first_day_drives": int(first_drives.get(model, 0)),
                    "last_day": last_day.as_py(),
                    "drives": int(last_drives.get(model, 0)),
                    "drive_days": int(drive_days),
                    "failures": int(failures),
                    "repeats": int(repeats),
                }
            )
    return counted


def drives_on(
    model_days: pa.Table, first_day: pa.Scalar, last_day: pa.Scalar
) -> tuple[dict[str, int], dict[str, int]]:
    """Drives per model on two days of a model_days table (one pass over the table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    first_date, last_date = first_day.as_py(), last_day.as_py()
    days = pa.array([first_date, last_date], pa.date32())
    on_days = (
        model_days.filter(pc.is_in(model_days["date"], value_set=days))
        .group_by(["model", "date"], use_threads=False)
        .aggregate([("drives", "sum")])
    )
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for model, day, drives in zip(
        on_days["model"].to_pylist(),
        on_days["date"].to_pylist(),
        on_days["drives_sum"].to_pylist(),
        strict=True,
    ):
        if day == first_date:
            first[model] = drives
        if day == last_date:
            last[model] = drives
    return first, last


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
    drives_counted: int,
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
        "drives_counted": int(drives_counted),
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
    count_on: CountOn | None = None,
) -> AfrTable:
    """The AFR table of a period (or of each quarter or year in it) from the fleet tables.

    Each period (each part, with ``by``) takes the rule table's row for its kind and era;
    the flags replace their part of it.
    """
    periods = periods_within(period, by)
    facts = model_facts(models)
    counts = period_counts(model_days, periods, dedupe)
    by_period: dict[str, list[dict[str, Any]]] = {p.label: [] for p in periods}
    for count in counts:
        by_period[count["period"]].append(count)

    rows: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    applied: dict[InclusionRule, list[Period]] = {}
    days: dict[str, dict[str, str | None]] = {"first": {}, "last": {}, "count": {}}
    for part in periods:
        rule = inclusion_rule(part, min_drives, min_drive_days, include_boot, count_on)
        applied.setdefault(rule, []).append(part)
        included = []
        part_counts = by_period[part.label]
        for which in ("first", "last"):
            day = part_counts[0][f"{which}_day"].isoformat() if part_counts else None
            days[which][part.label] = day
        days["count"][part.label] = days[rule.count_on][part.label]
        for count in part_counts:
            vendor, capacity = facts.get(count["model"], (vendor_of(count["model"]), None))
            counted = count["first_day_drives"] if rule.count_on == "first" else count["drives"]
            row = afr_row(
                count["model"],
                vendor,
                capacity_tb(capacity),
                count["drives"],
                counted,
                count["drive_days"],
                count["failures"],
            )
            if not rule.include_boot and is_boot_drive(count["model"], capacity):
                reason = "boot drive"
            elif not rule.admits(counted, count["drive_days"]):
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
            sum(r["drives_counted"] for r in included),
            sum(r["drive_days"] for r in included),
            sum(r["failures"] for r in included),
        )
        for row in [*included, total]:
            rows.append({"period": part.label, **row} if by else row)

    rules = [rule_line(rule, parts, days["count"], by) for rule, parts in applied.items()]
    table = AfrTable(rows, left_out, periods, rules, by)
    table.notes = {
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "by": by,
            "first_day_with_data": days["first"],
            "last_day_with_data": days["last"],
            "count_day": days["count"],
            "first_day_without_data": {
                part.label: days["count"][part.label]
                for rule, parts in applied.items()
                for part in parts
                if rule.count_on == "first"
                and days["count"][part.label] not in (None, part.start.isoformat())
            },
        },
        "rules": rules,
        "inclusion": [
            {**rule.facts(), "periods": [part.label for part in parts]}
            for rule, parts in applied.items()
        ],
        "boot_rule": None if include_boot else BOOT_RULE,
        "left_out": left_out_summary(left_out),
        "counting": DEDUPED_COUNTING if dedupe else COUNTING,
        "repeated_rows": sum(count["repeats"] for count in counts),
        "dedupe": dedupe,
        "interval": "exact Poisson (Garwood) 95% interval on the failure count, per drive year",
    }
    return table


def rule_line(
    rule: InclusionRule,
    parts: Sequence[Period],
    count_days: Mapping[str, str | None],
    by: str | None,
) -> str:
    """The rule a table (or a run of its parts) applied, as a caption line without 'Rule: '.

    One period: 'drive count > 100 as of 2025-07-01 and drive days > 10,000 in 2025Q3';
    parts: '2025Q3 to 2026Q1: drive count > 100 as of each quarter's first day with data...'.
    """
    if by is None:
        (part,) = parts
        day = count_days[part.label] or f"its {rule.count_on} day with data"
        days_in = "over the lifetime" if rule.published.kind == "lifetime" else f"in {part.label}"
        return rule.sentence(day, days_in)
    span = parts[0].label if len(parts) == 1 else f"{parts[0].label} to {parts[-1].label}"
    day = f"each {by}'s {rule.count_on} day with data"
    return f"{span}: {rule.sentence(day, f'in the {by}')}"


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


def source_lines(inclusion: Iterable[Mapping[str, Any]]) -> list[str]:
    """Where each rule applied comes from, marked where the rule table's row is not quoted
    or is ambiguous; each source once."""
    lines: list[str] = []
    for rule in inclusion:
        source = rule["source"]
        heading = f"Source of {source['rule']}" + (f" {source['marks']}" if source["marks"] else "")
        report = "no report named" if source["report"] == "not named" else source["report"]
        if source["standing"] == "quoted":
            line = f'{heading}: {report}: "{source["wording"]}".'
        else:
            line = f"{heading}: {report}; {source['wording']}."
        if line in lines:
            continue
        lines.append(line)
        if source["ambiguity"]:
            lines.append(f"Ambiguous: {source['ambiguity']}.")
    return lines


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
    lines += source_lines(notes.get("inclusion", []))
    for label, day in notes["period"].get("first_day_without_data", {}).items():
        lines.append(
            f"No data on the first day of {label}: its drives are counted on {day}, "
            "its first day with data."
        )
    repeated = notes.get("repeated_rows", 0)
    if repeated and notes.get("dedupe"):
        lines.append(
            f"Counted each drive once a day: {counted(repeated, 'row')} repeating a drive on its "
            "day left out (--dedupe)."
        )
    elif repeated:
        lines.append(
            f"{counted(repeated, 'row')} repeat a drive on its day: counted as published, as "
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
            f"Left out as {reason}{per}: {counted(entry['models'], 'model')} with "
            f"{counted(entry['drives'], 'drive')} on the last day, "
            f"{counted(entry['drive_days'], 'drive day')} and {counted(entry['failures'], 'failure')}."
        )
    return "\n".join(lines)
