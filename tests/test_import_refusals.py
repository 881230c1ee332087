"""A stored day is never replaced by an empty copy, nor by one missing most of its rows (without --force).

Row counts come from the sample files read with the csv module.
"""

from __future__ import annotations

from pathlib import Path

from conftest import raw_counts, run_cli, sample_files
from drivestats import catalog
from drivestats.workspace import Workspace


def stored_rows(home: Path) -> dict[str, int]:
    rows = catalog.query(Workspace(home), "select day, rows from days order by day")
    return {row["day"]: row["rows"] for row in rows}


def test_an_empty_or_shrunken_copy_of_a_stored_day_is_refused(tmp_path: Path) -> None:
    original = sample_files()[1]  # 2013-04-11
    home = tmp_path / "home"
    assert run_cli(home, "import", str(original)).exit_code == 0
    expected = raw_counts([original])["rows_per_day"]
    assert stored_rows(home) == expected

    lines = original.read_text().splitlines(keepends=True)
    empty = tmp_path / "empty" / original.name
    empty.parent.mkdir()
    empty.write_text(lines[0])  # the header only
    refused = run_cli(home, "import", str(empty))
    assert refused.exit_code != 0
    assert str(empty) in refused.output and "2013-04-11" in refused.output
    assert f"{expected['2013-04-11']:,} rows stored" in refused.output
    assert stored_rows(home) == expected

    shrunk = tmp_path / "shrunk" / original.name
    shrunk.parent.mkdir()
    shrunk.write_text("".join(lines[:1001]))  # the header and 1,000 rows
    refused = run_cli(home, "import", str(shrunk))
    assert refused.exit_code != 0 and "--force" in refused.output
    assert "1,000 in" in refused.output
    assert stored_rows(home) == expected

    forced = run_cli(home, "import", "--force", str(shrunk))
    assert forced.exit_code == 0, forced.output
    assert stored_rows(home) == {"2013-04-11": 1_000}
    # Even --force never stores an empty day over a full one.
    assert run_cli(home, "import", "--force", str(empty)).exit_code != 0
    assert stored_rows(home) == {"2013-04-11": 1_000}
