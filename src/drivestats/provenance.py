"""Provenance inside the files drivestats writes, so that a copy anywhere can be traced.

Every artifact names the job that made it, in the place its format keeps such things:
- PNG: a text chunk ``drivestats-job``;
- SVG: the Dublin Core description ``drivestats-job=<id>``;
- MP4: the ``comment`` tag (``©cmt``), read here from the file's boxes without ffmpeg;
- Parquet: the footer key ``drivestats``, a JSON object with the job, its stage, the code
  fingerprint, and the source (a zip and its sha256) or the upstream jobs.
A job id depends on what made the job, never on its outputs, so writing it keeps the bytes
reproducible. CSV and JSON carry nothing: they are found by their sha256 in the catalog.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

JOB_KEY = "drivestats-job"
PARQUET_KEY = b"drivestats"


def svg_description(job_id: str) -> str:
    return f"{JOB_KEY}={job_id}"


def parquet_provenance(
    job_id: str,
    stage: str,
    code_sha256: str,
    sources: dict[str, str] | None = None,
    upstream: list[str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """What a Parquet footer says of the file: its job, stage, code, and what it was made from."""
    value: dict[str, Any] = {"job": job_id, "stage": stage, "code_sha256": code_sha256}
    if sources is not None:
        value["sources"] = sources
    if upstream is not None:
        value["upstream"] = upstream
    return {**value, **more}


def with_provenance(table: pa.Table, provenance: dict[str, Any]) -> pa.Table:
    """The table with its provenance in the schema metadata that Parquet writes to the footer."""
    text = json.dumps(provenance, sort_keys=True, separators=(",", ":"))
    return table.replace_schema_metadata({PARQUET_KEY: text.encode()})


def read(path: Path) -> dict[str, Any] | None:
    """The provenance a file carries, as {"job": id, ...}, or None when it carries none."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head.startswith(b"\x89PNG"):
        return _png(path)
    if head.startswith(b"PAR1"):
        return _parquet(path)
    if head[4:8] == b"ftyp":
        job = _mp4_comment(path)
        return {"job": job} if job else None
    if path.suffix.lower() == ".svg":
        return _svg(path)
    return None


def _png(path: Path) -> dict[str, Any] | None:
    from PIL import Image

    with Image.open(path) as image:
        job = image.text.get(JOB_KEY)  # type: ignore[attr-defined]
    return {"job": job} if job else None


def _svg(path: Path) -> dict[str, Any] | None:
    match = re.search(rf"{JOB_KEY}=([0-9a-f]+)", path.read_text(errors="replace"))
    return {"job": match.group(1)} if match else None


def _parquet(path: Path) -> dict[str, Any] | None:
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if PARQUET_KEY not in metadata:
        return None
    value: dict[str, Any] = json.loads(metadata[PARQUET_KEY])
    return value


# Boxes that hold the boxes on the way to the comment: moov/udta/meta/ilst/©cmt/data.
_CONTAINERS = {b"moov", b"udta", b"meta", b"ilst", b"\xa9cmt"}


def _mp4_comment(path: Path) -> str | None:
    """The comment tag of an MP4, found by walking its boxes (a movie's frames are skipped)."""
    with open(path, "rb") as handle:
        return _find_comment(handle, 0, path.stat().st_size)


def _find_comment(handle: Any, start: int, end: int) -> str | None:
    position = start
    while position + 8 <= end:
        handle.seek(position)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", handle.read(8))
            header = 16
        elif size == 0:
            size = end - position
        if size < header:
            return None  # not a box: not an MP4 after all
        body = position + header
        if kind == b"meta":
            body += 4  # version and flags
        if kind == b"data":
            handle.seek(body + 8)  # type and locale
            return str(handle.read(size - header - 8).decode("utf-8", errors="replace"))
        if kind in _CONTAINERS:
            found = _find_comment(handle, body, position + size)
            if found is not None:
                return found
        position += size
    return None
