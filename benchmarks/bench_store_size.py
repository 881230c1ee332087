"""The store's size against DuckDB's own Parquet of the same rows, one quarter side by side.

    python benchmarks/bench_store_size.py [--quarter 2021Q1] [--scale 1]

Synthesizes one quarter's zip, then in one run: (1) ``drivestats import`` of the
zip into an empty workspace; (2) a bare ``pyarrow.csv`` read of its members (all
columns), for the import/bare throughput ratio; (3) DuckDB reading the same
CSV members (unzipped beforehand, not timed) and writing them as one zstd
Parquet file: ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet,
COMPRESSION zstd)``. Prints the store's bytes (month files only), DuckDB's
bytes and their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

from bench_history import BARE  # the same bare read, beside this script

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "store-size"

DUCKDB = textwrap.dedent(
    """
    import json, sys, time, duckdb
    started = time.perf_counter()
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{sys.argv[1]}/*.csv', union_by_name = true)) "
        f"TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)"
    )
    print()
    print(json.dumps({"seconds": time.perf_counter() - started}))
    """
)


def quarter_days(label: str) -> tuple[dt.date, dt.date]:
    year, quarter = int(label[:4]), int(label[-1])
    first = dt.date(year, 3 * quarter - 2, 1)
    following = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def run(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{command} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout.strip().splitlines()[
        -1
    ] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quarter", default="2021Q1")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--work", type=Path, default=WORK)
    args = parser.parse_args()
    first, last = quarter_days(args.quarter)
    work = args.work / f"{args.quarter}-{args.scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    drivestats = [sys.executable, "-m", "drivestats"]
    run(
        [*drivestats, "synth", str(work / "zips"), "--start", str(first), "--end", str(last)]
        + ["--scale", str(args.scale), "--quiet"]
    )
    (zip_path,) = sorted((work / "zips").glob("*.zip"))
    csv_folder = work / "csv"
    with zipfile.ZipFile(zip_path) as archive:
        members = [
            i
            for i in archive.infolist()
            if i.filename.endswith(".csv") and "__MACOSX" not in i.filename
        ]
        csv_folder.mkdir()
        for info in members:
            (csv_folder / Path(info.filename).name).write_bytes(archive.read(info))
    csv_bytes = sum(i.file_size for i in members)
    load = os.getloadavg()
    import_s, _ = run(
        [*drivestats, "--home", str(work / "home"), "import", "--quiet", str(zip_path)]
    )
    bare_s, _ = run([sys.executable, "-c", BARE, str(zip_path)])
    duck_file = work / "duckdb.parquet"
    duck_s = json.loads(run([sys.executable, "-c", DUCKDB, str(csv_folder), str(duck_file)])[1])[
        "seconds"
    ]
    store_bytes = sum(p.stat().st_size for p in (work / "home" / "store").rglob("*.parquet"))
    duck_bytes = duck_file.stat().st_size
    print(
        f"{args.quarter} at scale {args.scale:g}: {len(members)} days, {csv_bytes / 1e6:,.0f} MB of CSV"
    )
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start")
    print("| | seconds | MB | bytes / DuckDB's |")
    print("|---|---:|---:|---:|")
    print(
        f"| drivestats import (month files) | {import_s:.1f} | {store_bytes / 1e6:,.1f} | {store_bytes / duck_bytes:.2f} |"
    )
    print(f"| DuckDB COPY to zstd Parquet | {duck_s:.1f} | {duck_bytes / 1e6:,.1f} | 1.00 |")
    print(f"| bare pyarrow.csv read | {bare_s:.1f} | | |")
    print(f"import throughput / bare read: {bare_s / import_s:.0%}")
    shutil.rmtree(csv_folder)


if __name__ == "__main__":
    main()
