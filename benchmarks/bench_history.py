"""The whole chain on one synthetic history: synth, import, fleet tables, afr, survival, movie, board.

    python benchmarks/bench_history.py --scale 0.05 --scale 0.2      # minutes
    nohup python benchmarks/bench_history.py --scale 1 > history.log &   # hours, resumable

Each step is a fresh ``drivestats`` process (or a short ``python -c`` where no
command exists), timed from outside: wall seconds, CPU seconds of the process
and everything it started (``RUSAGE_CHILDREN``), peak resident memory of the
whole process tree (sampled from /proc every 0.1 s: movie workers and ffmpeg
included) and the disk the workspace uses after the step.

The history is made zip by zip: synthesize one zip, import it, time a bare
``pyarrow.csv`` read of the same members (every ``--bare-every``-th zip, for
the import/bare ratio), then delete the zip unless ``--keep-zips`` (at scale 1
the zips alone would be ~50 GB). Finished steps are written to
``<work>/scale-<s>/state.json`` at once, so a run cut short goes on where it
stopped; drivestats' own jobs make the rest reusable. After the history, the
next quarter (2026 Q3) is added the same way and every step is timed again:
what a new quarter costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "history"
HISTORY_END = dt.date(2026, 6, 30)
NEXT_QUARTER = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
PAGE = 4096

BARE = textwrap.dedent(
    """
    import json, sys, zipfile
    import pyarrow.csv as pacsv
    rows = 0
    with zipfile.ZipFile(sys.argv[1]) as archive:
        for info in archive.infolist():
            name = info.filename
            if not name.endswith('.csv') or '__MACOSX' in name or '/.' in name:
                continue
            with archive.open(info) as handle:
                rows += pacsv.read_csv(handle).num_rows
    print(json.dumps({"rows": rows}))
    """
)

# ffmpeg alone on the movie's own frames: decode the finished mp4 (untimed) into chunks
# held in memory, then time only the encoding of each pair of chunks by two encoder
# processes at once, the parallelism of the movie's two workers. A 4K frame is 25 MB,
# so chunks are 60 frames (1.5 GB), not the movie's 600-frame segments (15 GB).
ENCODE_ALONE = textwrap.dedent(
    """
    import json, os, subprocess, sys, tempfile, threading, time
    from pathlib import Path
    from drivestats.movie.encode import encoder_command, ffmpeg
    movie, width, height, fps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    CHUNK, ENCODERS = 60, os.cpu_count() or 1
    frame_bytes = width * height * 3
    decoder = subprocess.Popen([ffmpeg(), '-hide_banner', '-loglevel', 'error', '-i', movie,
        '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], stdout=subprocess.PIPE, bufsize=0)
    def chunk():
        frames = []
        while len(frames) < CHUNK:
            frame = bytearray(frame_bytes)
            view, filled = memoryview(frame), 0
            while filled < frame_bytes:
                got = decoder.stdout.readinto(view[filled:])
                if not got:
                    break
                filled += got
            if filled < frame_bytes:
                break
            frames.append(frame)
        return frames
    def encode(frames, out):
        process = subprocess.Popen(encoder_command(out, width, height, fps, 'alone'),
            stdin=subprocess.PIPE)
        for frame in frames:
            process.stdin.write(frame)
        process.stdin.close()
        process.wait()
    encode_s, total = 0.0, 0
    with tempfile.TemporaryDirectory() as folder:
        while True:
            chunks = [c for c in (chunk() for _ in range(ENCODERS)) if c]
            if not chunks:
                break
            total += sum(len(c) for c in chunks)
            threads = [threading.Thread(target=encode, args=(c, Path(folder) / f'{n}.mp4'))
                for n, c in enumerate(chunks)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            encode_s += time.perf_counter() - started
    decoder.wait()
    print(json.dumps({'frames': total, 'encode_s': round(encode_s, 2)}))
    """
)

FLEET_TABLES = (
    "import sys; from drivestats import fleet; from drivestats.workspace import Workspace;"
    "job = fleet.fleet_tables(Workspace.resolve(sys.argv[1]));"
    "print(job.id, 'reused' if job.reused else 'made')"
)


# --- measuring one process tree ---------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * PAGE
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        total += rss.get(pid, 0)
        frontier += [child for child, parent in parents.items() if parent == pid]
    return total


def measured(command: list[str], disk: list[Path], env: dict[str, str] | None = None) -> dict:
    """Run a command to its end; wall, CPU and peak tree memory; the disk its folders use after."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_mb = peak[0] / 2**20  # RUSAGE_CHILDREN's maxrss is a maximum over every child ever
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_mb": round(peak_mb),
        "disk_mb": round(sum(_size(p) for p in disk) / 2**20),
        "stdout_tail": out.strip().splitlines()[-1:] if out.strip() else [],
    }


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    seen: set[int] = set()  # hard links (store days = import outputs) count once
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(folder, name))
            if stat.st_ino not in seen:
                seen.add(stat.st_ino)
                total += stat.st_blocks * 512
    return total


# --- the chain ----------------------------------------------------------------------------


def zips_of(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Backblaze's zips covering [start, end]: yearly to 2015, then quarterly."""
    from drivestats.backblaze.synth import days_between, zip_name

    spans: dict[str, list[dt.date]] = {}
    for day in days_between(start, end):
        spans.setdefault(zip_name(day), []).append(day)
    return [(name, days[0], days[-1]) for name, days in spans.items()]


class Run:
    """One scale's run: its folders and its resumable record of finished steps."""

    def __init__(self, scale: float, work: Path, keep_zips: bool, bare_every: int) -> None:
        self.scale = scale
        self.folder = work / f"scale-{scale:g}"
        self.home = self.folder / "home"
        self.zips = self.folder / "zips"
        self.state_file = self.folder / "state.json"
        self.keep_zips, self.bare_every = keep_zips, bare_every
        self.folder.mkdir(parents=True, exist_ok=True)
        self.state: dict = (
            json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        )

    def save(self) -> None:
        partial = self.state_file.with_suffix(".partial")
        partial.write_text(json.dumps(self.state, indent=1))
        os.replace(partial, self.state_file)

    def drivestats(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "drivestats", "--home", str(self.home), *args]

    def step(self, key: str, command: list[str]) -> dict:
        """A step measured once; a resumed run takes the recorded figures."""
        if key not in self.state:
            print(f"[{time.strftime('%H:%M:%S')}] scale {self.scale:g}: {key}", flush=True)
            self.state[key] = measured(command, [self.home, self.zips])
            self.save()
        return self.state[key]

    def add_zips(self, label: str, start: dt.date, end: dt.date) -> None:
        """Synthesize, import (and sometimes bare-read) each zip of a range, one at a time."""
        for index, (name, first, last) in enumerate(zips_of(start, end)):
            key = f"{label}/{name}"
            if f"import {key}" in self.state:
                continue
            synth = self.step(
                f"synth {key}",
                [
                    sys.executable,
                    "-m",
                    "drivestats",
                    "synth",
                    str(self.zips),
                    "--start",
                    first.isoformat(),
                    "--end",
                    last.isoformat(),
                    "--scale",
                    str(self.scale),
                    "--quiet",
                ],
            )
            zip_path = self.zips / name
            synth["zip_mb"] = round(zip_path.stat().st_size / 2**20, 1)
            synth["csv_mb"] = round(_csv_bytes(zip_path) / 2**20, 1)
            if index % self.bare_every == 0 or last == end:
                self.step(f"bare {key}", [sys.executable, "-c", BARE, str(zip_path)])
            self.step(f"import {key}", self.drivestats("import", str(zip_path)))
            if not self.keep_zips:
                zip_path.unlink()

    def downstream(self, label: str, size: str) -> None:
        """Every step after import, in the order a user runs them."""
        self.step(f"fleet tables {label}", [sys.executable, "-c", FLEET_TABLES, str(self.home)])
        self.step(
            f"afr lifetime by quarter {label}",
            self.drivestats("afr", "--period", "lifetime", "--by", "quarter", "--format", "csv"),
        )
        self.step(f"survival {label}", self.drivestats("survival", "--format", "csv"))
        movie = self.step(
            f"movie {size} {label}", self.drivestats("movie", "--size", size, "--quiet")
        )
        width, height = size.split("x")
        alone = self.step(
            f"ffmpeg alone {size} {label}",
            [
                sys.executable,
                "-c",
                ENCODE_ALONE,
                str(self.home / "results" / "movie.mp4"),
                width,
                height,
                "60",
            ],
        )
        if "encode_s" not in alone:
            alone.update(json.loads(alone["stdout_tail"][-1]))
            alone["movie_over_alone"] = round(movie["wall_s"] / alone["encode_s"], 2)
            self.save()
        if f"board {label}" not in self.state:
            print(f"[{time.strftime('%H:%M:%S')}] scale {self.scale:g}: board {label}", flush=True)
            self.state[f"board {label}"] = board_pages(self)
            self.save()


def _csv_bytes(zip_path: Path) -> int:
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        return sum(
            i.file_size
            for i in archive.infolist()
            if i.filename.endswith(".csv") and "__MACOSX" not in i.filename
        )


def board_pages(run: Run) -> dict:
    """Start the board, request every page (HTML and JSON twin), time each; the server's memory."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        run.drivestats("board", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/jobs.json", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        jobs = json.loads(urllib.request.urlopen(base + "/jobs.json", timeout=60).read())
        one_per_stage = {}
        for job in jobs.get("jobs", []):
            one_per_stage.setdefault(job.get("stage"), job.get("id"))
        pages = ["/", "/index.json", "/rates", "/rates.json", "/rates?period=lifetime"]
        pages += ["/fleet", "/fleet.json", "/jobs", "/jobs.json", "/sources", "/sources.json"]
        pages += ["/models", "/models.json", "/lineage", "/lineage.json", "/lineage?expand=all"]
        pages += [f"/jobs/{identity}" for identity in one_per_stage.values() if identity]
        timings = {}
        for page in pages:
            best = None
            for _ in range(3):  # the first request of a page may warm caches; report the worst
                started = time.perf_counter()
                urllib.request.urlopen(base + page, timeout=120).read()
                elapsed = time.perf_counter() - started
                best = elapsed if best is None else max(best, elapsed)
            timings[page] = round(best, 3)
        return {
            "pages": timings,
            "slowest_s": max(timings.values()),
            "server_peak_mb": round(_tree_rss(server.pid) / 2**20),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- the report ---------------------------------------------------------------------------


def summary(run: Run) -> list[dict]:
    """Per step kind: totals over zips for synth/import/bare; single figures for the rest."""
    rows: dict[str, dict] = {}
    for key, value in run.state.items():
        if not isinstance(value, dict) or "wall_s" not in value:
            continue
        rows_key = "rows_next_quarter" if "next" in key else "rows"
        million_rows = run.state.get(rows_key, 0) / 1e6 or 1
        kind = key.split(" ", 1)[0] if key.split(" ", 1)[0] in ("synth", "import", "bare") else key
        if kind in ("synth", "import", "bare"):
            kind = f"{kind} ({'next quarter' if 'next' in key else 'history'})"
        row = rows.setdefault(kind, {"step": kind, "wall_s": 0.0, "cpu_s": 0.0, "peak_mb": 0})
        row["wall_s"] += value["wall_s"]
        row["cpu_s"] += value["cpu_s"]
        row["peak_mb"] = max(row["peak_mb"], value["peak_mb"])
        row["disk_mb"] = value["disk_mb"]
        row["wall_s_per_m_rows"] = round(row["wall_s"] / million_rows, 3)
    return list(rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, action="append", help="repeatable; default 0.05")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=HISTORY_END)
    parser.add_argument("--size", default="3840x2160", help="movie canvas")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--keep-zips", action="store_true")
    parser.add_argument("--bare-every", type=int, default=4, help="bare-read every Nth zip")
    parser.add_argument("--no-next-quarter", action="store_true")
    parser.add_argument(
        "--clean", action="store_true", help="start over: delete the scale's folder"
    )
    args = parser.parse_args()
    for scale in args.scale or [0.05]:
        if args.clean:
            shutil.rmtree(args.work / f"scale-{scale:g}", ignore_errors=True)
        run = Run(scale, args.work, args.keep_zips, args.bare_every)
        run.state.setdefault("load_average_at_start", os.getloadavg())
        run.add_zips("history", dt.date(2013, 4, 10), args.end)
        run.state["rows"] = _store_rows(run)
        run.downstream("history", args.size)
        if not args.no_next_quarter:
            run.add_zips("next", *NEXT_QUARTER)
            run.state["rows_next_quarter"] = _store_rows(run) - run.state["rows"]
            run.downstream("next quarter", args.size)
        run.state["load_average_at_end"] = os.getloadavg()
        run.save()
        print(
            json.dumps({"scale": scale, "rows": run.state["rows"], "steps": summary(run)}, indent=1)
        )
        print_markdown(run)


def _store_rows(run: Run) -> int:
    import sqlite3

    connection = sqlite3.connect(run.home / "catalog.sqlite")
    try:
        return int(connection.execute("select coalesce(sum(rows), 0) from days").fetchone()[0])
    finally:
        connection.close()


def print_markdown(run: Run) -> None:
    print(
        f"\nscale {run.scale:g}: {run.state['rows']:,} rows in the history, "
        f"{run.state.get('rows_next_quarter', 0):,} in the next quarter; load average "
        f"{run.state['load_average_at_start']} at the start, {run.state['load_average_at_end']} at the end"
    )
    print(
        "| step | wall s | CPU s | s per million rows of its part | peak MB (tree) | disk MB after |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in summary(run):
        print(
            f"| {row['step']} | {row['wall_s']:,.1f} | {row['cpu_s']:,.1f} | "
            f"{row['wall_s_per_m_rows']} | {row['peak_mb']:,} | {row['disk_mb']:,} |"
        )
    for key, value in run.state.items():
        if key.startswith("board"):
            print(
                f"{key}: slowest page {value['slowest_s']} s; server {value['server_peak_mb']} MB"
            )


if __name__ == "__main__":
    main()
