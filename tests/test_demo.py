"""`drivestats demo` end to end on a short synthetic range: everything made, then everything reused."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from drivestats import catalog
from drivestats.workspace import Workspace

pytestmark = pytest.mark.slow

SHORT = ["--start", "2013-04-10", "--end", "2013-05-31"]


def test_demo_makes_everything_then_reuses_everything(home):
    first = run_cli(home, "demo", "--quiet", *SHORT)
    assert first.exit_code == 0, first.output
    workspace = Workspace(home)
    results = {p.name for p in workspace.results.iterdir()}
    assert "movie.mp4" in results
    assert any(name.startswith("afr-") and name.endswith(".csv") for name in results)
    for link in workspace.results.iterdir():
        assert link.resolve().is_relative_to(workspace.jobs.resolve()), link
        assert link.resolve().exists(), link
    said = " ".join(first.output.split())
    assert f"export DRIVESTATS_HOME={home}" in said and "drivestats board" in said

    jobs_before = catalog.query(workspace, "select id from jobs order by id")
    second = run_cli(home, "demo", "--quiet", *SHORT)
    assert second.exit_code == 0, second.output
    jobs_after = catalog.query(workspace, "select id from jobs order by id")
    assert jobs_after == jobs_before, "the second demo made new jobs"
    assert "made" not in second.output.split("drivestats demo:")[0]
    listed = json.loads(run_cli(home, "jobs", "--format", "json", "--limit", "0").output)
    # Imports are skipped by hash; the parts of a made whole (a month's partial tables, a
    # movie's segments) are not even asked for.
    parts = ("import", "fleet-partial", "movie-segment")
    assert all(row["reused"] >= 1 for row in listed if row["stage"] not in parts)


def test_demo_refuses_a_workspace_of_real_data(home, samples):
    run_cli(home, "import", str(samples[0]))
    before = sorted(p.name for p in (home / "store" / "months").rglob("*.parquet"))
    result = run_cli(home, "demo", "--quiet", *SHORT)
    assert result.exit_code != 0
    assert "holds imported data" in result.output and "drivestats --home DIR demo" in result.output
    assert sorted(p.name for p in (home / "store" / "months").rglob("*.parquet")) == before
    assert not (home / "jobs" / "synthetic-zips").exists()


def test_real_data_is_not_imported_over_the_demo(home, samples):
    made = run_cli(home, "demo", "--quiet", "--no-movie", *SHORT)
    assert made.exit_code == 0, made.output
    before = sorted(p.name for p in (home / "store" / "months").rglob("*.parquet"))
    result = run_cli(home, "import", str(samples[0]))
    assert result.exit_code != 0 and "holds the demo's synthetic fleet" in result.output
    assert sorted(p.name for p in (home / "store" / "months").rglob("*.parquet")) == before


def test_demo_without_home_works_apart_from_the_default_workspace(tmp_path):
    from click.testing import CliRunner

    from drivestats.cli import cli

    # conftest points XDG_DATA_HOME at tmp_path / "xdg" and unsets DRIVESTATS_HOME.
    result = CliRunner().invoke(cli, ["demo", "--quiet", "--no-movie", *SHORT])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "xdg" / "drivestats-demo" / "results" / "afr-lifetime.csv").exists()
    assert not (tmp_path / "xdg" / "drivestats").exists()
