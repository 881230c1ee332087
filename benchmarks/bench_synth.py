"""Synthetic fleet throughput: rows written per second, zips included, and peak memory.

    python benchmarks/bench_synth.py [--multi-year]

Each case runs ``write_fleet`` in a fresh subprocess (so the fleet simulation is
paid for and measured too) into benchmarks/work/synth/, and prints wall
seconds, rows, rows/s, MB of zips and peak RSS:

- default: the default range (2013-04-10 .. 2014-12-31, 85 columns) at the
  default scale, zlib level 1 (the library default) and level 6;
- 2015: a year in the 95-column format at scale 0.2 (about 5,000 drives a day);
- 2020: a quarter in the 131-column format at scale 0.2;
- with --multi-year: 2013-04-10 .. 2021-12-31 at scale 0.1 (about 31 million rows).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "synth"

RUN = textwrap.dedent(
    """
    import datetime as dt, json, resource, sys, time
    from pathlib import Path
    from drivestats.backblaze.synth import SynthParams, write_fleet
    start, end, scale, level, out = sys.argv[1:6]
    params = SynthParams(dt.date.fromisoformat(start), dt.date.fromisoformat(end), float(scale))
    began = time.perf_counter()
    summary = write_fleet(Path(out), params, compresslevel=int(level))
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "rows": summary.rows,
                      "mb": sum(p.stat().st_size for p in summary.zips) / 1e6,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

CASES = [
    ("default range, default scale, level 1", "2013-04-10", "2014-12-31", 0.05, 1),
    ("default range, default scale, level 6", "2013-04-10", "2014-12-31", 0.05, 6),
    ("2015, 95 columns, scale 0.2", "2015-01-01", "2015-12-31", 0.2, 1),
    ("2020 Q1, 131 columns, scale 0.2", "2020-01-01", "2020-03-31", 0.2, 1),
]
MULTI_YEAR = ("2013-04-10 .. 2021-12-31, scale 0.1", "2013-04-10", "2021-12-31", 0.1, 1)


def measured(start: str, end: str, scale: float, level: int) -> dict[str, float]:
    """One write_fleet run in a fresh interpreter."""
    out = WORK / f"{start}_{end}_{scale}_{level}"
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-c", RUN, start, end, str(scale), str(level), str(out)]
    result = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multi-year", action="store_true", help="Also time 2013-2021.")
    cases = CASES + ([MULTI_YEAR] if parser.parse_args().multi_year else [])
    WORK.mkdir(parents=True, exist_ok=True)
    print("| case | rows | seconds | rows/s | zips MB | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, start, end, scale, level in cases:
        r = measured(start, end, scale, level)
        print(
            f"| {label} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} "
            f"| {r['mb']:.0f} | {r['peak_mb']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
