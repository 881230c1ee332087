"""How fast is the fleet movie, and is it encoder-bound?

    python benchmarks/bench_movie.py [--drives 180000] [--days 600] [--size 1920x1080] [--workers 2]

Builds a synthetic 2013-2021 fleet directly as fleet tables (about 180,000
drives in ~100 models, pods of 60 deployed in waves, retired whole, ~1.5% AFR),
then, for the same frames of one stretch in the middle of it (the tail
included), measures within this one run:

1. the whole movie as jobs with one worker (scene, render, encode, join);
2. the whole movie with N workers (segments in parallel);
3. rendering alone (no encoder): frames drawn into memory;
4. ffmpeg alone: the same frames, rendered beforehand and held in memory,
   piped to the same encoder command, one encoder and N encoders in parallel.

Ratios that matter: render fps / ffmpeg-alone fps (should be >= 3: encoder
bound) and whole-movie time / ffmpeg-alone time (should be <= 1.3).
Peak memory is the largest resident size of any worker or encoder process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from drivestats import jobs
from drivestats.movie.draw import Painter
from drivestats.movie.encode import encoder_command
from drivestats.movie.render import movie_job, scene
from drivestats.movie.spec import SEGMENT_FRAMES, MovieSpec
from drivestats.movie.state import day_number, day_text
from drivestats.workspace import Workspace

FIRST = day_number("2013-04-10")
LAST = day_number("2021-12-31")


def synthetic_fleet(folder: Path, drives: int, seed: int = 2013) -> jobs.JobResult:
    """A fleet-tables job folder for a made-up Backblaze-like fleet of about `drives` drives."""
    rng = np.random.default_rng(seed)
    big = [39000, 37000, 22000, 20000, 16000, 15000, 14000, 12000, 10500, 10000, 8000, 6500]
    big += [5000, 4700, 4600, 4500, 3500, 3000, 2600, 2400, 2100, 1800, 1500, 1300, 1200]
    sizes = np.array(big + list(rng.integers(1, 400, 70)), dtype=float)
    sizes = np.maximum(1, np.round(sizes * drives / sizes.sum())).astype(int)
    n_models = len(sizes)
    debut = np.sort(rng.integers(FIRST, LAST - 200, n_models))
    debut[: n_models // 5] = FIRST  # the fleet exists on day one
    capacity = rng.choice([1.5, 2, 3, 4, 6, 8, 10, 12, 14, 16], n_models) * 10**12
    firsts, lasts, fails, models = [], [], [], []
    for model, (count, start) in enumerate(zip(sizes, debut, strict=True)):
        pods = -(-count // 60)
        pod_day = start + np.sort(rng.integers(0, 700, pods))
        pod_day[0] = start
        pod_day = np.minimum(pod_day, LAST)
        pod_life = rng.integers(4 * 365, 8 * 365, pods)
        first = np.repeat(pod_day, 60)[:count]
        last = np.minimum(np.repeat(pod_day + pod_life, 60)[:count], LAST)
        last = np.maximum(first, last)
        # ~1.5% a year: a drive fails with a probability growing with its years in service.
        years = (last - first) / 365
        failed = rng.random(count) < 1 - np.exp(-0.015 * years)
        fail_day = np.where(failed, first + (rng.random(count) * (last - first)).astype(int), -1)
        last = np.where(failed, fail_day, last)
        firsts.append(first), lasts.append(last), fails.append(fail_day)
        models.append(np.full(count, model))
    first, last, fail = np.concatenate(firsts), np.concatenate(lasts), np.concatenate(fails)
    model = np.concatenate(models)
    names = [
        f"ST{m:03d}0NM00{m % 10}" if m % 3 else f"HGST HUH72{m:03d}ALE604" for m in range(n_models)
    ]

    def dates(values: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int32), pa.int32()).cast(pa.date32())

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "serial_number": [f"S{i:07d}" for i in range(len(first))],
                "model": pa.array(np.array(names)[model]),
                "first_day": dates(first),
                "last_day": dates(last),
                "failure_day": pa.array(
                    np.where(fail >= 0, fail, 0).astype(np.int32), mask=fail < 0
                ).cast(pa.date32()),
            }
        ),
        folder / "drives.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "model": names,
                "vendor": ["Seagate" if m % 3 else "HGST" for m in range(n_models)],
                "capacity_bytes": capacity.astype(np.int64),
            }
        ),
        folder / "models.parquet",
    )
    span = LAST - FIRST + 2
    on = np.zeros(span, np.int64)
    stored = np.zeros(span, np.int64)
    np.add.at(on, first - FIRST, 1)
    np.add.at(on, last - FIRST + 1, -1)
    np.add.at(stored, first - FIRST, capacity[model].astype(np.int64))
    np.add.at(stored, last - FIRST + 1, -capacity[model].astype(np.int64))
    days = np.arange(FIRST, LAST + 1)
    present = rng.random(len(days)) > 0.002  # a few days without data, as in the real set
    pq.write_table(
        pa.table(
            {
                "date": dates(days[present]),
                "drives": np.cumsum(on)[:-1][present],
                "storage_bytes": np.cumsum(stored)[:-1][present],
            }
        ),
        folder / "daily.parquet",
    )
    manifest = {"parameters": {"until": day_text(LAST)}}
    return jobs.JobResult(f"fleet-tables-bench{drives}", "fleet-tables", folder, False, manifest)


def peak_memory(fleet: jobs.JobResult, spec: MovieSpec, workers: int, home: Path) -> dict:
    """Peak resident MB of a fresh process making the movie, and of its workers and encoders."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from pathlib import Path
from drivestats import jobs
from drivestats.movie.render import movie_job
from drivestats.movie.spec import MovieSpec
from drivestats.workspace import Workspace
fleet = jobs.JobResult({fleet.id!r}, "fleet-tables", Path({str(fleet.dir)!r}), False,
                       {fleet.manifest!r})
spec = MovieSpec(**{json.dumps(spec.__dict__)})
movie_job(Workspace(Path({str(home)!r})), spec, fleet, {workers})
print(json.dumps({{
    "main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "worker_or_encoder_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    """CPU time of this process and of every finished child (workers, encoders)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_movie(workspace: Workspace, spec: MovieSpec, fleet, workers: int) -> float:
    started = time.perf_counter()
    result = movie_job(workspace, spec, fleet, workers)
    elapsed = time.perf_counter() - started
    assert result.segments_reused == 0, "benchmark needs fresh segments"
    return elapsed


def encode_alone(frames: list[np.ndarray], spec: MovieSpec, encoders: int, folder: Path) -> float:
    """Pipe frames held in memory into `encoders` ffmpeg processes at once; seconds taken."""
    shares = np.array_split(np.arange(len(frames)), encoders)
    processes = [
        subprocess.Popen(
            encoder_command(folder / f"alone-{n}.mp4", spec.width, spec.height, spec.fps, "bench"),
            stdin=subprocess.PIPE,
        )
        for n in range(encoders)
    ]

    def feed(process: subprocess.Popen, share: np.ndarray) -> None:
        for index in share:
            process.stdin.write(frames[index].data)
        process.stdin.close()
        process.wait()

    started = time.perf_counter()
    threads = [
        threading.Thread(target=feed, args=(p, s)) for p, s in zip(processes, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drives", type=int, default=180_000)
    parser.add_argument("--days", type=int, default=600, help="days in the measured stretch")
    parser.add_argument("--from", dest="start", default="2019-01-01")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--segment-frames", type=int, default=None, help="default: the movie's")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    workers = args.workers

    with tempfile.TemporaryDirectory(prefix="bench-movie-") as tmp:
        folder = Path(tmp)
        fleet = synthetic_fleet(folder / "fleet", args.drives)
        start = day_number(args.start)
        segment = args.segment_frames or SEGMENT_FRAMES
        spec = MovieSpec(
            start=day_text(start),
            end=day_text(start + args.days - 1),
            until=day_text(LAST),
            width=width,
            height=height,
            segment_frames=segment,
        )
        total = spec.timeline.frames
        report: dict[str, object] = {
            "size": args.size,
            "drives_in_fleet": args.drives,
            "frames": total,
            "workers": workers,
            "repeat": args.repeat,
        }
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}

        def measure(name: str, action) -> None:
            """Run an action; keep its best wall time and the CPU time of that run."""
            cpu_before, started = cpu_seconds(), time.perf_counter()
            action()
            wall, used = time.perf_counter() - started, cpu_seconds() - cpu_before
            if wall < best.get(name, float("inf")):
                best[name], cpu[name] = wall, used

        # Memory first, in fresh processes, for this stretch and one twice as long.
        longer = MovieSpec(**{**spec.__dict__, "end": day_text(start + 2 * args.days - 1)})
        report["peak_memory_mb"] = {
            f"{args.days} days": peak_memory(fleet, spec, workers, folder / "m1"),
            f"{2 * args.days} days": peak_memory(fleet, longer, workers, folder / "m2"),
        }

        painter_started = time.perf_counter()
        painter = Painter(scene(fleet, spec))
        report["scene_setup_seconds"] = round(time.perf_counter() - painter_started, 2)
        report["drives_in_movie"] = len(painter.scene.fleet.days)
        report["cell_px"] = painter.cell
        frames = [frame.copy() for frame in painter.frames(0, total)]

        def render() -> None:
            for _frame in painter.frames(0, total):
                pass

        # Interleaved, so that each comparison sees the same load on a shared machine.
        for run in range(args.repeat):
            home_1, home_n = Workspace(folder / f"w1-{run}"), Workspace(folder / f"wn-{run}")
            measure("render", render)
            measure("alone_1", partial(encode_alone, frames, spec, 1, folder))
            measure("whole_1", partial(timed_movie, home_1, spec, fleet, 1))
            measure("alone_n", partial(encode_alone, frames, spec, workers, folder))
            measure("whole_n", partial(timed_movie, home_n, spec, fleet, workers))

        names = {
            "render": "render only",
            "alone_1": "ffmpeg alone, 1 encoder",
            "alone_n": f"ffmpeg alone, {workers} encoders",
            "whole_1": "whole movie, 1 worker",
            "whole_n": f"whole movie, {workers} workers",
        }
        report["seconds"] = {names[k]: round(v, 2) for k, v in best.items()}
        report["cpu_seconds"] = {names[k]: round(v, 2) for k, v in cpu.items()}
        report["frames_per_second"] = {names[k]: round(total / v, 1) for k, v in best.items()}
        report["ratios"] = {
            "render speed / encode speed (1 encoder)": round(best["alone_1"] / best["render"], 2),
            "whole movie / ffmpeg alone (1), wall": round(best["whole_1"] / best["alone_1"], 2),
            f"whole movie / ffmpeg alone ({workers}), wall": round(
                best["whole_n"] / best["alone_n"], 2
            ),
            "whole movie / ffmpeg alone (1), cpu": round(cpu["whole_1"] / cpu["alone_1"], 2),
            f"whole movie / ffmpeg alone ({workers}), cpu": round(
                cpu["whole_n"] / cpu["alone_n"], 2
            ),
        }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
