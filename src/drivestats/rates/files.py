"""Tables written as CSV and JSON, read back, and linked into results/."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivestats import jobs
from drivestats.csv_cells import spreadsheet_safe

if TYPE_CHECKING:
    pass


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Rows as CSV; floats read back to the same value, text never runs as a formula."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: "" if row.get(k) is None else spreadsheet_safe(row.get(k)) for k in columns}
            )


def write_json(value: Any, path: Path) -> None:
    """A value as indented JSON with a final newline."""
    path.write_text(json.dumps(value, indent=2) + "\n")


def read_rows(job: jobs.JobResult, name: str) -> list[dict[str, Any]]:
    """A table a rates job wrote as JSON."""
    return json.loads(job.output(name).read_text())
