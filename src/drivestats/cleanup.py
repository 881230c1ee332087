"""Garbage collection: remove the jobs nothing needs any more, safely at any moment.

A job is needed when a link in ``results/`` points into it, when the store holds days it
imported, when it is among the newest ``keep`` of its stage (if asked), or when a needed job
was made from it (its upstream jobs, and the job folder holding a needed import's source, as
the demo's synthetic zips are). Everything else goes, with what scratch folders and
abandoned builds left behind. Fleet tables built on earlier fleet tables keep them (verify
combines from them again); they are small beside movie segments and store months.

Each job is removed by renaming its folder out of ``jobs/`` (atomic), then forgetting it in
the catalog, then deleting the renamed folder: killed at any moment, gc leaves every needed
job whole, and the next gc finishes what it started.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from drivestats import catalog, jobs
from drivestats.workspace import Workspace

# Folders left by killed processes: builds, snapshots, verifications, gc itself.
_LEFTOVERS = ("scratch/snapshot-*", "scratch/verify-*", "scratch/gc-*")


@dataclass
class Collection:
    """What gc keeps and removes, and the bytes removing frees."""

    kept: dict[str, str] = field(default_factory=dict)  # job id -> why it is needed
    removed: dict[str, str] = field(default_factory=dict)  # job id -> stage
    freed_bytes: int = 0
    by_stage: dict[str, list[int]] = field(default_factory=dict)  # stage -> [jobs, bytes]
    leftovers: list[Path] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)  # catalog rows whose folder is gone


def collect(workspace: Workspace, keep: int = 0, dry_run: bool = False) -> Collection:
    """Find (and unless dry_run, remove) the jobs nothing needs; returns what was found."""
    from drivestats.store import store_lock

    # The store lock: no import publishes days (and so changes what is needed) meanwhile.
    with store_lock(workspace):
        result = _plan(workspace, keep)
        if not dry_run:
            _remove(workspace, result)
    return result


def _on_disk(workspace: Workspace) -> dict[str, Path]:
    """Every finished job folder: <jobs>/<stage>/<id>/job.json."""
    found: dict[str, Path] = {}
    if workspace.jobs.is_dir():
        for manifest in workspace.jobs.glob(f"*/*/{jobs.MANIFEST}"):
            if not manifest.parent.name.startswith("."):
                found[manifest.parent.name] = manifest.parent
    return found


def _plan(workspace: Workspace, keep: int) -> Collection:
    result = Collection()
    folders = _on_disk(workspace)
    manifests: dict[str, dict] = {}

    def manifest_of(identity: str) -> dict | None:
        if identity not in manifests and identity in folders:
            try:
                manifests[identity] = json.loads((folders[identity] / jobs.MANIFEST).read_text())
            except (OSError, ValueError):
                return None
        return manifests.get(identity)

    needed: list[tuple[str, str]] = []
    if workspace.results.is_dir():
        for link in sorted(workspace.results.iterdir()):
            owner = _job_of_link(workspace, link)
            if owner:
                needed.append((owner, f"results/{link.name}"))
    for row in catalog.query(workspace, "select distinct job_id from days order by job_id"):
        if row["job_id"]:
            needed.append((row["job_id"], "holds store days"))
    if keep > 0:
        rows = catalog.query(
            workspace, "select id, stage from jobs order by created desc, rowid desc"
        )
        newest: dict[str, int] = {}
        for row in rows:
            if row["id"] in folders and newest.get(row["stage"], 0) < keep:
                newest[row["stage"]] = newest.get(row["stage"], 0) + 1
                needed.append((row["id"], f"among the newest {keep} of {row['stage']}"))

    while needed:
        identity, why = needed.pop()
        if identity in result.kept or identity not in folders:
            continue
        result.kept[identity] = why
        manifest = manifest_of(identity)
        if manifest is None:
            continue
        for parent in manifest["inputs"]["jobs"]:
            needed.append((parent, f"made {identity}"))
        source = manifest["parameters"].get("source") if manifest["stage"] == "import" else None
        if isinstance(source, str) and source.startswith("jobs/"):
            parts = Path(source).parts
            if len(parts) > 2:
                needed.append((parts[2], f"holds the source of {identity}"))

    for identity, folder in sorted(folders.items()):
        if identity in result.kept:
            continue
        stage = folder.parent.name
        result.removed[identity] = stage
        size = _unshared_bytes(folder)
        result.freed_bytes += size
        entry = result.by_stage.setdefault(stage, [0, 0])
        entry[0] += 1
        entry[1] += size
    listed = catalog.query(workspace, "select id from jobs")
    result.forgotten = sorted(row["id"] for row in listed if row["id"] not in folders)
    result.leftovers = _leftovers(workspace)
    result.freed_bytes += sum(_unshared_bytes(path) for path in result.leftovers)
    return result


def _job_of_link(workspace: Workspace, link: Path) -> str | None:
    """The job a results/ link points into, or None for anything else."""
    if not link.is_symlink():
        return None
    try:
        parts = link.resolve().relative_to(workspace.jobs.resolve()).parts
    except (ValueError, OSError):
        return None
    return parts[1] if len(parts) >= 2 else None


def _unshared_bytes(folder: Path) -> int:
    """Bytes that removing a folder frees: files not also linked elsewhere (the store's months)."""
    total = 0
    for path in [folder] if folder.is_file() else folder.rglob("*"):
        try:
            stat = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink() and stat.st_nlink == 1:
            total += stat.st_size
    return total


def _leftovers(workspace: Workspace) -> list[Path]:
    candidates = [path for pattern in _LEFTOVERS for path in workspace.home.glob(pattern)]
    if workspace.jobs.is_dir():
        candidates += workspace.jobs.glob("*/.tmp-*")
    return sorted(path for path in candidates if jobs.abandoned(path.name))


def _forget(workspace: Workspace, identities: list[str]) -> None:
    """Take jobs out of the catalog (their folders are gone or going)."""
    with catalog.connect(workspace) as connection:
        for identity in identities:
            connection.execute("delete from job_outputs where job_id = ?", (identity,))
            connection.execute("delete from jobs where id = ?", (identity,))


def _remove(workspace: Workspace, result: Collection) -> None:
    workspace.scratch.mkdir(parents=True, exist_ok=True)
    for identity, stage in sorted(result.removed.items()):
        folder = workspace.jobs / stage / identity
        # Out of jobs/ first: from this moment the job is gone for every reader.
        doomed = workspace.scratch / f"gc-{identity}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            folder.rename(doomed)
        except FileNotFoundError:
            doomed = folder  # removed meanwhile by another gc
        _forget(workspace, [identity])
        shutil.rmtree(doomed, ignore_errors=True)
    _forget(workspace, result.forgotten)
    for leftover in result.leftovers:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
