"""The log page: the history of runs, newest first, each with the jobs it made and reused."""

from __future__ import annotations

import math
from typing import Any

from drivestats import catalog, history
from drivestats.board.views.common import Board, job_link

RUNS_PER_PAGE = 50


def runs_page(board: Board, page: int = 1) -> dict[str, Any]:
    listed = history.runs(board.workspace)
    held = {row["id"] for row in catalog.query(board.workspace, "select id from jobs")}
    pages = max(1, math.ceil(len(listed) / RUNS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = listed[(page - 1) * RUNS_PER_PAGE : page * RUNS_PER_PAGE]

    def jobs_of(ids: list[str]) -> list[dict[str, Any]]:
        """By stage, in the order first made: a run of the whole history makes hundreds."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for identity in ids:
            # A job removed by gc since keeps its name here, without a link.
            link = job_link(identity)
            groups.setdefault(link["stage"], []).append({**link, "removed": identity not in held})
        return [{"stage": stage, "jobs": listed} for stage, listed in groups.items()]

    return {
        "title": "Log",
        "noun": "runs",
        "total": len(listed),
        "page": page,
        "pages": pages,
        "previous": f"/log?page={page - 1}" if page > 1 else None,
        "next": f"/log?page={page + 1}" if page < pages else None,
        "runs": [
            {
                "started": run["started"],
                "command": run["command"],
                "interrupted": run["interrupted"],
                "exit_code": run["exit_code"],
                "seconds": run["seconds"],
                "cpu_seconds": run["cpu_seconds"],
                "made": jobs_of(run["made"]),
                "reused": jobs_of(run["reused"]),
            }
            for run in shown
        ],
    }
