"""Failure-rate tables over a store of 50+ million rows: fleet tables, AFR table, both together.

    python benchmarks/bench_rates.py [--days 456] [--drives 115000] [--seed 1]

The store is written directly as day Parquet files in the store's format (the
CSV columns of each day's period with the store's types, then model_clean and
vendor; the store's Parquet options), not through synth and import, because
importing 50 million rows of CSV would take far longer than what is measured
here. The files are the outputs of a benchmark-only job (stage
``bench-store``, month files as an import writes them) hard-linked into store/months/ and entered into the catalog the
way an import enters them, so ``fleet_tables`` sees an ordinary store. The
fleet behind it is simulated: about 40 real model names, pods of 60 deployed
and retired, failures at 0.5-4 % a year, a few drives that report after their
failure or fail twice; about 8 SMART columns carry values, the rest are empty
(as many are in the real files). The store is kept in benchmarks/work/rates
and reused by later runs with the same options.

Each measurement is a fresh ``drivestats afr`` process, timed from outside
(wall clock, so Python start-up and imports are included) with the job
folders it should rebuild deleted first:
  1. together: no fleet-tables job and no afr job -> both are built;
  2. AFR alone: fleet tables reused, the afr job rebuilt;
  3. AFR by quarter over the whole store (with its PNG and SVG chart);
  4. a repeated call: both jobs reused.
Each job's own build time (wall_seconds in its manifest) is printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from drivestats import catalog, jobs, months
from drivestats.backblaze import format as bbformat
from drivestats.workspace import Workspace

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "rates"
START = dt.date(2020, 1, 1)

# (model, capacity in TB, share of the starting fleet, AFR %, share of new pods, retiring?)
MODELS = [
    ("ST4000DM000", 4, 0.17, 2.5, 0.0, True),
    ("ST8000DM002", 8, 0.07, 1.0, 0.0, False),
    ("ST8000NM0055", 8, 0.12, 1.2, 0.0, False),
    ("ST10000NM0086", 10, 0.01, 1.0, 0.0, False),
    ("ST12000NM0007", 12, 0.25, 1.4, 0.0, True),
    ("ST12000NM0008", 12, 0.03, 1.0, 0.10, False),
    ("ST12000NM001G", 12, 0.02, 0.8, 0.10, False),
    ("ST14000NM001G", 14, 0.02, 0.9, 0.15, False),
    ("ST16000NM001G", 16, 0.0, 0.7, 0.15, False),
    ("ST6000DX000", 6, 0.01, 0.9, 0.0, False),
    ("ST500LM012 HN", 0.5, 0.004, 1.5, 0.01, False),
    ("ST500LM030", 0.5, 0.0015, 2.0, 0.0, False),
    ("HGST HMS5C4040ALE640", 4, 0.025, 0.6, 0.0, True),
    ("HGST HMS5C4040BLE640", 4, 0.10, 0.4, 0.0, False),
    ("HGST HUH728080ALE600", 8, 0.008, 0.8, 0.0, False),
    ("HGST HUH721212ALE600", 12, 0.018, 0.6, 0.05, False),
    ("HGST HUH721212ALE604", 12, 0.0, 0.5, 0.05, False),
    ("HGST HUH721212ALN604", 12, 0.08, 0.5, 0.0, False),
    ("HGST HUS726040ALE610", 4, 0.0024, 1.0, 0.0, False),
    ("Hitachi HDS5C4040ALE630", 4, 0.0015, 0.9, 0.0, True),
    ("TOSHIBA MD04ABA400V", 4, 0.0008, 1.5, 0.0, False),
    ("TOSHIBA MG07ACA14TA", 14, 0.03, 0.8, 0.15, False),
    ("TOSHIBA MG08ACA16TEY", 16, 0.0, 0.6, 0.05, False),
    ("TOSHIBA MQ01ABF050", 0.5, 0.003, 3.5, 0.0, False),
    ("TOSHIBA MQ01ABF050M", 0.5, 0.0035, 3.0, 0.0, False),
    ("TOSHIBA HDWF180", 8, 0.0005, 1.0, 0.0, False),
    ("WDC WD60EFRX", 6, 0.0004, 2.0, 0.0, False),
    ("WDC WUH721414ALE6L4", 14, 0.05, 0.4, 0.14, False),
    ("WDC WUH721816ALE6L0", 16, 0.0, 0.3, 0.05, False),
    ("Seagate BarraCuda SSD ZA250CM10002", 0.25, 0.005, 0.8, 0.0, False),
    ("Seagate SSD", 0.25, 0.0, 0.5, 0.0, False),
    ("Micron 5300 MTFDDAK480TDS", 0.48, 0.0, 0.5, 0.0, False),
    ("WDC WD5000LPVX", 0.5, 0.0012, 2.0, 0.0, False),
    ("ST6000DM001", 6, 0.0002, 4.0, 0.0, True),
    ("ST8000DM005", 8, 0.0002, 1.0, 0.0, False),
    ("ST10000NM0478", 10, 0.0, 0.5, 0.0, False),
    ("ST16000NM002J", 16, 0.0, 0.5, 0.0, False),
    ("HGST HUH721010ALE600", 10, 0.0002, 0.5, 0.0, False),
    ("TOSHIBA MG07ACA14TEY", 14, 0.0003, 0.5, 0.0, False),
]
# SMART attributes that carry values in most real rows; the others stay empty.
SMART_FILLED = (
    1,
    3,
    4,
    5,
    7,
    9,
    10,
    12,
    183,
    184,
    187,
    188,
    189,
    190,
    192,
    193,
    194,
    197,
    198,
    199,
    240,
    241,
    242,
)
ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def simulated_fleet(days: int, drives: int, seed: int) -> dict[str, np.ndarray]:
    """Every drive's model, first and last day (offsets from START) and failure days."""
    rng = np.random.default_rng(seed)
    shares = np.array([m[2] for m in MODELS])
    initial = rng.choice(len(MODELS), size=int(drives * 0.9), p=shares / shares.sum())
    new_shares = np.array([m[4] for m in MODELS])
    pods = int(drives * 0.25 / 60)
    pod_models = rng.choice(len(MODELS), size=pods, p=new_shares / new_shares.sum())
    pod_days = rng.integers(0, days, size=pods)
    model = np.concatenate([initial, np.repeat(pod_models, 60)])
    first = np.concatenate([np.zeros(len(initial), np.int64), np.repeat(pod_days, 60)])
    last = np.full(len(model), days - 1, np.int64)
    # Old models retire whole pods of 60 at a time.
    for index, spec in enumerate(MODELS):
        if spec[5]:
            members = np.nonzero(model == index)[0]
            retiring = members[: int(len(members) * 0.4) // 60 * 60].reshape(-1, 60)
            last[retiring] = rng.integers(days // 4, days, size=len(retiring))[:, None]
    afr = np.array([m[3] for m in MODELS])[model] / 100
    life = first + (rng.exponential(365 / afr)).astype(np.int64)
    failed = life <= last
    last = np.where(failed, life, last)
    failure = np.where(failed, life, -1)
    # A few failed drives report on for a few days, and a few of those fail again.
    again = failed & (rng.random(len(model)) < 0.01)
    last = np.where(again, np.minimum(last + rng.integers(1, 4, len(model)), days - 1), last)
    second = np.where(again & (rng.random(len(model)) < 0.3), last, -1)
    slot = rng.permutation(len(model))
    return {
        "model": model,
        "first": first,
        "last": last,
        "failure": failure,
        "second": second,
        "slot": slot,
    }


def random_serials(count: int, seed: int) -> pa.Array:
    """Distinct serial numbers of 8 to 14 letters and digits, like the real ones."""
    rng = np.random.default_rng([seed, 7])
    codes = ALPHABET[rng.integers(0, len(ALPHABET), size=(count, 14))]
    lengths = rng.integers(8, 15, size=count)
    # A running number in the last five places keeps them distinct.
    for place in range(5):
        codes[:, 13 - place] = ALPHABET[(np.arange(count) // 36**place) % 36]
    text = [row.tobytes().decode()[14 - n :] for row, n in zip(codes, lengths, strict=True)]
    return pa.array(text, pa.string())


def day_table(fleet: dict[str, np.ndarray], offset: int, serials: pa.Array, seed: int) -> pa.Table:
    """One day in the store's format: the period's CSV columns, typed, then model_clean, vendor."""
    day = START + dt.timedelta(days=offset)
    alive = np.nonzero((fleet["first"] <= offset) & (fleet["last"] >= offset))[0]
    # Rows in a fixed scattered order (the order of pods and slots), not sorted by serial.
    alive = alive[np.argsort(fleet["slot"][alive], kind="stable")]
    rng = np.random.default_rng([seed, offset])
    model_index = fleet["model"][alive]
    names = pa.array([m[0] for m in MODELS]).take(pa.array(model_index))
    capacities = np.array([int(m[1] * 1e12) for m in MODELS])[model_index]
    failure = (fleet["failure"][alive] == offset) | (fleet["second"][alive] == offset)
    count = len(alive)
    values = {
        "date": pa.array(np.full(count, (day - dt.date(1970, 1, 1)).days, np.int32), pa.date32()),
        "serial_number": serials.take(pa.array(alive)),
        "model": names,
        "capacity_bytes": pa.array(capacities, pa.int64()),
        "failure": pa.array(failure, pa.bool_()),
        "smart_9_raw": pa.array((offset - fleet["first"][alive] + 400) * 24, pa.int64()),
        "smart_194_raw": pa.array(rng.integers(20, 45, count), pa.int64()),
    }
    columns = []
    for name in bbformat.columns_for_day(day):
        smart = name.split("_")
        if name in values:
            columns.append(values[name])
        elif name.startswith("smart_") and int(smart[1]) in SMART_FILLED:
            if smart[2] == "normalized":
                columns.append(pa.array(rng.integers(95, 101, count), pa.int64()))
            else:
                columns.append(
                    pa.array(rng.poisson(3.0, count) * rng.integers(0, 2, count), pa.int64())
                )
        else:
            columns.append(pa.nulls(count, bbformat.stored_type(name)))
    names_out = [*bbformat.columns_for_day(day), "model_clean", "vendor"]
    vendors = pa.array([bbformat.vendor_of(m[0]) for m in MODELS]).take(pa.array(model_index))
    return pa.Table.from_arrays([*columns, names, vendors], names=names_out)


def _build_bench_store(context: jobs.JobContext) -> None:
    params = context.params
    fleet = simulated_fleet(params["days"], params["drives"], params["seed"])
    serials = random_serials(len(fleet["model"]), params["seed"])
    folder = context.dir / "months"
    folder.mkdir()
    days = {}
    writer: months.MonthWriter | None = None
    for offset in range(params["days"]):
        table = day_table(fleet, offset, serials, params["seed"])
        day = (START + dt.timedelta(days=offset)).isoformat()
        if writer is None or writer.target.stem != months.month_of(day):
            if writer is not None:
                writer.finish()
            target = folder / f"{months.month_of(day)}.parquet"
            writer = months.MonthWriter(target, {"stage": "bench-store", "job": context.id})
        writer.add(table)
        days[day] = {
            "rows": table.num_rows,
            "failures": int(table["failure"].to_numpy().sum()),
            "columns": table.num_columns - 2,
        }
    if writer is not None:
        writer.finish()
    context.rows["rows"] = sum(d["rows"] for d in days.values())
    context.notes["days"] = days


BENCH_STORE = jobs.Stage(
    "bench-store",
    _build_bench_store,
    ("drivestats.store", "drivestats.months", "drivestats.backblaze.format"),
)


def benchmark_store(home: Path, days: int, drives: int, seed: int) -> int:
    """Make (or reuse) the benchmark store and enter its days into the catalog; return its rows."""
    workspace = Workspace(home).ensure()
    started = time.perf_counter()
    job = jobs.run(workspace, BENCH_STORE, {"days": days, "drives": drives, "seed": seed})
    if not job.reused:
        print(f"wrote the store: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    outputs = {o["name"]: o for o in job.manifest["outputs"]}
    entries = []
    for day, info in sorted(job.manifest["notes"]["days"].items()):
        output = outputs[f"months/{months.month_of(day)}.parquet"]
        target = workspace.day_file(day)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(job.output(output["name"]), target)
        entries.append(
            (
                day,
                workspace.relative(target),
                output["sha256"],
                output["size"],
                info["rows"],
                info["failures"],
                info["columns"],
                "bench",
                day,
                job.id,
            )
        )
    with catalog.connect(workspace) as connection:
        connection.execute("delete from days")
        connection.executemany("insert into days values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
    return job.manifest["rows"]["rows"]


def timed(home: Path, *args: str) -> dict:
    """Run one drivestats command in a fresh process; wall seconds, peak RSS and its stdout."""
    started = time.perf_counter()
    command = ["/usr/bin/time", "-f", "peak-kb %M", sys.executable, "-m", "drivestats"]
    done = subprocess.run(
        [*command, "--home", str(home), *args], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1].split()[1]) / 1024
    job_line = next(line for line in done.stderr.splitlines() if line.startswith("Job "))
    return {"seconds": seconds, "peak_mb": peak, "stdout": done.stdout, "job": job_line.split()[1]}


def job_seconds(home: Path, stage: str, identity: str | None = None) -> float:
    """The build time a job recorded in its manifest (the newest job of the stage if no id)."""
    folders = sorted(
        (home / "jobs" / stage).glob(f"{identity or ''}*/job.json"), key=os.path.getmtime
    )
    return json.loads(folders[-1].read_text())["wall_seconds"]


def quarter_label(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=456, help="days from 2020-01-01")
    parser.add_argument("--drives", type=int, default=115_000, help="about this many a day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step; best and median")
    args = parser.parse_args()
    home = WORK / f"home-{args.days}-{args.drives}-{args.seed}"
    rows = benchmark_store(home, args.days, args.drives, args.seed)
    quarter = quarter_label(START + dt.timedelta(days=args.days - 1))
    size = sum(p.stat().st_size for p in (home / "store" / "months").rglob("*.parquet"))
    print(f"store: {rows:,} rows over {args.days} days, {size / 1e9:.2f} GB of month files on disk")
    print(f"machine: {os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}\n")

    def fresh(*stages: str) -> None:
        for stage in stages:
            shutil.rmtree(home / "jobs" / stage, ignore_errors=True)

    afr = ("afr", "--period", quarter, "--format", "csv")
    by_quarter = ("afr", "--period", "lifetime", "--by", "quarter", "--format", "csv")
    steps: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for _ in range(args.repeat):
        fresh("fleet-tables", "fleet-partial", "afr")
        run = timed(home, *afr)
        # The fleet tables are a partial job per month, then their combination.
        partials = sum(
            json.loads(path.read_text())["wall_seconds"]
            for path in (home / "jobs" / "fleet-partial").glob("*/job.json")
        )
        fleet = partials + job_seconds(home, "fleet-tables")
        steps["together"].append(
            (run["seconds"], fleet + job_seconds(home, "afr", run["job"]), run["peak_mb"])
        )
        steps["fleet"].append((float("nan"), fleet, float("nan")))
        fresh("afr")
        run = timed(home, *afr)
        steps["afr"].append((run["seconds"], job_seconds(home, "afr", run["job"]), run["peak_mb"]))
        fresh("afr")
        run = timed(home, *by_quarter)
        steps["by"].append((run["seconds"], job_seconds(home, "afr", run["job"]), run["peak_mb"]))
        run = timed(home, *by_quarter)
        steps["reused"].append((run["seconds"], float("nan"), run["peak_mb"]))
    print(f"load average after: {os.getloadavg()[0]:.1f}\n")

    # Sanity: with nothing left out, the quarter's drive days are the store's rows in it.
    everything = timed(
        home, "afr", "--period", quarter, "--min-drives", "0", "--include-boot", "--format", "json"
    )
    total = json.loads(everything["stdout"])[-1]
    quarter_rows = sum(
        r["rows"]
        for r in catalog.query(Workspace(home), "select day, rows from days")
        if quarter_label(dt.date.fromisoformat(r["day"])) == quarter
    )
    assert total["model"] == "ALL" and total["drive_days"] == quarter_rows, (total, quarter_rows)

    labels = {
        "together": (
            "fleet tables + AFR table, nothing reused",
            f"drivestats afr --period {quarter}",
        ),
        "fleet": ("fleet tables alone (inside the run above)", "-"),
        "afr": ("AFR table alone, fleet tables reused", f"drivestats afr --period {quarter}"),
        "by": (
            "AFR by quarter, whole store, PNG+SVG chart",
            "drivestats afr --period lifetime --by quarter",
        ),
        "reused": (
            "repeated call, every job reused",
            "drivestats afr --period lifetime --by quarter",
        ),
    }

    def cell(values: list[float], digits: int) -> str:
        if any(math.isnan(v) for v in values):
            return "-"
        return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f}"

    print(f"best / median of {args.repeat} runs\n")
    print("| step | command | process wall s | job build s (manifest) | peak RSS MB |")
    print("|---|---|---|---|---|")
    for key, (label, command) in labels.items():
        wall, build, peak = zip(*steps[key], strict=True)
        peak_text = "-" if math.isnan(peak[0]) else f"{max(peak):.0f}"
        print(
            f"| {label} | `{command}` | {cell(list(wall), 2)} | {cell(list(build), 2)} | {peak_text} |"
        )
    print(
        f"\nchecked: {quarter} drive days with nothing left out = {quarter_rows:,} = the store's rows in {quarter}"
    )


if __name__ == "__main__":
    main()
