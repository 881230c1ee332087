"""`drivestats board`: the local web page for the results and their lineage."""

from __future__ import annotations

import sys

import click

from drivestats.cli.common import pass_workspace
from drivestats.workspace import Workspace


@click.command("board")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but 127.0.0.1 shows your workspace to the network.",
)
@click.option("--port", type=int, default=8520, show_default=True, help="Port (0: any free one).")
@click.option(
    "--get",
    "target",
    metavar="PATH",
    help="Print one page (e.g. /rates?period=2014 or /jobs.json) and exit, without a server.",
)
@pass_workspace
def board_command(workspace: Workspace, host: str, port: int, target: str | None) -> None:
    """Serve a read-only web page of the movie, failure rates, fleet, jobs and sources."""
    from drivestats.board.app import board_url, bound_socket, create_app, hosts_for, rendered

    if target is not None:
        answer = rendered(create_app(workspace), target)
        sys.stdout.buffer.write(answer.body)
        sys.stdout.buffer.flush()
        if answer.status >= 400:
            raise click.exceptions.Exit(1)
        return
    from drivestats.board.app import server_for

    listener = bound_socket(host, port)
    app = create_app(workspace, allowed_hosts=hosts_for(host))
    click.echo(f"Board of {workspace.home} at {board_url(listener)}  (Ctrl-C to stop)")
    try:
        server_for(app).run(sockets=[listener])
    finally:
        listener.close()
