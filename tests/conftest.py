"""Shared fixtures: the real 2013 samples, Backblaze-style zips of them, workspaces, the CLI."""

from __future__ import annotations

import csv
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples" / "backblaze-2013"


def sample_files() -> list[Path]:
    files = sorted(SAMPLES.glob("2013-04-*.csv"))
    if not files:
        pytest.skip(f"the real samples are not at {SAMPLES}")
    return files


@pytest.fixture
def samples() -> list[Path]:
    """The ten real daily files of April 2013 (read-only)."""
    return sample_files()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    return tmp_path / "home"


def run_cli(home: Path, *args: str) -> Result:
    """Run the drivestats CLI in-process against a workspace."""
    from drivestats.cli import cli

    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def pack_like_backblaze(files: list[Path], target: Path, folder: str = "data_2013") -> Path:
    """Zip daily files the way Backblaze does: a folder, macOS clutter, members out of order."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__MACOSX/", b"")
        archive.writestr(f"{folder}/.DS_Store", b"\x00\x00\x00\x01Bud1")
        for path in reversed(files):
            archive.write(path, f"{folder}/{path.name}")
            archive.writestr(f"__MACOSX/{folder}/._{path.name}", b"\x00\x05\x16\x07junk")
        archive.writestr(f"{folder}/README.txt", b"not a day")
    return target


def raw_counts(files: list[Path]) -> dict[str, object]:
    """An independent count over raw CSV text with the csv module: rows, failures, drives, models."""
    rows_per_day: Counter[str] = Counter()
    failures_per_day: Counter[str] = Counter()
    model_days: Counter[str] = Counter()
    model_failures: Counter[str] = Counter()
    serials: set[str] = set()
    for path in files:
        with open(path, newline="") as handle:
            for record in csv.DictReader(handle):
                day = path.stem
                model = " ".join(record["model"].split())
                rows_per_day[day] += 1
                model_days[model] += 1
                serials.add(record["serial_number"])
                if record["failure"] == "1":
                    failures_per_day[day] += 1
                    model_failures[model] += 1
    return {
        "rows_per_day": dict(rows_per_day),
        "failures_per_day": dict(failures_per_day),
        "model_days": dict(model_days),
        "model_failures": dict(model_failures),
        "drives": len(serials),
    }


def write_day(folder: Path, day: str, header: str, rows: list[str], newline: str = "\n") -> Path:
    """A small daily CSV with exact bytes (line endings included)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}.csv"
    path.write_bytes((newline.join([header, *rows]) + newline).encode())
    return path


@pytest.fixture(autouse=True)
def _no_user_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep tests away from the real ~/.local/share/drivestats."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DRIVESTATS_HOME", raising=False)
    os.environ.setdefault("COLUMNS", "160")
