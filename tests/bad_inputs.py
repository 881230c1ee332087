"""The bad-input corpus: files a hostile or unlucky user hands to ``drivestats import``.

Each case builds its input under a folder and says what the refusal must name: the file, the
member of a zip where there is one, and the line where there is one. Line numbers are counted
here by hand from the rows written (the header is line 1), never asked of drivestats.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import sample_files

HEADER = "date,serial_number,model,capacity_bytes,failure,smart_9_raw"
GOOD = [f"2014-01-01,S{n:03},ST4000DM000,4000787030016,0,{1000 + n}" for n in range(40)]


@dataclass(frozen=True)
class BadInput:
    """One bad input: how to make it, and what its refusal must say."""

    name: str
    build: Callable[[Path], Path]  # writes the input under the folder given, returns its path
    says: tuple[str, ...]  # words the error must hold, beside the file's path
    member: str | None = None
    line: int | None = None
    names_file: bool = True  # False only where there is no file to name (a missing path)


def _day(folder: Path, rows: list[str], header: str = HEADER, day: str = "2014-01-01") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day}.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _with_row(index: int, row: str) -> Callable[[Path], Path]:
    """GOOD with one row replaced: it lands on line index + 2."""

    def build(folder: Path) -> Path:
        rows = list(GOOD)
        rows[index] = row
        return _day(folder, rows)

    return build


def _zip(members: dict[str, bytes], name: str = "data_Q1_2014.zip") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(zipfile.ZipInfo(member, (2014, 1, 1, 0, 0, 0)), data)
        return target

    return build


def _text(rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _bad_row_in_zip(folder: Path) -> Path:
    rows = list(GOOD)
    rows[20] = rows[20].replace(",0,1020", ",yes please,1020")
    members = {"data_Q1_2014/2014-01-01.csv": _text(GOOD), "data_Q1_2014/2014-01-02.csv": b""}
    members["data_Q1_2014/2014-01-02.csv"] = _text(
        [r.replace("2014-01-01", "2014-01-02") for r in rows]
    )
    return _zip(members)(folder)


def _truncated_zip(folder: Path) -> Path:
    whole = _zip({"data/2014-01-01.csv": _text(GOOD * 50)})(folder / "whole")
    cut = folder / "data_Q1_2014.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def _corrupt_member(folder: Path) -> Path:
    """A zip whose member's compressed bytes were damaged after writing (its CRC fails)."""
    target = _zip({"data/2014-01-01.csv": _text(GOOD * 50)})(folder)
    data = bytearray(target.read_bytes())
    start = 30 + len("data/2014-01-01.csv") + 40  # past the local header, inside the data
    for offset in range(start, start + 64):
        data[offset] ^= 0x5A
    target.write_bytes(bytes(data))
    return target


def _not_a_zip(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data_Q1_2014.zip"
    target.write_text("this is a web page saying the download failed\n")
    return target


def _gzip_named_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "2014-01-01.csv"
    target.write_bytes(gzip.compress(_text(GOOD)))
    return target


def _empty_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "2014-01-01.csv"
    target.write_bytes(b"")
    return target


def _folder_named_like_a_day(folder: Path) -> Path:
    (folder / "data" / "2014-01-01.csv").mkdir(parents=True)
    return folder / "data"


def _folder_without_days(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "README.txt").write_text("nothing here\n")
    return folder / "data"


def _missing(folder: Path) -> Path:
    return folder / "data_Q9_2014.zip"


def _long_line(folder: Path) -> Path:
    return _day(folder, [*GOOD[:5], "2014-01-01,LONG," + "x" * 3_000_000 + ",1,0,1", *GOOD[5:]])


def _duplicate_flood(folder: Path) -> Path:
    return _day(folder, [*GOOD, *[GOOD[7]] * 12])


def _zip_with_one_bad_member(folder: Path) -> Path:
    # The first member is fine; the second has a date that is no date on its line 9.
    rows = [r.replace("2014-01-01", "2014-01-02") for r in GOOD]
    rows[7] = rows[7].replace("2014-01-02", "2014-13-02")
    return _zip(
        {
            "data_Q1_2014/2014-01-01.csv": _text(GOOD),
            "data_Q1_2014/2014-01-02.csv": _text(rows),
        }
    )(folder)


def _latin1_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "2014-01-01.csv"
    rows = [*GOOD[:3], "2014-01-01,S900,ST4000DM\xe9,4000787030016,0,1", *GOOD[3:]]
    target.write_bytes(_text(rows).decode().encode("latin-1"))
    return target


def _member_path(member: str) -> Callable[[Path], Path]:
    return _zip({member: sample_files()[0].read_bytes()}, name="data_Q2_2013.zip")


def _bomb(folder: Path) -> Path:
    """A member of 1.1 GiB of zeros, about 1 MB zipped: past the cap on what a member unpacks to."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data_Q1_2014.zip"
    block = b"0" * (1 << 20)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data/2014-01-01.csv", "w", force_zip64=True) as member:
            member.write(_text([]))
            for _ in range(1126):
                member.write(block)
    return target


CORPUS: list[BadInput] = [
    BadInput(
        "bad date",
        _with_row(5, "2014-02-30,S005,ST4000DM000,4000787030016,0,1005"),
        ("2014-02-30",),
        line=7,
    ),
    BadInput(
        "failure neither 0 nor 1",
        _with_row(10, "2014-01-01,S010,ST4000DM000,4000787030016,maybe,1"),
        ("maybe",),
        line=12,
    ),
    BadInput(
        "capacity not a number",
        _with_row(3, "2014-01-01,S003,ST4000DM000,four TB,0,1003"),
        ("capacity_bytes",),
        line=5,
    ),
    BadInput(
        "smart value not a number",
        _with_row(30, "2014-01-01,S030,ST4000DM000,4000787030016,0,ten"),
        ("smart_9_raw",),
        line=32,
    ),
    BadInput(
        "too many fields",
        _with_row(12, "2014-01-01,S012,ST4000DM000,4000787030016,0,1,2,3"),
        ("fields",),
        line=14,
    ),
    BadInput("too few fields", _with_row(15, "2014-01-01,S015,ST4000DM000"), ("fields",), line=17),
    BadInput(
        "no serial_number column",
        lambda f: _day(
            f,
            [",".join(r.split(",")[:1] + r.split(",")[2:]) for r in GOOD],
            header="date,model,capacity_bytes,failure,smart_9_raw",
        ),
        ("serial_number",),
    ),
    BadInput(
        "no failure column",
        lambda f: _day(
            f,
            [",".join(r.split(",")[:4] + r.split(",")[5:]) for r in GOOD],
            header="date,serial_number,model,capacity_bytes,smart_9_raw",
        ),
        ("failure",),
    ),
    BadInput(
        "a column named twice",
        lambda f: _day(f, [r + ",7" for r in GOOD], header=HEADER + ",smart_9_raw"),
        ("smart_9_raw", "twice"),
    ),
    BadInput(
        "failure column named twice",
        lambda f: _day(f, [r + ",0" for r in GOOD], header=HEADER + ",failure"),
        ("failure", "twice"),
    ),
    BadInput("a flood of repeated drives", _duplicate_flood, ("repeat", "S007"), line=None),
    BadInput("a line over a megabyte", _long_line, ("3,000,0",), line=7),
    BadInput("an empty file", _empty_file, ("empty",)),
    BadInput("gzip bytes named .csv", _gzip_named_csv, ("2014-01-01.csv",)),
    BadInput("not a zip", _not_a_zip, ("zip",)),
    BadInput("a zip cut in half", _truncated_zip, ("zip",)),
    BadInput("a member whose bytes are damaged", _corrupt_member, ("data/2014-01-01.csv",)),
    BadInput(
        "a bad row in a zip's second member",
        _bad_row_in_zip,
        ("yes please",),
        member="data_Q1_2014/2014-01-02.csv",
        line=22,
    ),
    BadInput(
        "one bad member among good ones",
        _zip_with_one_bad_member,
        ("2014-13-02",),
        member="data_Q1_2014/2014-01-02.csv",
        line=9,
    ),
    BadInput(
        "member path with ..",
        _member_path("../2013-04-10.csv"),
        ("member path",),
        member="../2013-04-10.csv",
    ),
    BadInput(
        "absolute member path",
        _member_path("/data/2013-04-10.csv"),
        ("member path",),
        member="/data/2013-04-10.csv",
    ),
    BadInput(
        "backslash member path",
        _member_path("data\\2013-04-10.csv"),
        ("member path",),
        member="data\\2013-04-10.csv",
    ),
    BadInput("a folder named like a day", _folder_named_like_a_day, ("folder named like",)),
    BadInput("a folder without days", _folder_without_days, ("no daily",)),
    BadInput("a path that does not exist", _missing, ("data_Q9_2014.zip", "no such")),
    BadInput(
        "a date from another day",
        _with_row(8, "2014-01-02,S008,ST4000DM000,4000787030016,0,1"),
        ("2014-01-02", "file of 2014-01-01"),
        line=10,
    ),
    BadInput(
        "an empty date",
        _with_row(4, ",S004,ST4000DM000,4000787030016,0,1"),
        ("empty date",),
        line=6,
    ),
    BadInput(
        "an empty serial number",
        _with_row(4, "2014-01-01,,ST4000DM000,4000787030016,0,1"),
        ("empty serial_number",),
        line=6,
    ),
    BadInput(
        "failure of 2",
        _with_row(4, "2014-01-01,S004,ST4000DM000,4000787030016,2,1"),
        ("failure", "'2'"),
        line=6,
    ),
    BadInput(
        "an unbalanced quote",
        _with_row(4, '2014-01-01,S004,"ST4000DM000,4000787030016,0,1'),
        ("fields",),
        line=6,
    ),
    BadInput("latin-1 bytes in a model", _latin1_model, ("UTF-8",), line=5),
    BadInput(
        "a header-only copy of a stored day", lambda f: _day(f, []), ("empty", "40 rows stored")
    ),
    BadInput(
        "a copy of a stored day missing most drives",
        lambda f: _day(f, GOOD[:5]),
        ("far fewer rows", "40 rows stored", "--force"),
    ),
    BadInput("a zip without daily files", _zip({"README.txt": b"hello\n"}), ("no daily file",)),
    BadInput(
        "a member that unpacks past the cap",
        _bomb,
        ("unpacks to", "refused before reading"),
        member="data/2014-01-01.csv",
    ),
]
