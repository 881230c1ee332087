"""AFR tables: counts per model and period from the fleet tables, rows, what was left out, captions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivestats.backblaze.format import vendor_of
from drivestats.fleet import model_facts
from drivestats.rates.intervals import afr_interval, annualized_failure_rate
from drivestats.rates.periods import Period, periods_within
from drivestats.rates.rules import BOOT_RULE, inclusion_rule, is_boot_drive

if TYPE_CHECKING:
    import pyarrow as pa

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
