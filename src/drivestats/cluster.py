"""The heavy stages on an existing Dask cluster: import jobs and movie segments as its tasks.

Imported only for ``--cluster ADDRESS`` (or ``DRIVESTATS_CLUSTER``); without it
drivestats never imports Dask. The work is already cut into content-named jobs,
one per source and one per movie segment; each becomes a task.

Who does what:

- A worker only builds job folders in the workspace's ``jobs/``, which every
  worker sees at the same path (a shared filesystem). It builds in a temporary
  folder and renames it into place, as a local build does, and writes nothing
  else: no catalog row, no store file.
- This process (the client) does everything else: it holds the store lock,
  enters the jobs into the catalog, publishes the imports into the store one
  source at a time in the order a local run takes, and joins the segments
  into the movie. So a store, fleet tables and movie made with a cluster are
  byte for byte those of a local run, and each side reuses the other's jobs.

Every task first checks that it runs where it should: in the client's workspace
(it reads a probe file the client wrote there), with the libraries that shape
the bytes in the client's versions, and with code that names the job as the
client does. A worker that fails one of these says which, in one line.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import jobs
from drivestats.errors import BadInputError, DrivestatsError
from drivestats.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from distributed import Client, Future

    from drivestats.store import ImportBuild, ImportListener

CONNECT_SECONDS = 10  # to reach the scheduler
WORKER_SECONDS = 30  # for a first worker to be there
# One heavy task at a time in a worker process, whatever its thread count: an import parses
# on all cores by itself, and a segment's painter is kept for the next segment of the movie.
_ONE_AT_A_TIME = threading.Lock()


class ClusterError(DrivestatsError):
    """The cluster could not do the work: unreachable, gone, or a worker unfit for it."""


@dataclass(frozen=True)
class WorkerCheck:
    """What a task checks before it builds: the client's workspace, libraries and code."""

    home: str
    probe: str  # a file under the workspace's scratch/ that the client wrote
    token: str  # what it holds
    versions: dict[str, str]  # jobs.library_versions() of the client

    def workspace(self) -> Workspace:
        """The workspace, once this worker is known to see the client's and to build alike."""
        host = socket.gethostname()
        try:
            seen = (Path(self.home) / "scratch" / self.probe).read_text()
        except OSError:
            seen = None
        if seen != self.token:
            raise DrivestatsError(
                f"worker on {host} does not see the workspace {self.home} of the client: "
                "it must be on a filesystem every worker mounts at the same path"
            )
        mine = jobs.library_versions()
        differ = [
            f"{name} {mine.get(name)} (client {version})"
            for name, version in self.versions.items()
            if mine.get(name) != version
        ]
        if differ:
            raise DrivestatsError(
                f"worker on {host} has other versions of what shapes the bytes: "
                f"{', '.join(differ)}; install the same on every worker"
            )
        return Workspace(Path(self.home))


def _same_code(expected: str, identity: str) -> None:
    if identity != expected:
        raise DrivestatsError(
            f"worker on {socket.gethostname()} names job {expected} as {identity}: "
            "it runs other drivestats code than the client; install the same on every worker"
        )


def build_import(check: WorkerCheck, build: ImportBuild) -> jobs.JobResult:
    """A task: the import job of one source, built in the shared jobs/ folder (not recorded)."""
    from drivestats import store

    workspace = check.workspace()
    _same_code(build.job_id(), jobs.job_id(store.IMPORT, build.params, build.inputs, []))
    with _ONE_AT_A_TIME:
        source = build.source
        try:
            stat = source.stat()
        except FileNotFoundError:
            raise DrivestatsError(
                f"{source} is not found on the worker on {socket.gethostname()}: sources must "
                "be on a filesystem every worker mounts at the same path"
            ) from None
        # The client hashed this file; device and inode numbers differ between machines.
        if [stat.st_size, stat.st_mtime_ns] != build.hints["identity"][2:]:
            raise BadInputError(
                str(source),
                "the file changed while it was imported (replaced, rewritten or deleted after "
                "it was hashed); nothing was stored: import it again",
            )
        hints = {**build.hints, "identity": store.file_identity(stat)}
        return jobs.run(
            workspace, store.IMPORT, build.params, build.inputs, hints=hints, record=False
        )


def build_segment(
    check: WorkerCheck, params: dict[str, Any], fleet_job: jobs.JobResult, expected: str
) -> jobs.JobResult:
    """A task: one movie segment job, built in the shared jobs/ folder (not recorded)."""
    from drivestats.movie import render

    workspace = check.workspace()
    _same_code(expected, jobs.job_id(render.SEGMENT, params, {}, []))
    with _ONE_AT_A_TIME:
        return jobs.run(
            workspace, render.SEGMENT, params, hints={"fleet_job": fleet_job}, record=False
        )


def _forget_scenes() -> None:
    """Run on each worker after a movie: the scene it kept for the next segment is not needed."""
    from drivestats.movie import render

    # Run in the worker's event loop: never wait there for a task still drawing (cancelled).
    if _ONE_AT_A_TIME.acquire(blocking=False):
        try:
            render.forget_scenes()
        finally:
            _ONE_AT_A_TIME.release()


class Cluster:
    """A connection to a Dask scheduler for one command, with errors said in one line."""

    def __init__(self, workspace: Workspace, address: str):
        self.address = address
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(
                "--cluster needs Dask distributed: pip install 'drivestats[cluster]'"
            ) from None

        # The client logs its reconnection attempts with tracebacks; drivestats says what
        # happened in one line. (Importing distributed sets its loggers' levels: after it.)
        logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.NOTSET)

        where = _scheduler(address)
        try:
            self.client: Client = Client(timeout=CONNECT_SECONDS, set_as_default=False, **where)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} ({_reason(error)}); "
                "run without --cluster to work on this machine"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=WORKER_SECONDS)
        except (OSError, TimeoutError):
            self.client.close()
            raise ClusterError(
                f"no Dask worker joined the scheduler at {address} within {WORKER_SECONDS} s"
            ) from None
        workspace.scratch.mkdir(parents=True, exist_ok=True)
        jobs.sweep_abandoned(workspace.scratch, "cluster-probe-*")
        self.probe = workspace.scratch / f"cluster-probe-{os.getpid()}-{secrets.token_hex(4)}"
        token = secrets.token_hex(16)
        self.probe.write_text(token)
        self.check = WorkerCheck(
            str(workspace.home), self.probe.name, token, dict(jobs.library_versions())
        )
        self.run = secrets.token_hex(4)  # makes this run's task keys its own

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close(timeout=CONNECT_SECONDS)
        self.probe.unlink(missing_ok=True)

    def submit(self, function: Callable[..., Any], key: str, *args: Any) -> Future[Any]:
        return self.client.submit(function, *args, key=f"{key}-{self.run}", pure=False)

    def result(self, future: Future[Any]) -> Any:
        from distributed import KilledWorker

        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                raise ClusterError(
                    f"the workers running task {future.key} died too often "
                    f"({_reason(error)}); out of memory? What finished is kept: run the "
                    "command again"
                ) from None
            raise error
        try:
            return future.result()
        except (CancelledError, OSError, TimeoutError) as error:
            raise ClusterError(
                f"lost the Dask scheduler at {self.address} ({_reason(error)}); the jobs "
                "finished so far are kept: run the command again, with or without --cluster"
            ) from None

    def forget_scenes(self) -> None:
        if self.client.status != "running":
            return
        try:
            self.client.run(_forget_scenes)
        except (OSError, TimeoutError):
            pass  # a worker that is gone holds no scene


def _scheduler(address: str) -> dict[str, str]:
    """How to reach the scheduler: its address, or the file `dask scheduler --scheduler-file` wrote."""
    if Path(address).is_file():
        return {"scheduler_file": address}
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        parse_host_port(parse_address(address)[1])
    except ValueError as error:
        raise ClusterError(
            f"--cluster {address!r} is neither a Dask scheduler's address such as "
            f"tcp://host:8786 nor a scheduler file ({error})"
        ) from None
    return {"address": address}


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class ClusterImportBuilder:
    """Builds the import jobs of a run on the cluster, all at once, for the client to publish.

    Sources that look new are hashed and their builds sent to the cluster at once; the
    import run then decides source by source, as a local run does, and takes each build
    from the cluster when its turn comes (or asks for it then, in the rare case that an
    earlier source of the run changed the decision).
    """

    def __init__(
        self,
        workspace: Workspace,
        address: str,
        sources: list[Path],
        force: bool,
        listener: ImportListener,
    ):
        from drivestats import store

        self.workspace, self.address, self.listener = workspace, address, listener
        self.hashed: dict[tuple[str, int, int], str] = {}
        self.futures: dict[str, Future[Any]] = {}  # by job id
        self.builds: dict[str, ImportBuild] = {}
        # A finished build: its job, or the error to raise when its source's turn comes.
        self.outcomes: dict[str, jobs.JobResult | Exception] = {}
        # Reached when the first build is sent: a run with nothing to build needs no cluster.
        self.cluster: Cluster | None = None
        sent: set[str] = set()
        try:
            for source in sources:
                try:
                    stat = source.stat()
                    digest, row = store.known_source(workspace, source, stat, force, self.digest)
                except OSError:
                    continue  # its turn reports it
                if row is not None and store.days_held(workspace, digest) == row["days"]:
                    continue
                if digest in sent and not force:
                    continue  # a copy: skipped at its turn once the first is published
                sent.add(digest)
                self._submit(store.import_build(workspace, source, stat, digest))
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self) -> ClusterImportBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cluster is None:
            return
        unfinished = [f for i, f in self.futures.items() if i not in self.outcomes]
        try:
            if unfinished:
                self.cluster.client.cancel(unfinished)
        finally:
            self.cluster.close()

    def digest(self, source: Path) -> str:
        """A source's sha256, hashed once per run."""
        stat = source.stat()
        key = (str(source), stat.st_size, stat.st_mtime_ns)
        if key not in self.hashed:
            self.hashed[key] = jobs.file_sha256(source)
        return self.hashed[key]

    def _submit(self, build: ImportBuild) -> str:
        identity = build.job_id()
        if identity not in self.futures:
            if self.cluster is None:
                self.cluster = Cluster(self.workspace, self.address)
            self.listener.source_started(build.source, build.size)
            self.futures[identity] = self.cluster.submit(
                build_import, identity, self.cluster.check, build
            )
            self.builds[identity] = build
        return identity

    def build(
        self, workspace: Workspace, build: ImportBuild, listener: ImportListener
    ) -> jobs.JobResult:
        """This source's import job, waiting for it while other builds finish and are counted."""
        from distributed import as_completed

        identity = self._submit(build)
        assert self.cluster is not None
        if identity not in self.outcomes:
            waiting = [f for i, f in self.futures.items() if i not in self.outcomes]
            by_key = {future.key: i for i, future in self.futures.items()}
            for future in as_completed(waiting, loop=self.cluster.client.loop):
                self._collect(by_key[future.key], future)
                if by_key[future.key] == identity:
                    break
        outcome = self.outcomes[identity]
        if isinstance(outcome, Exception):
            raise outcome
        jobs.record_use(workspace, outcome)
        return outcome

    def _collect(self, identity: str, future: Future[Any]) -> None:
        assert self.cluster is not None
        try:
            job = self.cluster.result(future)
        except ClusterError:
            raise
        except Exception as error:  # the build's own: said when its source's turn comes
            self.outcomes[identity] = error
            return
        self.outcomes[identity] = job
        build = self.builds[identity]
        self.listener.advanced(build.source, build.size, int(job.manifest["rows"].get("rows", 0)))


def cluster_segments(
    workspace: Workspace,
    address: str,
    planned: list[dict[str, Any]],
    fleet_job: jobs.JobResult,
    heard: Callable[[int], None],
) -> Iterator[tuple[int, jobs.JobResult]]:
    """(number, segment job) as the cluster finishes each planned segment; frames counted."""
    from distributed import as_completed

    from drivestats.movie import render

    with Cluster(workspace, address) as cluster:
        numbers: dict[Any, int] = {}  # by task key
        futures = []
        for number, params in enumerate(planned):
            identity = jobs.job_id(render.SEGMENT, params, {}, [])
            future = cluster.submit(
                build_segment, identity, cluster.check, params, fleet_job, identity
            )
            numbers[future.key] = number
            futures.append(future)
        try:
            for future in as_completed(futures, loop=cluster.client.loop):
                job = cluster.result(future)
                jobs.record_use(workspace, job)
                number = numbers[future.key]
                heard(planned[number]["frames"])
                yield number, job
        finally:
            cluster.client.cancel([f for f in futures if not f.done()])
            cluster.forget_scenes()
