"""The AFR trend and survival charts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from drivestats.rates.afr import ALL_MODELS, AfrTable
from drivestats.rates.survival import SurvivalCurve

if TYPE_CHECKING:
    pass


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
