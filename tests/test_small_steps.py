"""A command whose jobs all exist decides so from the catalog and job ids, before any heavy
library is imported: the speed of small steps cannot silently regress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, sample_files

HEAVY = ("pyarrow", "duckdb", "matplotlib", "scipy", "lifelines", "pandas", "numpy", "PIL")
HEAVY += ("dask", "distributed")  # only ever imported for --cluster

RUN_AND_LIST = """
import json, sys
from drivestats.cli import main
watched = json.loads(sys.argv[2])
sys.argv = ["drivestats", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as leaving:
    code = leaving.code
else:
    code = 0
heavy = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("small") / "home"
    assert run_cli(home, "import", *map(str, sample_files())).exit_code == 0
    assert run_cli(home, "afr", "--period", "lifetime").exit_code == 0
    assert run_cli(home, "survival").exit_code == 0
    assert run_cli(home, "movie", "--quiet", "--size", "640x360").exit_code == 0
    return home


@pytest.mark.parametrize(
    "command",
    [
        ["afr", "--period", "lifetime"],
        ["afr", "--period", "lifetime", "--format", "csv"],
        ["survival"],
        ["movie", "--quiet", "--size", "640x360"],
        ["import", "SAMPLES"],
        ["--help"],
        ["afr", "--help"],
    ],
    ids=" ".join,
)
def test_a_reused_command_imports_no_heavy_library(made: Path, command: list[str]) -> None:
    args = [str(sample_files()[0].parent) if a == "SAMPLES" else a for a in command]
    finished = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, json.dumps(["--home", str(made), *args]),
         json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(finished.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), finished.stderr
    assert report["heavy"] == [], f"{' '.join(command)} imported {report['heavy']}"


def test_a_reused_demo_imports_no_heavy_library(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    args = ["--home", str(home), "demo", "--end", "2013-05-31", "--quiet"]
    assert run_cli(home, *args[2:]).exit_code == 0
    finished = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(finished.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), finished.stderr
    assert report["heavy"] == [], f"a reused demo imported {report['heavy']}"


@pytest.mark.parametrize(
    "command",
    [
        ["afr", "--period", "2013-04-10..2013-04-12", "--by", "quarter"],
        ["survival", "--models", "ST3000DM001"],
    ],
    ids=" ".join,
)
def test_a_new_table_from_made_fleet_tables_never_imports_pandas(
    made: Path, command: list[str]
) -> None:
    """pyarrow imports pandas (0.6 s) on any conversion from Python values unless kept out."""
    finished = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, json.dumps(["--home", str(made), *command]),
         json.dumps(["pandas", "pyarrow"])],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(finished.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), finished.stderr
    assert report["heavy"] == ["pyarrow"], finished.stderr  # the table was made, without pandas
