"""AFR tables on the synthetic fleet: every quarter's per-model numbers equal the generator's truth."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import run_cli
from drivestats import rates

# Three windows: the 2013 fleet across a year end, the 2019 Q1 -> Q2 change of Backblaze's
# threshold (45 -> 60 drives) with boot drives and SSDs, and the 2024 rule with its drive days.
WINDOWS = {
    "2013": ("2013-06-15", "2014-01-10", "0.02"),
    "2019": ("2018-12-20", "2019-07-05", "0.01"),
    "2024": ("2023-12-01", "2024-02-10", "0.005"),
}


@pytest.fixture(scope="module", params=sorted(WINDOWS))
def synthetic(request, tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    """A workspace with one synthetic window imported, and the generator's truth rows."""
    start, end, scale = WINDOWS[request.param]
    folder = tmp_path_factory.mktemp(f"synth-{request.param}")
    home = folder / "home"
    made = run_cli(
        home,
        "synth",
        str(folder / "zips"),
        "--start",
        start,
        "--end",
        end,
        "--scale",
        scale,
        "--quiet",
    )
    assert made.exit_code == 0, made.output
    imported = run_cli(home, "import", str(folder / "zips"), "--quiet")
    assert imported.exit_code == 0, imported.output
    with open(folder / "zips" / "truth.csv", newline="") as handle:
        truth = list(csv.DictReader(handle))
    assert truth
    return home, truth


def afr_rows(home: Path, *args: str) -> list[dict]:
    result = run_cli(home, "afr", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_quarter_and_model_equals_the_truth_file(synthetic):
    home, truth = synthetic
    rows = afr_rows(
        home,
        *("--period", "lifetime", "--by", "quarter"),
        # Each flag replaces only its own part of the rule: 2024's drive days need their own.
        *("--min-drives", "0", "--min-drive-days", "0", "--include-boot"),
    )
    got = {(r["period"], r["model"]): r for r in rows if r["model"] != "ALL"}
    assert set(got) == {(t["quarter"], t["model"]) for t in truth}
    for expected in truth:
        row = got[(expected["quarter"], expected["model"])]
        where = (expected["quarter"], expected["model"])
        assert row["drives"] == int(expected["drives"]), where
        assert row["drive_days"] == int(expected["drive_days"]), where
        assert row["failures"] == int(expected["failures"]), where
        assert row["vendor"] == expected["vendor"], where
        assert row["capacity_tb"] == round(int(expected["capacity_bytes"]) / 1e12, 2), where
        days, failures = int(expected["drive_days"]), int(expected["failures"])
        assert row["afr"] == 100 * failures / (days / 365), where
    totals = defaultdict(lambda: [0, 0, 0])
    for expected in truth:
        for i, key in enumerate(("drives", "drive_days", "failures")):
            totals[expected["quarter"]][i] += int(expected[key])
    for row in rows:
        if row["model"] == "ALL":
            assert [row["drives"], row["drive_days"], row["failures"]] == totals[row["period"]]


def test_default_rule_per_quarter_matches_backblaze_thresholds_over_the_truth(synthetic):
    home, truth = synthetic
    rows = afr_rows(home, "--period", "lifetime", "--by", "quarter")
    got = {(r["period"], r["model"]) for r in rows if r["model"] != "ALL"}
    expected = set()
    for t in truth:
        year, quarter = int(t["quarter"][:4]), int(t["quarter"][-1])
        drives, days = int(t["drives"]), int(t["drive_days"])
        if (year, quarter) <= (2019, 1):
            big_enough = drives >= 45
        elif year < 2024:
            big_enough = drives >= 60
        else:
            big_enough = drives > 100 and days > 10_000
        if big_enough and not rates.is_boot_drive(t["model"], int(t["capacity_bytes"])):
            expected.add((t["quarter"], t["model"]))
    assert got == expected
    # A single quarter asked for on its own gives the same rows as its part of the split.
    last = max(t["quarter"] for t in truth)
    alone = afr_rows(home, "--period", last)
    assert [r for r in rows if r["period"] == last] == [{"period": last, **r} for r in alone]
