"""Kaplan-Meier survival per model from the fleet's drives table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivestats.backblaze.format import clean_model, vendor_of
from drivestats.errors import DrivestatsError
from drivestats.fleet import model_facts
from drivestats.rates.afr import capacity_tb
from drivestats.rates.intervals import CONFIDENCE, DAYS_PER_YEAR
from drivestats.rates.rules import is_boot_drive

if TYPE_CHECKING:
    import pyarrow as pa

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
