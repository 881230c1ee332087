"""The home page: the movie, every other movie, key figures and results."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from drivestats import catalog, rates
from drivestats.board.files import Refused, file_url, served_file
from drivestats.board.views.common import Board, empty_state, job_link, manifest_of, stage_of
from drivestats.board.views.failure_rates import afr_rows
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace


@lru_cache(maxsize=8)
def fleet_figures(folder: str) -> dict[str, Any]:
    """Headline numbers of a fleet-tables job: drives, failures, storage, date range."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    base = Path(folder)
    daily = pq.read_table(base / "daily.parquet")
    daily = daily.filter(pc.greater(daily["drives"], 0))
    dates = daily["date"].to_pylist()
    storage = daily["storage_bytes"].to_pylist()
    return {
        "drives": pq.ParquetFile(base / "drives.parquet").metadata.num_rows,
        "models": pq.ParquetFile(base / "models.parquet").metadata.num_rows,
        "failures": int(pc.sum(daily["failures"]).as_py() or 0),
        "drive_days": int(pc.sum(daily["drives"]).as_py() or 0),
        "drives_last_day": daily["drives"][-1].as_py() if len(daily) else 0,
        "storage_bytes": storage[-1] if storage else 0,
        "peak_storage_bytes": max(storage, default=0),
        "first_day": dates[0].isoformat() if dates else None,
        "last_day": dates[-1].isoformat() if dates else None,
        "days": len(dates),
    }


def results_listing(workspace: Workspace) -> list[dict[str, Any]]:
    """The entries of results/ that the board serves, with the job each one comes from."""
    if not workspace.results.is_dir():
        return []
    listed = []
    for entry in sorted(workspace.results.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            real = served_file(workspace, f"results/{entry.name}")
        except Refused:
            continue
        listed.append(
            {
                "name": entry.name,
                "url": file_url(workspace, f"results/{entry.name}"),
                "size": real.stat().st_size,
                "job": _job_of_path(workspace, real),
            }
        )
    return listed


def _job_of_path(workspace: Workspace, real: Path) -> str | None:
    try:
        parts = real.relative_to(workspace.jobs.resolve()).parts
    except ValueError:
        return None
    return parts[1] if len(parts) >= 3 else None


def movie_entries(workspace: Workspace, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every published movie (results/movie*.mp4): the whole one first, then by name."""
    movies = []
    for entry in results:
        name = entry["name"]
        if not (name.startswith("movie") and name.endswith(".mp4")):
            continue
        spec = _movie_parameters(workspace, entry["job"]) or {}
        manifest = (
            manifest_of(workspace, stage_of(entry["job"]), entry["job"]) if entry["job"] else None
        )
        frames = ((manifest or {}).get("rows") or {}).get("frames")
        fps = spec.get("fps")
        movies.append(
            {
                **entry,
                "first_day": spec.get("clip_start") or spec.get("start"),
                "last_day": spec.get("clip_end") or spec.get("end"),
                "width": spec.get("width"),
                "height": spec.get("height"),
                "fps": fps,
                "frames": frames,
                "seconds": round(frames / fps, 1) if frames and fps else None,
                "page": f"/?movie={name}",
            }
        )
    movies.sort(key=lambda movie: (movie["name"] != "movie.mp4", movie["name"]))
    return movies


def movie_entry(
    workspace: Workspace, results: list[dict[str, Any]], wanted: str | None = None
) -> dict[str, Any] | None:
    """The movie to play (the asked one, else the whole-range one) and its poster.

    The poster is a published frame of the same movie, latest day first.
    """
    by_name = {entry["name"]: entry for entry in results}
    movies = movie_entries(workspace, results)
    if wanted is not None and wanted not in {m["name"] for m in movies}:
        raise DrivestatsError(f"no movie named {wanted!r} in results/")
    movie = next((m for m in movies if m["name"] == wanted), movies[0] if movies else None)
    if movie is None:
        return None
    frames = [
        by_name[name]
        for name in sorted(by_name, reverse=True)
        if name.startswith("frame-") and name.endswith(".png")
    ]
    spec = _movie_parameters(workspace, movie["job"])

    # A frame drawn with another look (size, cell, layout) would flash before playback.
    def whole(values: Any) -> Any:
        return {
            k: v for k, v in (values or {}).items() if k not in ("clip_start", "clip_end", "fps")
        }

    same = [
        f for f in frames if spec and whole(_movie_parameters(workspace, f["job"])) == whole(spec)
    ]
    poster = same[0] if same and not (spec or {}).get("clip_start") else None
    return {
        **movie,
        "poster": poster["url"] if poster else None,
        "poster_job": poster["job"] if poster else None,
    }


def _movie_parameters(workspace: Workspace, identity: str | None) -> Any:
    """The movie spec a movie or frame job was made with (its 'movie' parameter)."""
    manifest = manifest_of(workspace, stage_of(identity), identity) if identity else None
    return (manifest or {}).get("parameters", {}).get("movie")


def home_page(board: Board, movie: str | None = None) -> dict[str, Any]:
    """A movie (the whole-range one unless asked), every other movie, the key figures and
    what is published in results/."""
    workspace = board.workspace
    fleet = board.fleet()
    results = results_listing(workspace)
    imports = catalog.query(
        workspace, "select count(*) as sources, max(imported_at) as last from sources"
    )
    job_count = catalog.query(workspace, "select count(*) as n from jobs")
    figures = dict(fleet_figures(str(fleet.job.dir))) if fleet else {}
    if fleet:
        lifetime = afr_rows(board, fleet, "lifetime")
        everything = [r for r in lifetime.rows if r["model"] == rates.ALL_MODELS]
        figures["afr"] = lifetime.made_by()
        if everything:
            figures["afr"].update({k: everything[0][k] for k in ("afr", "ci_low", "ci_high")})
    figures.update(
        {
            "sources": imports[0]["sources"] if imports else 0,
            "last_import": imports[0]["last"] if imports else None,
            "jobs": job_count[0]["n"] if job_count else 0,
        }
    )
    return {
        "title": "Drive Stats",
        "workspace": str(workspace.home),
        **(empty_state(board) if fleet is None else {"empty": False}),
        "stale": fleet.notice() if fleet else None,
        "movie": movie_entry(workspace, results, movie),
        "movies": movie_entries(workspace, results),
        "figures": figures,
        "fleet_job": job_link(fleet.job.id) if fleet else None,
        "results": results,
    }
