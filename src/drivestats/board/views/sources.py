"""The sources page: every imported zip or CSV with its sha256 and days."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivestats import catalog
from drivestats.board.views.common import SOURCE_COLUMNS, Board, empty_state, job_link


def sources_page(board: Board) -> dict[str, Any]:
    """Every imported file with its sha256, its days and rows, and the job that imported it."""
    # Read straight from the catalog: the board never rolls an import's journal forward.
    rows = catalog.query(
        board.workspace, f"select {SOURCE_COLUMNS} from sources order by imported_at, path"
    )
    totals = {key: sum(row[key] or 0 for row in rows) for key in ("days", "rows", "failures")}
    return {
        "title": "Sources",
        **(empty_state(board) if not rows else {"empty": False}),
        "sources": [
            {
                **row,
                "name": Path(row["path"]).name,
                "job": job_link(row["job_id"]) if row["job_id"] else None,
            }
            for row in rows
        ],
        "totals": {"sources": len(rows), **totals},
    }
