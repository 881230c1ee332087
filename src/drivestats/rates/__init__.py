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

from drivestats.rates.afr import (
    AFR_COLUMNS,
    ALL_MODELS,
    COUNTING,
    LEFT_OUT_COLUMNS,
    AfrTable,
    afr_table,
    capacity_tb,
    caption_of,
    left_out_summary,
    period_counts,
)
from drivestats.rates.charts import afr_chart, survival_chart
from drivestats.rates.files import read_rows, write_csv, write_json
from drivestats.rates.intervals import (
    CONFIDENCE,
    DAYS_PER_YEAR,
    afr_interval,
    annualized_failure_rate,
    poisson_interval,
)
from drivestats.rates.periods import (
    Period,
    parse_day,
    period_for,
    periods_within,
    quarter_label,
    quarter_of,
)
from drivestats.rates.rule_table import RULE_TABLE, PublishedRule, published_rule
from drivestats.rates.rules import (
    BOOT_RULE,
    InclusionRule,
    inclusion_rule,
    is_boot_drive,
    rule_kind,
)
from drivestats.rates.stages import (
    AFR_STAGE,
    SURVIVAL_STAGE,
    afr_job,
    afr_link_name,
    data_span,
    fleet_table,
    publish,
    resolved_period,
    survival_job,
    survival_link_name,
)
from drivestats.rates.survival import (
    SURVIVAL_COLUMNS,
    SurvivalCurve,
    chosen_models,
    default_survival_models,
    survival_of_model,
    survival_table,
)

__all__ = [
    "AFR_COLUMNS",
    "AFR_STAGE",
    "ALL_MODELS",
    "BOOT_RULE",
    "CONFIDENCE",
    "COUNTING",
    "DAYS_PER_YEAR",
    "LEFT_OUT_COLUMNS",
    "RULE_TABLE",
    "SURVIVAL_COLUMNS",
    "SURVIVAL_STAGE",
    "AfrTable",
    "InclusionRule",
    "Period",
    "PublishedRule",
    "SurvivalCurve",
    "afr_chart",
    "afr_interval",
    "afr_job",
    "afr_link_name",
    "afr_table",
    "annualized_failure_rate",
    "capacity_tb",
    "caption_of",
    "chosen_models",
    "data_span",
    "default_survival_models",
    "fleet_table",
    "inclusion_rule",
    "is_boot_drive",
    "left_out_summary",
    "parse_day",
    "period_counts",
    "period_for",
    "periods_within",
    "poisson_interval",
    "publish",
    "published_rule",
    "quarter_label",
    "quarter_of",
    "read_rows",
    "resolved_period",
    "rule_kind",
    "survival_chart",
    "survival_job",
    "survival_link_name",
    "survival_of_model",
    "survival_table",
    "write_csv",
    "write_json",
]
