"""Survival: Kaplan-Meier per model against a product-limit estimate computed here by hand."""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import pyarrow as pa
import pytest
from scipy import stats

from conftest import run_cli, sample_files
from drivestats import jobs, rates
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

START = dt.date(2015, 1, 1)


def drive_table(lives: list[tuple[str, int, bool, int]]) -> pa.Table:
    """A drives table from (model, first day offset, failed?, days in service) tuples."""
    model, first, last, failure = [], [], [], []
    for name, offset, failed, days in lives:
        begin = START + dt.timedelta(days=offset)
        end = begin + dt.timedelta(days=days - 1)
        model.append(name)
        first.append(begin)
        last.append(end)
        failure.append(end if failed else None)
    return pa.table(
        {
            "model": model,
            "first_day": pa.array(first, pa.date32()),
            "last_day": pa.array(last, pa.date32()),
            "failure_day": pa.array(failure, pa.date32()),
        }
    )


def product_limit(lives: list[tuple[int, bool]], at: float) -> tuple[float, float, float]:
    """Kaplan-Meier S(at) with the exponential Greenwood (log-log) 95% interval, by hand."""
    z = stats.norm.ppf(0.975)
    survival, greenwood = 1.0, 0.0
    for time in sorted({t for t, failed in lives if failed}):
        if time > at:
            break
        at_risk = sum(1 for t, _ in lives if t >= time)
        deaths = sum(1 for t, failed in lives if failed and t == time)
        survival *= 1 - deaths / at_risk
        greenwood += deaths / (at_risk * (at_risk - deaths)) if at_risk > deaths else math.inf
    if survival in (0.0, 1.0):
        return survival, survival, survival
    spread = z * math.sqrt(greenwood) / abs(math.log(survival))
    return survival, survival ** math.exp(spread), survival ** math.exp(-spread)


def random_lives(seed: int, count: int) -> list[tuple[int, bool]]:
    generator = random.Random(seed)
    lives = []
    for _ in range(count):
        life = int(generator.expovariate(1 / 2500)) + 1
        followed = generator.randint(30, 2200)
        lives.append((min(life, followed), life <= followed))
    return lives


def test_survival_matches_a_hand_computed_product_limit():
    lives = random_lives(7, 400)
    table = drive_table([("M", i % 50, failed, days) for i, (days, failed) in enumerate(lives)])
    row, curve = rates.survival_of_model(table, "M")
    assert row["drives"] == 400 and row["failures"] == sum(f for _, f in lives)
    for years in (1, 3, 5):
        key = f"survival_{years}y"
        if years * 365 > max(days for days, _ in lives):
            assert row[key] is None and row[f"{key}_low"] is None
            continue
        value, low, high = product_limit(lives, years * 365)
        assert row[key] == pytest.approx(100 * value, rel=1e-9)
        assert row[f"{key}_low"] == pytest.approx(100 * low, rel=1e-6)
        assert row[f"{key}_high"] == pytest.approx(100 * high, rel=1e-6)
    assert curve.survival[0] == 100.0 and curve.years == sorted(curve.years)


def test_median_life_when_reached_and_none_when_not():
    half_fail = [("M", 0, True, 100 + i) for i in range(6)] + [("M", 0, False, 900)] * 4
    row, _ = rates.survival_of_model(drive_table(half_fail), "M")
    # Failures at 100..105 days among 10 drives: S falls to 0.5 at the fifth failure (104 days).
    assert row["median_days"] == 104
    healthy = [("M", 0, i % 10 == 0, 400 + i) for i in range(100)]
    row, _ = rates.survival_of_model(drive_table(healthy), "M")
    assert row["median_days"] is None and row["survival_1y"] == 100.0


def test_default_models_are_the_largest_data_drive_models():
    models = pa.table(
        {
            "model": ["A", "B", "BOOT", "C"],
            "capacity_bytes": pa.array([4e12, 8e12, 2.5e11, 1e13], pa.int64()),
            "drives": pa.array([10, 30, 99, 20], pa.int64()),
        }
    )
    assert rates.default_survival_models(models, 2) == ["B", "C"]
    assert rates.chosen_models(["C", " A "], models) == ["C", "A"]
    with pytest.raises(DrivestatsError, match="did you mean"):
        rates.chosen_models(["BOOTS"], models)


def test_survival_is_a_job_with_a_reproducible_chart(home):
    assert run_cli(home, "import", *map(str, sample_files()[:3])).exit_code == 0
    result = run_cli(home, "survival", "--models", "ST3000DM001,Hitachi  HDS722020ALA330")
    assert result.exit_code == 0, result.output
    assert "ST3000DM001" in result.stdout and "(made)" in result.stderr
    workspace = Workspace(home)
    job = rates.survival_job(workspace, ["ST3000DM001", "Hitachi HDS722020ALA330"])
    assert job.reused
    assert {"survival.csv", "survival.json", "survival.png", "survival.svg"} <= set(job.outputs)
    assert jobs.verify(workspace, job.id)["identical"]
    rows = json.loads(run_cli(home, "survival", "--format", "json").stdout)
    assert len(rows) == 6 and set(rows[0]) == set(rates.SURVIVAL_COLUMNS)
    bad = run_cli(home, "survival", "--models", "ST3000DM00X")
    assert bad.exit_code != 0 and "did you mean ST3000DM001" in bad.output


def test_a_model_without_drives_of_its_own_is_explained_not_a_traceback(tmp_path):
    from conftest import write_day

    header = "date,serial_number,model,capacity_bytes,failure"
    # Drive X reports as OLD first, then as NEW: NEW has rows but no drive of its own.
    write_day(tmp_path / "days", "2015-01-01", header, ["2015-01-01,X,OLD,1000,0"])
    write_day(tmp_path / "days", "2015-01-02", header, ["2015-01-02,X,NEW,1000,0"])
    home = tmp_path / "home"
    assert run_cli(home, "import", str(tmp_path / "days")).exit_code == 0
    result = run_cli(home, "survival", "--models", "NEW")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "NEW has no drives of its own" in " ".join(result.output.split())
