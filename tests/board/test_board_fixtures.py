"""What the board's test modules share: one demo workspace per session, a live server.

Each module wraps these in its own fixtures; the demo workspace is remembered
here at module level, so it is built once per session however many use it.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import pytest

from conftest import run_cli, sample_files

# A short demo: every stage runs (zips, import, fleet tables, rates, survival, movie,
# poster) in a few seconds.
DEMO_END = "2013-09-30"
_BUILT: dict[str, Path] = {}


def demo_home(factory: pytest.TempPathFactory) -> Path:
    """A workspace made by `drivestats demo`, built on first use.

    Should the demo fail (it is a separate feature, with its own tests), the board is
    still tested, on a workspace made from the real samples, with a warning.
    DRIVESTATS_BOARD_TEST_HOME may name a workspace already made by
    `drivestats demo --end 2013-09-30`, to skip the build while working on the board.
    """
    if "home" not in _BUILT and os.environ.get("DRIVESTATS_BOARD_TEST_HOME"):
        _BUILT["home"] = Path(os.environ["DRIVESTATS_BOARD_TEST_HOME"])
    if "home" not in _BUILT:
        home = factory.mktemp("board-demo") / "home"
        try:
            result = run_cli(home, "demo", "--end", DEMO_END, "--quiet")
            failure = None if result.exit_code == 0 else result.output[-500:]
        except Exception as error:  # noqa: BLE001 - any failure of the demo means the fallback
            failure = f"{type(error).__name__}: {error}"
        if failure is not None:
            warnings.warn(
                f"`drivestats demo` failed ({failure}); the board tests read a workspace "
                "made from the real samples instead",
                stacklevel=2,
            )
            home = factory.mktemp("board-samples") / "home"
            samples_workspace(home)
        assert (home / "results" / "movie.mp4").exists(), "no movie was published"
        _BUILT["home"] = home
    return _BUILT["home"]


def samples_workspace(home: Path) -> None:
    """What the demo makes, from the real April 2013 samples: store, rates, movie, poster."""
    from drivestats import fleet, rates
    from drivestats.movie.render import render_movie, render_poster
    from drivestats.store import import_sources
    from drivestats.workspace import Workspace

    workspace = Workspace.resolve(home).ensure()
    assert not import_sources(workspace, sample_files()).failed
    fleet_job = fleet.fleet_tables(workspace)
    rates.afr_job(workspace, period="lifetime")
    rates.afr_job(workspace, period="lifetime", by="quarter")
    rates.survival_job(workspace)
    render_movie(workspace)
    render_poster(workspace, fleet_job.manifest["parameters"]["until"])


def stored_span(home: Path) -> tuple[str, str]:
    """The first and last day in a workspace's store."""
    from drivestats import catalog
    from drivestats.workspace import Workspace

    (row,) = catalog.query(
        Workspace.resolve(home), "select min(day) as first, max(day) as last from days"
    )
    return row["first"], row["last"]


def quarters_between(first: str, last: str) -> list[str]:
    """The quarter labels ('2013Q2') from the quarter of first to that of last."""
    import datetime as dt

    from drivestats.rates import quarter_label, quarter_of

    labels, day = [], dt.date.fromisoformat(first)
    while day <= dt.date.fromisoformat(last):
        labels.append(quarter_label(day))
        day = quarter_of(day).end + dt.timedelta(days=1)
    return labels


def start_server(home: Path) -> tuple[str, object, threading.Thread]:
    """A real uvicorn server for the board of home on a free localhost port, in a thread."""
    from drivestats.board.app import board_url, bound_socket, create_app, server_for
    from drivestats.workspace import Workspace

    listener = bound_socket("127.0.0.1", 0)
    server = server_for(create_app(Workspace.resolve(home)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the board's server did not start")
        time.sleep(0.02)
    return board_url(listener), server, thread
