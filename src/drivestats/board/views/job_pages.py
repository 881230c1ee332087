"""The jobs list and a job's own page: manifest, inputs, outputs, lineage."""

from __future__ import annotations

import json
import math
from typing import Any

from drivestats import catalog, jobs
from drivestats.board.files import file_url
from drivestats.board.views.common import (
    FILES_SHOWN,
    JOBS_PER_PAGE,
    Board,
    NotFound,
    job_holding,
    job_link,
)
from drivestats.board.views.home import results_listing
from drivestats.board.views.lineage import neighbourhood
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace


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
        "graph": neighbourhood(board, job.id),
        "code": manifest.get("code", {}),
        "versions": manifest.get("versions", {}),
        "notes": manifest.get("notes", {}),
        "manifest_url": file_url(workspace, job.dir / jobs.MANIFEST),
    }
