"""What every page needs: the board (its workspace, state and caches), the fleet tables it shows, job links."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from drivestats import catalog, jobs, rates
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

    def remembered(self, key: tuple[Any, ...], find: Callable[[], Any]) -> Any:
        """What find returns, remembered until a day is imported or a job made."""
        return self._looked_up(key, lambda _: find())

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
            inputs = (manifest_of(self.workspace, row["stage"], row["id"]) or {}).get("inputs", {})
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


def manifest_of(workspace: Workspace, stage: str, identity: str) -> dict[str, Any] | None:
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


def model_url(model: str) -> str:
    """The board URL of a model's page: the name quoted whole, spaces and slashes too."""
    return "/models/" + quote(model, safe="")
