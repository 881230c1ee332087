"""What an exported store keeps for its Iceberg table: pinned month files and a queue of imports.

The store replaces a month file under the same name when a later import adds days to the
month or replaces some (``store._apply``), so an Iceberg table must never point at
``store/months``: a snapshot would read other bytes than its manifests describe, and time
travel would be a lie. Once a workspace is exported (``iceberg/export.json`` exists),
every publication, inside the journal's idempotent application, hard-links each month file
it puts in place to ``iceberg/data/YYYY/YYYY-MM-<sha256>.parquet`` (the same bytes, no
copy, a name that never gets other bytes) and queues one step per import in
``iceberg/queue/``. ``drivestats export iceberg`` turns each queued step into one
snapshot, in import order. No pyiceberg here: an import in an exported workspace stays
as light as anywhere else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from drivestats import catalog
from drivestats.workspace import Workspace

FOLDER = "iceberg"
CONFIG = "export.json"


def root(workspace: Workspace) -> Path:
    return workspace.home / FOLDER


def config_file(workspace: Workspace) -> Path:
    return root(workspace) / CONFIG


def queue(workspace: Workspace) -> Path:
    return root(workspace) / "queue"


def exporting(workspace: Workspace) -> bool:
    return config_file(workspace).exists()


def read_config(workspace: Workspace) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(config_file(workspace).read_text())
    return config


def write_json(path: Path, value: Any) -> None:
    """Write a JSON file atomically (fsynced, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def pinned(workspace: Workspace, month: str, sha256: str) -> Path:
    """Where the month file of these bytes is kept for the table: named by its content."""
    return root(workspace) / "data" / month[:4] / f"{month}-{sha256[:16]}.parquet"


def pin(workspace: Workspace, file: Path, month: str, sha256: str) -> Path:
    """A hard link to a store month file under a name no other bytes will ever get."""
    target = pinned(workspace, month, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.unlink(missing_ok=True)
        os.link(file, temporary)
        os.replace(temporary, target)
    return target


def last_day(workspace: Workspace) -> str | None:
    rows = catalog.query(workspace, "select max(day) as day from days where rows > 0")
    return rows[0]["day"] if rows else None


def step_months(workspace: Workspace, files: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """month -> its pinned file, for store files given as {file: (sha256, rows)}."""
    months: dict[str, Any] = {}
    for file, (sha256, rows) in sorted(files.items()):
        month = Path(file).stem
        path = pin(workspace, workspace.home / file, month, sha256)
        months[month] = {"file": workspace.relative(path), "sha256": sha256, "rows": rows}
    return months


def source_of(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("path", "sha256", "first_day", "last_day", "days", "rows", "imported_at", "job_id")
    return {key: row.get(key) for key in keys}


def after_publication(workspace: Workspace, entry: dict[str, Any]) -> None:
    """In an exported workspace: pin the month files this publication put in place, and queue
    the import as one step of the table. Idempotent, as the journal's application must be."""
    if not exporting(workspace):
        return
    source = entry["source"]
    key = f"{source['sha256']}@{source['imported_at']}"
    folder = queue(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    taken = [json.loads(path.read_text()) for path in sorted(folder.glob("q*.json"))]
    if any(step["key"] == key for step in taken):
        return
    files: dict[str, tuple[str, int]] = {}
    for month in entry["months"]:
        rows = [day for day in entry["days"] if day["file"] == month["file"]]
        files[month["file"]] = (rows[0]["sha256"], sum(day["rows"] for day in rows))
    sequence = (
        max([step["sequence"] for step in taken] + [read_config(workspace).get("last_sequence", 0)])
        + 1
    )
    step = {
        "id": f"q{sequence:08d}",
        "sequence": sequence,
        "key": key,
        "source": source_of(source),
        "until": last_day(workspace),
        "months": step_months(workspace, files),
    }
    write_json(folder / f"{step['id']}.json", step)
