"""Import and movie on a 2-worker local Dask cluster against the local path, on the same data.

    python benchmarks/bench_cluster.py                       # 2013-04-10 .. 2016-06-30, scale 0.02
    python benchmarks/bench_cluster.py --scale 0.05 --rounds 3

Writes a synthetic fleet in Backblaze's packaging (yearly zips to 2015, then
quarterly ones: one import job, hence one task, per zip), starts a `dask
scheduler` and two `dask worker` processes (one task each at a time) on
127.0.0.1, then, round after round and interleaved so that both see the same
load, times as fresh processes in fresh workspaces:

1. `drivestats import -q ZIPS` locally, then with `--cluster`;
2. `drivestats movie --quiet` locally (two worker processes, the default on
   two cores), then with `--cluster`, each in the workspace its import made;
3. the fixed cost: `drivestats import -q` of one real sample day (one small
   task) locally, then with `--cluster` (importing Dask, connecting, checking).

Every round checks that both sides made the same bytes (store month files,
movie) and the same job ids. Reports the median wall seconds of each, the
ratio cluster / local, and the load average at the start and the end. On one
2-core machine no speed-up is expected: the figure is the cluster's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SAMPLE = HERE.parent.parent / "shared" / "samples" / "backblaze-2013" / "2013-04-10.csv"


def drivestats(home: Path, *args: str) -> float:
    """Wall seconds of one drivestats command in a fresh process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "drivestats", "--home", str(home), *args],
        capture_output=True, check=True, env=ENV,
    )  # fmt: skip
    return time.perf_counter() - started


ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def start_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    scheduler_file = folder / "scheduler.json"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--scheduler-file", str(scheduler_file), "--no-dashboard"],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    while not scheduler_file.exists():
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for number in range(workers):
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{number}"],
                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, processes


def made(home: Path) -> dict[str, str]:
    """sha256 of every store month and movie, and the job ids: what both sides must share."""
    from drivestats.jobs import file_sha256

    files = sorted((home / "store" / "months").rglob("*.parquet"))
    files += sorted((home / "jobs" / "movie").glob("*/movie.mp4"))
    digests = {path.relative_to(home).as_posix(): file_sha256(path) for path in files}
    digests["jobs"] = ",".join(sorted(p.name for p in (home / "jobs").glob("*/*-*")))
    return digests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--start", default="2013-04-10")
    parser.add_argument("--end", default="2016-06-30")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        root = Path(scratch)
        data = root / "data"
        subprocess.run(
            [sys.executable, "-m", "drivestats", "synth", "--quiet", "--start", args.start,
             "--end", args.end, "--scale", str(args.scale), str(data)],
            check=True, env=ENV, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        zips = sorted(str(p) for p in data.glob("*.zip"))
        address, processes = start_cluster(root, args.workers)
        stages = ("import", "movie", "one day")
        times: dict[str, list[float]] = {f"{s}{c}": [] for s in stages for c in ("", " cluster")}
        try:
            for round_number in range(args.rounds):
                local, cluster = root / f"local-{round_number}", root / f"cluster-{round_number}"
                times["import"].append(drivestats(local, "import", "-q", *zips))
                times["import cluster"].append(
                    drivestats(cluster, "import", "-q", "--cluster", address, *zips)
                )
                times["movie"].append(drivestats(local, "movie", "--quiet"))
                times["movie cluster"].append(
                    drivestats(cluster, "movie", "--quiet", "--cluster", address)
                )
                if made(local) != made(cluster):
                    raise SystemExit(f"round {round_number}: the cluster made other bytes")
                small, small_cluster = root / f"day-{round_number}", root / f"day-c-{round_number}"
                times["one day"].append(drivestats(small, "import", "-q", str(SAMPLE)))
                times["one day cluster"].append(
                    drivestats(small_cluster, "import", "-q", "--cluster", address, str(SAMPLE))
                )
                if made(small) != made(small_cluster):
                    raise SystemExit(f"round {round_number}: the cluster made another day")
                print(f"round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)  # fmt: skip
        finally:
            load_after = os.getloadavg()
            # Workers first: a worker told to stop while its scheduler goes too waits to say goodbye.
            for process in [*processes[1:], processes[0]]:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        store_mb = sum(p.stat().st_size for p in (root / "local-0" / "store").rglob("*.parquet"))
        frames = json.loads(next((root / "local-0" / "jobs" / "movie").glob("*/job.json")).read_text())["rows"]["frames"]  # fmt: skip
    print(
        f"\n{len(zips)} zips ({args.start} .. {args.end}, scale {args.scale}), "
        f"store {store_mb / 1e6:.1f} MB, movie {frames} frames 1920x1080; "
        f"{args.workers} workers; {args.rounds} interleaved rounds; same bytes every round"
    )
    print("| stage | local s (median) | cluster s (median) | cluster / local | overhead s |")
    print("|---|---:|---:|---:|---:|")
    for stage in stages:
        here = statistics.median(times[stage])
        there = statistics.median(times[f"{stage} cluster"])
        print(f"| {stage} | {here:.2f} | {there:.2f} | {there / here:.2f} | {there - here:+.2f} |")
    print(
        "load average (1/5/15 min): start "
        + " / ".join(f"{x:.2f}" for x in load_before)
        + ", end "
        + " / ".join(f"{x:.2f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
