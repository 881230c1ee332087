"""Which files the board may serve: real files inside the workspace's data folders, nothing else.

A request path is checked twice. Before touching the disk, any segment that is
empty, ``.``, ``..`` or hidden (also after undoing percent-encoding, however
often it was applied) is refused. After resolving symlinks, the real file
must still lie inside one of the served folders of the workspace: results/
entries are symlinks into jobs/ and pass; a link pointing anywhere else fails.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

from drivestats.workspace import Workspace

# The workspace's folders of data; catalog.sqlite, scratch/ and dot-files stay private.
SERVED_FOLDERS = ("results", "jobs", "store", "data")


class Refused(Exception):
    """A path the board will not serve, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _fully_unquoted(text: str) -> str:
    """Percent-decoding applied until nothing changes: %252e%252e is '..' too."""
    for _ in range(5):
        decoded = unquote(text)
        if decoded == text:
            return decoded
        text = decoded
    return text


def served_file(workspace: Workspace, relative: str) -> Path:
    """The real file a /files/ path names inside the workspace, or Refused (404 or 403)."""
    if not relative or relative.startswith(("/", "~")) or "\\" in relative or "\x00" in relative:
        raise Refused(404, "not a workspace path")
    parts = relative.split("/")
    for part in parts:
        plain = _fully_unquoted(part)
        if plain in ("", ".", "..") or plain.startswith(".") or "/" in plain or "\\" in plain:
            raise Refused(404, "not a workspace path")
    if parts[0] not in SERVED_FOLDERS:
        raise Refused(404, f"only {', '.join(SERVED_FOLDERS)} are served")
    home = workspace.home.resolve()
    try:
        real = home.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise Refused(404, "no such file") from None
    if not real.is_relative_to(home):
        raise Refused(403, "the file lies outside the workspace")
    inside = real.relative_to(home).parts
    if not inside or inside[0] not in SERVED_FOLDERS or any(p.startswith(".") for p in inside):
        raise Refused(403, "the file lies outside the served folders")
    if not real.is_file():
        raise Refused(404, "not a file")
    return real


def file_url(workspace: Workspace, path: Path | str) -> str | None:
    """The board URL of a workspace file (absolute or workspace-relative), or None if not served."""
    candidate = Path(path)
    home = workspace.home.resolve()
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(home)
        except ValueError:
            return None
    parts = candidate.parts
    if not parts or parts[0] not in SERVED_FOLDERS or ".." in parts:
        return None
    return "/files/" + quote("/".join(parts))
