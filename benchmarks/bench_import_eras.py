"""Import against a bare pyarrow.csv read, one whole synthetic zip per era, at the real fleet's size.

    nohup python benchmarks/bench_import_eras.py > eras.log &     # about half an hour

``bench_import.py`` times small zips in seconds; this is the figure the whole
history is made of. For each era (a zip as Backblaze packs it: the 2013 year,
then quarters of 2016, 2019, 2021, 2024 and 2026, 85 to 197 columns, 21,000 to
345,000 drives a day), ``drivestats synth --scale 1`` writes the zip, then a
bare read and an import of it run alternately in fresh processes, ``--repeat``
times each. The bare read streams every member from the zip into
``pyarrow.csv.read_csv`` (all columns, type inference, threads) and keeps
nothing; the import is ``drivestats import`` into an empty workspace. Wall and
CPU seconds and peak memory are each process's own (``wait4``). A zip is
deleted once timed (the 2026 one is 4 GB); finished eras are kept in
``<work>/state.json``, so a cut run goes on where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_history import BARE  # the same bare read as the whole-history benchmark's

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "eras"
ERAS = {  # label: (first day, last day)
    "2013 (Apr-Dec)": ("2013-04-10", "2013-12-31"),
    "2016 Q1": ("2016-01-01", "2016-03-31"),
    "2019 Q1": ("2019-01-01", "2019-03-31"),
    "2021 Q1": ("2021-01-01", "2021-03-31"),
    "2024 Q1": ("2024-01-01", "2024-03-31"),
    "2026 Q2": ("2026-04-01", "2026-06-30"),
}


def timed(command: list[str]) -> dict[str, float]:
    """Wall and CPU seconds and peak resident MB of one process, from its own rusage."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert process.stdout is not None and process.stderr is not None
    output, errors = process.stdout.read().decode(), process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}\n{errors}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "sys": usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "output": output,
    }


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def run_era(label: str, first: str, last: str, work: Path, repeat: int) -> dict[str, object]:
    drivestats = [sys.executable, "-m", "drivestats"]
    zips = work / "zips"
    shutil.rmtree(zips, ignore_errors=True)
    made = timed(
        [*drivestats, "synth", "--start", first, "--end", last, "--scale", "1", "-q", str(zips)]
    )
    (archive,) = sorted(zips.glob("*.zip"))
    era: dict[str, object] = {
        "zip": archive.name,
        "zip_mb": archive.stat().st_size / 1e6,
        "csv_mb": _unpacked_mb(archive),
        "synth_s": made["wall"],
        "load_before": load_average(),
    }
    bares, imports = [], []
    for attempt in range(repeat):
        bare = timed([sys.executable, "-c", BARE, str(archive)])
        bare["rows"] = json.loads(bare.pop("output"))["rows"]  # type: ignore[arg-type]
        bares.append(bare)
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        imported = timed([*drivestats, "--home", str(home), "import", "-q", str(archive)])
        imported.pop("output")
        months = (home / "store" / "months").rglob("*.parquet")
        imported["store_mb"] = sum(path.stat().st_size for path in months) / 1e6
        imports.append(imported)
        shutil.rmtree(home, ignore_errors=True)
        print(
            f"  {label} #{attempt + 1}: bare {bare['wall']:.1f} s, import {imported['wall']:.1f} s",
            flush=True,
        )
    era["load_after"] = load_average()
    era["bare"], era["import"] = bares, imports
    archive.unlink()
    return era


def _unpacked_mb(archive: Path) -> float:
    import zipfile

    with zipfile.ZipFile(archive) as packed:
        return sum(info.file_size for info in packed.infolist()) / 1e6


def report(state: dict[str, dict]) -> None:
    print(
        "\n| zip | rows | CSV MB | bare s | import s | import / bare throughput "
        "| bare CPU s | import CPU s | bare peak MB | import peak MB | store MB "
        "| load average before / after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    total_bare = total_import = 0.0
    for label, era in state.items():
        bare = min(era["bare"], key=lambda run: run["wall"])
        imported = min(era["import"], key=lambda run: run["wall"])
        total_bare += bare["wall"]
        total_import += imported["wall"]
        print(
            f"| {label} | {bare['rows']:,} | {era['csv_mb']:,.0f} | {bare['wall']:.1f} "
            f"| {imported['wall']:.1f} | {bare['wall'] / imported['wall']:.0%} "
            f"| {bare['cpu']:.1f} | {imported['cpu']:.1f} "
            f"| {max(r['peak_mb'] for r in era['bare']):,.0f} "
            f"| {max(r['peak_mb'] for r in era['import']):,.0f} "
            f"| {imported.get('store_mb', float('nan')):,.0f} "
            f"| {era['load_before']} ; {era['load_after']} |"
        )
    if total_import:
        print(f"\nall eras: {total_bare / total_import:.0%} of the bare read's throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--repeat", type=int, default=2, help="alternate runs of each; best kept")
    parser.add_argument("--era", action="append", choices=list(ERAS), help="default: all")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    state_file = args.work / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    for label in args.era or list(ERAS):
        if label in state:
            print(f"{label}: done before (in {state_file})", flush=True)
            continue
        print(f"{label}: synth, then bare read and import x{args.repeat}", flush=True)
        state[label] = run_era(label, *ERAS[label], args.work, args.repeat)
        partial = state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=1))
        partial.replace(state_file)
    report(state)


if __name__ == "__main__":
    main()
