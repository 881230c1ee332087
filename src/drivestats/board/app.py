"""The board's web app: routes, JSON or HTML for each view, workspace files, and safety.

Every page is a view (see views.py) that builds one dict; ``?format=json`` or a
``.json`` suffix returns that dict, otherwise a Jinja2 template renders it. The
app only answers GET and HEAD, serves files only from inside the workspace (see
files.py), and sends a Content-Security-Policy that lets a page load nothing
but its own origin, so it works offline and cannot be made to call out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drivestats.board import svg, views
from drivestats.board.files import Refused, served_file
from drivestats.errors import DrivestatsError, counted
from drivestats.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8520
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
READ_METHODS = ("GET", "HEAD")
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# A served SVG or HTML output opened on its own must not run anything.
FILE_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
)


# --- formatting for templates ---------------------------------------------------------


def number(value: Any, digits: int = 0) -> str:
    """A number with thousands separators, or an empty string for None."""
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def human_bytes(value: Any) -> str:
    """Bytes in decimal units, as drive vendors count them: 4.0 TB, 1.2 PB."""
    if value is None:
        return ""
    for divisor, unit in (
        (1e18, "EB"),
        (1e15, "PB"),
        (1e12, "TB"),
        (1e9, "GB"),
        (1e6, "MB"),
        (1e3, "kB"),
    ):
        if abs(value) >= divisor:
            return f"{value / divisor:,.1f} {unit}"
    return f"{value:,} B"


def commands(text: str | None) -> Markup:
    """Text with each `command` in backticks shown as code; everything else escaped."""
    parts = escape(text or "").split("`")
    return Markup(
        "".join(f"<code>{part}</code>" if odd % 2 else part for odd, part in enumerate(parts))
    )


def template_environment() -> Environment:
    """The Jinja2 environment of the packaged templates, with the board's filters and charts."""
    environment = Environment(
        loader=PackageLoader("drivestats.board", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        number=number,
        counted=counted,  # {{ n|counted('file') }}: '1 file', '2 files'
        bytes=human_bytes,
        short=lambda text, n=12: (text or "")[:n],
        pretty_json=lambda value: json.dumps(value, indent=2, default=str),
        commands=commands,
    )
    environment.filters["model_url"] = views.model_url
    environment.globals.update(
        time_chart=svg.time_chart,
        bar_chart=svg.bar_chart,
        band_chart=svg.band_chart,
        interval_bar=svg.interval_bar,
        period_chart=svg.period_chart,
        survival_chart=svg.survival_chart,
        lineage_graph=svg.lineage_graph,
    )
    return environment


# --- answering a view ---------------------------------------------------------------------


def as_json(data: dict[str, Any], status: int = 200) -> Response:
    text = json.dumps(data, indent=2, default=_plain) + "\n"
    return Response(text, status_code=status, media_type="application/json")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


View = Callable[[views.Board, Request], dict[str, Any]]


def view_routes(path: str, json_path: str, view: View, template: str) -> list[Route]:
    """Two routes for a view: its page and its .json twin."""

    def answer(request: Request, wants_json: bool) -> Response:
        board: views.Board = request.app.state.board
        data = view(board, request)
        # A view that still has a page to show about a bad request says so with "status".
        status = data.get("status", 200)
        if wants_json or request.query_params.get("format") == "json":
            return as_json(data, status)
        return html(request, template, data, status)

    def page(request: Request) -> Response:
        return answer(request, False)

    def page_json(request: Request) -> Response:
        return answer(request, True)

    return [
        Route(json_path, page_json, methods=["GET"]),
        Route(path, page, methods=["GET"]),
    ]


def html(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    environment: Environment = request.app.state.templates
    json_url = request.url.include_query_params(format="json")
    text = environment.get_template(template).render(
        data=data,
        path=request.url.path,
        json_url=f"{json_url.path}?{json_url.query}",
        workspace=str(request.app.state.board.workspace.home),
    )
    return HTMLResponse(text, status_code=status)


def query_int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise DrivestatsError(f"{name} must be a whole number") from None


def _home(board: views.Board, request: Request) -> dict[str, Any]:
    return views.home_page(board, request.query_params.get("movie") or None)


def _rates(board: views.Board, request: Request) -> dict[str, Any]:
    return views.rates_page(board, request.query_params.get("period") or "lifetime")


def _fleet(board: views.Board, request: Request) -> dict[str, Any]:
    return views.fleet_page(board)


def _jobs(board: views.Board, request: Request) -> dict[str, Any]:
    stage = request.query_params.get("stage") or None
    return views.jobs_page(board, query_int(request, "page", 1), stage)


def _job(board: views.Board, request: Request) -> dict[str, Any]:
    all_files = request.query_params.get("files") == "all"
    return views.job_page(board, request.path_params["identity"], all_files)


def _log(board: views.Board, request: Request) -> dict[str, Any]:
    return views.runs_page(board, query_int(request, "page", 1))


def _sources(board: views.Board, request: Request) -> dict[str, Any]:
    return views.sources_page(board)


def _models(board: views.Board, request: Request) -> dict[str, Any]:
    return views.models_index_page(board, request.query_params.get("q", ""))


def _model(board: views.Board, request: Request) -> dict[str, Any]:
    return views.model_page(board, request.path_params["model"])


def _compare(board: views.Board, request: Request) -> dict[str, Any]:
    return views.compare_page(board, request.query_params.getlist("model"))


def _lineage(board: views.Board, request: Request) -> dict[str, Any]:
    return views.lineage_page(board, request.query_params.getlist("expand"))


def model_block(request: Request) -> Response:
    """A model's block cut out of the latest poster, made on request from the poster's PNG."""
    board: views.Board = request.app.state.board
    png = views.model_block_png(board, request.path_params["model"])
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})


def workspace_file(request: Request) -> Response:
    """A file from the workspace's results, jobs, store or data folders; Range requests get 206."""
    board: views.Board = request.app.state.board
    try:
        path = served_file(board.workspace, request.path_params["path"])
    except Refused as refusal:
        raise HTTPException(refusal.status, refusal.reason) from None
    response_class = FileResponse if _valid_range(request) else WholeFileResponse
    return response_class(path, headers={"Content-Security-Policy": FILE_POLICY})


_RANGE_SPEC = re.compile(r"(\d+)-(\d*)|-(\d+)")


def _valid_range(request: Request) -> bool:
    """Whether a Range header (if any) is well formed; RFC 9110 lets a server ignore one that
    is not (a last byte before the first, say) and answer with the whole file."""
    header = request.headers.get("range")
    if header is None:
        return True
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return False
    for spec in specs.split(","):
        match = _RANGE_SPEC.fullmatch(spec.strip())
        if match is None:
            return False
        first, last = match.group(1), match.group(2)
        if first is not None and last and int(last) < int(first):
            return False
    return True


class WholeFileResponse(FileResponse):
    """A file served whole, its request's Range header ignored."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(key, value) for key, value in scope["headers"] if key != b"range"]
        await super().__call__({**scope, "headers": headers}, receive, send)


# --- errors and middleware --------------------------------------------------------------


def error_response(request: Request, status: int, message: str) -> Response:
    """An error as JSON for JSON requests, else as a page."""
    data = {"title": f"Error {status}", "status": status, "error": message}
    if request.url.path.endswith(".json") or request.query_params.get("format") == "json":
        return as_json(data, status)
    if request.url.path.startswith(("/files/", "/static/")) or request.url.path.endswith(".png"):
        return Response(message + "\n", status_code=status, media_type="text/plain")
    return html(request, "error.html", data, status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    response = error_response(request, error.status_code, str(error.detail))
    if error.status_code == 405:
        response.headers["Allow"] = ", ".join(READ_METHODS)
    return response


async def _not_found(request: Request, error: Exception) -> Response:
    return error_response(request, 404, str(error))


async def _bad_request(request: Request, error: Exception) -> Response:
    return error_response(request, 400, str(error))


_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:[0-9]{0,5})?")


def host_name(header: str) -> str:
    """The name in a Host header without its port; an IPv6 literal without its brackets.

    Anything but a name and an optional numeric port ('127.0.0.1:P@evil.example',
    'a, b') gives '', which no allowed host matches.
    """
    text = header.strip().lower()
    match = _HOST.fullmatch(text)
    if match is None:
        return ""
    name = match.group(1)
    return name[1:-1] if name.startswith("[") else name


class Guard:
    """Before routing: answer only allowed Host names, only GET and HEAD; add security headers."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = LOCAL_HOSTS):
        self.app = app
        self.allowed_hosts = {name.lower() for name in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        refusal = None
        # A page in the user's browser on another site must not reach the board through
        # a DNS name rebound to 127.0.0.1: such a request names that site as its host.
        if "*" not in self.allowed_hosts and host_name(host) not in self.allowed_hosts:
            refusal = Response("unknown host\n", status_code=400, media_type="text/plain")
        elif scope["method"] not in READ_METHODS:
            refusal = Response(
                "the board is read-only\n",
                status_code=405,
                headers={"Allow": ", ".join(READ_METHODS)},
                media_type="text/plain",
            )
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = {
                    b"content-security-policy": PAGE_POLICY.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                }
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(workspace: Workspace, allowed_hosts: Sequence[str] = LOCAL_HOSTS) -> Starlette:
    """The board for one workspace; only requests naming an allowed host are answered."""
    routes = [
        *view_routes("/", "/index.json", _home, "home.html"),
        *view_routes("/rates", "/rates.json", _rates, "rates.html"),
        *view_routes("/fleet", "/fleet.json", _fleet, "fleet.html"),
        *view_routes("/jobs", "/jobs.json", _jobs, "jobs.html"),
        *view_routes("/jobs/{identity}", "/jobs/{identity}.json", _job, "job.html"),
        *view_routes("/sources", "/sources.json", _sources, "sources.html"),
        *view_routes("/log", "/log.json", _log, "log.html"),
        *view_routes("/models", "/models.json", _models, "models.html"),
        # A model's name may hold any character, a slash too: the path converter takes it all.
        Route("/models/{model:path}/block.png", model_block, methods=["GET"]),
        *view_routes("/models/{model:path}", "/models/{model:path}.json", _model, "model.html"),
        *view_routes("/compare", "/compare.json", _compare, "compare.html"),
        *view_routes("/lineage", "/lineage.json", _lineage, "lineage.html"),
        Route("/files/{path:path}", workspace_file, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("drivestats.board", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, allowed_hosts=allowed_hosts)],
        exception_handlers={
            HTTPException: _http_error,
            views.NotFound: _not_found,
            DrivestatsError: _bad_request,
        },
    )
    app.state.board = views.Board(workspace)
    app.state.templates = template_environment()
    return app


# --- rendering without a server, and serving ---------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One response of the app: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def rendered(app: ASGIApp, target: str, host: str = DEFAULT_HOST) -> Rendered:
    """The app's answer to GET target, called in-process: no server, no socket."""
    import anyio

    parts = urlsplit(target if target.startswith("/") else "/" + target)
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(parts.path),
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "client": ("127.0.0.1", 0),
        "server": (host, 80),
        "state": {},
    }
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async def call() -> None:
        await app(scope, receive, send)

    anyio.run(call)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in started.get("headers", [])}
    return Rendered(started.get("status", 500), headers, b"".join(chunks))


def hosts_for(host: str) -> list[str]:
    """The Host header values to accept when bound to host: local names, or any if exposed."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return list(LOCAL_HOSTS)
    return ["*"]


def bound_socket(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening socket on host:port (port 0: any free port); fails at once if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise DrivestatsError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    return listener


def board_url(listener: socket.socket) -> str:
    """The http:// address a bound socket answers on."""
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def server_for(app: ASGIApp) -> Any:
    """A uvicorn server for the app, quiet but for warnings; run it with .run(sockets=[...])."""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
