"""The board's model pages, the models index, compare: numbers checked against the raw rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import write_day
from drivestats import rates
from drivestats.board.app import create_app
from drivestats.store import import_sources
from drivestats.workspace import Workspace
from test_board_fixtures import demo_home, stored_span

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

DAYS_PER_YEAR = 365


@pytest.fixture(scope="session")
def board_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(board_home: Path) -> TestClient:
    return TestClient(create_app(Workspace.resolve(board_home)), base_url="http://127.0.0.1")


def get_json(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def raw(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query over the store's month files (the raw rows as imported), never the fleet tables."""
    import duckdb

    files = str(home / "store" / "months" / "*" / "*.parquet")
    connection = duckdb.connect()
    connection.execute(f"create view rows as select * from read_parquet('{files}')")
    return connection.execute(sql, list(params)).fetchall()


def garwood(failures: int, drive_days: int) -> tuple[float, float, float]:
    """AFR and its exact Poisson 95% interval, from SciPy's chi-square quantiles."""
    from scipy.stats import chi2

    years = drive_days / DAYS_PER_YEAR
    low = 0.0 if failures == 0 else chi2.ppf(0.025, 2 * failures) / 2
    high = chi2.ppf(0.975, 2 * failures + 2) / 2
    return 100 * failures / years, 100 * low / years, 100 * high / years


def quarter_label(day: Any) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def results_csv(home: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((home / "results" / name).read_text())))


def most_drives(home: Path, count: int = 3) -> list[str]:
    """The models with the most distinct drives, by the raw rows (a drive's first model)."""
    rows = raw(
        home,
        "select model, count(*) from (select serial_number, arg_min(model_clean, date) as model"
        " from rows group by serial_number) group by model order by 2 desc, 1 limit ?",
        count,
    )
    return [row[0] for row in rows]


NEW_PAGES = ["/models", "/lineage", "/compare"]


@pytest.mark.parametrize("page", NEW_PAGES)
def test_every_new_page_has_html_and_the_same_dict_as_json(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200 and "<main" in html.text
    assert get_json(client, f"{page}.json") == get_json(client, f"{page}?format=json")


def test_a_model_page_and_its_json_twin(client: TestClient, board_home: Path) -> None:
    model = most_drives(board_home, 1)[0]
    url = "/models/" + quote(model, safe="")
    page = client.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert get_json(client, url + ".json") == get_json(client, url + "?format=json")
    assert page.text.count('<svg class="chart"') == 4  # drives, AFR, failures, survival


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_a_model_page_counts_what_the_raw_rows_hold(
    client: TestClient, board_home: Path, rank: int
) -> None:
    model = most_drives(board_home, 3)[rank]
    data = get_json(client, "/models/" + quote(model, safe="") + ".json")
    shown = data["model"]
    assert shown["model"] == model and data["title"] == model
    ((drives,),) = raw(
        board_home,
        "select count(*) from (select serial_number, arg_min(model_clean, date) as model"
        " from rows group by serial_number) where model = ?",
        model,
    )
    ((drive_days, failures, first, last),) = raw(
        board_home,
        "select count(*), count(*) filter (where failure), min(date), max(date)"
        " from rows where model_clean = ?",
        model,
    )
    assert shown["drives"] == drives
    assert (shown["drive_days"], shown["failures"]) == (drive_days, failures)
    assert (shown["first_day"], shown["last_day"]) == (first.isoformat(), last.isoformat())
    afr, low, high = garwood(failures, drive_days)
    lifetime = data["lifetime"]
    assert lifetime["afr"] == pytest.approx(afr) and lifetime["ci_low"] == pytest.approx(low)
    assert lifetime["ci_high"] == pytest.approx(high, rel=1e-9)

    # Per quarter: rows and failure rows, drives on the quarter's last day with data.
    last_days = dict(
        raw(board_home, "select year(date) || 'Q' || quarter(date), max(date) from rows group by 1")
    )
    per_quarter = {}
    for day, rows, failed in raw(
        board_home,
        "select date, count(*), count(*) filter (where failure) from rows"
        " where model_clean = ? group by date order by date",
        model,
    ):
        entry = per_quarter.setdefault(quarter_label(day), [0, 0, 0])
        entry[0] += rows
        entry[1] += failed
        if day == last_days[quarter_label(day)]:
            entry[2] = rows
    quarters = {row["period"]: row for row in data["quarters"]}
    assert set(quarters) == set(per_quarter)
    for label, (rows, failed, on_last_day) in per_quarter.items():
        row = quarters[label]
        assert (row["drive_days"], row["failures"], row["drives"]) == (rows, failed, on_last_day)
        afr, low, high = garwood(failed, rows)
        assert row["afr"] == pytest.approx(afr) and row["ci_low"] == pytest.approx(low)
        assert row["ci_high"] == pytest.approx(high, rel=1e-9)

    # The fleet's: the all-models rows of the tables `drivestats demo` published.
    fleet = {r["period"]: r for r in results_csv(board_home, "afr-lifetime-by-quarter.csv")}
    for label, row in quarters.items():
        assert row["fleet_afr"] == pytest.approx(float(fleet[label]["afr"]))
        assert fleet[label]["model"] == rates.ALL_MODELS
    (everything,) = [r for r in results_csv(board_home, "afr-lifetime.csv") if r["model"] == "ALL"]
    assert data["fleet_lifetime"]["afr"] == pytest.approx(float(everything["afr"]))
    assert data["fleet_lifetime"]["failures"] == int(everything["failures"])

    # Drives reporting each day shown.
    per_day = dict(
        raw(
            board_home,
            "select strftime(date, '%Y-%m-%d'), count(*) from rows where model_clean = ? group by 1",
            model,
        )
    )
    series = data["drives_over_time"]
    assert series["dates"][0] == first.isoformat() and series["dates"][-1] == last.isoformat()
    assert series["drives"] == [per_day[day] for day in series["dates"]]


def lifelines_curve(durations: list[int], failed: list[bool]) -> Any:
    from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter()
    fitter.fit(durations, failed)
    return fitter


def durations_of(home: Path, models: list[str]) -> tuple[list[int], list[bool]]:
    """Each drive's days in service (to its failure, else its last report) from the raw rows."""
    marks = ", ".join("?" for _ in models)
    rows = raw(
        home,
        "select datediff('day', min(date), coalesce(max(date) filter (where failure), max(date)))"
        " + 1, bool_or(failure) from rows group by serial_number"
        f" having arg_min(model_clean, date) in ({marks})",
        *models,
    )
    return [row[0] for row in rows], [bool(row[1]) for row in rows]


def test_the_survival_curves_are_lifelines_kaplan_meier(
    client: TestClient, board_home: Path
) -> None:
    model = most_drives(board_home, 1)[0]
    data = get_json(client, "/models/" + quote(model, safe="") + ".json")["survival"]
    mine = data["model"]
    fitter = lifelines_curve(*durations_of(board_home, [model]))
    expected = fitter.survival_function_at_times([round(y * DAYS_PER_YEAR) for y in mine["years"]])
    assert mine["survival"] == pytest.approx([100 * v for v in expected.to_list()])
    assert mine["row"]["drives"] == len(durations_of(board_home, [model])[0])
    # The fleet's: every drive of a data model (the demo has no boot drives to leave out).
    models = [row[0] for row in raw(board_home, "select distinct model_clean from rows")]
    data_models = [m for m in models if not rates.is_boot_drive(m, None)]
    fleet = data["fleet"]
    fitter = lifelines_curve(*durations_of(board_home, data_models))
    expected = fitter.survival_function_at_times([round(y * DAYS_PER_YEAR) for y in fleet["years"]])
    assert fleet["survival"] == pytest.approx([100 * v for v in expected.to_list()])
    assert fleet["years"][-1] == pytest.approx(max(fitter.timeline) / DAYS_PER_YEAR)


def test_the_index_lists_every_model_and_the_search_filters(
    client: TestClient, board_home: Path
) -> None:
    data = get_json(client, "/models.json")
    models = {row[0] for row in raw(board_home, "select distinct model_clean from rows")}
    rows = data["models"]
    assert {row["model"] for row in rows} == models and len(rows) == len(models)
    assert all(row["shown"] for row in rows) and data["matching"] == len(rows)
    for row in rows:
        assert row["url"] == "/models/" + quote(row["model"], safe="")
    page = client.get("/models").text
    for row in rows:
        assert f'href="{row["url"]}"' in page
    assert 'id="models-index"' in page and "data-filter=" in page

    def wanted(row: dict[str, Any]) -> bool:  # "seagate 4tb", decided by hand
        four_tb = 4.0e12 <= row["capacity_bytes"] < 4.05e12
        return (row["vendor"] or "").lower() == "seagate" and four_tb

    found = get_json(client, "/models.json?q=Seagate%20%204TB")
    assert [r["model"] for r in found["models"] if r["shown"]] == [
        r["model"] for r in rows if wanted(r)
    ]
    assert found["matching"] == sum(map(wanted, rows)) > 0
    page = client.get("/models?q=seagate+4tb").text
    hidden = re.findall(r'<tr data-search="[^"]*" hidden>', page)
    assert len(hidden) == len(rows) - found["matching"]


def test_an_unknown_model_is_a_404_page_that_suggests_names(
    client: TestClient, board_home: Path
) -> None:
    model = most_drives(board_home, 1)[0]
    for path in ("/models/NO-SUCH-MODEL", "/models/NO-SUCH-MODEL.json"):
        assert client.get(path).status_code == 404, path
    near = client.get("/models/" + quote(model[:-1] + "X", safe="") + ".json")
    assert near.status_code == 404 and model in near.json()["error"]
    assert client.get("/models/NO-SUCH-MODEL/block.png").status_code == 404


def test_links_from_tables_and_legends_lead_to_model_pages(
    client: TestClient, board_home: Path
) -> None:
    for page in ("/rates", "/fleet", "/models"):
        links = set(re.findall(r'href="(/models/[^"/]+)"', client.get(page).text))
        assert links, page
        for link in links:
            assert client.get(link + ".json").status_code == 200, (page, link)
    # The fleet chart's legend links its models too.
    fleet = client.get("/fleet").text
    legend = re.findall(r'<a href="(/models/[^"]+)" class="legend-link">', fleet)
    assert legend and set(legend) <= set(re.findall(r'href="(/models/[^"/]+)"', fleet))


def test_the_block_is_cut_from_the_poster_where_the_movie_put_it(
    client: TestClient, board_home: Path
) -> None:
    from PIL import Image

    movie = json.loads(
        (board_home / "results" / "movie.mp4").resolve().parent.joinpath("job.json").read_text()
    )
    blocks, cell = movie["notes"]["blocks"], movie["notes"]["cell_px"]
    poster = Image.open(board_home / "results" / f"frame-{stored_span(board_home)[1]}.png")
    checked = 0
    for x, bottom, model in blocks:
        data = get_json(client, "/models/" + quote(model, safe="") + ".json")["poster"]
        assert data["day"] == stored_span(board_home)[1]
        block = data["block"]
        assert block["x"] <= x and x + cell <= block["x"] + block["width"], model
        assert block["y"] < bottom <= block["y"] + block["height"], model
        response = client.get(block["url"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        cut = Image.open(io.BytesIO(response.content)).convert("RGB")
        box = (block["x"], block["y"], block["x"] + block["width"], block["y"] + block["height"])
        expected = poster.convert("RGB").crop(box)
        assert cut.size == (block["width"], block["height"])
        assert cut.tobytes() == expected.tobytes(), model
        # The model's first drive's cell: just above the block's bottom-left corner.
        corner = poster.convert("RGB").getpixel((x + cell // 2, bottom - cell // 2))
        assert corner != poster.convert("RGB").getpixel((1, 1)), model
        checked += 1
    assert checked == len(blocks) > 3


def test_without_a_poster_the_page_says_what_makes_one(board_home: Path, tmp_path: Path) -> None:
    home = shutil.copytree(board_home, tmp_path / "home", symlinks=True)
    for folder in (home / "jobs" / "movie-frame").iterdir():
        shutil.rmtree(folder)
    client = TestClient(create_app(Workspace.resolve(home)), base_url="http://127.0.0.1")
    model = most_drives(home, 1)[0]
    data = get_json(client, "/models/" + quote(model, safe="") + ".json")["poster"]
    assert data["job"] is None and "`drivestats frame DAY`" in data["message"]
    assert client.get("/models/" + quote(model, safe="") + "/block.png").status_code == 404
    assert "<code>drivestats frame DAY</code>" in client.get("/models/" + quote(model)).text


ODD = "ODD <b>&\"x\"</b>/2 'quoted'"
DAY_HEADER = "date,serial_number,model,capacity_bytes,failure"


def test_a_model_with_odd_characters_is_quoted_escaped_and_found(
    board_home: Path, tmp_path: Path
) -> None:
    home = shutil.copytree(board_home, tmp_path / "home", symlinks=True)
    day = (dt.date.fromisoformat(stored_span(home)[1]) + dt.timedelta(days=1)).isoformat()
    quoted = '"' + ODD.replace('"', '""') + '"'  # as a CSV writer quotes it
    rows = [f"{day},ODD{n},{quoted},4000787030016,{int(n == 0)}" for n in range(3)]
    write_day(tmp_path / "days", day, DAY_HEADER, rows)
    assert not import_sources(Workspace.resolve(home), [tmp_path / "days" / f"{day}.csv"]).failed
    rates.afr_job(Workspace.resolve(home), period="lifetime")  # new fleet tables over the day
    client = TestClient(create_app(Workspace.resolve(home)), base_url="http://127.0.0.1")
    (row,) = [r for r in get_json(client, "/models.json")["models"] if r["model"] == ODD]
    assert row["url"] == "/models/" + quote(ODD, safe="") and "/" not in row["url"][8:]
    data = get_json(client, row["url"] + ".json")
    assert data["model"]["drives"] == 3 and data["model"]["failures"] == 1
    assert data["model"]["first_day"] == day == data["model"]["last_day"]
    page = client.get(row["url"])
    assert page.status_code == 200
    assert "<b>&" not in page.text and "&lt;b&gt;&amp;" in page.text
    index = client.get("/models").text
    assert f'href="{row["url"]}"' in index and "<b>&" not in index
    # Its block: the latest poster is older than the day it came, so it has none.
    assert data["poster"]["block"] is None
    assert client.get(row["url"] + "/block.png").status_code == 404
    compare = get_json(client, "/compare.json?model=" + quote(ODD) + "&model=ST4000DM000")
    assert [s["name"] for s in compare["afr_series"][:2]] == [ODD, "ST4000DM000"]


def test_compare_puts_each_chosen_model_on_one_chart(client: TestClient, board_home: Path) -> None:
    chosen = most_drives(board_home, 3)
    query = "&".join("model=" + quote(m, safe="") for m in chosen)
    data = get_json(client, "/compare.json?" + query)
    assert [row["model"] for row in data["chosen"]] == chosen
    series = data["afr_series"]
    assert [s["name"] for s in series[:3]] == chosen and series[3]["reference"] is True
    for model, line in zip(chosen, series, strict=False):
        own = get_json(client, "/models/" + quote(model, safe="") + ".json")
        by_quarter = {row["period"]: row["afr"] for row in own["quarters"]}
        assert {
            label: value
            for label, value in zip(data["labels"], line["values"], strict=True)
            if value is not None
        } == {label: value for label, value in by_quarter.items() if value is not None}
    assert [s["name"] for s in data["survival_series"]] == chosen
    page = client.get("/compare?" + query).text
    afr_chart, survival_chart = re.findall(r'<svg class="chart".*?</svg>', page, re.S)[:2]
    assert afr_chart.count('<g class="series" ') == 3
    assert afr_chart.count('<g class="series reference"') == 1
    assert survival_chart.count('<g class="series" ') == 3
    for model in chosen:
        assert f'href="/models/{quote(model, safe="")}"' in page


def test_compare_asks_for_two_to_five_models(client: TestClient, board_home: Path) -> None:
    models = [row["model"] for row in get_json(client, "/models.json")["models"]]
    one = get_json(client, "/compare.json?model=" + quote(models[0]))
    assert one["afr_series"] == [] and "2 to 5" in one["message"]
    six = "&".join("model=" + quote(m) for m in models[:6])
    assert client.get("/compare.json?" + six).status_code == 400
    assert client.get("/compare?" + six).status_code == 400
    unknown = client.get("/compare.json?model=NOPE&model=" + quote(models[0]))
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["error"]


def test_the_new_pages_answer_within_a_second(board_home: Path) -> None:
    """Each page with cold caches (every remembered figure forgotten) and again: under a second."""
    from drivestats.board.views import compare, failure_rates, fleet_history, home, models

    model = quote(most_drives(board_home, 1)[0], safe="")
    pages = [
        "/models",
        f"/models/{model}",
        f"/models/{model}/block.png",
        f"/compare?model={model}&model={quote(most_drives(board_home, 2)[1], safe='')}",
        "/lineage",
        "/lineage?expand=all",
        "/fleet",
        "/rates",
    ]
    client = TestClient(create_app(Workspace.resolve(board_home)), base_url="http://127.0.0.1")
    for module in (compare, failure_rates, fleet_history, home, models):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()
    for page in pages:
        for attempt in ("cold", "warm"):
            started = time.perf_counter()
            assert client.get(page).status_code == 200, page
            assert time.perf_counter() - started < 1.0, (page, attempt)
