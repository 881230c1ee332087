"""Which files are Backblaze sources: zips, Parquet files, and daily CSVs named YYYY-MM-DD.csv,
under folders.

Apart from the reader so that deciding what to import (and that it is imported
already) needs no Arrow.
"""

from __future__ import annotations

from pathlib import Path

from drivestats.backblaze import format as bb
from drivestats.errors import BadInputError


def is_daily_csv(name: str) -> bool:
    """True for a YYYY-MM-DD.csv name that is not macOS clutter."""
    return (
        bool(bb.DAY_FILE.search(name))
        and "__MACOSX" not in name
        and not Path(name).name.startswith("._")
    )


def sources_under(paths: list[Path]) -> list[Path]:
    """The zips and daily CSVs named, or found under the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            before = len(found)
            for child in sorted(path.rglob("*")):
                wanted = child.suffix.lower() in (".zip", ".parquet") or is_daily_csv(child.name)
                if wanted and child.is_file():
                    found.append(child)
                elif wanted and child.is_dir() and not any(child.iterdir()):
                    # Named like data but holding nothing: say so rather than pass it by.
                    raise BadInputError(str(child), "a folder named like a data file, and empty")
            if len(found) == before:
                raise BadInputError(
                    str(path),
                    "holds no Backblaze zip, no Parquet file and no daily file named YYYY-MM-DD.csv",
                )
        elif path.exists():
            found.append(path)
        else:
            raise BadInputError(str(path), "no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique
