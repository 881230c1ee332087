"""Import throughput against a bare pyarrow.csv read of the same zip members, and peak memory.

    python benchmarks/bench_import.py [--days 60] [--big-days 3]

Builds two zips from the real 2013 samples (re-dated, re-serialled): one in the
2013 format (85 columns, ~21,600 rows a day) and one at 2024 scale (193 columns,
345,000 rows a day, like the biggest real days). For each, in fresh
subprocesses run one after the other in this run: (1) the bare read: every
member streamed from the zip into ``pyarrow.csv.read_csv`` (all columns, type
inference, threads), nothing else; (2) ``drivestats import`` of the same zip
into an empty workspace. Prints wall seconds, MB/s of CSV text, the ratio and
each process's peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "shared" / "samples" / "backblaze-2013" / "2013-04-10.csv"
WORK = HERE / "work" / "import"

BARE = textwrap.dedent(
    """
    import json, resource, sys, time, zipfile
    import pyarrow.csv as pacsv
    started = time.perf_counter(); rows = 0; size = 0
    with zipfile.ZipFile(sys.argv[1]) as archive:
        for info in archive.infolist():
            if not info.filename.endswith('.csv') or '__MACOSX' in info.filename:
                continue
            with archive.open(info) as handle:
                rows += pacsv.read_csv(handle).num_rows
            size += info.file_size
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows, "bytes": size,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

IMPORT = textwrap.dedent(
    """
    import json, resource, sys, time, zipfile
    from pathlib import Path
    from drivestats.store import import_sources
    from drivestats.workspace import Workspace
    size = sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist())
    started = time.perf_counter()
    report = import_sources(Workspace.resolve(sys.argv[2]), [Path(sys.argv[1])])
    outcome = report.outcomes[0]
    assert outcome.status == "imported", outcome.error
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": outcome.rows, "bytes": size,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def zip_2013_format(target: Path, days: int) -> Path:
    text = SAMPLE.read_text()
    start = dt.date(2013, 5, 1)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for offset in range(days):
            day = (start + dt.timedelta(days=offset)).isoformat()
            archive.writestr(f"data_2013/{day}.csv", text.replace("2013-04-10", day))
    return target


def zip_2024_scale(target: Path, days: int, rows_per_day: int = 345_000) -> Path:
    """Days with the 2024 header (193 columns) and as many rows as the biggest real days."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from drivestats.backblaze.format import columns_for_day

    header = columns_for_day(dt.date(2024, 1, 1))
    sample = [line.split(",") for line in SAMPLE.read_text().splitlines()[1:]]
    sample_header = SAMPLE.read_text().splitlines()[0].split(",")
    position = {name: i for i, name in enumerate(sample_header)}
    template = []
    for row in sample:
        values = []
        for name in header:
            if name in position:
                values.append(row[position[name]])
            elif name == "datacenter":
                values.append("sac0")
            elif name in ("cluster_id", "vault_id", "pod_id", "pod_slot_num"):
                values.append("0042")
            elif name == "is_legacy_format":
                values.append("False")
            else:
                values.append("")
        template.append(values)
    start = dt.date(2024, 1, 1)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for offset in range(days):
            day = (start + dt.timedelta(days=offset)).isoformat()
            lines = [",".join(header)]
            for index in range(rows_per_day):
                values = list(template[index % len(template)])
                values[0] = day
                values[1] = f"{values[1]}{index // len(template):03d}"
                lines.append(",".join(values))
            archive.writestr(f"data_Q1_2024/{day}.csv", "\n".join(lines) + "\n")
    return target


def measure(script: str, *args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--days",
        type=int,
        default=265,
        help="days in the 2013-format zip (the real data_2013.zip has 265)",
    )
    parser.add_argument("--big-days", type=int, default=8)
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternate bare/import runs; best of each"
    )
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    cases = {
        f"2013 format, {args.days} days": zip_2013_format(WORK / "data_2013.zip", args.days),
        f"2024 scale, {args.big_days} days": zip_2024_scale(
            WORK / "data_Q1_2024.zip", args.big_days
        ),
    }
    print(f"best of {args.repeat} alternating runs of each; peak memory is the worst run's\n")
    print(
        "| zip | MB zipped | MB of CSV | rows | bare read s | import s | bare MB/s | import MB/s | import / bare throughput | bare peak MB | import peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, path in cases.items():
        bares, imports = [], []
        for attempt in range(args.repeat):
            bares.append(measure(BARE, str(path)))
            home = WORK / f"home-{path.stem}-{attempt}"
            imports.append(measure(IMPORT, str(path), str(home)))
        bare = min(bares, key=lambda m: m["seconds"])
        imported = min(imports, key=lambda m: m["seconds"])
        imported["peak_mb"] = max(m["peak_mb"] for m in imports)
        assert bare["rows"] == imported["rows"], (bare, imported)
        megabytes = bare["bytes"] / 1e6
        print(
            f"| {label} | {path.stat().st_size / 1e6:.0f} | {megabytes:.0f} | {bare['rows']:,} "
            f"| {bare['seconds']:.2f} | {imported['seconds']:.2f} "
            f"| {megabytes / bare['seconds']:.0f} | {megabytes / imported['seconds']:.0f} "
            f"| {bare['seconds'] / imported['seconds']:.0%} "
            f"| {bare['peak_mb']:.0f} | {imported['peak_mb']:.0f} |"
        )
    skip = measure(
        IMPORT.replace('assert outcome.status == "imported", outcome.error', ""),
        str(cases[next(iter(cases))]),
        str(WORK / "home-data_2013-0"),
    )
    print(
        f"\nre-import of an imported zip (skipped by path, size and mtime): {skip['seconds'] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
