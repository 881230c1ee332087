"""Import and movie on a real Dask cluster: a scheduler and two workers, each its own process
on 127.0.0.1, against the same work done on this machine alone.

What must hold: the same bytes (store months, fleet tables, movies, job ids), each side
reusing the other's jobs, a worker killed mid-segment leaving no half job, a lost
scheduler said in one line with a workspace a local run completes, two clients on one
workspace waiting for each other, and progress counted from the cluster's tasks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import pack_like_backblaze, run_cli, sample_files

pytest.importorskip("distributed")

SRC = Path(__file__).resolve().parents[1] / "src"
SIZE = "640x360"
SEGMENT_FRAMES = 10  # the ten sample days make 60 frames: six segments, six tasks


class DaskProcesses:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, torn down by stop()."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = folder / "scheduler.json"
        # The workers import this worktree's drivestats, as an installed one would be.
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path[1:]])}
        self.scheduler = self._start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--scheduler-file", str(self.scheduler_file), "--no-dashboard",
        )  # fmt: skip
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            deadline = time.time() + 60
            while not self.scheduler_file.exists() and time.time() < deadline:
                assert self.scheduler.poll() is None, self.log("scheduler")
                time.sleep(0.1)
            self.address = json.loads(self.scheduler_file.read_text())["address"]
            for _ in range(workers):
                self.add_worker()
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - the process keeps it
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], env=self.env, stdout=log, stderr=log
        )

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def add_worker(self) -> None:
        """Start one more worker (one task at a time, no nanny: its pid is the builder's)."""
        name = f"worker-{len(self.workers)}"
        self.workers.append(
            self._start(
                name,
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--name",
                name,
            )  # fmt: skip
        )
        self.wait_for_workers(sum(w.poll() is None for w in self.workers))

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=60)

    @property
    def worker_pids(self) -> set[int]:
        return {worker.pid for worker in self.workers if worker.poll() is None}

    def stop(self) -> None:
        # Workers first: a worker told to stop while its scheduler goes too waits to say goodbye.
        for group in (self.workers, [self.scheduler]):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            for process in group:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    processes = DaskProcesses(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield processes
    finally:
        processes.stop()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two zips of five days each, then a loose day the second run of the store takes again
    from a later source: the order of publishing decides which source holds it."""
    folder = tmp_path_factory.mktemp("sources")
    files = sample_files()
    return [
        pack_like_backblaze(files[:5], folder / "data_A.zip"),
        pack_like_backblaze(files[5:], folder / "data_B.zip"),
        *files[2:4],
    ]


# A local run in a fresh interpreter: its modules show whether Dask was ever imported.
LOCAL_RUN = """
import json, sys
from pathlib import Path
from drivestats.cli import cli
from drivestats.movie.render import render_movie
from drivestats.movie.spec import Look
from drivestats.workspace import Workspace
home, sources = sys.argv[1], json.loads(sys.argv[2])
for args in (["import", "-q", *sources], ["movie", "--quiet", "--size", "640x360"]):
    try:
        cli(["--home", home, *args], standalone_mode=False)
    except SystemExit:
        pass
render_movie(Workspace(Path(home)), look=Look(640, 360), segment_frames=10)
print(json.dumps(sorted(m for m in ("dask", "distributed") if m in sys.modules)))
"""


@pytest.fixture(scope="module")
def local_home(tmp_path_factory: pytest.TempPathFactory, sources: list[Path]) -> Path:
    home = tmp_path_factory.mktemp("local") / "home"
    finished = subprocess.run(
        [sys.executable, "-c", LOCAL_RUN, str(home), json.dumps([str(s) for s in sources])],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    (home / "dask-modules.json").write_text(finished.stdout.strip().splitlines()[-1])
    return home


@pytest.fixture(scope="module")
def cluster_home(
    tmp_path_factory: pytest.TempPathFactory, dask_cluster: DaskProcesses, sources: list[Path]
) -> dict[str, object]:
    """The same work as local_home, on the cluster, with what its progress reports said."""
    from drivestats.movie.render import render_movie
    from drivestats.movie.spec import Look
    from drivestats.store import import_sources
    from drivestats.workspace import Workspace

    home = tmp_path_factory.mktemp("cluster") / "home"
    workspace = Workspace(home)
    listener = RecordingListener()
    report = import_sources(workspace, sources, listener, cluster=dask_cluster.address)
    assert not report.failed
    made = run_cli(home, "movie", "--quiet", "--size", SIZE, "--cluster", dask_cluster.address)
    assert made.exit_code == 0, made.output
    frames: list[tuple[int, int]] = []
    movie = render_movie(
        workspace,
        look=Look(640, 360),
        segment_frames=SEGMENT_FRAMES,
        cluster=dask_cluster.address,
        on_frames=lambda done, total: frames.append((done, total)),
    )
    return {"home": home, "imports": report, "listener": listener, "frames": frames,
            "movie": movie}  # fmt: skip


class RecordingListener:
    def __init__(self) -> None:
        self.starts: list[str] = []
        self.progress: list[tuple[str, int]] = []

    def source_started(self, source: Path, total_bytes: int) -> None:
        self.starts.append(source.name)

    def advanced(self, source: Path, done_bytes: int, rows: int) -> None:
        self.progress.append((source.name, done_bytes))

    def note(self, message: str) -> None:
        pass


def job_ids(home: Path) -> set[str]:
    return {p.name for p in (home / "jobs").glob("*/*") if not p.name.startswith(".")}


def output_bytes(home: Path, stages: tuple[str, ...]) -> dict[str, bytes]:
    """Every output file of the jobs of these stages (manifests aside: they hold times)."""
    return {
        path.relative_to(home).as_posix(): path.read_bytes()
        for stage in stages
        for path in sorted((home / "jobs" / stage).glob("*/**/*"))
        if path.is_file() and path.name != "job.json" and ".tmp-" not in path.as_posix()
    }


def store_bytes(home: Path) -> dict[str, bytes]:
    months = home / "store" / "months"
    return {p.relative_to(months).as_posix(): p.read_bytes() for p in sorted(months.rglob("*.parquet"))}  # fmt: skip


def results_bytes(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((home / "results").iterdir())}


def movie_bytes(home: Path, job: str) -> bytes:
    return (home / "jobs" / "movie" / job / "movie.mp4").read_bytes()


def forget_movies(home: Path) -> None:
    """Remove the movie jobs, as gc does: their folders and their catalog rows."""
    import sqlite3

    shutil.rmtree(home / "jobs" / "movie")
    with sqlite3.connect(home / "catalog.sqlite") as connection:
        connection.execute("delete from job_outputs where job_id like 'movie-%'")
        connection.execute("delete from jobs where stage = 'movie'")


def catalog_days(home: Path) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(home / "catalog.sqlite") as connection:
        return connection.execute(
            "select day, file, sha256, source_sha256, member, job_id from days order by day"
        ).fetchall()


def runs_of(home: Path, stage: str) -> list[int]:
    """The reused flag of every recorded use of a stage's jobs, oldest first."""
    import sqlite3

    with sqlite3.connect(home / "catalog.sqlite") as connection:
        return [
            row[0]
            for row in connection.execute(
                "select reused from job_runs where job_id like ? order by rowid", (f"{stage}-%",)
            )
        ]


STAGES = ("import", "fleet-partial", "fleet-tables", "movie-segment", "movie")


def test_a_local_run_never_imports_dask(local_home: Path) -> None:
    assert json.loads((local_home / "dask-modules.json").read_text()) == []


def test_the_cluster_makes_the_same_bytes_and_jobs(
    local_home: Path, cluster_home: dict[str, object]
) -> None:
    home = cluster_home["home"]
    assert isinstance(home, Path)
    assert store_bytes(home) == store_bytes(local_home)
    assert len(store_bytes(home)) == 1
    assert catalog_days(home) == catalog_days(local_home)
    assert job_ids(home) == job_ids(local_home)
    assert output_bytes(home, STAGES) == output_bytes(local_home, STAGES)
    assert results_bytes(home) == results_bytes(local_home)
    # The loose days were imported after the zip that first held them: they come from them.
    sources = {row[3] for row in catalog_days(home)}
    assert len(sources) == 4
    # Built on the cluster, entered into the catalog here as made.
    assert runs_of(home, "import") == [0, 0, 0, 0]
    assert runs_of(home, "movie-segment") == [0] * 7


def test_progress_counts_the_cluster_tasks(cluster_home: dict[str, object]) -> None:
    listener = cluster_home["listener"]
    assert isinstance(listener, RecordingListener)
    assert sorted(listener.starts) == ["2013-04-12.csv", "2013-04-13.csv", "data_A.zip", "data_B.zip"]  # fmt: skip
    sizes = {s.name: s.stat().st_size for s in [*sample_files()]}
    finished = dict(listener.progress)
    assert sorted(finished) == sorted(listener.starts)
    assert finished["2013-04-12.csv"] == sizes["2013-04-12.csv"]
    frames = cluster_home["frames"]
    assert isinstance(frames, list)
    # One report before the work, then one per finished segment, up to every frame.
    assert frames[0] == (0, 60)
    assert [done for done, _ in frames[1:]] == list(range(10, 61, 10))


def test_each_side_reuses_the_jobs_of_the_other(
    tmp_path: Path,
    dask_cluster: DaskProcesses,
    local_home: Path,
    cluster_home: dict[str, object],
    sources: list[Path],
) -> None:
    from drivestats.movie.render import render_movie
    from drivestats.movie.spec import Look
    from drivestats.workspace import Workspace

    made_there = tmp_path / "made-there"
    shutil.copytree(cluster_home["home"], made_there, symlinks=True)  # type: ignore[arg-type]
    made_here = tmp_path / "made-here"
    shutil.copytree(local_home, made_here, symlinks=True)
    # A local run in the cluster's workspace: the import jobs are reused (the zip whose days
    # the loose files took takes them back, and they take them again), the movie made.
    again = run_cli(made_there, "import", *map(str, sources))
    assert again.exit_code == 0, again.output
    assert runs_of(made_there, "import")[4:] == [1, 1, 1]
    assert store_bytes(made_there) == store_bytes(local_home)
    movie = run_cli(made_there, "movie", "--quiet", "--size", SIZE)
    assert "(reused)" in movie.output
    # Without the movies, only the join is made again: every segment is reused, here...
    for home, cluster in ((made_there, None), (made_here, dask_cluster.address)):
        forget_movies(home)
        result = render_movie(
            Workspace(home), look=Look(640, 360), segment_frames=SEGMENT_FRAMES, cluster=cluster
        )
        assert (result.segments_made, result.segments_reused) == (0, 6)
        assert result.link.read_bytes() == movie_bytes(local_home, result.job.id)
    # ... and import jobs made on one side are taken, not rebuilt, by the other.
    fresh = tmp_path / "fresh"
    (fresh / "jobs").mkdir(parents=True)
    shutil.copytree(local_home / "jobs" / "import", fresh / "jobs" / "import")
    imported = run_cli(fresh, "import", "-q", "--cluster", dask_cluster.address, *map(str, sources))
    assert imported.exit_code == 0, imported.output
    assert runs_of(fresh, "import") == [1, 1, 1, 1]
    assert store_bytes(fresh) == store_bytes(local_home)


def test_a_run_decides_source_by_source_as_a_local_run(
    tmp_path: Path, dask_cluster: DaskProcesses, sources: list[Path]
) -> None:
    from drivestats.store import import_sources
    from drivestats.workspace import Workspace

    # The same zip twice under other names: the second is known once the first is published.
    copy = tmp_path / "copy" / "data_A_again.zip"
    copy.parent.mkdir()
    shutil.copyfile(sources[0], copy)
    outcomes = {}
    for side, cluster in (("local", None), ("cluster", dask_cluster.address)):
        report = import_sources(Workspace(tmp_path / side), [sources[0], copy], cluster=cluster)
        outcomes[side] = [(Path(o.path).name, o.status, o.job_id) for o in report.outcomes]
    assert outcomes["cluster"] == outcomes["local"]
    assert [status for _, status, _ in outcomes["local"]] == ["imported", "skipped"]
    assert job_ids(tmp_path / "cluster") == job_ids(tmp_path / "local")


def test_a_worker_killed_mid_segment_is_retried_and_leaves_no_half_job(
    tmp_path: Path, dask_cluster: DaskProcesses, local_home: Path
) -> None:
    from drivestats.movie.render import render_movie
    from drivestats.movie.spec import Look
    from drivestats.workspace import Workspace

    # Larger frames, so that a segment takes long enough to be caught mid-build.
    look, frames = Look(1920, 1080), 15
    here, there = tmp_path / "here", tmp_path / "there"
    for home in (here, there):
        shutil.copytree(local_home, home, symlinks=True)
    expected = render_movie(Workspace(here), look=look, segment_frames=frames).link.read_bytes()

    import threading

    outcome: dict[str, object] = {}

    def render() -> None:
        try:
            outcome["movie"] = render_movie(
                Workspace(there), look=look, segment_frames=frames, cluster=dask_cluster.address
            )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    thread = threading.Thread(target=render)
    thread.start()
    stage = there / "jobs" / "movie-segment"
    host = socket.gethostname()
    killed, killed_mid_build = None, False
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and thread.is_alive():
        for building in stage.glob(f".tmp-*@{host}-*"):
            pid = int(building.name.split("-")[-2])
            if pid in dask_cluster.worker_pids:
                os.kill(pid, signal.SIGKILL)
                # Still there: the build had not been renamed into place when it was killed.
                killed_mid_build = building.exists()
                killed = building
                break
        time.sleep(0.01)
    thread.join(timeout=300)
    assert killed is not None, "no segment was seen building on a worker"
    assert killed_mid_build
    assert "error" not in outcome, outcome.get("error")
    movie = outcome["movie"]
    assert movie.link.read_bytes() == expected  # type: ignore[attr-defined]
    # Every job folder is a whole job; the killed build left at most its temporary folder.
    identity = killed.name[len(".tmp-") :].split("@")[0]
    assert (stage / identity / "job.json").exists(), "the killed segment was built again"
    for folder in stage.iterdir():
        assert folder.name.startswith(".tmp-") or (folder / "job.json").exists()
    live = [
        f for f in stage.glob(".tmp-*") if int(f.name.split("-")[-2]) in dask_cluster.worker_pids
    ]
    assert live == []
    # The cluster goes on with a new worker for the tests after this one.
    dask_cluster.add_worker()


def test_two_clients_on_one_workspace_wait_for_each_other(
    tmp_path: Path, dask_cluster: DaskProcesses, local_home: Path, sources: list[Path]
) -> None:
    home = tmp_path / "home"

    def client(*paths: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "drivestats", "--home", str(home), "import", "-q",
             "--cluster", dask_cluster.address, *map(str, paths)],
            env=dask_cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    one = client(*sources)
    lock = home / "store" / ".lock"
    deadline = time.time() + 60
    while not (lock.exists() and lock.read_text().strip()) and time.time() < deadline:
        time.sleep(0.01)
    two = client(*sources)
    out_one, _ = one.communicate(timeout=300)
    out_two, _ = two.communicate(timeout=300)
    assert one.returncode == 0, out_one
    assert two.returncode == 0, out_two
    assert "another import is running" in out_two
    assert store_bytes(home) == store_bytes(local_home)
    assert catalog_days(home) == catalog_days(local_home)


def test_a_lost_scheduler_is_one_line_and_a_local_run_completes(
    tmp_path: Path, local_home: Path, sources: list[Path]
) -> None:
    own = DaskProcesses(tmp_path / "dask", workers=1)
    try:
        home = tmp_path / "home"
        process = subprocess.Popen(
            [sys.executable, "-m", "drivestats", "--home", str(home), "import", "-q",
             "--cluster", own.address, *map(str, sources)],
            env=own.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline and not list((home / "jobs" / "import").glob("import-*")):
            time.sleep(0.01)
        own.scheduler.kill()
        out, err = process.communicate(timeout=120)
    finally:
        own.stop()
    assert process.returncode == 1, out + err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "lost the Dask scheduler" in lines[0], err
    finished = run_cli(home, "import", "-q", *map(str, sources))
    assert finished.exit_code == 0, finished.output
    assert store_bytes(home) == store_bytes(local_home)
    assert catalog_days(home) == catalog_days(local_home)
    for folder in (home / "jobs" / "import").iterdir():
        assert folder.name.startswith(".tmp-") or (folder / "job.json").exists()


def test_an_unreachable_scheduler_is_one_line_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drivestats import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    home = tmp_path / "home"
    result = run_cli(home, "import", "--cluster", f"tcp://127.0.0.1:{port}", str(sample_files()[0]))
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.output
    assert not list((home / "store" / "months").rglob("*.parquet"))
    bad = run_cli(home, "import", "--cluster", "no-port-here", str(sample_files()[0]))
    assert bad.exit_code == 1 and "neither a Dask scheduler's address" in bad.output
    # With nothing to build, the cluster is never asked.
    assert run_cli(home, "import", "-q", str(sample_files()[0])).exit_code == 0
    reused = run_cli(home, "import", "--cluster", f"tcp://127.0.0.1:{port}", str(sample_files()[0]))
    assert reused.exit_code == 0 and "skipped" in reused.output, reused.output


def test_a_worker_that_cannot_build_alike_says_why(tmp_path: Path) -> None:
    from drivestats import jobs
    from drivestats.cluster import WorkerCheck
    from drivestats.errors import DrivestatsError

    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "probe").write_text("token")
    versions = dict(jobs.library_versions())
    assert WorkerCheck(str(tmp_path), "probe", "token", versions).workspace().home == tmp_path
    with pytest.raises(DrivestatsError, match="does not see the workspace"):
        WorkerCheck(str(tmp_path), "probe", "another", versions).workspace()
    older = {**versions, "pyarrow": "0.1"}
    with pytest.raises(DrivestatsError, match=r"pyarrow .* \(client 0\.1\)"):
        WorkerCheck(str(tmp_path), "probe", "token", older).workspace()


def test_only_this_machines_abandoned_builds_are_swept() -> None:
    from drivestats import jobs

    gone = 2**22 + 12345  # above Linux's default pid_max: no such process
    here = socket.gethostname()
    assert jobs.abandoned(f".tmp-movie-segment-0123@{here}-{gone}-deadbeef")
    assert jobs.abandoned(f".tmp-movie-segment-0123-{gone}-deadbeef")  # made before hosts
    assert not jobs.abandoned(f".tmp-movie-segment-0123@not-{here}-{gone}-deadbeef")
    assert not jobs.abandoned(f".tmp-movie-segment-0123@{here}-{os.getpid()}-deadbeef")
