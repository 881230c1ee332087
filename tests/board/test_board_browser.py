"""The board end to end: headless Chromium against a real uvicorn server on the demo workspace."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import run_cli
from test_board_fixtures import demo_home, start_server, stored_span

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = {"127.0.0.1", "localhost"}
PAGES = ["/", "/rates", "/fleet", "/jobs", "/log", "/sources", "/models", "/lineage"]
# Every URL any page of these tests asked for; the last test checks them all.
REQUESTED: list[str] = []


@pytest.fixture(scope="session")
def board_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="session")
def board(board_home: Path) -> Iterator[str]:
    """The URL (ending in /) of a real uvicorn server for the demo workspace."""
    url, server, thread = start_server(board_home)
    yield url.rstrip("/")
    server.should_exit = True  # type: ignore[attr-defined]
    thread.join(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (which never downloads a browser here)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "CHROMIUM IS NOT INSTALLED at /usr/bin/chromium, so the board's browser tests did "
            "NOT run; CI must install it (apt-get install chromium, as .ci/run does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records every request and fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("request", lambda request: REQUESTED.append(request.url))
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    yield tab
    context.close()
    assert not problems


def fetched_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_the_movie_loads_and_seeks(page: Any, board: str, board_home: Path) -> None:
    statuses: list[int] = []
    page.on(
        "response", lambda r: statuses.append(r.status) if r.url.endswith("/movie.mp4") else None
    )
    page.goto(board + "/")
    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const video = document.querySelector("video#movie");
            const done = () => resolve(video.duration);
            if (video.readyState >= 1) return done();
            video.addEventListener("loadedmetadata", done);
            video.addEventListener("error", () => reject(new Error("video error " + video.error.code)));
            video.load();
        })"""
    )
    assert duration > 0
    landed = page.evaluate(
        """(target) => new Promise((resolve) => {
            const video = document.querySelector("video#movie");
            video.addEventListener("seeked", () => resolve(video.currentTime), { once: true });
            video.currentTime = target;
        })""",
        duration / 2,
    )
    assert abs(landed - duration / 2) < 0.5
    assert 206 in statuses, f"no partial content among the movie's responses {statuses}"
    poster = page.get_attribute("video#movie", "poster")
    assert poster == f"/files/results/frame-{stored_span(board_home)[1]}.png"


def test_the_afr_table_lists_the_models_and_sorts_on_a_click(page: Any, board: str) -> None:
    expected = fetched_json(board + "/rates.json")["afr"]["rows"]
    page.goto(board + "/rates")
    models = page.locator("#afr tbody td.model")
    assert models.all_inner_texts() == [row["model"] for row in expected]

    def column(index: int) -> list[float]:
        cells = page.locator(f"#afr tbody tr td:nth-child({index})")
        return [float(value) for value in cells.evaluate_all("cs => cs.map(c => c.dataset.value)")]

    afr_header = page.locator("#afr thead th", has_text="AFR %")
    afr_header.click()
    assert afr_header.get_attribute("aria-sort") == "descending"
    values = column(7)
    assert values == sorted(values, reverse=True) and values != [r["afr"] for r in expected]
    assert set(models.all_inner_texts()) == {row["model"] for row in expected}
    afr_header.click()
    assert column(7) == sorted(values)
    page.locator("#afr thead th", has_text="Model").click()
    names = models.all_inner_texts()
    assert names == sorted(names, key=str.lower)
    assert page.locator("#afr tfoot th").inner_text() == "All models"


def test_the_period_picker_shows_another_period(page: Any, board: str) -> None:
    page.goto(board + "/rates")
    with page.expect_navigation():
        page.select_option("select#period", "2013Q2")
    assert "period=2013Q2" in page.url
    assert "2013Q2" in page.locator("h2").first.inner_text()
    assert page.locator("#afr tbody tr").count() > 0


def test_a_job_page_links_to_its_parent_job(page: Any, board: str) -> None:
    page.goto(board + "/jobs?stage=afr")
    page.locator("#jobs a.job").first.click()
    page.wait_for_url("**/jobs/afr-*")
    parent = page.locator("ul.upstream a.job")
    assert parent.count() == 1
    href = parent.get_attribute("href")
    assert href.startswith("/jobs/fleet-tables-")
    parent.click()
    page.wait_for_url(f"**{href}")
    assert href.rsplit("/", 1)[-1] in page.locator("h1").inner_text()
    page.locator("ul.upstream a.job").first.click()  # a month's partial tables
    page.wait_for_url("**/jobs/fleet-partial-*")
    page.locator("ul.upstream a.job").first.click()
    page.wait_for_url("**/jobs/import-*")
    page.locator("table.files a", has_text="source").click()
    page.wait_for_url("**/sources#*")
    sha = page.url.rsplit("#", 1)[-1]
    assert page.locator(f"tr[id='{sha}']").count() == 1


def test_every_page_looks_whole_and_nothing_leaves_localhost(
    page: Any, board: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    chosen = os.environ.get("DRIVESTATS_BOARD_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("board-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    newest_job = fetched_json(board + "/jobs.json")["jobs"][-1]["url"]
    models = [row["url"] for row in fetched_json(board + "/models.json")["models"]]
    compare = "/compare?" + "&".join("model=" + url.rsplit("/", 1)[1] for url in models[:3])
    for path in [*PAGES, "/rates?period=2013Q2", newest_job, models[0], compare]:
        response = page.goto(board + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        if path == "/":
            # Let the player settle on the poster: a picture taken mid-load shows a spinner.
            page.wait_for_function("document.querySelector('video').readyState >= 2")
            page.wait_for_timeout(1000)
        for image in page.locator("img").all():
            assert image.evaluate("i => i.complete && i.naturalWidth > 0"), path
        name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")[:60] or "home"
        page.screenshot(path=str(folder / f"{name}.png"), full_page=path != "/")
        assert (folder / f"{name}.png").stat().st_size > 10_000
    assert len(REQUESTED) > 20
    for url in REQUESTED:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "data"), url
        assert parts.scheme == "data" or parts.hostname in LOCAL, url


def test_every_movie_is_listed_playable_and_its_controls_leave_the_picture_clear(
    page: Any, board: str, board_home: Path
) -> None:
    first, _ = stored_span(board_home)
    clip_end = (dt.date.fromisoformat(first) + dt.timedelta(days=9)).isoformat()
    made = run_cli(board_home, "movie", "--start", first, "--end", clip_end, "--quiet")
    assert made.exit_code == 0, made.output
    clip = f"movie-{first}-to-{clip_end}.mp4"
    on_disk = sorted(p.name for p in (board_home / "results").glob("movie*.mp4"))
    assert clip in on_disk and "movie.mp4" in on_disk

    page.goto(board + "/")
    listed = page.locator("table.movies tbody tr td:first-child").all_inner_texts()
    assert listed == ["movie.mp4"] + [name for name in on_disk if name != "movie.mp4"]
    page.click(f"table.movies a:text-is('{clip}')")
    page.wait_for_url("**/?movie=*")
    assert page.get_attribute("video#movie", "src") == f"/files/results/{clip}"

    # No native controls over the picture: ours sit below it, where the date is never hidden.
    assert page.get_attribute("video#movie", "controls") is None
    picture = page.locator("video#movie").bounding_box()
    controls = page.locator(".player .controls").bounding_box()
    assert controls["y"] >= picture["y"] + picture["height"] - 1

    # The label is read when the picture starts to move (the board's own listener, added
    # first, has run): a ten-day clip lasts a fraction of a second and says Play again after.
    page.evaluate(
        """() => {
            const video = document.querySelector("video#movie");
            const button = document.getElementById("play");
            window.labelWhilePlaying = new Promise((resolve) =>
                video.addEventListener("playing", () => resolve(button.textContent), {once: true}));
        }"""
    )
    page.click("#play")
    assert page.evaluate("() => window.labelWhilePlaying") == "Pause"


def test_the_log_lists_the_demo_run_and_links_its_jobs(page: Any, board: str) -> None:
    runs = fetched_json(board + "/log.json")["runs"]
    demo = [run for run in runs if run["command"] and " demo" in run["command"]]
    assert demo and demo[-1]["made"], runs
    made = {job["id"] for group in demo[-1]["made"] for job in group["jobs"]}
    page.goto(board + "/log")
    row = page.locator("#runs tbody tr", has_text="demo").last
    for summary in row.locator("summary").all():  # stages with many jobs open on a click
        summary.click()
    assert row.locator("a.job").count() == len(made)
    row.locator("a.job").last.click()
    page.wait_for_url("**/jobs/*")
    assert page.url.rsplit("/", 1)[-1] in made


def test_a_model_page_draws_its_charts_and_its_block(page: Any, board: str) -> None:
    index = fetched_json(board + "/models.json")["models"]
    top = index[0]  # the most drives
    data = fetched_json(board + top["url"] + ".json")
    page.goto(board + "/models")
    page.locator(f"#models-index a[href='{top['url']}']").click()
    page.wait_for_url(f"**{top['url']}")
    assert page.locator("h1").inner_text().startswith(top["model"])
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for index_of_chart in range(4):  # each chart has marks, not the 'No data' line
        chart = charts.nth(index_of_chart)
        marks = chart.locator("polyline, polygon, rect[height]")
        assert marks.count() > 0, index_of_chart
        box = chart.bounding_box()
        assert box["width"] > 600 and box["height"] > 150
    afr = charts.nth(1)
    assert afr.locator("g.series").count() == 2  # the model and the fleet
    points = afr.locator("g.series:not(.reference) circle")
    assert points.count() == sum(1 for q in data["quarters"] if q["afr"] is not None)
    block = page.locator("img#poster-block")
    block.scroll_into_view_if_needed()
    assert block.evaluate("i => i.complete && i.naturalWidth") == data["poster"]["block"]["width"]
    assert page.locator("#first-day").inner_text() == top["first_day"]


def test_the_search_box_filters_the_models_as_one_types(page: Any, board: str) -> None:
    rows = fetched_json(board + "/models.json")["models"]
    page.goto(board + "/models")
    search = page.locator("#model-search")
    visible = page.locator("#models-index tbody tr:visible")
    assert visible.count() == len(rows)
    word = rows[0]["vendor"].lower()
    search.press_sequentially(word[:3], delay=30)  # as typed: each key filters
    expected = [r["model"] for r in rows if word[:3] in r["search"]]
    assert page.locator("#models-index tbody tr:visible td.model a").all_inner_texts() == expected
    search.press_sequentially(word[3:] + " " + rows[0]["capacity_label"].lower(), delay=30)
    wanted = fetched_json(board + "/models.json?q=" + f"{word}+{rows[0]['capacity_label']}")
    expected = [r["model"] for r in wanted["models"] if r["shown"]]
    shown = page.locator("#models-index tbody tr:visible td.model a").all_inner_texts()
    assert shown == expected and rows[0]["model"] in shown and len(shown) < len(rows)
    assert page.locator("[data-count-for]").inner_text() == f"{len(expected)} of {len(rows)} models"
    search.press("Enter")  # stays on the page, the filter kept
    assert page.url.endswith("/models")
    search.fill("")
    assert visible.count() == len(rows)
    search.fill("no model is named like this")
    assert visible.count() == 0


def test_compare_draws_one_line_per_chosen_model(page: Any, board: str) -> None:
    rows = fetched_json(board + "/models.json")["models"]
    page.goto(board + "/models")
    button = page.locator("#compare-button")
    assert button.is_disabled()
    boxes = page.locator("#models-index tbody input[type=checkbox]")
    for number in range(5):
        boxes.nth(number).check()
    assert boxes.nth(5).is_disabled()  # five at most
    for number in (4, 3):
        boxes.nth(number).uncheck()
    chosen = [row["model"] for row in rows[:3]]
    with page.expect_navigation():
        button.click()
    assert "/compare?" in page.url
    afr, survival = page.locator("svg.chart").nth(0), page.locator("svg.chart").nth(1)
    lines = afr.locator("g.series:not(.reference)")
    assert lines.count() == 3
    assert [lines.nth(i).get_attribute("data-name") for i in range(3)] == chosen
    assert afr.locator("g.series.reference").count() == 1
    assert survival.locator("g.series polyline").count() == 3
    legend = afr.locator("a.legend-link")
    assert legend.count() == 3
    legend.first.click()
    page.wait_for_url(f"**{rows[0]['url']}")


def test_the_lineage_graph_has_a_node_per_job_and_its_links_work(
    page: Any, board: str, board_home: Path
) -> None:
    from drivestats import jobs
    from drivestats.workspace import Workspace

    made = {row["id"] for row in jobs.recent_jobs(Workspace.resolve(board_home))}
    page.goto(board + "/lineage?expand=all")
    nodes = page.locator("svg.lineage-graph g.node[data-job]")
    assert {nodes.nth(i).get_attribute("data-job") for i in range(nodes.count())} == made
    assert nodes.count() == len(made)
    data = fetched_json(board + "/lineage.json?expand=all")
    assert page.locator("svg.lineage-graph path.edge").count() == len(data["graph"]["edges"])
    # Every job's node links to its page; follow one, then its graph back to a parent.
    (fleet,) = [i for i in made if i.startswith("fleet-tables-")]
    page.locator(f"g.node[data-job='{fleet}']").click()
    page.wait_for_url(f"**/jobs/{fleet}")
    own = page.locator("#neighbourhood g.node")
    assert own.count() > 2
    assert page.locator(f"#neighbourhood g.node[data-job='{fleet}']").count() == 1
    parent = page.locator("#neighbourhood g.node[data-stage='fleet-partial']").first
    parent.click()
    page.wait_for_url("**/jobs/fleet-partial-*")
    # Every node's link answers: jobs, sources, results.
    for node in data["graph"]["nodes"]:
        with urllib.request.urlopen(board + node["url"].split("#")[0], timeout=30) as response:
            assert response.status == 200, node["url"]
