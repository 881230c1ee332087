"""The history of runs: which command made or reused which jobs, when, in how long.

Every job use is recorded with the id of the command run it belongs to (an environment
variable, so that worker processes share it); when the command ends, one row says what the
command was, how long it took and how it ended. A run killed before its end keeps its job
uses and shows as interrupted. Commands that use no job (help, show, log) leave no trace.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shlex
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

RUN_VARIABLE = "DRIVESTATS_RUN"


@dataclass(frozen=True)
class Run:
    id: str
    command: str
    started: str
    wall: float
    cpu: float


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def start(argv: list[str]) -> Run:
    """Name this command's run (its worker processes inherit the name) and start its clocks."""
    identity = uuid.uuid4().hex
    os.environ[RUN_VARIABLE] = identity
    jobs = sys.modules.get("drivestats.jobs")
    if jobs is not None:
        jobs.RECORDED_IN.clear()  # a command run before in this process (tests) is not ours
    return Run(
        identity,
        shlex.join(["drivestats", *argv]),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        time.perf_counter(),
        _cpu_seconds(),
    )


def finish(run: Run, exit_code: int) -> None:
    """Record the run in each workspace where it used a job; nothing if it used none."""
    os.environ.pop(RUN_VARIABLE, None)
    jobs = sys.modules.get("drivestats.jobs")
    if jobs is None or not jobs.RECORDED_IN:
        return
    from drivestats import catalog
    from drivestats.workspace import Workspace

    row = (
        run.id,
        run.command,
        run.started,
        round(time.perf_counter() - run.wall, 3),
        round(_cpu_seconds() - run.cpu, 3),
        exit_code,
    )
    for home in sorted(jobs.RECORDED_IN):
        try:
            with catalog.connect(Workspace(home)) as connection:
                connection.execute("insert or replace into runs values (?, ?, ?, ?, ?, ?)", row)
        except (sqlite3.Error, OSError):
            pass  # the log is a record, never a reason to fail a command (a full disk, say)


def runs(workspace: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Runs newest first, each with the jobs it made and reused (and interrupted ones)."""
    from drivestats import catalog

    uses = catalog.query(
        workspace,
        "select r.run_id, r.job_id, r.reused, r.at, j.stage, j.seconds from job_runs r"
        " left join jobs j on j.id = r.job_id where r.run_id is not null order by r.rowid",
    )
    by_run: dict[str, dict[str, Any]] = {}
    for use in uses:
        entry = by_run.setdefault(
            use["run_id"],
            {
                "id": use["run_id"],
                "started": use["at"],
                "order": len(by_run),
                "made": [],
                "reused": [],
            },
        )
        kind = "reused" if use["reused"] else "made"
        if use["job_id"] not in entry[kind]:
            entry[kind].append(use["job_id"])
    ended = {row["id"]: row for row in catalog.query(workspace, "select * from runs")}
    listed = []
    order = {identity: entry["order"] for identity, entry in by_run.items()}
    for identity, entry in by_run.items():
        row = ended.get(identity)
        listed.append(
            {
                "id": identity,
                "started": row["started"] if row else entry["started"],
                "command": row["command"] if row else None,
                "seconds": row["seconds"] if row else None,
                "cpu_seconds": row["cpu_seconds"] if row else None,
                "exit_code": row["exit_code"] if row else None,
                "interrupted": row is None,
                "made": entry["made"],
                "reused": [job for job in entry["reused"] if job not in entry["made"]],
            }
        )
    # Newest first; runs of one second in the order they first used a job.
    listed.sort(key=lambda run: (run["started"], order[run["id"]]), reverse=True)
    return listed[:limit] if limit else listed


def as_json(listed: list[dict[str, Any]]) -> str:
    return json.dumps(listed, indent=2)
