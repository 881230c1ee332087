"""Two to five models side by side: their AFR per quarter and their survival curves on one chart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drivestats.board.views.common import Board, NotFound, empty_state, job_link
from drivestats.board.views.models import (
    EVERY_MODEL_RULE,
    FLEET_AFR,
    figures_of,
    fleet_quarters,
    known_model,
    model_row,
    model_survival,
)

FEWEST = 2
MOST = 5
REFERENCE_COLOUR = "#888888"


def compare_page(board: Board, asked: Sequence[str]) -> dict[str, Any]:
    """The chosen models' AFR trends and Kaplan-Meier curves, each on one chart, and a picker."""
    fleet = board.fleet()
    if fleet is None:
        return {"title": "Compare models", **empty_state(board), "chosen": [], "options": []}
    figures = figures_of(fleet)
    page: dict[str, Any] = {
        "title": "Compare models",
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet.job.id),
        "fewest": FEWEST,
        "most": MOST,
        "rule": EVERY_MODEL_RULE,
    }
    chosen: list[str] = []
    unknown = []
    for name in asked:
        try:
            model = known_model(figures, name)
        except NotFound:  # said below, with the others
            unknown.append(name)
            continue
        if model not in chosen:
            chosen.append(model)
    rows = sorted(
        (model_row(figures, model) for model in figures.facts),
        key=lambda row: (-row["drives"], row["model"]),
    )
    page["options"] = [{**row, "chosen": row["model"] in chosen, "shown": True} for row in rows]
    page["chosen"] = [row for row in rows if row["model"] in chosen]
    page["chosen"].sort(key=lambda row: chosen.index(row["model"]))
    if unknown:
        page.update(
            status=404, error=f"no model {', '.join(map(repr, unknown))} in the fleet tables"
        )
    elif len(chosen) > MOST:
        page.update(status=400, error=f"pick at most {MOST} models, not {len(chosen)}")
    elif len(chosen) < FEWEST:
        page["message"] = f"Pick {FEWEST} to {MOST} models to compare."
    if "error" in page or len(chosen) < FEWEST:
        return {**page, "labels": [], "afr_series": [], "survival_series": []}

    own = {model: {r["period"]: r for r in figures.quarters.get(model, [])} for model in chosen}
    spans = [figures.labels.index(p) for periods in own.values() for p in periods]
    labels = figures.labels[min(spans) : max(spans) + 1] if spans else []
    fleet_by_quarter, trend = fleet_quarters(board, fleet)

    def column(rows: dict[str, dict[str, Any]], key: str) -> list[Any]:
        return [rows.get(label, {}).get(key) for label in labels]

    afr_series = [
        {
            "name": model,
            "url": row["url"],
            "values": column(own[model], "afr"),
            "lows": column(own[model], "ci_low"),
            "highs": column(own[model], "ci_high"),
            "band": False,
        }
        for model, row in zip(chosen, page["chosen"], strict=True)
    ]
    afr_series.append(
        {
            "name": FLEET_AFR,
            "values": column(fleet_by_quarter, "afr"),
            "lows": column(fleet_by_quarter, "ci_low"),
            "highs": column(fleet_by_quarter, "ci_high"),
            "dashed": True,
            "reference": True,
            "colour": REFERENCE_COLOUR,
        }
    )
    folder = str(fleet.job.dir)
    survival_series = [
        {**model_survival(folder, model), "url": row["url"], "band": False}
        for model, row in zip(chosen, page["chosen"], strict=True)
    ]
    return {
        **page,
        "labels": labels,
        "afr_series": afr_series,
        "survival_series": survival_series,
        "fleet_made_by": trend.made_by(),
    }
