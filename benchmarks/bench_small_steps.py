"""Small steps: how long a command takes when its jobs already exist, beside `python -c pass`.

    python benchmarks/bench_small_steps.py                 # the real April 2013 samples
    python benchmarks/bench_small_steps.py --rounds 9
    python benchmarks/bench_small_steps.py --home BIG --only afr --period 2016Q4   # a big store

Builds a workspace from the ten real sample days (or uses --home), runs every
command once so that its jobs exist, then times each command as a fresh process,
round after round, interleaved with `python -c pass` so that all of them see the
same load. The package is byte-compiled first, as `pip install` leaves it (an
editable install under PYTHONDONTWRITEBYTECODE would compile every module on every
run: 75 ms here). Reports per command the median and minimum wall seconds and the median
above `python -c pass`, and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent.parent / "shared" / "samples" / "backblaze-2013"

# The seed's figures on this kind of machine (a warm server answering), where one exists.
SEED = {
    "afr --period 2013Q2": 1.14,
    "import (known)": 0.77,
    "movie": 1.03,
    "afr --period lifetime": 0.91,
}


def commands(samples: Path, period: str = "2013Q2") -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "afr --help": ["afr", "--help"],
        "import (known)": ["import", "--quiet", str(samples)],
        "afr --period lifetime": ["afr", "--period", "lifetime"],
        f"afr --period {period}": ["afr", "--period", period],
        "survival": ["survival"],
        "movie": ["movie", "--quiet"],
    }


def _largest_models(home: Path, count: int) -> list[str]:
    """The data-drive models with the most drives, one per round (for new survival jobs)."""
    import json

    listed = subprocess.run(
        [sys.executable, "-m", "drivestats", "--home", str(home), "afr", "--period", "lifetime",
         "--format", "json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [r for r in json.loads(listed) if r["model"] != "ALL"]
    rows.sort(key=lambda r: -r["drives"])
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} models for {count} rounds")
    return [r["model"] for r in rows[:count]]


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="a workspace to use (default: a new one)")
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--period", default="2013Q2", help="the period of the AFR tables timed")
    parser.add_argument(
        "--only", nargs="*", help="time only the commands whose names hold one of these words"
    )
    args = parser.parse_args()
    import drivestats

    package = Path(drivestats.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        drivestats = [sys.executable, "-m", "drivestats", "--home", str(home)]
        todo = commands(args.samples, args.period)
        wanted = lambda name: not args.only or any(word in name for word in args.only)  # noqa: E731
        todo = {name: argv for name, argv in todo.items() if wanted(name)}
        for argv in todo.values():  # every job made once
            subprocess.run([*drivestats, *argv], stdout=subprocess.DEVNULL, check=True)
        models = _largest_models(home, args.rounds) if wanted("survival") else []
        load_start = os.getloadavg()
        times: dict[str, list[float]] = {"python -c pass": []}
        for number in range(args.rounds):
            times["python -c pass"].append(timed([sys.executable, "-c", "pass"]))
            for name, argv in todo.items():
                times.setdefault(name, []).append(timed([*drivestats, *argv]))
            # Steps that make a job (a threshold or model not asked for before).
            made = {
                f"afr --period {args.period} (a new table)": [
                    "afr", "--period", args.period, "--min-drives", str(100 + number),
                ],
                "survival (new models)": ["survival", "--models", *models[number : number + 1]],
            }  # fmt: skip
            for name, argv in made.items():
                if not wanted(name):
                    continue
                times.setdefault(name, []).append(timed([*drivestats, *argv]))
        load_end = os.getloadavg()
    baseline = statistics.median(times["python -c pass"])
    print(f"load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end;")
    print(f"{args.rounds} fresh processes per command, interleaved\n")
    print("| command | median s | min s | median above `python -c pass` | seed s |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        seed = SEED.get(name)
        print(
            f"| `{name}` | {median:.2f} | {min(values):.2f} | {median - baseline:+.2f} | "
            f"{seed if seed is not None else ''} |"
        )


if __name__ == "__main__":
    main()
