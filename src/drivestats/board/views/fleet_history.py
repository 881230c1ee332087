"""The fleet page: drives, failures and storage over time."""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from drivestats import rates
from drivestats.board.views.common import (
    CHART_POINTS,
    TOP_MODELS,
    Board,
    empty_state,
    job_link,
    model_url,
)
from drivestats.board.views.failure_rates import outputs_of
from drivestats.board.views.home import fleet_figures


def sampled_days(days: list[dt.date], points: int = CHART_POINTS) -> list[dt.date]:
    """At most about ``points`` evenly spaced days, always with the first and the last."""
    if len(days) <= points:
        return list(days)
    step = math.ceil(len(days) / points)
    chosen = days[::step]
    return chosen if chosen[-1] == days[-1] else [*chosen, days[-1]]


@lru_cache(maxsize=4)
def fleet_series(folder: str) -> dict[str, Any]:
    """Chart data from a fleet-tables job: drives per model, storage, failures per quarter."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    base = Path(folder)
    daily = pq.read_table(base / "daily.parquet").sort_by("date")
    models = pq.read_table(base / "models.parquet").sort_by(
        [("peak_drives", "descending"), ("model", "ascending")]
    )
    days = daily["date"].to_pylist()
    chosen = sampled_days(days)
    top = models["model"].to_pylist()[:TOP_MODELS]
    model_days = pq.read_table(base / "model_days.parquet", columns=["date", "model", "drives"])
    model_days = model_days.filter(pc.is_in(model_days["date"], pa.array(chosen, pa.date32())))
    counts: dict[tuple[dt.date, str], int] = {}
    for row in model_days.to_pylist():
        counts[(row["date"], row["model"])] = row["drives"]
    totals = dict(zip(days, daily["drives"].to_pylist(), strict=True))
    series = [
        {
            "name": model,
            "values": [counts.get((day, model), 0) for day in chosen],
            "url": model_url(model),
        }
        for model in top
    ]
    others = len(models) - len(top)
    if others > 0:
        shown = [sum(s["values"][i] for s in series) for i in range(len(chosen))]
        series.append(
            {
                "name": f"other {others} models",
                "values": [totals[day] - shown[i] for i, day in enumerate(chosen)],
            }
        )
    storage = dict(zip(days, daily["storage_bytes"].to_pylist(), strict=True))
    quarters: dict[str, dict[str, Any]] = {}
    for day, drives, failures in zip(
        days, daily["drives"].to_pylist(), daily["failures"].to_pylist(), strict=True
    ):
        quarter = rates.quarter_of(day)
        entry = quarters.setdefault(
            quarter.label,
            {
                "quarter": quarter.label,
                "failures": 0,
                "drive_days": 0,
                "days": 0,
                "days_in_quarter": (quarter.end - quarter.start).days + 1,
            },
        )
        entry["failures"] += failures
        entry["drive_days"] += drives
        entry["days"] += 1
    model_rows = [
        {**row, "first_day": row["first_day"].isoformat(), "last_day": row["last_day"].isoformat()}
        for row in models.to_pylist()
    ]
    return {
        "dates": [day.isoformat() for day in chosen],
        "drives_per_model": series,
        "storage_bytes": [storage[day] for day in chosen],
        "drives": [totals[day] for day in chosen],
        "failures_per_quarter": list(quarters.values()),
        "models": model_rows,
    }


def fleet_page(board: Board) -> dict[str, Any]:
    """Drives per model over time, total storage over time, failures per quarter, the models."""
    fleet = board.fleet()
    if fleet is None:
        return {"title": "Fleet", **empty_state(board)}
    fleet_job = fleet.job
    return {
        "title": "Fleet",
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet_job.id),
        "figures": fleet_figures(str(fleet_job.dir)),
        **fleet_series(str(fleet_job.dir)),
        "downloads": outputs_of(
            board.workspace,
            fleet_job,
            ("drives.parquet", "models.parquet", "daily.parquet", "model_days.parquet"),
        ),
    }
