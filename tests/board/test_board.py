"""The board through Starlette's TestClient: every page as JSON, files with Range, and safety."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from conftest import run_cli, write_day
from drivestats import catalog, jobs, rates
from drivestats.board import views
from drivestats.board.app import create_app, rendered
from drivestats.board.files import Refused, served_file
from drivestats.board.views import FILES_SHOWN
from drivestats.store import import_sources
from drivestats.workspace import Workspace
from test_board_fixtures import demo_home, quarters_between, start_server, stored_span

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its TestClient; httpx is what the project installs.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

PAGES = ["/", "/rates", "/fleet", "/jobs", "/sources", "/models", "/compare", "/lineage"]
SECRET = "the catalog must never be served"


@pytest.fixture(scope="session")
def board_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace made by `drivestats demo` (read-only for these tests)."""
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(board_home: Path) -> TestClient:
    """A TestClient for the board of the demo workspace, naming 127.0.0.1 as its host."""
    return TestClient(create_app(Workspace.resolve(board_home)), base_url="http://127.0.0.1")


def job_count(home: Path) -> int:
    return catalog.query(Workspace.resolve(home), "select count(*) as n from jobs")[0]["n"]


def get_json(client: TestClient, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def board_of(home: Path) -> TestClient:
    return TestClient(create_app(Workspace.resolve(home)), base_url="http://127.0.0.1")


def copy_of(home: Path, target: Path) -> Path:
    """A copy of a workspace that a test may change (the demo's is shared and read-only)."""
    shutil.copytree(home, target, symlinks=True)
    return target


DAY_HEADER = "date,serial_number,model,capacity_bytes,failure"


def import_days(home: Path, folder: Path, days: list[str], failures: int = 1) -> None:
    """Import a few small daily files of one model into a workspace."""
    for day in days:
        rows = [f"{day},EXTRA{n},ST4000DM000,4000787030016,{int(n < failures)}" for n in range(5)]
        write_day(folder, day, DAY_HEADER, rows)
    report = import_sources(Workspace.resolve(home), [folder / f"{day}.csv" for day in days])
    assert not report.failed


def day_after(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


# --- pages --------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_html_and_the_same_dict_as_json(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "<main" in html.text
    suffix = "/index.json" if page == "/" else f"{page}.json"
    assert get_json(client, suffix) == get_json(client, f"{page}?format=json")


def test_home_shows_the_movie_with_its_poster_and_key_figures(
    client: TestClient,
    board_home: Path,
) -> None:
    first, last = stored_span(board_home)
    data = get_json(client, "/index.json")
    movie = data["movie"]
    assert movie["url"] == "/files/results/movie.mp4"
    assert movie["job"].startswith("movie-")
    assert movie["poster"] == f"/files/results/frame-{last}.png"
    figures = data["figures"]
    assert figures["first_day"] == first and figures["last_day"] == last
    assert figures["drives"] > 100 and figures["failures"] > 0 and figures["storage_bytes"] > 0
    sources = catalog.query(Workspace.resolve(board_home), "select count(*) as n from sources")
    assert figures["sources"] == sources[0]["n"] and figures["last_import"]
    assert 0 < figures["afr"]["afr"] < 100
    names = {entry["name"] for entry in data["results"]}
    assert {"movie.mp4", f"frame-{last}.png"} <= names
    page = client.get("/").text
    assert '<video id="movie"' in page and 'src="/files/results/movie.mp4"' in page
    assert f'poster="/files/results/frame-{last}.png"' in page


def test_rates_reuse_the_demo_jobs(client: TestClient, board_home: Path) -> None:
    before = job_count(board_home)
    data = get_json(client, "/rates.json")
    assert job_count(board_home) == before, "the demo's afr and survival jobs were not reused"
    assert data["stale"] is None and data["afr"]["computed"] is None
    assert data["trend"]["job"]["stage"] == "afr" and data["trend"]["computed"] is None
    assert data["survival"]["job"]["stage"] == "survival"
    job = jobs.load(Workspace.resolve(board_home), data["afr"]["job"]["id"])
    expected = [r for r in rates.read_rows(job, "afr.json") if r["model"] != rates.ALL_MODELS]
    assert data["afr"]["rows"] == expected and expected
    assert data["afr"]["all"]["model"] == rates.ALL_MODELS
    assert data["period"]["label"] == "lifetime"
    assert data["afr"]["interval_scale"] > 0
    quarters = quarters_between(*stored_span(board_home))
    assert [q["period"] for q in data["trend"]["quarters"]] == quarters
    assert data["survival"]["rows"] and "survival.svg" in data["survival"]["charts"]
    assert {"lifetime", "latest", "2013", *quarters} <= {p["value"] for p in data["periods"]}
    page = client.get("/rates").text
    assert page.count('<svg class="interval"') == len(expected) + 1  # and the all-models row
    assert '<table class="sortable" id="afr">' in page


def test_a_period_nobody_made_is_computed_for_the_page_and_not_saved(
    client: TestClient, board_home: Path
) -> None:
    before = job_count(board_home)
    data = get_json(client, "/rates.json?period=2013")
    assert data["period"]["label"] == "2013"
    assert data["period"]["start"] == "2013-01-01" and data["period"]["end"] == "2013-12-31"
    assert data["afr"]["job"] is None and data["afr"]["downloads"] == {}
    assert "`drivestats afr --period 2013`" in data["afr"]["computed"]
    assert data["afr"]["rows"] and data["afr"]["all"]["failures"] > 0
    assert "The data ends on" in data["afr"]["caption"]
    page = client.get("/rates?period=2013").text
    assert '<p class="computed">' in page and "<code>drivestats afr --period 2013</code>" in page
    assert page.count('<svg class="interval"') == len(data["afr"]["rows"]) + 1
    assert job_count(board_home) == before, "looking at a period made a job"


def test_the_table_computed_for_a_page_is_the_afr_jobs_table(
    board_home: Path, tmp_path: Path
) -> None:
    home = copy_of(board_home, tmp_path / "home")
    client = board_of(home)
    computed = get_json(client, "/rates.json?period=2013Q3")
    assert computed["afr"]["job"] is None
    # What `drivestats afr --period 2013Q3` makes, the same call the CLI makes.
    job = rates.afr_job(Workspace.resolve(home), period="2013Q3")
    assert not job.reused
    table = rates.read_rows(job, "afr.json")
    assert computed["afr"]["rows"] == [r for r in table if r["model"] != rates.ALL_MODELS]
    assert computed["afr"]["all"] == table[-1] and table[-1]["model"] == rates.ALL_MODELS
    assert computed["afr"]["caption"] == rates.caption_of(job.manifest["notes"])
    assert computed["period"] == {"requested": "2013Q3", **job.manifest["notes"]["period"]}
    # Once made, the same board shows the job instead, with the same numbers.
    shown = get_json(client, "/rates.json?period=2013Q3")
    assert shown["afr"]["job"]["id"] == job.id and shown["afr"]["computed"] is None
    assert shown["afr"]["rows"] == computed["afr"]["rows"]
    assert "afr.csv" in shown["afr"]["downloads"]


def test_the_quarterly_trend_computed_here_is_the_demos_job(board_home: Path) -> None:
    workspace = Workspace.resolve(board_home)
    board = views.Board(workspace)
    fleet = board.fleet()
    assert fleet is not None and fleet.current
    for period, by in (("lifetime", "quarter"), ("lifetime", None)):
        job = board.afr_job(fleet, period, by)
        assert job is not None, (period, by)
        chosen = rates.resolved_period(period, fleet.job, None)
        table = views.computed_afr(str(fleet.job.dir), chosen, by)
        assert table.rows == rates.read_rows(job, "afr.json")
        assert table.notes == job.manifest["notes"]


def test_a_bad_period_keeps_the_picker_and_says_why(client: TestClient) -> None:
    response = client.get("/rates.json?period=1999")
    assert response.status_code == 400
    assert "1999" in response.json()["error"]
    page = client.get("/rates?period=nonsense")
    assert page.status_code == 400
    assert 'name="period"' in page.text and "unknown period" in page.text


def test_fleet_series_add_up(client: TestClient, board_home: Path) -> None:
    first, last = stored_span(board_home)
    data = get_json(client, "/fleet.json")
    dates = data["dates"]
    assert dates[0] == first and dates[-1] == last
    assert len(dates) <= 241
    for i, total in enumerate(data["drives"]):
        assert sum(s["values"][i] for s in data["drives_per_model"]) == total
    assert all(value > 0 for value in data["storage_bytes"])
    quarters = data["failures_per_quarter"]
    assert [q["quarter"] for q in quarters] == quarters_between(first, last)
    assert sum(q["failures"] for q in quarters) == data["figures"]["failures"]
    assert quarters[0]["days"] < quarters[0]["days_in_quarter"]  # starts on 2013-04-10
    # Against the store itself (not the fleet tables the board reads): rows per day, failures.
    import duckdb

    files = str(board_home / "store" / "months" / "*" / "*.parquet")
    per_day = dict(
        duckdb.execute(
            f"select strftime(date, '%Y-%m-%d'), count(*) from read_parquet('{files}') group by 1"
        ).fetchall()
    )
    for day, total in zip(dates, data["drives"], strict=True):
        assert per_day[day] == total, day
    failures = duckdb.execute(
        f"select count(*) from read_parquet('{files}') where failure"
    ).fetchone()[0]
    assert sum(q["failures"] for q in quarters) == failures
    page = client.get("/fleet").text
    assert page.count('<svg class="chart"') == 3


def test_a_job_page_links_upstream_downstream_inputs_and_outputs(
    client: TestClient,
    board_home: Path,
) -> None:
    workspace = Workspace.resolve(board_home)
    (fleet_row,) = [r for r in jobs.recent_jobs(workspace) if r["stage"] == "fleet-tables"]
    data = get_json(client, f"/jobs/{fleet_row['id']}.json")
    assert {u["stage"] for u in data["upstream"]} == {"fleet-partial"}
    assert {"afr", "survival"} <= {d["stage"] for d in data["downstream"]}
    days = catalog.query(workspace, "select count(*) as n from days")[0]["n"]  # one input a day
    assert data["files_total"] == days and len(data["files"]) == min(days, FILES_SHOWN)
    if days > FILES_SHOWN:
        assert data["files_url"] == f"/jobs/{fleet_row['id']}?files=all"
    assert len(get_json(client, f"/jobs/{fleet_row['id']}.json?files=all")["files"]) == days
    for output in data["outputs"]:
        body = client.get(output["url"]).content
        if output["sha256"]:
            assert hashlib.sha256(body).hexdigest() == output["sha256"]
    partial = get_json(client, data["upstream"][0]["url"] + ".json")  # one month's scan
    assert fleet_row["id"] in {d["id"] for d in partial["downstream"]}
    assert {u["stage"] for u in partial["upstream"]} == {"import"}
    upstream = partial["upstream"][0]
    imported = get_json(client, upstream["url"] + ".json")
    assert partial["id"] in {d["id"] for d in imported["downstream"]}
    (source,) = imported["files"]
    assert source["source"] == f"/sources#{source['sha256']}"
    # The demo's zips lie inside the workspace and can be downloaded; other sources cannot.
    # (Imports name a source inside the workspace by its workspace-relative path.)
    inside = (board_home / source["name"]).is_file()
    assert (source["url"] is not None) == inside
    if inside:
        assert client.get(source["url"]).status_code == 200
        # ...and the job that made them counts the import among the jobs that use it.
        assert source["job"]["stage"] == "synthetic-zips"
        maker = get_json(client, source["job"]["url"] + ".json")
        assert upstream["id"] in {d["id"] for d in maker["downstream"]}
    page = client.get(f"/jobs/{fleet_row['id']}").text
    assert f'href="{data["upstream"][0]["url"]}"' in page


def test_an_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/jobs/no-such-job.json").status_code == 404
    page = client.get("/jobs/no-such-job")
    assert page.status_code == 404 and "no job matching" in page.text


def test_sources_list_every_imported_file_with_its_sha256(
    client: TestClient,
    board_home: Path,
) -> None:
    data = get_json(client, "/sources.json")
    listed = data["sources"]
    assert listed and data["totals"]["sources"] == len(listed)
    for source in listed:
        assert jobs.file_sha256(Path(source["path"])) == source["sha256"]
        assert source["job"]["stage"] == "import"
        assert f'id="{source["sha256"]}"' in client.get("/sources").text
    assert (listed[0]["first_day"], listed[-1]["last_day"]) == stored_span(board_home)
    assert sum(s["rows"] for s in listed) == data["totals"]["rows"] > 0


# --- many jobs ------------------------------------------------------------------------


def _build_note(context: jobs.JobContext) -> None:
    (context.dir / "note.txt").write_text(str(context.params["n"]))


NOTE = jobs.Stage("board-test-note", _build_note, ("test_board",))


def test_the_jobs_list_pages_through_hundreds_of_jobs(tmp_path: Path) -> None:
    workspace = Workspace.resolve(tmp_path / "many").ensure()
    made = [jobs.run(workspace, NOTE, {"n": n}).id for n in range(260)]
    client = TestClient(create_app(workspace), base_url="http://127.0.0.1")
    started = time.perf_counter()
    first = get_json(client, "/jobs.json")
    assert (first["total"], first["pages"], len(first["jobs"])) == (260, 6, 50)
    assert first["jobs"][0]["id"] == made[-1]  # newest first
    assert first["previous"] is None and first["next"] == "/jobs?page=2"
    last = get_json(client, "/jobs.json?page=6")
    assert len(last["jobs"]) == 10 and last["jobs"][-1]["id"] == made[0]
    assert get_json(client, "/jobs.json?page=99")["page"] == 6
    assert get_json(client, "/jobs.json?stage=board-test-note")["total"] == 260
    assert get_json(client, "/jobs.json?stage=nothing")["jobs"] == []
    assert client.get("/jobs?page=3").status_code == 200
    assert client.get(f"/jobs/{made[7]}").status_code == 200
    assert client.get("/jobs?page=x").status_code == 400
    assert time.perf_counter() - started < 5


# --- files and Range ------------------------------------------------------------------


def test_a_malformed_range_is_ignored_as_the_rfc_allows(
    client: TestClient, board_home: Path
) -> None:
    movie = (board_home / "results" / "movie.mp4").read_bytes()
    for header in ("bytes=5-1", "bytes=abc", "pages=0-10", "bytes=0-1,9-2"):
        whole = client.get("/files/results/movie.mp4", headers={"Range": header})
        assert whole.status_code == 200 and whole.content == movie, header
    beyond = client.get("/files/results/movie.mp4", headers={"Range": f"bytes={len(movie)}-"})
    assert beyond.status_code == 416


def test_the_movie_answers_range_requests(client: TestClient, board_home: Path) -> None:
    movie = (board_home / "results" / "movie.mp4").read_bytes()
    whole = client.get("/files/results/movie.mp4")
    assert whole.status_code == 200 and whole.content == movie
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get("/files/results/movie.mp4", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(movie)}"
    assert part.content == movie[100:1100]
    tail = client.get("/files/results/movie.mp4", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == movie[-500:]
    open_ended = client.get(
        "/files/results/movie.mp4", headers={"Range": f"bytes={len(movie) - 10}-"}
    )
    assert open_ended.status_code == 206 and open_ended.content == movie[-10:]
    beyond = client.get("/files/results/movie.mp4", headers={"Range": f"bytes={len(movie) + 5}-"})
    assert beyond.status_code == 416
    head = client.head("/files/results/movie.mp4")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(movie))


# --- safety ---------------------------------------------------------------------------


@pytest.fixture
def trap(tmp_path: Path) -> Workspace:
    """A workspace whose results/ hold a good link and links that lead out of the served folders."""
    workspace = Workspace.resolve(tmp_path / "trap").ensure()
    (workspace.jobs / "note" / "note-1").mkdir(parents=True)
    (workspace.jobs / "note" / "note-1" / "note.txt").write_text("fine")
    (workspace.results / "good.txt").symlink_to("../jobs/note/note-1/note.txt")
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET)
    workspace.catalog.write_text(SECRET)
    (workspace.results / "outside.txt").symlink_to(outside)
    (workspace.results / "absolute.txt").symlink_to("/etc/passwd")
    (workspace.results / "catalog.txt").symlink_to("../catalog.sqlite")
    (workspace.results / "loop.txt").symlink_to("loop.txt")
    (workspace.results / ".hidden.txt").write_text(SECRET)
    (workspace.jobs / "escape").symlink_to(tmp_path)
    return workspace


REFUSED = {
    "/files/results/outside.txt": 403,
    "/files/results/absolute.txt": 403,
    "/files/results/catalog.txt": 403,
    "/files/jobs/escape/outside.txt": 403,
    "/files/results/loop.txt": 404,
    "/files/results/.hidden.txt": 404,
    "/files/catalog.sqlite": 404,
    "/files/results/../catalog.sqlite": 404,
    "/files/results/../../outside.txt": 404,
    "/files/%2e%2e/catalog.sqlite": 404,
    "/files/results/%2e%2e/%2e%2e/outside.txt": 404,
    "/files/results/%252e%252e/catalog.sqlite": 404,
    "/files/results/%25252e%25252e/catalog.sqlite": 404,
    "/files/results/..%2fcatalog.sqlite": 404,
    "/files/results/..%5ccatalog.sqlite": 404,
    "/files//etc/passwd": 404,
    "/files/%2fetc/passwd": 404,
    "/files/results/%00": 404,
    "/static/../app.py": 404,
    "/static/%2e%2e/app.py": 404,
}


@pytest.mark.parametrize("path", sorted(REFUSED))
def test_no_path_leads_out_of_the_workspace(trap: Workspace, path: str) -> None:
    app = create_app(trap)
    # In-process with the path exactly as written: no client normalises the dots away.
    answer = rendered(app, path)
    assert answer.status == REFUSED[path], (path, answer.status)
    assert SECRET.encode() not in answer.body and b"root:" not in answer.body
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get(path)
    assert response.status_code in (403, 404)
    assert SECRET not in response.text and "root:" not in response.text


def test_results_links_into_jobs_are_served(trap: Workspace) -> None:
    client = TestClient(create_app(trap), base_url="http://127.0.0.1")
    assert client.get("/files/results/good.txt").text == "fine"
    assert client.get("/files/jobs/note/note-1/note.txt").text == "fine"
    assert served_file(trap, "results/good.txt").name == "note.txt"
    with pytest.raises(Refused) as refused:
        served_file(trap, "results/outside.txt")
    assert refused.value.status == 403


def test_a_raw_request_with_dots_is_refused_by_the_live_server(trap: Workspace) -> None:
    import http.client

    url, server, thread = start_server(trap.home)
    try:
        host, port = url.removeprefix("http://").rstrip("/").split(":")
        for path in ("/files/results/../catalog.sqlite", "/files/../../outside.txt"):
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", path)  # http.client sends the path untouched
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status in (400, 404) and SECRET.encode() not in body
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize(
    "path", ["/", "/rates", "/jobs", "/files/results/movie.mp4", "/static/board.js"]
)
def test_the_board_only_reads(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


SIDECARS = ("catalog.sqlite-wal", "catalog.sqlite-shm")


def snapshot(home: Path) -> dict[str, object]:
    """Every file and folder of a workspace (size, mtime, links) and every catalog table."""
    files = {}
    for path in sorted(home.rglob("*")):
        # SQLite's own sidecars: a reader of a WAL database creates them empty if missing and
        # marks its place in the -shm; neither holds the catalog's data.
        if path.name not in SIDECARS:
            stat = path.lstat()
            files[str(path.relative_to(home))] = (stat.st_size, stat.st_mtime_ns, stat.st_nlink)
    connection = sqlite3.connect(f"{(home / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    tables = {
        table: connection.execute(f"select * from {table} order by rowid").fetchall()
        for table in ("sources", "days", "jobs", "job_runs", "job_outputs")
    }
    connection.close()
    assert tables["jobs"] and tables["job_runs"] and any(p.startswith("jobs/") for p in files)
    return {"files": files, "tables": tables}


BROWSED_PERIODS = ["lifetime", "latest", "2013", "2013Q2", "2013Q3", "2013-05-01..2013-06-30"]


def browse_everything(client: TestClient, home: Path) -> None:
    """Every page, with its JSON, each AFR period above, every job, and a bad request or two."""
    paths = [*PAGES, *(f"/rates?period={p}" for p in BROWSED_PERIODS), "/jobs?stage=afr"]
    for row in jobs.recent_jobs(Workspace.resolve(home)):
        paths += [f"/jobs/{row['id']}", f"/jobs/{row['id']}?files=all"]
    models = [row["url"] for row in client.get("/models.json").json()["models"]]
    paths += models + [
        "/lineage?expand=all",
        "/compare?model=" + "&model=".join(url.rsplit("/", 1)[1] for url in models[:3]),
    ]
    for url in models:  # each block cut out of the poster (or a 404 for one it lacks)
        assert client.get(url + "/block.png").status_code in (200, 404), url
    for path in paths:
        assert client.get(path).status_code == 200, path
        twin = path + ("&" if "?" in path else "?") + "format=json"
        assert client.get(twin).status_code == 200, twin
    assert client.get("/rates?period=1999").status_code == 400
    assert client.get("/jobs/no-such-job").status_code == 404
    assert (
        client.get("/files/results/movie.mp4", headers={"Range": "bytes=0-99"}).status_code == 206
    )


def test_browsing_writes_nothing_even_over_stale_fleet_tables(
    board_home: Path, tmp_path: Path
) -> None:
    home = copy_of(board_home, tmp_path / "home")
    before = snapshot(home)
    browse_everything(board_of(home), home)
    assert snapshot(home) == before
    # One more day imported: the fleet tables no longer cover the store.
    import_days(home, tmp_path / "more", [day_after(stored_span(home)[1])])
    before = snapshot(home)
    client = board_of(home)
    assert get_json(client, "/fleet.json")["stale"] is not None
    browse_everything(client, home)
    assert snapshot(home) == before


def test_other_hosts_are_refused(client: TestClient) -> None:
    """A page elsewhere must not reach the board through a DNS name rebound to 127.0.0.1."""
    for refused in (
        "evil.example",
        "evil.example:8520",
        "127.0.0.1.evil.example",
        "",
        "127.0.0.1:8520@evil.example",
        "127.0.0.1:P@evil.example",
        "127.0.0.1:8520, evil.example",
        "127.0.0.1 evil.example",
    ):
        assert client.get("/", headers={"Host": refused}).status_code == 400, refused
    for allowed in ("localhost:8520", "127.0.0.1", "[::1]:8520", "LOCALHOST"):
        assert client.get("/sources.json", headers={"Host": allowed}).status_code == 200, allowed


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    for path in [*PAGES, "/rates?period=2013Q2"]:
        response = client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        # Only the SVG namespace names another site, and a namespace is never fetched.
        text = response.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"""(src|href|action|poster)=["']?(https?:)?//""", text), path
    assert client.get("/static/board.js").status_code == 200
    assert client.get("/static/board.css").status_code == 200


# --- an empty workspace and the command line ------------------------------------------


def test_stale_fleet_tables_say_where_they_stop(board_home: Path, tmp_path: Path) -> None:
    home = copy_of(board_home, tmp_path / "home")
    until = stored_span(home)[1]
    demo = get_json(board_of(home), "/rates.json")
    new_day = day_after(until)
    import_days(home, tmp_path / "more", [new_day])
    client = board_of(home)
    for path in ("/index.json", "/rates.json", "/fleet.json"):
        stale = get_json(client, path)["stale"]
        assert stale["until"] == until and stale["store_last_day"] == new_day, path
        assert f"The store has days after {until}" in stale["message"]
        assert stale["job"]["id"] == demo["fleet_job"]["id"]
    assert get_json(client, "/fleet.json")["figures"]["last_day"] == until
    # The demo's jobs over those tables are still found and shown, not recomputed.
    shown = get_json(client, "/rates.json")
    for part in ("afr", "trend", "survival"):
        assert shown[part]["job"] == demo[part]["job"], part
    assert shown["afr"]["rows"] == demo["afr"]["rows"]
    computed = get_json(client, "/rates.json?period=2013Q3")
    assert computed["afr"]["job"] is None and computed["period"]["end"] == "2013-09-30"
    for page in ("/", "/rates", "/fleet"):
        text = client.get(page).text
        assert '<p class="notice"' in text and "<code>drivestats afr</code>" in text, page
    assert '<p class="notice"' not in board_of(board_home).get("/rates").text
    # Once made again, the pages are up to date.
    rates.afr_job(Workspace.resolve(home), period="lifetime")
    assert get_json(client, "/rates.json")["stale"] is None
    assert get_json(client, "/fleet.json")["figures"]["last_day"] == new_day


def test_imported_days_without_figures_say_what_to_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    import_days(home, tmp_path / "days", ["2016-01-01", "2016-01-02", "2016-01-03"])
    client = board_of(home)
    before = snapshot(home)
    for path in ("/", "/rates", "/fleet"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert (
            "The store holds 3 days" in response.text
            and "<code>drivestats afr</code>" in response.text
        )
    assert get_json(client, "/rates.json")["empty"] is True
    assert snapshot(home) == before
    # The fleet tables and the lifetime table made; no quarterly table, no survival curves.
    job = rates.afr_job(Workspace.resolve(home), period="lifetime")
    data = get_json(client, "/rates.json")
    assert data["empty"] is False and data["afr"]["job"]["id"] == job.id
    assert data["trend"]["job"] is None
    assert "`drivestats afr --period lifetime --by quarter`" in data["trend"]["computed"]
    assert [q["period"] for q in data["trend"]["quarters"]] == ["2016Q1"]
    assert data["survival"]["job"] is None
    assert "`drivestats survival`" in data["survival"]["empty_message"]
    page = client.get("/rates").text
    assert "<code>drivestats survival</code>" in page and 'id="survival"' not in page
    assert get_json(client, "/index.json")["figures"]["afr"]["job"]["id"] == job.id


def test_an_empty_workspace_shows_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "never-made"
    client = TestClient(create_app(Workspace.resolve(home)), base_url="http://127.0.0.1")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
    assert "drivestats demo" in client.get("/").text
    assert get_json(client, "/index.json")["movie"] is None
    assert get_json(client, "/jobs.json")["total"] == 0
    assert not home.exists(), "looking at a workspace must not create it"


def test_get_prints_a_page_without_a_server(
    board_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(board_home, "board", "--get", "/sources.json")
    assert result.exit_code == 0
    assert json.loads(result.stdout_bytes)["totals"]["sources"] >= 1
    missing = run_cli(board_home, "board", "--get", "/jobs/nothing-like-this")
    assert missing.exit_code == 1 and b"no job matching" in missing.stdout_bytes


def test_the_command_serves_on_localhost_and_prints_the_url(board_home: Path) -> None:
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "drivestats", "--home", str(board_home), "board", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + process.stderr.read() if process.poll() is not None else line
        with urllib.request.urlopen(match.group(0) + "index.json", timeout=10) as response:
            assert json.load(response)["movie"]["url"] == "/files/results/movie.mp4"
    finally:
        process.terminate()
        process.wait(10)


def test_counts_in_headings_agree_with_their_nouns(client: TestClient, board_home: Path) -> None:
    with sqlite3.connect(board_home / "catalog.sqlite") as db:
        (sources,) = db.execute("select count(*) from sources").fetchone()
    noun = "file" if sources == 1 else "files"
    assert f"<small>{sources:,} {noun}, " in client.get("/sources").text
