"""The board's pages: how long each takes to answer, first with cold caches, then warm.

    python benchmarks/bench_board.py --home WORKSPACE          # a workspace made by `demo`
    python benchmarks/bench_board.py --home WORKSPACE --rounds 5

Starts `drivestats board` on a free port as its own process, asks for every kind of
page (HTML and JSON twin): home, failure rates, fleet, jobs, sources, the models
index, the two models with the most drives and one of their blocks, compare, the
lineage graph collapsed and expanded, and one job page per stage. The first round
is the cold one (a new server: nothing read or remembered yet; the pages were listed
by another); the worst of the other rounds is reported as warm. Prints a table and the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote


def pages(base: str) -> list[str]:
    """Every kind of page, as the workspace names its models and jobs."""
    with urllib.request.urlopen(base + "/models.json", timeout=120) as response:
        models = [row["model"] for row in json.load(response)["models"]]
    with urllib.request.urlopen(base + "/jobs.json?page=1", timeout=120) as response:
        listed = json.load(response)
    stages = {}
    for page in range(1, listed["pages"] + 1):
        with urllib.request.urlopen(base + f"/jobs.json?page={page}", timeout=120) as response:
            for job in json.load(response)["jobs"]:
                stages.setdefault(job["stage"], job["id"])
    chosen = [quote(model, safe="") for model in models[:3]]
    found = ["/", "/rates", "/fleet", "/jobs", "/sources", "/models", "/lineage"]
    found += [f"/models/{model}" for model in chosen[:2]]
    found += [f"/compare?{'&'.join('model=' + m for m in chosen)}", "/lineage?expand=all"]
    found += [f"/jobs/{identity}" for identity in stages.values()]
    twins = [p.replace("?", ".json?", 1) if "?" in p else p.rstrip("/") + ".json" for p in found]
    twins = [t if t != ".json" else "/index.json" for t in twins]
    return found + twins + [f"/models/{chosen[0]}/block.png"]


@contextlib.contextmanager
def board(home: Path) -> Iterator[str]:
    """A fresh `drivestats board` process on a free port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "drivestats", "--home", str(home), "board"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/static/board.css", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with board(args.home) as base:
        asked = pages(base)
    # A new server for the timing: the first round finds nothing read or remembered.
    times: dict[str, list[float]] = {page: [] for page in asked}
    with board(args.home) as base:
        for _ in range(args.rounds):
            for page in asked:
                started = time.perf_counter()
                with urllib.request.urlopen(base + page, timeout=120) as response:
                    response.read()
                times[page].append(time.perf_counter() - started)
    width = max(len(page) for page in times)
    print(f"{'page':<{width}}  cold s  warm s")
    for page, taken in times.items():
        print(f"{page:<{width}}  {taken[0]:6.3f}  {max(taken[1:] or [0]):6.3f}")
    slowest = max(times, key=lambda page: times[page][0])
    print(f"slowest cold: {slowest} {times[slowest][0]:.3f} s")
    print(f"load average before {load_before}, after {os.getloadavg()}")


if __name__ == "__main__":
    main()
