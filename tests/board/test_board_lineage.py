"""The lineage graph: every job, source and result with the edges their manifests name,
laid out left to right; groups collapsed and expanded; a job's own neighbourhood."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from drivestats.board.app import create_app
from drivestats.board.views import lineage
from drivestats.board.views.lineage import Graph, Node
from drivestats.workspace import Workspace
from test_board_fixtures import demo_home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402


@pytest.fixture(scope="session")
def board_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="module")
def client(board_home: Path) -> TestClient:
    return TestClient(create_app(Workspace.resolve(board_home)), base_url="http://127.0.0.1")


def expected_edges(home: Path) -> set[tuple[str, str]]:
    """The edges, read by hand from the job folders, the sources table and results/."""
    import sqlite3

    connection = sqlite3.connect(f"{(home / 'catalog.sqlite').as_uri()}?mode=ro", uri=True)
    sources = {row[0] for row in connection.execute("select sha256 from sources")}
    connection.close()
    edges = set()
    for path in (home / "jobs").glob("*/*/job.json"):
        manifest = json.loads(path.read_text())
        identity = manifest["id"]
        for parent in manifest["inputs"]["jobs"]:
            edges.add((parent, identity))
        if "fleet_job" in manifest["parameters"]:  # a segment names the tables it shows
            edges.add((manifest["parameters"]["fleet_job"], identity))
        for entry in manifest["inputs"]["files"]:
            parts = Path(entry["name"].split("#")[0]).parts
            holder = parts[2] if parts[0] == "jobs" else None
            if entry["sha256"] in sources:
                edges.add((f"source:{entry['sha256']}", identity))
                if holder:
                    edges.add((holder, f"source:{entry['sha256']}"))
            elif holder:
                edges.add((holder, identity))
    for link in (home / "results").iterdir():
        parts = link.resolve().relative_to((home / "jobs").resolve()).parts
        edges.add((parts[1], f"result:{link.name}"))
    return edges


def test_the_whole_graph_has_a_node_per_job_and_the_edges_of_the_manifests(
    client: TestClient, board_home: Path
) -> None:
    data = client.get("/lineage.json?expand=all").json()
    graph = data["graph"]
    jobs_on_disk = {path.parent.name for path in (board_home / "jobs").glob("*/*/job.json")}
    job_nodes = [node for node in graph["nodes"] if node["job"]]
    assert {node["job"] for node in job_nodes} == jobs_on_disk == {n["key"] for n in job_nodes}
    assert data["jobs"] == len(jobs_on_disk)
    results = {path.name for path in (board_home / "results").iterdir()}
    assert {n["detail"] for n in graph["nodes"] if n["stage"] == "result"} == results
    assert {tuple(edge) for edge in graph["edges"]} == expected_edges(board_home)
    assert len(graph["edges"]) == len(expected_edges(board_home))
    for node in job_nodes:
        assert node["url"] == f"/jobs/{node['job']}"
    # Left to right: every edge ends in a column right of where it starts; no two nodes meet.
    where = {node["key"]: node for node in graph["nodes"]}
    for source, target in graph["edges"]:
        assert where[source]["layer"] < where[target]["layer"], (source, target)
    spots = {(node["x"], node["y"]) for node in graph["nodes"]}
    assert len(spots) == len(graph["nodes"])
    page = client.get("/lineage?expand=all").text
    assert page.count('<g class="node"') == len(graph["nodes"])
    for node in job_nodes:
        assert f'<a href="/jobs/{node["job"]}"><g class="node"' in page


def test_the_demo_graph_reads_from_sources_to_results(client: TestClient) -> None:
    graph = client.get("/lineage.json").json()["graph"]
    column = {}
    for node in graph["nodes"]:
        column.setdefault(node["stage"], set()).add(node["layer"])
    order = ["synthetic-zips", "source", "import", "fleet-partial", "fleet-tables", "afr"]
    assert [min(column[stage]) for stage in order] == list(range(6))
    assert min(column["movie"]) > min(column["movie-segment"])
    assert column["result"] == {max(n["layer"] for n in graph["nodes"])}
    assert [s["stage"] for s in graph["stages"]][:3] == ["synthetic-zips", "source", "import"]


def test_a_job_page_draws_its_neighbourhood(client: TestClient, board_home: Path) -> None:
    (fleet,) = [p.name for p in (board_home / "jobs" / "fleet-tables").iterdir()]
    data = client.get(f"/jobs/{fleet}.json").json()
    graph = data["graph"]
    keys = {node["key"] for node in graph["nodes"]}
    near = {u["id"] for u in data["upstream"]} | {d["id"] for d in data["downstream"]}
    # The movie's segments too, which name the fleet tables they show as a parameter.
    segments = {
        path.parent.name
        for path in (board_home / "jobs" / "movie-segment").glob("*/job.json")
        if json.loads(path.read_text())["parameters"]["fleet_job"] == fleet
    }
    assert segments and keys == near | segments | {fleet}
    (focus,) = [node for node in graph["nodes"] if node["focus"]]
    assert focus["key"] == fleet
    assert {tuple(e) for e in graph["edges"]} >= {
        (u, fleet) for u in near if u.startswith("fleet-p")
    }


# --- at the size of the whole history, built in memory -----------------------------------


def node(key: str, stage: str, detail: str = "") -> Node:
    return Node(key, stage, stage, detail or key, f"/jobs/{key}", key, job=key)


def history_graph(months: int = 160, segments: int = 9, quarters: int = 5) -> Graph:
    """The lineage of a long history: zips, imports, a partial per month, fleet tables made
    quarter after quarter (each over the last ones and the new months), rates and a movie."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    imports = []
    for number in range(months // 3):
        source = f"source:{number:064x}"
        nodes[source] = Node(source, "source", "source", f"data_{number}.zip", "/sources", "")
        nodes[f"import-{number}"] = node(f"import-{number}", "import")
        edges.append((source, f"import-{number}"))
        imports.append(f"import-{number}")
    partials = []
    for month in range(months):
        key = f"fleet-partial-{month}"
        nodes[key] = node(key, "fleet-partial", f"month {2013 + month // 12}-{month % 12 + 1:02d}")
        edges.append((imports[min(month // 3, len(imports) - 1)], key))
        partials.append(key)
    previous = None
    tables = []
    for quarter in range(quarters):
        key = f"fleet-tables-{quarter}"
        nodes[key] = node(key, "fleet-tables")
        first = months - 3 * (quarters - 1)  # the months of the first tables; then 3 a quarter
        new = partials[:first] if previous is None else partials[first + 3 * (quarter - 1) :][:3]
        edges += [(p, key) for p in new] + ([(previous, key)] if previous else [])
        for stage in ("afr", "survival"):
            nodes[f"{stage}-{quarter}"] = node(f"{stage}-{quarter}", stage)
            edges.append((key, f"{stage}-{quarter}"))
        previous = key
        tables.append(key)
    nodes["movie-1"] = node("movie-1", "movie")
    edges.append((tables[-1], "movie-1"))
    for number in range(segments):
        key = f"movie-segment-{number}"
        nodes[key] = node(key, "movie-segment")
        edges += [(tables[-1], key), (key, "movie-1")]
    order = {key: rank for rank, key in enumerate(reversed(list(nodes)))}
    owners = {p: tables[0] for p in partials}
    owners.update({f"movie-segment-{n}": "movie-1" for n in range(segments)})
    # Later tables list only their new months: those partials belong to them.
    for a, b in edges:
        if a.startswith("fleet-partial") and b != tables[0]:
            owners[a] = b
    return Graph(nodes, tuple(edges), owners, order)


def test_hundreds_of_jobs_collapse_into_groups_that_expand() -> None:
    graph = history_graph()
    jobs = [key for key, n in graph.nodes.items() if n.job]
    assert len(jobs) > 230
    started = time.perf_counter()
    inside = lineage.collapsed(graph, [])
    nodes, edges = lineage.drawn(graph, graph.nodes, inside)
    laid = lineage.laid_out(nodes, edges, age=graph.order)
    assert time.perf_counter() - started < 1.0
    groups = {n.key: n for n in nodes.values() if n.members}
    # The first tables' 148 partials are one node; the next tables' 3 each stay apart (fewer
    # than 13); the movie's 9 segments are one node.
    assert sorted(len(g.members) for g in groups.values()) == [9, 148]
    assert len(nodes) == len(graph.nodes) - 148 - 9 + 2
    partial_group = next(g for g in groups.values() if g.stage == "fleet-partial")
    assert partial_group.detail == "months 2013-01 to 2025-04"
    assert {(a, b) for a, b in edges if b == partial_group.key} == {
        (f"import-{n}", partial_group.key) for n in range(50)
    }
    assert (partial_group.key, "fleet-tables-0") in edges
    # Readable: columns left to right in the stages' order, nothing overlapping.
    where = {n["key"]: n for n in laid["nodes"]}
    assert all(where[a]["layer"] < where[b]["layer"] for a, b in edges)
    assert len({(n["x"], n["y"]) for n in laid["nodes"]}) == len(laid["nodes"])
    assert laid["height"] < 60 * 44  # the tallest column: 53 sources, not 160 partials
    # Expanded: one node per job again.
    nodes, edges = lineage.drawn(graph, graph.nodes, lineage.collapsed(graph, ["fleet-tables-0"]))
    assert len([n for n in nodes.values() if n.job]) == len(jobs) - 9
    nodes, _ = lineage.drawn(graph, graph.nodes, lineage.collapsed(graph, [lineage.EXPAND_ALL]))
    assert len(nodes) == len(graph.nodes)


def test_barycentres_untangle_crossed_columns() -> None:
    """Two chains drawn crossed at first are laid out without a crossing."""
    nodes = {k: node(k, s) for k, s in [("a", "import"), ("b", "import")]}
    nodes.update({k: node(k, "fleet-partial") for k in ("y", "x")})
    laid: dict[str, Any] = lineage.laid_out(nodes, [("a", "x"), ("b", "y")])
    where = {n["key"]: n["y"] for n in laid["nodes"]}
    assert (where["a"] < where["b"]) == (where["x"] < where["y"])


def test_a_job_among_hundreds_shows_its_neighbours_with_many_of_a_kind_as_one() -> None:
    graph = history_graph()
    laid = lineage.neighbourhood_of(graph, "fleet-tables-0")
    nodes = {n["key"]: n for n in laid["nodes"]}
    (partials,) = [n for n in nodes.values() if n["stage"] == "fleet-partial"]
    assert len(partials["members"]) == 148 and partials["url"] == "/lineage?expand=fleet-tables-0"
    assert set(nodes) - {partials["key"]} == {
        "fleet-tables-0",
        "fleet-tables-1",
        "afr-0",
        "survival-0",
    }
    assert nodes["fleet-tables-0"]["focus"] and not nodes["afr-0"]["focus"]
    assert {tuple(e) for e in laid["edges"]} == {
        (partials["key"], "fleet-tables-0"),
        ("fleet-tables-0", "fleet-tables-1"),
        ("fleet-tables-0", "afr-0"),
        ("fleet-tables-0", "survival-0"),
    }
    # Eight or fewer of a stage stay apart: the movie's nine segments are one node.
    movie = {n["key"]: n for n in lineage.neighbourhood_of(graph, "movie-1")["nodes"]}
    assert [len(n["members"]) for n in movie.values() if n["members"]] == [9]
    assert len(movie) == 3  # the movie, its segments, its fleet tables
