"""The lineage graph: from source zips through import, fleet tables, tables, survival and the
movie to every published result, laid out left to right; and a job's own neighbourhood.

Nodes are the catalog's jobs, the sources the imports read (by sha256) and the
entries of results/; an edge is a job's upstream job (its manifest's
``inputs.jobs``), a file it read from another job's folder, a source it
imported, the fleet tables a movie segment was rendered from (a plain
parameter of the segment), or a result linking into its folder.

The layout is a layered one computed here: a node's column is the longest path
to it from a node without inputs, but never left of its stage's usual column
(so the columns read sources, import, partials, fleet tables, tables and
segments, movies and posters, results); the order within a column is the
barycentre of its neighbours, swept a few times each way to undo crossings.

A movie's segments are one node until expanded (``?expand=<movie id>``), and so,
when there are many, are the monthly fleet-partial jobs of a fleet-tables job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from drivestats import catalog, jobs
from drivestats.board.svg import LEGEND_HEIGHT, NODE_HEIGHT, NODE_WIDTH
from drivestats.board.views.common import Board, job_holding, manifest_of
from drivestats.board.views.home import results_listing
from drivestats.charts import PALETTE
from drivestats.workspace import Workspace

SOURCE = "source"
RESULT = "result"
# The column a stage's jobs usually take; a longer path pushes a node further right.
STAGE_COLUMNS = {
    "synthetic-zips": 0,
    SOURCE: 1,
    "import": 2,
    "fleet-partial": 3,
    "fleet-tables": 4,
    "afr": 5,
    "survival": 5,
    "movie-segment": 5,
    "movie": 6,
    "movie-frame": 6,
}
STAGE_COLOURS = {
    "synthetic-zips": "#7f7f7f",
    SOURCE: "#8c564b",
    "import": "#1f77b4",
    "fleet-partial": "#17becf",
    "fleet-tables": "#2ca02c",
    "afr": "#d62728",
    "survival": "#9467bd",
    "movie-segment": "#bcbd22",
    "movie": "#ff7f0e",
    "movie-frame": "#e377c2",
    RESULT: "#444444",
}
# Jobs drawn as one node per owner (the newest job of the owner stage that uses them), when
# an owner has at least this many: a movie's segments always, monthly partials when many.
GROUPS = {"movie-segment": ("movie", 2), "fleet-partial": ("fleet-tables", 13)}
EXPAND_ALL = "all"
NEIGHBOURS_SHOWN = 8  # of one stage on one side of a job's own graph; more are one node
SWEEPS = 6
GAP_X = 52
GAP_Y = 10
MARGIN = 10


@dataclass(frozen=True)
class Node:
    """A job, a source or a result, as the graph shows it."""

    key: str
    stage: str
    heading: str
    detail: str
    url: str
    title: str
    job: str | None = None
    members: tuple[str, ...] = ()  # the jobs a group node stands for


@dataclass(frozen=True)
class Graph:
    """Every node and edge of the workspace's lineage, and which group each grouped job is in."""

    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]
    owners: dict[str, str] = field(default_factory=dict)  # job id → the job owning its group
    order: dict[str, int] = field(default_factory=dict)  # job id → rank, newest first


# --- the whole graph -------------------------------------------------------------------


def _detail(stage: str, manifest: Mapping[str, Any]) -> str:
    """What tells a job apart from the others of its stage, in a few words."""
    params = manifest.get("parameters", {})
    files = manifest.get("inputs", {}).get("files", [])
    movie = params.get("movie") or {}
    if stage == "import" and files:
        return Path(files[0]["name"]).name
    if stage == "fleet-partial" and files:
        return "month " + Path(files[0]["name"].split("#")[0]).stem
    if stage == "fleet-tables" and params.get("until"):
        return f"up to {params['until']}"
    if stage == "afr" and "label" in params:
        return str(params["label"]) + (f" by {params['by']}" if params.get("by") else "")
    if stage == "survival" and params.get("models"):
        return f"{len(params['models'])} models"
    if stage == "movie" and movie:
        first, last = (
            movie.get("clip_start") or movie["start"],
            movie.get("clip_end") or movie["end"],
        )
        return f"{first} to {last}"
    if stage == "movie-segment" and params.get("first_day"):
        return f"from {params['first_day']}, {params.get('frames', '?')} frames"
    if stage == "movie-frame" and params.get("day"):
        return f"day {params['day']}"
    if stage == "synthetic-zips" and params.get("end"):
        return f"{params.get('start')} to {params['end']}"
    return str(manifest.get("id", ""))[len(stage) + 1 :][:16]


def whole_graph(workspace: Workspace) -> Graph:
    """The lineage of every job in the catalog, read from their manifests."""
    listed = jobs.recent_jobs(workspace)
    sources = {
        row["sha256"]: row["path"]
        for row in catalog.query(workspace, "select sha256, path from sources")
    }
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str], None] = {}
    order = {row["id"]: rank for rank, row in enumerate(listed)}
    manifests = {}
    for row in listed:
        identity, stage = row["id"], row["stage"]
        manifest = manifest_of(workspace, stage, identity) or {}
        manifests[identity] = manifest
        params = jobs.short_parameters(manifest.get("parameters", {}), limit=200)
        nodes[identity] = Node(
            identity,
            stage,
            stage,
            _detail(stage, {"id": identity, **manifest}),
            f"/jobs/{identity}",
            f"{identity}\n{params}".strip(),
            job=identity,
        )
    for identity, manifest in manifests.items():
        inputs = manifest.get("inputs", {})
        parents = list(inputs.get("jobs", []))
        rendered_from = manifest.get("parameters", {}).get("fleet_job")
        if isinstance(rendered_from, str):
            parents.append(rendered_from)
        for entry in inputs.get("files", []):
            name = entry["name"].split("#", 1)[0]
            holder = job_holding(workspace, name)
            if entry["sha256"] in sources:
                key = f"{SOURCE}:{entry['sha256']}"
                if key not in nodes:
                    nodes[key] = Node(
                        key,
                        SOURCE,
                        SOURCE,
                        Path(sources[entry["sha256"]]).name,
                        f"/sources#{entry['sha256']}",
                        f"{sources[entry['sha256']]}\nsha256 {entry['sha256']}",
                    )
                edges[(key, identity)] = None
                if holder in nodes:
                    edges[(holder, key)] = None
            elif holder is not None:
                parents.append(holder)
        for parent in parents:
            if parent in nodes and parent != identity:
                edges[(parent, identity)] = None
    for entry in results_listing(workspace):
        key = f"{RESULT}:{entry['name']}"
        nodes[key] = Node(
            key, RESULT, RESULT, entry["name"], entry["url"] or "", f"results/{entry['name']}"
        )
        if entry["job"] in nodes:
            edges[(entry["job"], key)] = None
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    owners = {}
    for identity, node in nodes.items():
        if node.stage in GROUPS:
            owner_stage = GROUPS[node.stage][0]
            users = [c for c in children.get(identity, []) if nodes[c].stage == owner_stage]
            if users:
                owners[identity] = min(users, key=lambda user: order.get(user, 0))
    return Graph(nodes, tuple(edges), owners, order)


def graph_of(board: Board) -> Graph:
    """The workspace's lineage, remembered until a job is made or results/ changes."""
    published = tuple(sorted(p.name for p in board.workspace.results.glob("*")))
    found: Graph = board.remembered(("lineage", published), lambda: whole_graph(board.workspace))
    return found


# --- groups ------------------------------------------------------------------------------


def group_key(stage: str, owner: str) -> str:
    return f"group:{stage}:{owner}"


def collapsed(graph: Graph, expanded: Collection[str]) -> dict[str, str]:
    """For each job drawn inside a group node, the group node's key."""
    members: dict[tuple[str, str], list[str]] = {}
    for identity, owner in graph.owners.items():
        members.setdefault((graph.nodes[identity].stage, owner), []).append(identity)
    inside = {}
    for (stage, owner), group in members.items():
        if len(group) >= GROUPS[stage][1] and owner not in expanded and EXPAND_ALL not in expanded:
            for identity in group:
                inside[identity] = group_key(stage, owner)
    return inside


def expand_url(expanded: Iterable[str], also: str | None = None, without: str | None = None) -> str:
    """The graph's URL with these groups expanded."""
    chosen = [e for e in dict.fromkeys([*expanded, *([also] if also else [])]) if e != without]
    return "/lineage" + (f"?{urlencode([('expand', e) for e in chosen])}" if chosen else "")


def group_node(graph: Graph, key: str, members: list[str], url: str) -> Node:
    _, stage, owner = key.split(":", 2)
    members.sort(key=lambda m: graph.order.get(m, 0), reverse=True)
    shown = ", ".join(graph.nodes[m].detail for m in members[:3])
    months = sorted(
        graph.nodes[m].detail.removeprefix("month ")
        for m in members
        if graph.nodes[m].detail.startswith("month ")
    )
    if stage == "fleet-partial" and months:
        detail = f"months {months[0]} to {months[-1]}"
    elif owner in graph.nodes:
        detail = f"used by one {graph.nodes[owner].stage}"
    else:
        detail = ""
    return Node(
        key,
        stage,
        f"{stage} ×{len(members)}",
        detail,
        url,
        f"{len(members)} {stage} jobs used by {owner} ({shown}, …); click to show each",
        members=tuple(members),
    )


def drawn(
    graph: Graph,
    keys: Iterable[str],
    inside: Mapping[str, str],
    group_url: Mapping[str, str] | None = None,
) -> tuple[dict[str, Node], list[tuple[str, str]]]:
    """The nodes among keys with grouped jobs replaced by their group, and the edges between them."""
    wanted = set(keys)
    members: dict[str, list[str]] = {}
    nodes: dict[str, Node] = {}
    for key in wanted:
        if key in inside:
            members.setdefault(inside[key], []).append(key)
        else:
            nodes[key] = graph.nodes[key]
    for key, group in members.items():
        owner = key.split(":", 2)[2]
        url = (group_url or {}).get(key) or expand_url([], also=owner)
        nodes[key] = group_node(graph, key, group, url)
    edges: dict[tuple[str, str], None] = {}
    for source, target in graph.edges:
        if source in wanted and target in wanted:
            a, b = inside.get(source, source), inside.get(target, target)
            if a != b:
                edges[(a, b)] = None
    return nodes, list(edges)


# --- layout --------------------------------------------------------------------------------


def layers_of(nodes: Mapping[str, Node], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: the longest path to it, at least its stage's column, results last."""
    parents: dict[str, list[str]] = {key: [] for key in nodes}
    children: dict[str, list[str]] = {key: [] for key in nodes}
    for a, b in edges:
        parents[b].append(a)
        children[a].append(b)
    waiting = {key: len(parents[key]) for key in nodes}
    ready = sorted(key for key, count in waiting.items() if count == 0)
    layer: dict[str, int] = {}
    while ready:
        key = ready.pop()
        least = STAGE_COLUMNS.get(nodes[key].stage, 0)
        layer[key] = max([least, *(layer[p] + 1 for p in parents[key] if p in layer)])
        for child in children[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    for key in nodes:  # only in a cycle, which job ids cannot make; placed by stage then
        layer.setdefault(key, STAGE_COLUMNS.get(nodes[key].stage, 0))
    others = [layer[k] for k in nodes if nodes[k].stage != RESULT]
    last = max(others, default=-1) + 1
    for key in nodes:
        if nodes[key].stage == RESULT:
            layer[key] = max(layer[key], last)
    used = sorted(set(layer.values()))  # no empty columns
    return {key: used.index(value) for key, value in layer.items()}


def laid_out(
    nodes: Mapping[str, Node],
    edges: list[tuple[str, str]],
    focus: str | None = None,
    age: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Positions for every node: columns left to right, crossings reduced by barycentres.

    Before the sweeps a column lists its nodes by stage, oldest job first (``age``: a
    job's rank, newest first), then by what they show; ties keep that order.
    """
    layer = layers_of(nodes, edges)
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    ranks = age or {}
    for key in sorted(nodes, key=lambda k: (nodes[k].stage, -ranks.get(k, 0), nodes[k].detail, k)):
        columns[layer[key]].append(key)
    neighbours: dict[str, list[str]] = {key: [] for key in nodes}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def positions() -> dict[str, float]:
        # Centred columns: a short column's nodes sit across the middle of the tall ones.
        return {
            key: index - (len(column) - 1) / 2
            for column in columns
            for index, key in enumerate(column)
        }

    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for number in range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1):
            at = positions()
            side = number - 1 if forward else number + 1
            centres = {
                key: _barycentre(key, neighbours, at, layer, side) for key in columns[number]
            }
            columns[number].sort(key=lambda k: (centres[k], at[k]))
    tallest = max((len(column) for column in columns), default=0)
    step_y = NODE_HEIGHT + GAP_Y
    placed = []
    for number, column in enumerate(columns):
        top = MARGIN + LEGEND_HEIGHT + (tallest - len(column)) * step_y / 2
        for index, key in enumerate(column):
            node = nodes[key]
            placed.append(
                {
                    "key": key,
                    "stage": node.stage,
                    "heading": node.heading,
                    "detail": node.detail,
                    "url": node.url,
                    "title": node.title,
                    "job": node.job,
                    "members": list(node.members),
                    "focus": key == focus,
                    "colour": stage_colour(node.stage),
                    "layer": number,
                    "x": MARGIN + number * (NODE_WIDTH + GAP_X),
                    "y": round(top + index * step_y),
                }
            )
    counts: dict[str, int] = {}
    for node in nodes.values():
        counts[node.stage] = counts.get(node.stage, 0) + max(len(node.members), 1)
    stages = sorted(counts, key=lambda s: (STAGE_COLUMNS.get(s, 7 if s == RESULT else 0), s))
    return {
        "nodes": placed,
        "edges": [list(edge) for edge in edges],
        "width": 2 * MARGIN + len(columns) * (NODE_WIDTH + GAP_X) - GAP_X,
        "height": 2 * MARGIN + LEGEND_HEIGHT + tallest * step_y - GAP_Y,
        "stages": [{"stage": s, "colour": stage_colour(s), "count": counts[s]} for s in stages],
    }


def _barycentre(
    key: str,
    neighbours: Mapping[str, list[str]],
    at: Mapping[str, float],
    layer: Mapping[str, int],
    side: int,
) -> float:
    """The mean position of a node's neighbours in the column swept from; else of any
    neighbour; else its own (it stays)."""
    near = [at[n] for n in neighbours[key] if layer[n] == side]
    if not near:
        near = [at[n] for n in neighbours[key]] or [at[key]]
    return sum(near) / len(near)


def stage_colour(stage: str) -> str:
    """The stage's colour; a stage this module does not know gets one from its name."""
    if stage in STAGE_COLOURS:
        return STAGE_COLOURS[stage]
    return PALETTE[int(hashlib.sha256(stage.encode()).hexdigest(), 16) % len(PALETTE)]


# --- the pages ----------------------------------------------------------------------------


def lineage_page(board: Board, expand: list[str]) -> dict[str, Any]:
    """The whole lineage graph, with the asked groups (or all) expanded."""
    graph = graph_of(board)
    inside = collapsed(graph, expand)
    group_urls = {
        key: expand_url(expand, also=key.split(":", 2)[2]) for key in set(inside.values())
    }
    nodes, edges = drawn(graph, graph.nodes, inside, group_urls)
    groups: list[dict[str, str]] = []
    for identity, owner in graph.owners.items():
        if owner in expand and not any(g["owner"] == owner for g in groups):
            groups.append(
                {
                    "owner": owner,
                    "stage": graph.nodes[identity].stage,
                    "collapse_url": expand_url(expand, without=owner),
                }
            )
    job_count = sum(1 for node in graph.nodes.values() if node.job)
    return {
        "title": "Lineage",
        "wide": True,
        "empty": not graph.nodes,
        "empty_message": "No jobs yet: `drivestats demo`, or `drivestats import PATH` and "
        "`drivestats afr`, make some.",
        "jobs": job_count,
        "sources": sum(1 for node in graph.nodes.values() if node.stage == SOURCE),
        "results": sum(1 for node in graph.nodes.values() if node.stage == RESULT),
        "expanded": list(expand),
        "expanded_groups": groups,
        "expand_all_url": expand_url([EXPAND_ALL]) if inside else None,
        "collapse_all_url": "/lineage" if expand else None,
        "graph": laid_out(nodes, edges, age=graph.order),
    }


def neighbourhood(board: Board, identity: str) -> dict[str, Any]:
    """A job's own graph: the job, the jobs, sources and results one step up and down."""
    return neighbourhood_of(graph_of(board), identity)


def neighbourhood_of(graph: Graph, identity: str) -> dict[str, Any]:
    """The laid-out graph of a job and its neighbours; more than NEIGHBOURS_SHOWN of one
    stage on one side are one node."""
    if identity not in graph.nodes:
        return laid_out({}, [])
    ups = [a for a, b in graph.edges if b == identity]
    downs = [b for a, b in graph.edges if a == identity]
    inside: dict[str, str] = {}
    group_urls: dict[str, str] = {}
    for side, near in (("up", ups), ("down", downs)):
        by_stage: dict[str, list[str]] = {}
        for key in near:
            by_stage.setdefault(graph.nodes[key].stage, []).append(key)
        for stage, keys in by_stage.items():
            if len(keys) <= NEIGHBOURS_SHOWN:
                continue
            owners = {graph.owners.get(key) for key in keys}
            owner = owners.pop() if len(owners) == 1 else None
            key = group_key(stage, owner or f"{side}-{identity}")
            group_urls[key] = expand_url([owner]) if owner else f"/jobs?stage={stage}"
            for member in keys:
                inside[member] = key
    nodes, edges = drawn(graph, [identity, *ups, *downs], inside, group_urls)
    for key, node in nodes.items():
        if node.members and ":" in key and key.split(":", 2)[2].startswith(("up-", "down-")):
            nodes[key] = replace(node, detail=f"{'used by' if 'down-' in key else 'made from'} it")
    return laid_out(nodes, edges, focus=identity, age=graph.order)
