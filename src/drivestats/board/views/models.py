"""A page per model, the index of every model, and a model's block cut out of the latest poster.

The figures come from the functions the afr and survival stages use, over the
fleet tables the board shows: a model's AFR per quarter and over its lifetime
from ``rates.afr_table`` with every model admitted (no drive threshold, boot
drives too), so that any model has its numbers; the fleet's from the table the
afr stage makes by default (Backblaze's rule), the job's if made; Kaplan-Meier
from ``rates.survival_of_model``. Everything is cached by the fleet-tables
folder (or the poster's): a job never changes.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from drivestats import catalog, jobs, rates
from drivestats.backblaze.format import capacity_label
from drivestats.board.files import file_url
from drivestats.board.views.common import (
    Board,
    Fleet,
    NotFound,
    empty_state,
    job_link,
    model_url,
)
from drivestats.board.views.failure_rates import afr_rows, interval_scale
from drivestats.board.views.fleet_history import sampled_days
from drivestats.errors import DrivestatsError

if TYPE_CHECKING:
    import pyarrow as pa

SURVIVAL_POINTS = 300  # a curve has a point per distinct lifetime; the chart needs far fewer
FLEET_SURVIVAL = "fleet (data drives)"
FLEET_AFR = "fleet (Backblaze's rule)"
EVERY_MODEL_RULE = (
    "every model counts here, whatever its size (no drive threshold, boot drives included), "
    "so a quarter with few drive days has a wide interval"
)
POSTER_COMMAND = "drivestats frame DAY"


def search_text(model: str, vendor: str | None, capacity_bytes: int | None) -> str:
    """What the search box matches a model by: its name, vendor and capacity, lower case."""
    capacity = capacity_label(capacity_bytes) if capacity_bytes and capacity_bytes > 0 else ""
    return " ".join(part for part in (model, vendor or "", capacity) if part).lower()


def matches(text: str, query: str) -> bool:
    """Whether every word of a query is found in a model's search text (as board.js decides)."""
    return all(word in text for word in query.lower().split())


# --- figures from the fleet tables ----------------------------------------------------


@dataclass(frozen=True)
class ModelFigures:
    """Per model: its facts, its lifetime AFR row and its AFR rows per quarter."""

    facts: dict[str, dict[str, Any]]
    lifetime: dict[str, dict[str, Any]]
    quarters: dict[str, list[dict[str, Any]]]
    labels: list[str]  # every quarter of the fleet tables, in order


@lru_cache(maxsize=8)
def _table(folder: str, name: str, columns: tuple[str, ...]) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.ParquetFile(Path(folder) / f"{name}.parquet").read(columns=list(columns))


def _model_days(folder: str) -> pa.Table:
    return _table(folder, "model_days", ("date", "model", "drives", "failures"))


def _models(folder: str) -> pa.Table:
    return _table(folder, "models", ("model", "vendor", "capacity_bytes"))


@lru_cache(maxsize=4)
def model_figures(folder: str, lifetime: rates.Period) -> ModelFigures:
    """Every model's AFR, lifetime and per quarter, with no model left out."""
    import pyarrow.parquet as pq

    model_days, models = _model_days(folder), _models(folder)
    whole, by_quarter = (
        rates.afr_table(
            model_days, models, lifetime, by, min_drives=0, min_drive_days=0, include_boot=True
        )
        for by in (None, "quarter")
    )
    quarters: dict[str, list[dict[str, Any]]] = {}
    for row in by_quarter.rows:
        if row["model"] != rates.ALL_MODELS:
            quarters.setdefault(row["model"], []).append(row)
    facts = {}
    for row in pq.read_table(Path(folder) / "models.parquet").to_pylist():
        facts[row["model"]] = {
            **row,
            "first_day": row["first_day"].isoformat(),
            "last_day": row["last_day"].isoformat(),
        }
    return ModelFigures(
        facts,
        {row["model"]: row for row in whole.rows if row["model"] != rates.ALL_MODELS},
        quarters,
        [period.label for period in by_quarter.periods],
    )


@lru_cache(maxsize=64)
def drives_over_time(folder: str, model: str) -> dict[str, list[Any]]:
    """A model's drives reporting per day (at most about CHART_POINTS days, evenly spaced)."""
    import pyarrow.compute as pc

    mine = _model_days(folder)
    mine = mine.filter(pc.equal(mine["model"], model)).sort_by("date")
    days = mine["date"].to_pylist()
    drives = dict(zip(days, mine["drives"].to_pylist(), strict=True))
    chosen = sampled_days(days)
    return {"dates": [day.isoformat() for day in chosen], "drives": [drives[d] for d in chosen]}


@lru_cache(maxsize=2)
def _drives(folder: str) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.ParquetFile(Path(folder) / "drives.parquet").read(
        columns=["model", "first_day", "last_day", "failure_day"]
    )


def thinned_curve(curve: rates.SurvivalCurve, points: int = SURVIVAL_POINTS) -> dict[str, Any]:
    """A curve with at most about ``points`` steps, its first and last kept."""
    count = len(curve.years)
    step = max(1, -(-count // points))
    chosen = list(range(0, count, step))
    if chosen[-1] != count - 1:
        chosen.append(count - 1)
    return {
        "years": [curve.years[i] for i in chosen],
        "survival": [curve.survival[i] for i in chosen],
        "lows": [curve.low[i] for i in chosen],
        "highs": [curve.high[i] for i in chosen],
    }


@lru_cache(maxsize=64)
def model_survival(folder: str, model: str) -> dict[str, Any]:
    """A model's Kaplan-Meier row and curve, as the survival stage computes them."""
    try:
        row, curve = rates.survival_of_model(_drives(folder), model)
    except DrivestatsError as error:  # every drive of it first reported as another model
        return {"name": model, "row": None, "note": str(error), "years": []}
    return {"name": model, "row": row, **thinned_curve(curve)}


@lru_cache(maxsize=4)
def fleet_survival(folder: str) -> dict[str, Any]:
    """The Kaplan-Meier curve of every data drive of the fleet (boot drives left out)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    facts = _models(folder).to_pylist()
    data_models = [
        row["model"]
        for row in facts
        if not rates.is_boot_drive(row["model"], row["capacity_bytes"])
    ]
    drives = _drives(folder)
    drives = drives.filter(pc.is_in(drives["model"], pa.array(data_models, pa.string())))
    if drives.num_rows == 0:
        return {"name": FLEET_SURVIVAL, "row": None, "years": []}
    # One model name for them all: the stage's own function then follows the whole fleet.
    drives = drives.set_column(
        drives.schema.get_field_index("model"),
        "model",
        pa.array([FLEET_SURVIVAL] * drives.num_rows, pa.string()),
    )
    row, curve = rates.survival_of_model(drives, FLEET_SURVIVAL)
    return {"name": FLEET_SURVIVAL, "row": row, **thinned_curve(curve)}


# --- the pages -----------------------------------------------------------------------


def figures_of(fleet: Fleet) -> ModelFigures:
    """Every model's figures over the fleet tables shown."""
    return model_figures(str(fleet.job.dir), rates.resolved_period("lifetime", fleet.job, None))


def model_row(figures: ModelFigures, model: str) -> dict[str, Any]:
    """A model's line in the index: facts, search text and lifetime AFR."""
    facts = figures.facts[model]
    lifetime = figures.lifetime.get(model, {})
    capacity = facts.get("capacity_bytes") or 0
    return {
        "model": model,
        "url": model_url(model),
        "vendor": facts.get("vendor"),
        "capacity_bytes": capacity,
        "capacity_tb": rates.capacity_tb(capacity),
        "capacity_label": capacity_label(capacity) if capacity > 0 else None,
        "first_day": facts["first_day"],
        "last_day": facts["last_day"],
        "drives": facts["drives"],
        "peak_drives": facts["peak_drives"],
        "failures": facts["failures"],
        "drive_days": lifetime.get("drive_days", 0),
        "afr": lifetime.get("afr"),
        "ci_low": lifetime.get("ci_low"),
        "ci_high": lifetime.get("ci_high"),
        "boot": rates.is_boot_drive(model, capacity or None),
        "search": search_text(model, facts.get("vendor"), capacity),
    }


def models_index_page(board: Board, query: str = "") -> dict[str, Any]:
    """Every model, with its lifetime AFR, for a sortable table filtered as one types."""
    fleet = board.fleet()
    if fleet is None:
        return {"title": "Models", **empty_state(board), "query": query, "models": []}
    figures = figures_of(fleet)
    rows = [model_row(figures, model) for model in figures.facts]
    rows.sort(key=lambda row: (-row["drives"], row["model"]))
    for row in rows:
        row["shown"] = matches(row["search"], query)
    return {
        "title": "Models",
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet.job.id),
        "query": query,
        "matching": sum(row["shown"] for row in rows),
        "models": rows,
        "rule": EVERY_MODEL_RULE,
        "interval_scale": interval_scale(rows),
    }


def known_model(figures: ModelFigures, model: str) -> str:
    """The model as the fleet tables name it, or NotFound with the closest names."""
    if model in figures.facts:
        return model
    cleaned = " ".join(model.split())
    if cleaned in figures.facts:
        return cleaned
    close = difflib.get_close_matches(cleaned, sorted(figures.facts), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise NotFound(f"no model {model!r} in the fleet tables{hint}")


def quarter_rows(
    figures: ModelFigures, model: str, fleet_quarters: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The model's AFR per quarter beside the fleet's, from its first quarter to its last."""
    own = {row["period"]: row for row in figures.quarters.get(model, [])}
    if not own:
        return []
    labels = figures.labels
    first, last = labels.index(min(own)), labels.index(max(own))
    rows = []
    for label in labels[first : last + 1]:
        row = own.get(label, {})
        fleet = fleet_quarters.get(label, {})
        rows.append(
            {
                "period": label,
                **{k: row.get(k) for k in ("drives", "drive_days", "failures", "afr")},
                "ci_low": row.get("ci_low"),
                "ci_high": row.get("ci_high"),
                "fleet_afr": fleet.get("afr"),
                "fleet_ci_low": fleet.get("ci_low"),
                "fleet_ci_high": fleet.get("ci_high"),
            }
        )
    return rows


def fleet_quarters(board: Board, fleet: Fleet) -> tuple[dict[str, dict[str, Any]], Any]:
    """The fleet's AFR per quarter (the all-models rows under Backblaze's rule) and its source."""
    trend = afr_rows(board, fleet, "lifetime", by="quarter")
    rows = {r["period"]: r for r in trend.rows if r["model"] == rates.ALL_MODELS}
    return rows, trend


def model_page(board: Board, model: str) -> dict[str, Any]:
    """One model: facts, drives over time, AFR per quarter and lifetime beside the fleet's,
    its Kaplan-Meier curve beside the fleet's, failures per quarter, its block on the poster."""
    fleet = board.fleet()
    if fleet is None:
        raise NotFound(f"no model {model!r}: no fleet tables have been made in this workspace")
    figures = figures_of(fleet)
    model = known_model(figures, model)
    folder = str(fleet.job.dir)
    fleet_by_quarter, trend = fleet_quarters(board, fleet)
    lifetime_table = afr_rows(board, fleet, "lifetime")
    everything = next((r for r in lifetime_table.rows if r["model"] == rates.ALL_MODELS), None)
    row = model_row(figures, model)
    return {
        "title": model,
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet.job.id),
        "model": row,
        "lifetime": figures.lifetime.get(model),
        "fleet_lifetime": everything,
        "fleet_made_by": {"lifetime": lifetime_table.made_by(), "quarters": trend.made_by()},
        "rules": {"model": EVERY_MODEL_RULE, "fleet": "; ".join(trend.notes.get("rules", []))},
        "quarters": quarter_rows(figures, model, fleet_by_quarter),
        "drives_over_time": drives_over_time(folder, model),
        "survival": {
            "model": model_survival(folder, model),
            "fleet": fleet_survival(folder),
            "method": "Kaplan-Meier per model, as `drivestats survival` computes it",
        },
        "poster": poster_section(board, model),
        "compare_url": f"/compare?model={quote(model, safe='')}",
    }


# --- the block on the poster ------------------------------------------------------


def latest_poster(board: Board) -> jobs.JobResult | None:
    """The movie-frame job of the latest day (the newest of that day), if any was made."""
    found: jobs.JobResult | None = board.remembered(("poster",), lambda: _latest_poster(board))
    return found


def _latest_poster(board: Board) -> jobs.JobResult | None:
    rows = catalog.query(
        board.workspace,
        "select id from jobs where stage = 'movie-frame' order by created desc, rowid desc",
    )
    found: list[tuple[str, int, jobs.JobResult]] = []
    for order, row in enumerate(rows):
        try:
            job = jobs.load(board.workspace, row["id"])
        except DrivestatsError:
            continue  # in the catalog, but its folder is gone
        found.append((str(job.manifest["parameters"].get("day", "")), -order, job))
    return max(found, key=lambda entry: entry[:2])[2] if found else None


@dataclass(frozen=True)
class PlacedBlock:
    """Where a model's block and label lie on a poster, and whether it shares an 'other' block."""

    x: int
    y: int
    width: int
    height: int
    gathered: bool


@lru_cache(maxsize=4)
def poster_blocks(frame_folder: str, fleet_folder: str) -> dict[str, PlacedBlock]:
    """Each model's block (with its label) on a poster, from the layout the movie drew it with."""
    from drivestats.movie.layout import OTHER
    from drivestats.movie.render import scene
    from drivestats.movie.spec import MovieSpec

    manifest = json.loads((Path(frame_folder) / jobs.MANIFEST).read_text())
    fleet_manifest = json.loads((Path(fleet_folder) / jobs.MANIFEST).read_text())
    fleet_job = jobs.JobResult(
        fleet_manifest["id"], fleet_manifest["stage"], Path(fleet_folder), False, fleet_manifest
    )
    spec = MovieSpec.from_params(manifest["parameters"]["movie"])
    placed = scene(fleet_job, spec).layout
    margin = placed.typography.margin // 2
    blocks = {}
    for block in placed.blocks:
        box = block.footprint.grown(margin)
        left, top = max(box.x, 0), max(box.y, 0)
        right, bottom = min(box.right, placed.width), min(box.bottom, placed.height)
        for model in block.models:
            blocks[model] = PlacedBlock(left, top, right - left, bottom - top, block.key == OTHER)
    return blocks


def _poster_fleet(board: Board, poster: jobs.JobResult) -> jobs.JobResult | None:
    upstream = [i for i in poster.manifest["inputs"]["jobs"] if i.startswith("fleet-tables-")]
    try:
        return jobs.load(board.workspace, upstream[0]) if upstream else None
    except DrivestatsError:
        return None


def poster_section(board: Board, model: str) -> dict[str, Any]:
    """The poster the block is cut from, where the block lies, or what makes a poster."""
    poster = latest_poster(board)
    if poster is None:
        return {
            "job": None,
            "message": f"No poster yet: `{POSTER_COMMAND}` (or `drivestats demo`) makes one.",
        }
    day = str(poster.manifest["parameters"].get("day", ""))
    base = {
        "job": job_link(poster.id),
        "day": day,
        "url": file_url(board.workspace, poster.dir / "frame.png"),
    }
    fleet_job = _poster_fleet(board, poster)
    if fleet_job is None:
        return {**base, "block": None, "message": "The poster's fleet tables are gone."}
    block = poster_blocks(str(poster.dir), str(fleet_job.dir)).get(model)
    if block is None:
        return {
            **base,
            "block": None,
            "message": f"{model} has no block on the poster of {day}: it reported after it.",
        }
    return {
        **base,
        "block": {
            "x": block.x,
            "y": block.y,
            "width": block.width,
            "height": block.height,
            "gathered": block.gathered,
            "url": model_url(model) + "/block.png",
        },
        "message": (
            "Gathered with other small models in one 'other' block." if block.gathered else None
        ),
    }


@lru_cache(maxsize=64)
def _cropped(frame: str, box: tuple[int, int, int, int]) -> bytes:
    import io

    from PIL import Image

    with Image.open(frame) as image:
        part = image.crop(box)
        out = io.BytesIO()
        part.save(out, format="PNG")
    return out.getvalue()


def model_block_png(board: Board, model: str) -> bytes:
    """The model's block and label cut out of the latest poster, as PNG bytes; NotFound if none."""
    fleet = board.fleet()
    if fleet is None:
        raise NotFound("no fleet tables have been made in this workspace")
    model = known_model(figures_of(fleet), model)
    poster = latest_poster(board)
    if poster is None:
        raise NotFound(f"no poster yet: `{POSTER_COMMAND}` makes one")
    fleet_job = _poster_fleet(board, poster)
    block = poster_blocks(str(poster.dir), str(fleet_job.dir)).get(model) if fleet_job else None
    if block is None:
        raise NotFound(f"{model} has no block on the latest poster")
    box = (block.x, block.y, block.x + block.width, block.y + block.height)
    return _cropped(str(poster.dir / "frame.png"), box)
