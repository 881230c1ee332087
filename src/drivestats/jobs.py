"""Jobs: every result is made by a job whose id says exactly what made it.

A job id is a hash of the stage name, its parameters, the content hashes of its
input files, the ids of its upstream jobs and a fingerprint of the code that
computes it. A job is built in a temporary folder and renamed into place only
when complete, so a job folder that exists is a finished job; an interrupted
one is never reused. ``job.json`` beside the outputs is the manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drivestats import __version__, catalog, history
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

MANIFEST = "job.json"
# Workspaces this process recorded job uses in: `drivestats log` lists its run there.
RECORDED_IN: set[Path] = set()


class JobNotMade(DrivestatsError):
    """A job asked for with reuse_only that does not exist yet."""

    def __init__(self, stage: str, identity: str):
        self.stage, self.id = stage, identity
        super().__init__(f"the {stage} job {identity} has not been made yet")


_REGISTRY: dict[str, Stage] = {}


@dataclass(frozen=True)
class Stage:
    """A computation step: its name, the function that builds it and the code it depends on."""

    name: str
    build: Callable[[JobContext], None]
    modules: tuple[str, ...]
    # The parameters that decide the outputs, when the others only say where to find the
    # inputs (a movie segment is named by the content of its frames, not by the fleet job
    # that supplied it). None: all of them.
    identity_params: tuple[str, ...] | None = None
    # The stages of the upstream jobs that decide the outputs (None: all): a movie is decided
    # by its fleet tables, and names its segments only so that its lineage shows them.
    identity_upstream: tuple[str, ...] | None = None
    # Raises DrivestatsError saying what is gone when the inputs a job names can no longer
    # be read (a day imported again since): verify then says so instead of "differs".
    check_inputs: Callable[[Workspace, dict[str, str]], None] | None = None

    def __post_init__(self) -> None:
        _REGISTRY[self.name] = self

    def code_fingerprint(self) -> dict[str, Any]:
        """The package version and the sha256 of each source file this stage depends on."""
        return code_fingerprint(self.modules)


@dataclass
class JobContext:
    """What a build function gets: where to write, its parameters, inputs and upstream jobs."""

    workspace: Workspace
    dir: Path
    params: dict[str, Any]
    inputs: dict[str, str]
    upstream: list[JobResult]
    rows: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    progress: Any = None  # a listener or callback from the caller; never part of the identity
    id: str = ""  # the job's own id, e.g. to write into the metadata of the files it makes
    # Where inputs are to be found now (a path), which is not part of what they are (a hash).
    hints: dict[str, Any] = field(default_factory=dict)

    def upstream_of(self, stage: str) -> list[JobResult]:
        return [job for job in self.upstream if job.stage == stage]


@dataclass(frozen=True)
class JobResult:
    """A finished job: its folder, its manifest and whether this call reused it."""

    id: str
    stage: str
    dir: Path
    reused: bool
    manifest: dict[str, Any]

    def output(self, name: str) -> Path:
        return self.dir / name

    @property
    def outputs(self) -> list[str]:
        return [entry["name"] for entry in self.manifest["outputs"]]


@cache
def _module_digest(module: str) -> str:
    return hashlib.sha256(_module_source(module).read_bytes()).hexdigest()


def _module_source(module: str) -> Path:
    """The source file of a module, found without importing it or its packages.

    ``find_spec`` imports a submodule's packages, and a package's ``__init__`` may import
    heavy libraries: a reused job would then pay for them only to learn its own id.
    """
    top, *rest = module.split(".")
    if top == "drivestats" and rest:
        base = Path(__file__).resolve().parent.joinpath(*rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise DrivestatsError(f"stage depends on unknown module {module}")
    return Path(spec.origin)


def code_fingerprint(modules: Iterable[str]) -> dict[str, Any]:
    """The package version and the sha256 of each listed module's source."""
    digests = {module: _module_digest(module) for module in sorted(set(modules))}
    overall = hashlib.sha256(json.dumps([__version__, digests]).encode()).hexdigest()
    return {"package_version": __version__, "modules": digests, "sha256": overall}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def job_id(
    stage: Stage,
    params: Mapping[str, Any],
    inputs: Mapping[str, str],
    upstream: Iterable[str],
) -> str:
    """The identity of a job: a hash of everything that decides its outputs."""
    deciding = (
        params
        if stage.identity_params is None
        else {key: params[key] for key in stage.identity_params}
    )
    identity = {
        "stage": stage.name,
        "params": deciding,
        "inputs": dict(sorted(inputs.items())),
        "upstream": sorted(
            up
            for up in upstream
            if stage.identity_upstream is None or up.rsplit("-", 1)[0] in stage.identity_upstream
        ),
        "code": stage.code_fingerprint()["sha256"],
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return f"{stage.name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def job_folder(workspace: Workspace, stage_name: str, identity: str) -> Path:
    return workspace.jobs / stage_name / identity


def load(workspace: Workspace, identity: str) -> JobResult:
    """A finished job by id (or by a unique prefix of it)."""
    # A unique prefix also names a job (compared literally: ids never hold LIKE wildcards, input might).
    rows = catalog.query(
        workspace,
        "select id, stage from jobs where substr(id, 1, ?) = ? order by created desc, rowid desc",
        (len(identity), identity),
    )
    if not rows:
        raise DrivestatsError(f"no job matching {identity!r} in {workspace.home}")
    if len(rows) > 1:
        raise DrivestatsError(_candidates(workspace, identity, [row["id"] for row in rows]))
    folder = job_folder(workspace, rows[0]["stage"], rows[0]["id"])
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise DrivestatsError(f"job {rows[0]['id']} is in the catalog but its folder is gone")
    manifest = json.loads(manifest_path.read_text())
    return JobResult(manifest["id"], manifest["stage"], folder, False, manifest)


def _candidates(workspace: Workspace, identity: str, ids: list[str]) -> str:
    """The jobs an ambiguous prefix matches, newest first, with what tells them apart."""
    shown = ids[:10]
    marks = ",".join("?" * len(shown))
    rows = {
        row["id"]: row
        for row in catalog.query(
            workspace,
            f"select id, stage, parameters, created from jobs where id in ({marks})",
            tuple(shown),
        )
    }
    now = dt.datetime.now(dt.UTC)
    lines = []
    for job in shown:
        row = rows[job]
        parameters = short_parameters(json.loads(row["parameters"]), limit=60)
        lines.append(f"  {job}  {age(row['created'], now):>9}  {parameters}")
    more = f"\n  … and {len(ids) - 10} more (drivestats jobs lists them)" if len(ids) > 10 else ""
    return (
        f"{len(ids)} jobs match {identity!r}; newest first, with their age and parameters:\n"
        + "\n".join(lines)
        + more
        + f"\nName one by its id, or by enough of it to be unique: {unique_prefix(ids[0], ids)} "
        "is the newest."
    )


def unique_prefix(identity: str, among: list[str]) -> str:
    """The shortest beginning of an id that no other of these ids starts with."""
    others = [other for other in among if other != identity]
    for length in range(1, len(identity) + 1):
        if not any(other.startswith(identity[:length]) for other in others):
            return identity[:length]
    return identity


def age(created: str, now: dt.datetime | None = None) -> str:
    """How long ago an ISO time was, in the largest whole unit: '40 s ago', '3 h ago', '2 d ago'."""
    then = dt.datetime.fromisoformat(created)
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def existing(
    workspace: Workspace, stage: Stage, identity: str, record: bool = True
) -> JobResult | None:
    """The finished job of this id if it is made (its use recorded unless told not to), else None.

    Lets a caller that knows an id before its upstream jobs exist (an id is a pure hash)
    skip making them when the job itself is already made.
    """
    final = job_folder(workspace, stage.name, identity)
    if not (final / MANIFEST).exists():
        return None
    manifest = json.loads((final / MANIFEST).read_text())
    if record:
        _record(workspace, manifest, final, reused=True)
    return JobResult(identity, stage.name, final, True, manifest)


def run(
    workspace: Workspace,
    stage: Stage,
    params: Mapping[str, Any],
    inputs: Mapping[str, str] | None = None,
    upstream: Iterable[JobResult] = (),
    progress: Any = None,
    reuse_only: bool = False,
    hints: Mapping[str, Any] | None = None,
    record: bool = True,
) -> JobResult:
    """The finished job for these parameters and inputs: reused if it exists, else built now.

    With reuse_only, nothing is written (not even the record of this use) and a job
    that does not exist raises JobNotMade: what a read-only reader such as the board needs.
    Without record, the job folder is all that is written: a cluster worker builds so, and
    the client that asked enters the job into the catalog (``record_use``).
    """
    inputs = dict(inputs or {})
    upstream = list(upstream)
    identity = job_id(stage, params, inputs, [job.id for job in upstream])
    made = existing(workspace, stage, identity, record=record and not reuse_only)
    if made is not None:
        return made
    if reuse_only:
        raise JobNotMade(stage.name, identity)
    final = job_folder(workspace, stage.name, identity)

    final.parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(final.parent)
    temporary = final.parent / f".tmp-{identity}@{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        manifest = _build(
            workspace, stage, identity, dict(params), inputs, upstream, temporary, progress, hints
        )
        try:
            os.rename(temporary, final)
        except OSError:
            if not (final / MANIFEST).exists():
                raise
            # Another process finished the same job first; theirs is identical by construction.
            shutil.rmtree(temporary, ignore_errors=True)
            manifest = json.loads((final / MANIFEST).read_text())
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    if record:
        _record(workspace, manifest, final, reused=False)
    return JobResult(identity, stage.name, final, False, manifest)


def record_use(workspace: Workspace, job: JobResult) -> None:
    """Enter a job built elsewhere (on a cluster worker) and this use of it into the catalog."""
    _record(workspace, job.manifest, job.dir, reused=job.reused)


def _build(
    workspace: Workspace,
    stage: Stage,
    identity: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    upstream: list[JobResult],
    folder: Path,
    progress: Any,
    hints: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC)
    wall = time.perf_counter()
    cpu = _cpu_seconds()
    context = JobContext(
        workspace,
        folder,
        params,
        inputs,
        upstream,
        progress=progress,
        id=identity,
        hints=dict(hints or {}),
    )
    try:
        stage.build(context)
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        # Arrow's writers say "No space left on device" without a file: name the job's folder.
        raise OSError(error.errno, os.strerror(error.errno), str(folder)) from error
    outputs = [
        {
            "name": path.relative_to(folder).as_posix(),
            "sha256": file_sha256(path),
            "size": path.stat().st_size,
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]
    manifest = {
        "id": identity,
        "stage": stage.name,
        "builder": f"{stage.build.__module__}:{stage.build.__name__}",
        "parameters": params,
        "inputs": {
            "files": [{"name": name, "sha256": digest} for name, digest in sorted(inputs.items())],
            "jobs": sorted(job.id for job in upstream),
        },
        "code": stage.code_fingerprint(),
        "versions": library_versions(),
        "started": started.isoformat(timespec="seconds"),
        "ended": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "cpu_seconds": round(_cpu_seconds() - cpu, 3),
        "outputs": outputs,
        "rows": context.rows,
        "notes": context.notes,
    }
    _write_atomically(folder / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _sweep_abandoned(stage_folder: Path) -> None:
    """Remove temporary folders of builds whose process is gone (killed mid-run)."""
    sweep_abandoned(stage_folder, ".tmp-*")


def sweep_abandoned(folder: Path, pattern: str) -> None:
    """Remove folders named '...-<pid>-<random>' whose process is gone (killed mid-run)."""
    for leftover in folder.glob(pattern):
        if abandoned(leftover.name):
            shutil.rmtree(leftover, ignore_errors=True)


# Builds on several machines share a workspace: a temporary folder names its host, so that
# a process id is only ever looked up on the machine it belongs to.
_HOST = socket.gethostname().replace("@", "_").replace("/", "_")


def abandoned(name: str) -> bool:
    """Whether a folder named '...[@<host>]-<pid>-<random>' was left by a process of this
    machine that is gone; a folder of another host is never judged here."""
    try:
        pid = int(name.split("-")[-2])
    except (ValueError, IndexError):
        return False
    if "@" in name and name.split("@", 1)[1].rsplit("-", 2)[0] != _HOST:
        return False
    return pid != os.getpid() and not process_alive(pid)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _record(workspace: Workspace, manifest: dict[str, Any], folder: Path, reused: bool) -> None:
    """Enter a job (again, if the catalog lost it) and this use of it into the catalog."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with catalog.connect(workspace) as connection:
        connection.execute(
            "insert or ignore into jobs values (?, ?, ?, ?, ?, ?, ?)",
            (
                manifest["id"],
                manifest["stage"],
                json.dumps(manifest["parameters"], sort_keys=True, default=str),
                workspace.relative(folder),
                manifest["started"],
                manifest["wall_seconds"],
                manifest["cpu_seconds"],
            ),
        )
        connection.executemany(
            "insert or ignore into job_outputs values (?, ?, ?, ?)",
            [(manifest["id"], o["name"], o["sha256"], o["size"]) for o in manifest["outputs"]],
        )
        connection.execute(
            "insert into job_runs (job_id, at, reused, run_id) values (?, ?, ?, ?)",
            (manifest["id"], now, int(reused), os.environ.get(history.RUN_VARIABLE)),
        )
    RECORDED_IN.add(workspace.home)


@cache
def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape outputs."""
    versions = {"python": platform.python_version(), "drivestats": __version__}
    from importlib.metadata import PackageNotFoundError, version

    # Read from the installed metadata: importing matplotlib here would cost a second.
    for name in ("pyarrow", "duckdb", "numpy", "Pillow", "matplotlib"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    try:
        import imageio_ffmpeg

        versions["ffmpeg"] = imageio_ffmpeg.get_ffmpeg_version()
    except Exception:  # noqa: BLE001 - a missing encoder must not stop other stages
        versions["ffmpeg"] = "not available"
    return versions


# --- reading the catalog ------------------------------------------------------


def recent_jobs(workspace: Workspace, limit: int | None = None) -> list[dict[str, Any]]:
    """Jobs newest first, with how often each was reused."""
    sql = """
        select j.id, j.stage, j.parameters, j.created, j.seconds,
               coalesce(sum(r.reused), 0) as reused, max(r.at) as last_used
        from jobs j left join job_runs r on r.job_id = j.id
        group by j.id order by j.created desc, j.rowid desc
    """
    rows = catalog.query(workspace, sql + (f" limit {int(limit)}" if limit else ""))
    return rows


def short_parameters(parameters: Mapping[str, Any], limit: int | None = None) -> str:
    """A job's parameters on one line: unset ones left out, long lists counted, paths by name."""
    shown = []
    for key, value in parameters.items():
        if value is None or value is False or value == []:
            continue
        if key == "path" and isinstance(value, str):
            value = Path(value).name
        elif isinstance(value, list | tuple) and len(value) > 2:
            value = f"[{value[0]}, … {len(value)} in all]"
        elif isinstance(value, dict):
            value = json.dumps(value, separators=(",", ":"), sort_keys=True)
        shown.append(f"{key}={value}")
    line = " ".join(shown)
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"


def verify(workspace: Workspace, identity: str) -> dict[str, Any]:
    """Re-make a job in a scratch folder and compare every output's sha256 with its manifest."""
    job = load(workspace, identity)
    stage = stage_named(job.manifest)
    fingerprint = stage.code_fingerprint()["sha256"]
    if fingerprint != job.manifest["code"]["sha256"]:
        raise DrivestatsError(
            f"the code of stage {stage.name} changed since job {job.id} was made; "
            "verify needs the code that made it"
        )
    upstream = [load(workspace, parent) for parent in job.manifest["inputs"]["jobs"]]
    if stage.check_inputs is not None:
        stage.check_inputs(
            workspace, {f["name"]: f["sha256"] for f in job.manifest["inputs"]["files"]}
        )
    workspace.scratch.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(workspace.scratch, "verify-*")
    scratch = workspace.scratch / f"verify-{job.id}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    try:
        inputs = {f["name"]: f["sha256"] for f in job.manifest["inputs"]["files"]}
        context = JobContext(
            workspace, scratch, dict(job.manifest["parameters"]), inputs, upstream, id=job.id
        )
        stage.build(context)
        remade = {
            p.relative_to(scratch).as_posix(): file_sha256(p)
            for p in scratch.rglob("*")
            if p.is_file()
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    comparisons = []
    for output in job.manifest["outputs"]:
        if output["name"] == MANIFEST:
            continue
        stored = job.dir / output["name"]
        stored_hash = file_sha256(stored) if stored.exists() else None
        comparisons.append(
            {
                "name": output["name"],
                "manifest": output["sha256"],
                "stored": stored_hash,
                "remade": remade.get(output["name"]),
            }
        )
    identical = all(c["manifest"] == c["stored"] == c["remade"] for c in comparisons)
    return {"id": job.id, "identical": identical, "outputs": comparisons}


def stage_named(manifest: Mapping[str, Any]) -> Stage:
    """The Stage that made a manifest, importing its module so that it registers."""
    module = manifest["builder"].split(":")[0]
    importlib.import_module(module)
    if manifest["stage"] not in _REGISTRY:
        raise DrivestatsError(f"no stage named {manifest['stage']} in {module}")
    return _REGISTRY[manifest["stage"]]


def publish(workspace: Workspace, job: JobResult, output: str, name: str) -> Path:
    """Point results/<name> at a job's output with a relative symlink, replaced atomically."""
    workspace.results.mkdir(parents=True, exist_ok=True)
    link = workspace.results / name
    target = os.path.relpath(job.output(output), link.parent)
    temporary = link.with_name(f".{name}.{os.getpid()}.tmp")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)
    return link
