"""The AFR table's own cost over a fleet as long as Backblaze's history, rule by rule.

    python benchmarks/bench_rules.py [--models 120] [--repeat 5] [--compare-with OTHER/src]

Builds a model_days table (the fleet table the afr stage reads) for every day from
2013-04-10 to 2026-06-30 and `--models` models with steady drive counts, then times
``rates.afr_table`` in a fresh process for: the lifetime table, the lifetime table by
quarter (53 quarters, every era of the rule table) and one 2025Q3 table (counted on its
first day). With --compare-with, the same calls run with that source tree first on the
path (e.g. an export of an older commit), interleaved with this tree's, round by round,
so the two see the same machine load. Prints best and median seconds of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "src"

TIMED = """
import datetime as dt, json, sys, time
import pyarrow as pa
from drivestats import rates

models = int(sys.argv[1])
first, last = dt.date(2013, 4, 10), dt.date(2026, 6, 30)
days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
names = [f"MODEL{m:03d}" for m in range(models)]
date = [day for day in days for _ in names]
model = names * len(days)
drives = [40 + 7 * (m % 40) for m in range(models)] * len(days)
failures = [1 if (n * 7919) % 997 == 0 else 0 for n in range(len(date))]
model_days = pa.table({
    "date": pa.array(date, pa.date32()), "model": pa.array(model, pa.string()),
    "drives": pa.array(drives, pa.int64()), "failures": pa.array(failures, pa.int64()),
})
facts = pa.table({
    "model": names, "vendor": ["HGST"] * models,
    "capacity_bytes": pa.array([4 * 10**12] * models, pa.int64()),
})
cases = {
    "lifetime": (rates.Period("lifetime", first, last), None),
    "lifetime by quarter": (rates.Period("lifetime", first, last), "quarter"),
    "2025Q3": (rates.Period("2025Q3", dt.date(2025, 7, 1), dt.date(2025, 9, 30)), None),
}
seconds = {}
for name, (period, by) in cases.items():
    start = time.perf_counter()
    rates.afr_table(model_days, facts, period, by=by)
    seconds[name] = time.perf_counter() - start
print(json.dumps({"rows": model_days.num_rows, "seconds": seconds}))
"""


def timed_run(source: Path, models: int) -> dict[str, object]:
    """One fresh process with this source tree first on the path: rows and seconds per case."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    finished = subprocess.run(
        [sys.executable, "-c", TIMED, str(models)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(finished.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare-with", type=Path, help="another source tree to time as well")
    args = parser.parse_args()
    trees = {"this tree": SOURCE}
    if args.compare_with:
        trees["compared"] = args.compare_with.resolve()
    times: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    rows = 0
    for _ in range(args.repeat):
        for name, source in trees.items():  # interleaved: the trees share each round's load
            run = timed_run(source, args.models)
            rows = int(run["rows"])  # type: ignore[call-overload]
            for case, value in run["seconds"].items():  # type: ignore[attr-defined]
                times[name].setdefault(case, []).append(value)
    print(f"model_days rows: {rows:,}; load average: {os.getloadavg()}")
    for name, cases in times.items():
        for case, values in cases.items():
            print(
                f"{name:10} {case:20} best {min(values):.3f} s, "
                f"median {statistics.median(values):.3f} s ({len(values)} runs)"
            )
    if "compared" in times:
        for case in times["this tree"]:
            ratio = statistics.median(times["this tree"][case]) / statistics.median(
                times["compared"][case]
            )
            print(f"ratio this/compared, {case}: {ratio:.2f}")


if __name__ == "__main__":
    main()
