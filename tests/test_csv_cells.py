"""Exported CSVs never hand a spreadsheet a formula: model names from the data are guarded."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import run_cli, write_day

HEADER = "date,serial_number,model,capacity_bytes,failure"
HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@cmd"]


def test_model_names_that_start_a_formula_are_written_as_text(tmp_path: Path) -> None:
    rows = [f"S{n:03d},{HOSTILE[n % 4]},4000787030016,0" for n in range(40)]
    rows += [f"N{n:03d},ST4000DM000,4000787030016,0" for n in range(40)]
    for day in ("2014-01-01", "2014-01-02"):
        write_day(tmp_path / "days", day, HEADER, [f"{day},{row}" for row in rows])
    home = tmp_path / "home"
    assert run_cli(home, "import", str(tmp_path / "days")).exit_code == 0
    printed = run_cli(home, "afr", "--period", "lifetime", "--format", "csv")
    assert printed.exit_code == 0, printed.output

    written = []
    for name in ("afr-lifetime.csv", "afr-lifetime-left-out.csv"):
        with open(home / "results" / name, newline="") as handle:
            written += [row["model"] for row in csv.DictReader(handle)]
    printed_models = [row["model"] for row in csv.DictReader(printed.output.splitlines())]
    for models in (written, printed_models):
        assert not [m for m in models if m.startswith(("=", "+", "-", "@"))]
    # Every hostile name is there, as text: a leading quote, the name unchanged after it.
    assert {"'" + name for name in HOSTILE} <= set(written)
