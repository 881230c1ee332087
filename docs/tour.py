"""The README's tour, run for real: every command block of README.md comes from here.

    python docs/tour.py --write    # run the tour in a fresh home, rewrite README.md's blocks
    python docs/tour.py --check    # run it and say where README.md differs (exit 1)

Each block of the README that follows a ``<!-- tour:NAME -->`` line is the output of the
commands of block NAME below, run in order in one fresh home directory (so that ``~`` in the
output is that home), with the ten real daily files of April 2013 packed as
``data/data_2013.zip``. ``tests/test_readme_tour.py`` runs ``--check``'s comparison; what
changes from run to run (times, job ids, hashes, dates) is masked on both sides.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLES = ROOT.parent / "shared" / "samples" / "backblaze-2013"
WIDTH = "110"

# Block name -> the commands whose output it shows, in the tour's order.
TOUR: list[tuple[str, list[str]]] = [
    ("demo", ["drivestats demo --quiet"]),
    (
        "afr",
        [
            "export DRIVESTATS_HOME=~/.local/share/drivestats-demo",
            "drivestats afr --period 2014",
        ],
    ),
    (
        "movie",
        [
            "drivestats movie --start 2014-07-01 --end 2014-09-30 --quiet",
            "drivestats frame 2014-12-31 --out poster.png",
            "drivestats verify --shallow results/movie.mp4",
        ],
    ),
    (
        "provenance",
        [
            "drivestats jobs --stage afr",
            "drivestats show results/afr-2014.csv",
            "drivestats verify results/afr-2014.csv",
        ],
    ),
    ("history", ["drivestats log --limit 3", "drivestats gc --dry-run"]),
    (
        "import",
        [
            "unset DRIVESTATS_HOME",
            "drivestats import --quiet data/data_2013.zip",
            "drivestats import --quiet data/data_2013.zip",
            "drivestats sources",
        ],
    ),
    (
        "duckdb",
        [
            'python -c "import duckdb; duckdb.sql(\\"select vendor, count(distinct serial_number) '
            "drives, count(*) filter (where failure) failures from "
            "'$HOME/.local/share/drivestats/store/months/*/*.parquet' group by all order by 2 desc"
            '\\").show()"',
        ],
    ),
]
_MARKER = re.compile(r"<!-- tour:(?P<name>[a-z-]+) -->\n```\n(?P<body>.*?)```\n", re.S)


def run_tour() -> dict[str, str]:
    """The output of every block, as `$ command` lines followed by what each printed.

    The home is a new folder of a fixed-length name under the system's temporary folder:
    the console wraps lines before the home is replaced by `~`, so its length must not vary.
    """
    base = "/tmp" if Path("/tmp").is_dir() else None  # not $TMPDIR, whose length varies
    with tempfile.TemporaryDirectory(prefix="drivestats-tour-", dir=base) as folder:
        return _run_in(Path(folder))


def _run_in(home: Path) -> dict[str, str]:
    (home / "data").mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(home / "data" / "data_2013.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for day in sorted(SAMPLES.glob("*.csv")):
            archive.write(day, f"data_2013/{day.name}")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DRIVESTATS_") and key not in ("COLUMNS", "LINES")
    }
    env.update(HOME=str(home), COLUMNS=WIDTH, TERM="dumb", NO_COLOR="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("XDG_DATA_HOME", None)
    outputs: dict[str, str] = {}
    for name, commands in TOUR:
        shown: list[str] = []
        for command in commands:
            shown.append(f"$ {command}")
            words = shlex.split(command)
            if words[0] == "export":
                key, value = words[1].split("=", 1)
                env[key] = value.replace("~", str(home), 1)
                continue
            if words[0] == "unset":
                env.pop(words[1], None)
                continue
            if words[0] == "drivestats":
                run: list[str] | str = [sys.executable, "-m", "drivestats", *words[1:]]
            else:  # a shell line, with this Python first on the PATH
                run = ["bash", "-c", command]
            done = subprocess.run(
                run, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, timeout=900,
            )  # fmt: skip
            text = done.stdout.replace(str(home), "~").rstrip("\n")
            if done.returncode != 0:
                text += f"\n(exit {done.returncode})"
            shown += [line.rstrip() for line in text.splitlines()]
        outputs[name] = "\n".join(shown) + "\n"
    return outputs


def readme_blocks(text: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in _MARKER.finditer(text)}


def with_blocks(text: str, outputs: dict[str, str]) -> str:
    def replaced(match: re.Match[str]) -> str:
        body = outputs.get(match["name"], match["body"])
        return f"<!-- tour:{match['name']} -->\n```\n{body}```\n"

    return _MARKER.sub(replaced, text)


_HEX = re.compile(r"\b[0-9a-f]{8,64}\b")
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? (?:s\b|frames/s)")
_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?")
_AGO = re.compile(r"\b\d+ (?:s|min|h|d) ago\b")
_TIMED_COLUMNS = ("seconds", "cpu seconds", "created", "started")


def masked(text: str) -> str:
    """The block with what changes from run to run replaced: times, ids, hashes, clocks."""
    lines = []
    timed: list[int] = []
    for line in text.splitlines():
        if line.startswith("┃"):  # a table's header: which columns hold times
            names = [cell.strip() for cell in line.strip("┃").split("┃")]
            if any(name in _TIMED_COLUMNS for name in names):
                timed = [i for i, name in enumerate(names) if name in _TIMED_COLUMNS]
        elif line.startswith("│") and timed:
            cells = line.strip("│").split("│")
            for index in timed:
                if index < len(cells):
                    cells[index] = " … "
            line = "│" + "│".join(cells) + "│"
        elif line.startswith("└"):
            timed = []
        line = _CLOCK.sub("<time>", line)
        line = _AGO.sub("<ago>", line)
        line = _SECONDS.sub("… s", line)
        line = _HEX.sub("<hex>", line)
        lines.append(re.sub(r"[ ─━═]+", " ", line).strip())  # widths follow the masked values
    return "\n".join(lines)


def differences(readme: str, outputs: dict[str, str]) -> Iterator[str]:
    blocks = readme_blocks(readme)
    for name, _ in TOUR:
        if name not in blocks:
            yield f"README.md has no <!-- tour:{name} --> block"
            continue
        want, got = masked(blocks[name]), masked(outputs[name])
        if want != got:
            diff = difflib.unified_diff(
                want.splitlines(), got.splitlines(), f"README {name}", f"run {name}", lineterm=""
            )
            yield "\n".join(diff)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's blocks")
    parser.add_argument("--check", action="store_true", help="compare; exit 1 if they differ")
    options = parser.parse_args()
    outputs = run_tour()
    readme = README.read_text()
    if options.write:
        README.write_text(with_blocks(readme, outputs))
        print(f"rewrote {len(outputs)} blocks of {README}")
    found = list(differences(README.read_text(), outputs))
    for difference in found:
        print(difference)
    if options.check and found:
        sys.exit(1)


if __name__ == "__main__":
    main()
