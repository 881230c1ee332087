"""Which import arguments name an Iceberg table, and how they are written down.

An argument is a table when it is a metadata file (``…/metadata/00012-….metadata.json``,
local or at any location PyIceberg reads), a table folder holding ``metadata/``, a
PyIceberg catalog URI (``sqlite:///catalog.db``, ``http://rest:8181``, ``thrift://…``,
with the table after ``#``: ``sqlite:///catalog.db#default.drivestats``), or a catalog
named in PyIceberg's configuration (``catalog:NAME#namespace.table``). Everything else is
a file or folder of zips, daily CSVs or Parquet files.

No pyiceberg here: deciding what an argument is must stay light. Credentials never get
into the workspace: a URI is written down without its password and query string (they
come from PyIceberg's usual configuration, ``~/.pyiceberg.yaml`` or ``PYICEBERG_*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Backblaze's drivestats2iceberg writes the table `drivestats` in the namespace `default`.
DEFAULT_IDENTIFIER = "default.drivestats"
METADATA_SUFFIX = ".metadata.json"
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_METADATA_NUMBER = re.compile(r"^(?:v)?(\d+)")


@dataclass(frozen=True)
class TableRef:
    """A table named on the command line: by a catalog (URI or name) and identifier, or by
    its metadata file."""

    text: str  # how it is written down: credentials removed
    uri: str | None = None  # a catalog URI, as given (may carry credentials: never stored)
    catalog_name: str | None = None  # a catalog of PyIceberg's configuration
    identifier: str | None = None
    metadata: str | None = None  # a metadata file location

    @property
    def name(self) -> str:
        """A short name: the identifier, else the table folder of the metadata file."""
        if self.identifier:
            return self.identifier
        assert self.metadata is not None
        parts = self.metadata.rstrip("/").split("/")
        return parts[-3] if len(parts) >= 3 and parts[-2] == "metadata" else parts[-1]


def redacted(uri: str) -> str:
    """A URI without the password of its user part, and without a query string."""
    uri = uri.split("?", 1)[0]
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@:]*):[^/@]*@", r"\1\2@", uri)


def latest_metadata(folder: Path) -> Path | None:
    """The newest metadata file of a table folder: version-hint.text, else the highest number."""
    metadata = folder / "metadata"
    if not metadata.is_dir():
        return None
    hint = metadata / "version-hint.text"
    if hint.is_file():
        version = hint.read_text().strip()
        for name in (f"v{version}{METADATA_SUFFIX}", f"{version}{METADATA_SUFFIX}"):
            if (metadata / name).is_file():
                return metadata / name
    found = []
    for path in metadata.glob(f"*{METADATA_SUFFIX}"):
        match = _METADATA_NUMBER.match(path.name)
        if match:
            found.append((int(match.group(1)), path.stat().st_mtime_ns, path.name, path))
    return max(found)[-1] if found else None


def table_ref(argument: str) -> TableRef | None:
    """The table an import argument names, or None when it names files."""
    if argument.startswith("catalog:"):
        name, _, identifier = argument[len("catalog:") :].partition("#")
        return TableRef(
            f"catalog:{name}#{identifier or DEFAULT_IDENTIFIER}",
            catalog_name=name,
            identifier=identifier or DEFAULT_IDENTIFIER,
        )
    location, _, fragment = argument.partition("#")
    if location.endswith(METADATA_SUFFIX):
        if not _URI.match(location):
            location = str(Path(location).resolve())
        text = redacted(location) if _URI.match(location) else location
        return TableRef(text, metadata=location)
    if _URI.match(argument):
        identifier = fragment or DEFAULT_IDENTIFIER
        return TableRef(f"{redacted(location)}#{identifier}", uri=location, identifier=identifier)
    path = Path(argument)
    if path.is_dir():
        newest = latest_metadata(path)
        if newest is not None:
            resolved = str(newest.resolve())
            return TableRef(resolved, metadata=resolved)
    return None
