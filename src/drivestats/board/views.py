"""The board's views: each builds one plain dict, served as JSON or rendered as HTML.

The board never writes: no view makes a job, records the use of one, rolls an
import's journal forward or creates a file; the catalog is opened read-only.
Views read the catalog, job manifests and the fleet tables, never the store's month files.
Derived numbers come from jobs that ``drivestats demo``, ``drivestats afr`` or
``drivestats survival`` made, looked up with ``reuse_only`` (``fleet.fleet_tables``,
``rates.afr_job``, ``rates.survival_job``), so a page's figures carry a job id. When the
store has changed since the fleet tables were made, the pages show the newest
fleet tables there are and say where they stop. An AFR table nobody made is
computed in memory with the same functions as the afr stage and marked as such;
survival curves nobody made are a command to run.
Everything computed from a job is cached by the job's folder: a job never changes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from drivestats import catalog, jobs, rates
from drivestats.board.files import Refused, file_url, served_file
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

JOBS_PER_PAGE = 50
FILES_SHOWN = 20
TOP_MODELS = 9
CHART_POINTS = 240
SOURCE_COLUMNS = (
    "path, sha256, first_day, last_day, days, rows, drives, failures, columns, imported_at, job_id"
)
TO_UPDATE = (
    "Run `drivestats afr` (or `drivestats demo` in a demo workspace) to bring them up to date."
)


class NotFound(DrivestatsError):
    """A page about something the workspace does not hold (an unknown job id)."""


@dataclass(frozen=True)
class State:
    """What the pages' lookups depend on: the store's days and the jobs made so far."""

    days: int
    last_day: str | None
    day_row: int | None
    job_row: int | None


@dataclass(frozen=True)
class Fleet:
    """The fleet-tables job the pages show, and whether it covers the store as it is now."""

    job: jobs.JobResult
    current: bool  # made from exactly the days the store holds now
    store_last_day: str
    same_days: bool = False  # not current only because the code that makes them changed

    @property
    def until(self) -> str:
        """The last day the fleet tables cover."""
        return str(self.job.manifest["parameters"]["until"])

    def notice(self) -> dict[str, Any] | None:
        """What the pages say when the figures do not cover the store as it is now."""
        if self.current:
            return None
        if self.store_last_day > self.until:
            message = (
                f"The store has days after {self.until} (up to {self.store_last_day}); "
                f"these figures stop there. {TO_UPDATE}"
            )
        elif self.same_days:
            made = str(self.job.manifest.get("started", ""))[:10]
            message = (
                f"These figures were made (on {made}) by code that has changed since; "
                f"the data is the same. {TO_UPDATE}"
            )
        else:
            made = str(self.job.manifest.get("started", ""))[:10]
            message = (
                f"Days of the store were imported again after these figures were made "
                f"(on {made}); they show the data as it was then. {TO_UPDATE}"
            )
        return {
            "until": self.until,
            "store_last_day": self.store_last_day,
            "job": job_link(self.job.id),
            "message": message,
        }


def _same_days(workspace: Workspace, job: jobs.JobResult) -> bool:
    """True when a fleet-tables job was made from exactly the days the store holds now."""
    from drivestats import store

    now = store.day_inputs(store.stored_days(workspace, read_only=True))
    then = {entry["name"]: entry["sha256"] for entry in job.manifest["inputs"]["files"]}
    return now == then


@dataclass(frozen=True)
class AfrRows:
    """An AFR table for the pages: the afr job's, or computed here when no job made it."""

    rows: list[dict[str, Any]]
    notes: dict[str, Any]
    job: jobs.JobResult | None  # None: computed for this page and not saved
    command: str  # the command that makes it a job

    def made_by(self) -> dict[str, Any]:
        """The job link, or the note saying it was computed here and how to make it a job."""
        if self.job is not None:
            return {"job": job_link(self.job.id), "computed": None}
        return {
            "job": None,
            "computed": (
                "Computed for this page, not saved as a job; "
                f"`{self.command}` makes it an asset with provenance."
            ),
        }


class Board:
    """The workspace as the board sees it, with the jobs it has looked up, for one server."""

    def __init__(self, workspace: Workspace, remembered: int = 64):
        self.workspace = workspace
        # Requests run on several threads. What was looked up (found or not) is remembered
        # until a day is imported or a job made; the lock guards only that dict.
        self._lock = threading.Lock()
        self._state: State | None = None
        self._known: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._remembered = remembered
        self._children: tuple[tuple[Any, ...], dict[str, list[str]]] | None = None

    def state(self) -> State:
        """What changes whenever a day is added or replaced or a job is made (one cheap query)."""
        rows = catalog.query(
            self.workspace,
            "select (select count(*) from days) as days, (select max(day) from days) as last_day,"
            " (select max(rowid) from days) as day_row, (select max(rowid) from jobs) as job_row",
        )
        return State(**rows[0]) if rows else State(0, None, None, None)

    def _looked_up(self, key: tuple[Any, ...], find: Callable[[State], Any]) -> Any:
        """What find returns for the workspace's state now, remembered until that state changes."""
        state = self.state()
        with self._lock:
            if state != self._state:
                self._state, self._known = state, OrderedDict()
            if key in self._known:
                self._known.move_to_end(key)
                return self._known[key]
        found = find(state)
        with self._lock:
            if state == self._state:
                self._known[key] = found
                while len(self._known) > self._remembered:
                    self._known.popitem(last=False)
        return found

    def fleet(self) -> Fleet | None:
        """The fleet tables of the whole store if made, else the newest made; None if none."""
        return self._looked_up(("fleet",), self._find_fleet)

    def _find_fleet(self, state: State) -> Fleet | None:
        if not state.days or state.last_day is None:
            return None
        from drivestats import fleet

        try:
            return Fleet(fleet.fleet_tables(self.workspace, reuse_only=True), True, state.last_day)
        except DrivestatsError:
            pass
        rows = catalog.query(
            self.workspace,
            "select id, parameters from jobs where stage = 'fleet-tables'"
            " order by created desc, rowid desc",
        )
        # The tables that reach furthest; of those, the newest (the sort keeps that order).
        rows.sort(key=lambda row: _parameter(row["parameters"], "until"), reverse=True)
        for row in rows:
            try:
                made = jobs.load(self.workspace, row["id"])
                return Fleet(made, False, state.last_day, _same_days(self.workspace, made))
            except DrivestatsError:
                continue  # in the catalog, but its folder is gone
        return None

    def afr_job(self, fleet: Fleet, period: str, by: str | None = None) -> jobs.JobResult | None:
        """The afr job for a period over the fleet tables shown, if one was made; never makes one."""
        # Over older fleet tables, the job `drivestats afr --until <their last day>` would make.
        until = None if fleet.current else fleet.until
        return self._looked_up(
            ("afr", fleet.job.id, period, by),
            lambda _: _made_from(
                fleet,
                lambda: rates.afr_job(
                    self.workspace, period=period, until=until, by=by, reuse_only=True
                ),
            ),
        )

    def survival_job(self, fleet: Fleet) -> jobs.JobResult | None:
        """The Kaplan-Meier job for the default models of the fleet tables shown, if made."""
        until = None if fleet.current else fleet.until
        return self._looked_up(
            ("survival", fleet.job.id),
            lambda _: _made_from(
                fleet, lambda: rates.survival_job(self.workspace, until=until, reuse_only=True)
            ),
        )

    def children(self) -> dict[str, list[str]]:
        """For each job id, the jobs that list it as an input (read from manifests, cached)."""
        listed = jobs.recent_jobs(self.workspace)
        state = (len(listed), listed[0]["id"] if listed else None)
        if self._children and self._children[0] == state:
            return self._children[1]
        found: dict[str, list[str]] = {}
        for row in listed:
            inputs = (_manifest(self.workspace, row["stage"], row["id"]) or {}).get("inputs", {})
            # A job also uses another when it reads a file from that job's folder (an
            # import of the demo's zips), though it does not list it as an upstream job.
            parents = dict.fromkeys(inputs.get("jobs", []))
            for entry in inputs.get("files", []):
                parents.update(dict.fromkeys([job_holding(self.workspace, entry["name"])]))
            for parent in parents:
                if parent is not None and parent != row["id"]:
                    found.setdefault(parent, []).append(row["id"])
        self._children = (state, found)
        return found


def _made_from(fleet: Fleet, find: Callable[[], jobs.JobResult]) -> jobs.JobResult | None:
    """The job find returns if it exists and was made from the fleet tables shown, else None."""
    try:
        job = find()
    except DrivestatsError:  # JobNotMade, or a job whose folder is gone
        return None
    return job if job.manifest["inputs"]["jobs"] == [fleet.job.id] else None


def _parameter(text: str, name: str) -> str:
    try:
        return str(json.loads(text).get(name) or "")
    except (ValueError, AttributeError):
        return ""


def empty_state(board: Board) -> dict[str, Any]:
    """What an empty page says: what to import, or what to run on the days imported."""
    days = board.state().days
    if days:
        message = (
            f"The store holds {days:,} days, but no figures have been made from them yet: "
            "`drivestats afr` makes the fleet tables and the failure rates "
            "(`drivestats survival` and `drivestats movie` the rest)."
        )
    else:
        message = (
            "Nothing imported yet in this workspace. Make everything from a synthetic fleet "
            "with `drivestats demo`, or import Backblaze's files with `drivestats import PATH` "
            "and then run `drivestats afr`."
        )
    return {"empty": True, "empty_message": message}


def _manifest(workspace: Workspace, stage: str, identity: str) -> dict[str, Any] | None:
    path = jobs.job_folder(workspace, stage, identity) / jobs.MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def job_holding(workspace: Workspace, name: str) -> str | None:
    """The id of the job whose folder holds a file named absolutely or workspace-relative."""
    path = Path(name)
    home = workspace.home.resolve()
    if path.is_absolute():
        if not path.is_relative_to(home):
            return None
        path = path.relative_to(home)
    parts = path.parts
    if len(parts) >= 4 and parts[0] == workspace.jobs.name and ".." not in parts:
        return parts[2]
    return None


def stage_of(identity: str) -> str:
    """The stage named in a job id (ids are '<stage>-<hash>')."""
    return identity.rsplit("-", 1)[0]


def job_link(identity: str) -> dict[str, str]:
    return {"id": identity, "stage": stage_of(identity), "url": f"/jobs/{identity}"}


# --- home -----------------------------------------------------------------------


@lru_cache(maxsize=8)
def fleet_figures(folder: str) -> dict[str, Any]:
    """Headline numbers of a fleet-tables job: drives, failures, storage, date range."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    base = Path(folder)
    daily = pq.read_table(base / "daily.parquet")
    daily = daily.filter(pc.greater(daily["drives"], 0))
    dates = daily["date"].to_pylist()
    storage = daily["storage_bytes"].to_pylist()
    return {
        "drives": pq.ParquetFile(base / "drives.parquet").metadata.num_rows,
        "models": pq.ParquetFile(base / "models.parquet").metadata.num_rows,
        "failures": int(pc.sum(daily["failures"]).as_py() or 0),
        "drive_days": int(pc.sum(daily["drives"]).as_py() or 0),
        "drives_last_day": daily["drives"][-1].as_py() if len(daily) else 0,
        "storage_bytes": storage[-1] if storage else 0,
        "peak_storage_bytes": max(storage, default=0),
        "first_day": dates[0].isoformat() if dates else None,
        "last_day": dates[-1].isoformat() if dates else None,
        "days": len(dates),
    }


def results_listing(workspace: Workspace) -> list[dict[str, Any]]:
    """The entries of results/ that the board serves, with the job each one comes from."""
    if not workspace.results.is_dir():
        return []
    listed = []
    for entry in sorted(workspace.results.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            real = served_file(workspace, f"results/{entry.name}")
        except Refused:
            continue
        listed.append(
            {
                "name": entry.name,
                "url": file_url(workspace, f"results/{entry.name}"),
                "size": real.stat().st_size,
                "job": _job_of_path(workspace, real),
            }
        )
    return listed


def _job_of_path(workspace: Workspace, real: Path) -> str | None:
    try:
        parts = real.relative_to(workspace.jobs.resolve()).parts
    except ValueError:
        return None
    return parts[1] if len(parts) >= 3 else None


def movie_entries(workspace: Workspace, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every published movie (results/movie*.mp4): the whole one first, then by name."""
    movies = []
    for entry in results:
        name = entry["name"]
        if not (name.startswith("movie") and name.endswith(".mp4")):
            continue
        spec = _movie_parameters(workspace, entry["job"]) or {}
        manifest = (
            _manifest(workspace, stage_of(entry["job"]), entry["job"]) if entry["job"] else None
        )
        frames = ((manifest or {}).get("rows") or {}).get("frames")
        fps = spec.get("fps")
        movies.append(
            {
                **entry,
                "first_day": spec.get("clip_start") or spec.get("start"),
                "last_day": spec.get("clip_end") or spec.get("end"),
                "width": spec.get("width"),
                "height": spec.get("height"),
                "fps": fps,
                "frames": frames,
                "seconds": round(frames / fps, 1) if frames and fps else None,
                "page": f"/?movie={name}",
            }
        )
    movies.sort(key=lambda movie: (movie["name"] != "movie.mp4", movie["name"]))
    return movies


def movie_entry(
    workspace: Workspace, results: list[dict[str, Any]], wanted: str | None = None
) -> dict[str, Any] | None:
    """The movie to play (the asked one, else the whole-range one) and its poster.

    The poster is a published frame of the same movie, latest day first.
    """
    by_name = {entry["name"]: entry for entry in results}
    movies = movie_entries(workspace, results)
    if wanted is not None and wanted not in {m["name"] for m in movies}:
        raise DrivestatsError(f"no movie named {wanted!r} in results/")
    movie = next((m for m in movies if m["name"] == wanted), movies[0] if movies else None)
    if movie is None:
        return None
    frames = [
        by_name[name]
        for name in sorted(by_name, reverse=True)
        if name.startswith("frame-") and name.endswith(".png")
    ]
    spec = _movie_parameters(workspace, movie["job"])

    # A frame drawn with another look (size, cell, layout) would flash before playback.
    def whole(values: Any) -> Any:
        return {
            k: v for k, v in (values or {}).items() if k not in ("clip_start", "clip_end", "fps")
        }

    same = [
        f for f in frames if spec and whole(_movie_parameters(workspace, f["job"])) == whole(spec)
    ]
    poster = same[0] if same and not (spec or {}).get("clip_start") else None
    return {
        **movie,
        "poster": poster["url"] if poster else None,
        "poster_job": poster["job"] if poster else None,
    }


def _movie_parameters(workspace: Workspace, identity: str | None) -> Any:
    """The movie spec a movie or frame job was made with (its 'movie' parameter)."""
    manifest = _manifest(workspace, stage_of(identity), identity) if identity else None
    return (manifest or {}).get("parameters", {}).get("movie")


def home_page(board: Board, movie: str | None = None) -> dict[str, Any]:
    """A movie (the whole-range one unless asked), every other movie, the key figures and
    what is published in results/."""
    workspace = board.workspace
    fleet = board.fleet()
    results = results_listing(workspace)
    imports = catalog.query(
        workspace, "select count(*) as sources, max(imported_at) as last from sources"
    )
    job_count = catalog.query(workspace, "select count(*) as n from jobs")
    figures = dict(fleet_figures(str(fleet.job.dir))) if fleet else {}
    if fleet:
        lifetime = afr_rows(board, fleet, "lifetime")
        everything = [r for r in lifetime.rows if r["model"] == rates.ALL_MODELS]
        figures["afr"] = lifetime.made_by()
        if everything:
            figures["afr"].update({k: everything[0][k] for k in ("afr", "ci_low", "ci_high")})
    figures.update(
        {
            "sources": imports[0]["sources"] if imports else 0,
            "last_import": imports[0]["last"] if imports else None,
            "jobs": job_count[0]["n"] if job_count else 0,
        }
    )
    return {
        "title": "Drive Stats",
        "workspace": str(workspace.home),
        **(empty_state(board) if fleet is None else {"empty": False}),
        "stale": fleet.notice() if fleet else None,
        "movie": movie_entry(workspace, results, movie),
        "movies": movie_entries(workspace, results),
        "figures": figures,
        "fleet_job": job_link(fleet.job.id) if fleet else None,
        "results": results,
    }


# --- failure rates ------------------------------------------------------------------


def period_choices(first: dt.date, last: dt.date) -> list[dict[str, str]]:
    """The periods offered in the picker: lifetime, latest, every year and quarter with data."""
    choices = [
        {"value": "lifetime", "kind": "span"},
        {"value": "latest", "kind": "span"},
    ]
    for year in range(last.year, first.year - 1, -1):
        choices.append({"value": str(year), "kind": "year"})
        for quarter in range(4, 0, -1):
            start = dt.date(year, 3 * quarter - 2, 1)
            if start <= last and rates.quarter_of(start).end >= first:
                choices.append({"value": f"{year}Q{quarter}", "kind": "quarter"})
    return choices


def interval_scale(rows: list[dict[str, Any]]) -> float:
    """A shared axis end for the interval bars: wide enough for most rows, not for the widest."""
    highs = sorted(r["ci_high"] for r in rows if r.get("ci_high") is not None)
    if not highs:
        return 1.0
    # Models with few drive days have enormous intervals (and estimates); letting them
    # set the axis would squeeze every other bar into a sliver, so they are clipped
    # with an arrow and their numbers printed beside the bar.
    chosen = max(highs[int(0.8 * (len(highs) - 1))], 1.0)
    power = 10 ** math.floor(math.log10(chosen))
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= chosen)


def outputs_of(workspace: Workspace, job: jobs.JobResult, names: tuple[str, ...]) -> dict[str, str]:
    """Board URLs of some outputs of a job, by name, for those it has."""
    return {
        name: url
        for name in names
        if (job.dir / name).is_file() and (url := file_url(workspace, job.dir / name))
    }


def afr_command(period: str, by: str | None = None) -> str:
    """The command that makes the AFR table of a period as a job."""
    return f"drivestats afr --period {shlex.quote(period)}" + (f" --by {by}" if by else "")


@lru_cache(maxsize=16)
def computed_afr(folder: str, period: rates.Period, by: str | None = None) -> rates.AfrTable:
    """The AFR table the afr stage makes from a fleet-tables folder, computed here, not saved.

    The same reads and the same call as the afr stage's build with the CLI's defaults
    (Backblaze's rule, boot drives left out), so the rows and notes are those of the job.
    """
    import pyarrow.parquet as pq

    base = Path(folder)
    return rates.afr_table(
        pq.ParquetFile(base / "model_days.parquet").read(
            columns=["date", "model", "drives", "failures"]
        ),
        pq.ParquetFile(base / "models.parquet").read(columns=["model", "vendor", "capacity_bytes"]),
        period,
        by=by,
    )


def afr_rows(board: Board, fleet: Fleet, period: str, by: str | None = None) -> AfrRows:
    """The AFR table of a period over the fleet tables shown: the job's if made, else computed."""
    chosen = rates.resolved_period(period, fleet.job, None)  # a period without data says so
    command = afr_command(period, by)
    job = board.afr_job(fleet, period, by)
    if job is not None:
        return AfrRows(rates.read_rows(job, "afr.json"), job.manifest["notes"], job, command)
    table = computed_afr(str(fleet.job.dir), chosen, by)
    return AfrRows(table.rows, table.notes, None, command)


def rates_page(board: Board, period: str = "lifetime") -> dict[str, Any]:
    """The AFR table for a period with intervals, the quarterly trend and survival curves."""
    fleet = board.fleet()
    if fleet is None:
        return {"title": "Failure rates", **empty_state(board), "period": {"requested": period}}
    first, last = rates.data_span(fleet.job)
    page: dict[str, Any] = {
        "title": "Failure rates",
        "empty": False,
        "stale": fleet.notice(),
        "fleet_job": job_link(fleet.job.id),
        "periods": period_choices(first, last),
    }
    try:
        page.update(afr_section(board.workspace, afr_rows(board, fleet, period), period))
    except DrivestatsError as error:
        # The page stays, with its picker, so another period is one click away.
        page.update({"status": 400, "error": str(error), "period": {"requested": period}})
    page.update(trend_section(board, fleet))
    page.update(survival_section(board, fleet))
    return page


def afr_section(workspace: Workspace, table: AfrRows, period: str) -> dict[str, Any]:
    """An AFR table: model rows, the all-models row, its caption, and its job and files."""
    everything = next((r for r in table.rows if r["model"] == rates.ALL_MODELS), None)
    models = [r for r in table.rows if r["model"] != rates.ALL_MODELS]
    names = ("afr.csv", "afr.json", "left_out.csv")
    return {
        "period": {"requested": period, **table.notes["period"]},
        "afr": {
            **table.made_by(),
            "rows": models,
            "all": everything,
            "interval_scale": interval_scale(models),
            "caption": rates.caption_of(table.notes),
            "downloads": outputs_of(workspace, table.job, names) if table.job else {},
        },
    }


def trend_section(board: Board, fleet: Fleet) -> dict[str, Any]:
    """The all-models AFR per quarter over the whole of the fleet tables shown."""
    trend = afr_rows(board, fleet, "lifetime", by="quarter")
    names = ("afr.svg", "afr.png", "afr.csv")
    return {
        "trend": {
            **trend.made_by(),
            "quarters": [
                {k: r[k] for k in ("period", "drive_days", "failures", "afr", "ci_low", "ci_high")}
                for r in trend.rows
                if r["model"] == rates.ALL_MODELS
            ],
            "charts": outputs_of(board.workspace, trend.job, names) if trend.job else {},
        }
    }


def survival_section(board: Board, fleet: Fleet) -> dict[str, Any]:
    """The Kaplan-Meier curves of the fleet tables shown, or the command that makes them."""
    job = board.survival_job(fleet)
    if job is None:
        return {
            "survival": {
                "job": None,
                "empty_message": (
                    "No survival curves have been made from these fleet tables: "
                    "`drivestats survival` makes them."
                ),
            }
        }
    return {
        "survival": {
            "job": job_link(job.id),
            "rows": rates.read_rows(job, "survival.json"),
            "charts": outputs_of(
                board.workspace, job, ("survival.svg", "survival.png", "survival.csv")
            ),
            "method": job.manifest["notes"].get("method"),
        }
    }


# --- fleet --------------------------------------------------------------------------


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
        {"name": model, "values": [counts.get((day, model), 0) for day in chosen]} for model in top
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


# --- jobs ---------------------------------------------------------------------------


def jobs_page(board: Board, page: int = 1, stage: str | None = None) -> dict[str, Any]:
    """Every job newest first, a page at a time, optionally of one stage."""
    listed = jobs.recent_jobs(board.workspace)
    stages: dict[str, int] = {}
    for row in listed:
        stages[row["stage"]] = stages.get(row["stage"], 0) + 1
    chosen = [row for row in listed if stage is None or row["stage"] == stage]
    pages = max(1, math.ceil(len(chosen) / JOBS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = chosen[(page - 1) * JOBS_PER_PAGE : page * JOBS_PER_PAGE]

    def page_url(number: int) -> str:
        return f"/jobs?page={number}" + (f"&stage={stage}" if stage else "")

    return {
        "title": "Jobs",
        "stage": stage,
        "stages": [{"stage": s, "jobs": n} for s, n in sorted(stages.items())],
        "total": len(chosen),
        "page": page,
        "pages": pages,
        "per_page": JOBS_PER_PAGE,
        "previous": page_url(page - 1) if page > 1 else None,
        "next": page_url(page + 1) if page < pages else None,
        "jobs": [
            {
                "id": row["id"],
                "url": f"/jobs/{row['id']}",
                "stage": row["stage"],
                "created": row["created"],
                "seconds": row["seconds"],
                "reused": row["reused"],
                "last_used": row["last_used"],
                "parameters": jobs.short_parameters(json.loads(row["parameters"]), limit=90),
            }
            for row in shown
        ],
    }


def input_file(workspace: Workspace, entry: dict[str, str], sources: set[str]) -> dict[str, Any]:
    """An input file of a job: its download link, its imported source, the job that made it."""
    path = entry["name"].split("#", 1)[0]  # a stored day is named <file>#<day>
    made_by = job_holding(workspace, path)
    return {
        "name": entry["name"],
        "sha256": entry["sha256"],
        "url": file_url(workspace, path),
        "source": f"/sources#{entry['sha256']}" if entry["sha256"] in sources else None,
        "job": job_link(made_by) if made_by else None,
    }


def job_page(board: Board, identity: str, all_files: bool = False) -> dict[str, Any]:
    """A job's manifest, its upstream and downstream jobs, its input files and its outputs."""
    workspace = board.workspace
    try:
        job = jobs.load(workspace, identity)
    except DrivestatsError as error:
        raise NotFound(str(error)) from None
    manifest = job.manifest
    known_sources = {
        row["sha256"] for row in catalog.query(workspace, "select sha256 from sources")
    }
    files = manifest["inputs"]["files"]
    shown = files if all_files else files[:FILES_SHOWN]
    published = [entry for entry in results_listing(workspace) if entry["job"] == job.id]
    return {
        "title": f"Job {job.id}",
        "id": job.id,
        "stage": job.stage,
        "folder": workspace.relative(job.dir),
        "builder": manifest.get("builder"),
        "started": manifest.get("started"),
        "ended": manifest.get("ended"),
        "wall_seconds": manifest.get("wall_seconds"),
        "cpu_seconds": manifest.get("cpu_seconds"),
        "parameters": manifest.get("parameters", {}),
        "rows": manifest.get("rows", {}),
        "upstream": [job_link(parent) for parent in manifest["inputs"]["jobs"]],
        "downstream": [job_link(child) for child in board.children().get(job.id, [])],
        "files": [input_file(workspace, entry, known_sources) for entry in shown],
        "files_total": len(files),
        "files_url": f"/jobs/{job.id}?files=all" if len(shown) < len(files) else None,
        "outputs": [
            {**entry, "url": file_url(workspace, job.dir / entry["name"])}
            for entry in manifest["outputs"]
        ]
        + [
            {
                "name": jobs.MANIFEST,
                "sha256": None,
                "size": (job.dir / jobs.MANIFEST).stat().st_size,
                "url": file_url(workspace, job.dir / jobs.MANIFEST),
            }
        ],
        "published": published,
        "code": manifest.get("code", {}),
        "versions": manifest.get("versions", {}),
        "notes": manifest.get("notes", {}),
        "manifest_url": file_url(workspace, job.dir / jobs.MANIFEST),
    }


# --- sources ------------------------------------------------------------------------


def sources_page(board: Board) -> dict[str, Any]:
    """Every imported file with its sha256, its days and rows, and the job that imported it."""
    # Read straight from the catalog: the board never rolls an import's journal forward.
    rows = catalog.query(
        board.workspace, f"select {SOURCE_COLUMNS} from sources order by imported_at, path"
    )
    totals = {key: sum(row[key] or 0 for row in rows) for key in ("days", "rows", "failures")}
    return {
        "title": "Sources",
        **(empty_state(board) if not rows else {"empty": False}),
        "sources": [
            {
                **row,
                "name": Path(row["path"]).name,
                "job": job_link(row["job_id"]) if row["job_id"] else None,
            }
            for row in rows
        ],
        "totals": {"sources": len(rows), **totals},
    }
