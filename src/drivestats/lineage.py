"""Tracing: which job made a file, and the tree of jobs and inputs below a job (``show``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivestats import catalog
from drivestats.errors import DrivestatsError
from drivestats.jobs import MANIFEST, file_sha256, load
from drivestats.workspace import Workspace


def job_of_file(workspace: Workspace, path: Path) -> str:
    """The id of the job that made a file: by its place in a job folder, else by its sha256."""
    resolved = path.resolve()
    try:
        parts = resolved.relative_to(workspace.jobs.resolve()).parts
        if len(parts) >= 2 and (workspace.jobs / parts[0] / parts[1] / MANIFEST).exists():
            return parts[1]
    except ValueError:
        pass
    if not resolved.is_file():
        raise DrivestatsError(f"{path} is neither a job id nor a file")
    held = _imports_holding(workspace, resolved)
    if held:  # a store file holds days of the imports named in the catalog: the one with most
        return max(held, key=lambda row: (row["days"], row["job_id"]))["job_id"]
    digest = file_sha256(resolved)
    rows = catalog.query(
        workspace,
        "select o.job_id from job_outputs o join jobs j on j.id = o.job_id"
        " where o.sha256 = ? order by j.created desc, j.rowid desc",
        (digest,),
    )
    if rows:
        return rows[0]["job_id"]
    # A movie, poster, chart or Parquet file carries its job id inside, even after editing.
    from drivestats import provenance

    embedded = provenance.read(resolved)
    if embedded and embedded.get("job"):
        return str(embedded["job"])
    raise DrivestatsError(f"no job in {workspace.home} made a file with the sha256 of {path}")


def _imports_holding(workspace: Workspace, resolved: Path) -> list[dict[str, Any]]:
    """For a file of the store: the import jobs whose days it holds, by their first day."""
    if not resolved.is_relative_to(workspace.store.resolve()):
        return []
    return catalog.query(
        workspace,
        "select job_id, count(*) as days, min(day) as first from days where file = ?"
        " group by job_id order by first, job_id",
        (workspace.relative(resolved),),
    )


def jobs_of_file(workspace: Workspace, path: Path) -> list[str]:
    """The jobs that made a file: its maker, or each import whose days a store month holds."""
    resolved = path.resolve()
    held = _imports_holding(workspace, resolved) if resolved.is_file() else []
    if held:
        return [row["job_id"] for row in held]
    if resolved.is_file() and resolved.suffix.lower() == ".parquet":
        from drivestats import provenance

        said = provenance.read(resolved) or {}
        if "days" in said and isinstance(said["days"], dict):  # a store month of several imports
            return list(dict.fromkeys(entry["job"] for entry in said["days"].values()))
    return [job_of_file(workspace, path)]


def lineage(workspace: Workspace, identity: str, seen: set[str] | None = None) -> dict[str, Any]:
    """The tree from a job down through its upstream jobs to the raw input files.

    A job reached a second time (a movie's segments share one fleet-tables job) is
    listed with ``"repeated": true`` and no subtree, so the tree stays readable.
    """
    seen = set() if seen is None else seen
    job = load(workspace, identity)
    manifest = job.manifest
    node: dict[str, Any] = {
        "id": job.id,
        "stage": job.stage,
        "parameters": manifest["parameters"],
        "outputs": manifest["outputs"],
        "files": manifest["inputs"]["files"],
        "upstream": [],
    }
    if job.id in seen:
        return {**node, "files": [], "repeated": True}
    seen.add(job.id)
    node["upstream"] = [lineage(workspace, parent, seen) for parent in manifest["inputs"]["jobs"]]
    return node
