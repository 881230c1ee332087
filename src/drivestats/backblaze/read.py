"""Reading Backblaze's files as they ship: zips, folders and loose daily CSVs into typed Arrow tables.

Every quirk of the raw data is handled here and nowhere else: clutter in zips,
members out of order, header-only days, CR/CRLF line endings, the ``2/25/18``
date style, boolean spellings, blank cells, columns that move between eras.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from drivestats.backblaze import format as bb
from drivestats.backblaze.sources import is_daily_csv, sources_under
from drivestats.errors import BadInputError

__all__ = ["is_daily_csv", "sources_under"]  # also read from here

_HEADER_PEEK = 64 * 1024
_BLOCK_SIZE = 1 << 20
# Small enough that the allocator reuses the same memory chunk after chunk.
_CHUNK = 8 << 20
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Member:
    """One daily CSV: a member of a zip, or a loose file."""

    source: Path
    name: str
    day: str
    size: int
    unpacked_size: int

    @property
    def in_zip(self) -> bool:
        return self.name != str(self.source)

    def read_bytes(self) -> bytes:
        """The whole member, decompressed (and CRC-checked for a zip member)."""
        if not self.in_zip:
            return self.source.read_bytes()
        with zipfile.ZipFile(self.source) as archive:
            info = archive.getinfo(self.name)
            if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & _ENCRYPTED:
                return archive.read(info)  # stored members and the rest: zipfile's own way
        with open(self.source, "rb") as handle:
            return _inflated(handle, info)


_ENCRYPTED = 0x1
_LOCAL_HEADER = b"PK\x03\x04"


def _inflated(handle: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """A deflated member in one call to ISA-L's inflate, checked against the zip's directory.

    zipfile inflates in small steps with zlib: 2.2 s for six 2026 days where this takes
    0.8 s (BENCHMARKS.md), and the importer decompresses every byte it parses.
    Never more than the directory's size is produced, so a lying member cannot swell memory.
    """
    from isal import isal_zlib

    handle.seek(info.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != _LOCAL_HEADER:
        raise zipfile.BadZipFile("bad local file header")
    name_length = int.from_bytes(local[26:28], "little")
    extra_length = int.from_bytes(local[28:30], "little")
    handle.seek(info.header_offset + 30 + name_length + extra_length)
    packed = handle.read(info.compress_size)
    if len(packed) < info.compress_size:
        raise EOFError("the member's data ends early")
    inflater = isal_zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as zips hold it
    try:
        data = inflater.decompress(packed, info.file_size + 1)
    except isal_zlib.error as error:  # type: ignore[misc]  # untyped in isal's stubs
        raise zlib.error(str(error)) from None
    if len(data) != info.file_size or not inflater.eof:
        raise zlib.error(
            f"unpacks to {'more' if len(data) > info.file_size else 'less'} than the "
            f"{info.file_size:,} bytes its directory says"
        )
    if isal_zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for file {info.filename!r}")
    return data


# A member is decompressed whole before it is parsed, so its size bounds the import's memory.
# 2026's days (345,000 drives, 197 columns) are about 0.2 GiB; a zip whose directory says a
# member unpacks to more is refused (zipfile never yields more than the directory says).
MAX_MEMBER_BYTES = 1 << 30


def members_of(source: Path) -> list[Member]:
    """The daily CSVs in a source, oldest day first (clutter and other files ignored)."""
    if source.suffix.lower() != ".zip":
        if not is_daily_csv(source.name):
            raise BadInputError(str(source), "not a zip and not a daily file named YYYY-MM-DD.csv")
        size = source.stat().st_size
        return [Member(source, str(source), _day_of(source.name), size, size)]
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise BadInputError(str(source), f"not a readable zip ({error})") from None
    members = [
        Member(source, info.filename, _day_of(info.filename), info.compress_size, info.file_size)
        for info in infos
        if not info.is_dir() and is_daily_csv(info.filename)
    ]
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        unusual = name.startswith("/") or ".." in parts or "\\" in name or ":" in parts[0]
        if unusual and is_daily_csv(parts[-1]):
            raise BadInputError(
                str(source),
                "a member path that is absolute, climbs out with '..' or uses backslashes "
                "(not how Backblaze packs its zips); refused",
                member=name,
            )
    for member in members:
        if member.unpacked_size > MAX_MEMBER_BYTES:
            raise BadInputError(
                str(source),
                f"unpacks to {member.unpacked_size / 2**30:,.1f} GiB, more than a daily file "
                f"can hold ({MAX_MEMBER_BYTES / 2**30:.0f} GiB; the largest real day is about "
                "0.2 GiB); refused before reading",
                member=member.name,
            )
    if not members:
        raise BadInputError(
            str(source), "holds no daily file named YYYY-MM-DD.csv: not a Backblaze data zip"
        )
    return sorted(members, key=lambda m: (m.day, m.name))


def _day_of(name: str) -> str:
    match = bb.DAY_FILE.search(name.replace("\\", "/"))
    assert match is not None
    return match.group(1)


def member_bytes(member: Member) -> bytes:
    """A member's CSV text, decompressed and checked; a clear error if the zip is damaged."""
    try:
        return member.read_bytes()
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise _error(member, f"corrupt or truncated data ({error})") from None


@dataclass
class DayStream:
    """One day as typed tables (one per chunk of text) in the store's schema, known up front."""

    schema: pa.Schema
    chunks: Iterator[pa.Table]


def day_stream(member: Member, data: bytes | None = None) -> DayStream:
    """One day, parsed in chunks of about 8 MB of text, typed, checked, derived columns added.

    ``data`` is the member's text if already read (see member_bytes). Memory stays
    bounded however big the day, and a writer can store one chunk while the next is parsed.
    """
    # Decompressing first and parsing from memory is faster than parsing from the zip
    # stream (no Python read calls inside the parser); one day is at most ~130 MB.
    if data is None:
        data = member_bytes(member)
    header = _header_of(member, data)
    missing = [c for c in bb.REQUIRED_COLUMNS if c not in header]
    if missing:
        raise _error(member, f"missing required column(s) {', '.join(missing)}", line=1)
    tables = _parsed_chunks(member, data, header)
    first = next(tables)
    return DayStream(first.schema, itertools.chain([first], tables))


def read_day(member: Member, data: bytes | None = None) -> pa.Table:
    """One day as one typed table in the store's schema, with model_clean and vendor added."""
    stream = day_stream(member, data)
    return pa.concat_tables(stream.chunks)


def _text_chunks(data: bytes) -> Iterator[pa.Buffer]:
    """The text cut into pieces of about _CHUNK bytes, each ending at a line end."""
    whole = pa.py_buffer(data)
    start = 0
    while True:
        end = min(start + _CHUNK, len(data))
        if end < len(data):
            found = _LINE_END.search(data, end)
            end = found.end() if found else len(data)
        yield whole.slice(start, end - start)
        if end >= len(data):
            return
        start = end


def _parsed_chunks(member: Member, data: bytes, header: list[str]) -> Iterator[pa.Table]:
    """Each chunk parsed on all cores into the store's types, checked, with its line numbers."""
    options = _convert_options(header)
    rows_before = 0
    for index, chunk in enumerate(_text_chunks(data)):
        read_options = pacsv.ReadOptions(
            block_size=_BLOCK_SIZE,
            use_threads=True,
            column_names=header,  # the canonical names, not the file's spelling
            skip_rows=1 if index == 0 else 0,
        )
        try:
            table = pacsv.read_csv(
                pa.BufferReader(chunk), read_options=read_options, convert_options=options
            )
        except pa.ArrowInvalid as error:
            raise _explain(member, data, header, str(error)) from None
        table = _with_smart_types(member, data, _with_dates(member, table, rows_before))
        for required in ("serial_number", "model", "failure"):
            column = table.column(required)
            if column.null_count:
                at = pc.index(pc.is_null(column), True).as_py()
                raise _error(member, f"empty {required}", line=rows_before + at + 2)
        rows_before += table.num_rows
        yield _with_derived_columns(table)


def _error(member: Member, message: str, line: int | None = None) -> BadInputError:
    return BadInputError(
        str(member.source), message, member=member.name if member.in_zip else None, line=line
    )


def _header_of(member: Member, data: bytes) -> list[str]:
    start = data[:_HEADER_PEEK]
    if not start.strip():
        raise _error(member, "empty file: no header line", line=1)
    first_line = re.split(rb"\r\n|\r|\n", start, maxsplit=1)[0]
    try:
        written = first_line.decode("utf-8-sig").split(",")
    except UnicodeDecodeError:
        raise _error(member, "the header is not UTF-8 text", line=1) from None
    header = [bb.canonical_column(name) for name in written]
    seen: dict[str, tuple[int, str]] = {}
    for number, (original, name) in enumerate(zip(written, header, strict=True), start=1):
        if name in seen:
            first_number, first = seen[name]
            what = (
                f"the column {name} twice"
                if first.strip() == original.strip()
                else f"{name} twice, as {first.strip()!r} and {original.strip()!r}"
            )
            raise _error(
                member,
                f"the header names {what} (columns {first_number} and {number}); "
                "which one holds the values cannot be known",
                1,
            )
        seen[name] = (number, original)
    return header


def _column_types(header: list[str]) -> dict[str, pa.DataType]:
    # The date is parsed afterwards: one day in 2018 writes it as 2/25/18. SMART columns
    # are left to inference (an empty one parses as the null type, far cheaper than
    # int64) and made int64 afterwards by _with_smart_types.
    return {
        name: (pa.string() if name == "date" else bb.stored_type(name))
        for name in header
        if not bb.is_smart(name)
    }


def _convert_options(header: list[str]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types=_column_types(header),
        true_values=bb.TRUE_SPELLINGS,
        false_values=bb.FALSE_SPELLINGS,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )


def _explain(member: Member, data: bytes, header: list[str], failure: str) -> BadInputError:
    """Turn a pyarrow parse error into one that names the line (found by a slower second pass)."""
    conversion = re.search(
        r"In CSV column #(\d+): .*?CSV conversion error to (\w+): invalid value '(.*)'", failure
    )
    if conversion:
        column = header[int(conversion.group(1))]
        line = _first_line_failing(data, column)
        return _error(
            member,
            f"column {column}: {conversion.group(3)!r} is not a valid {conversion.group(2)}",
            line,
        )
    rows: list[pacsv.InvalidRow] = []

    def remember(row: pacsv.InvalidRow) -> str:
        rows.append(row)
        return "error"

    try:
        pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                block_size=_BLOCK_SIZE, use_threads=False, column_names=header, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=remember),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header}),
        )
    except pa.ArrowInvalid:
        pass
    if rows:
        row = rows[0]
        return _error(
            member,
            f"row has {row.actual_columns} fields, the header has {row.expected_columns}",
            row.number,
        )
    if "UTF8" in failure or "UTF-8" in failure:
        return _error(member, "text that is not UTF-8", _first_line_not_utf8(data))
    if "straddling" in failure:
        number, length = _first_line_longer_than(data, _BLOCK_SIZE)
        if number is None:  # a row over many lines, joined by quoted line breaks
            return _error(member, f"a row longer than any row can be ({_BLOCK_SIZE:,} bytes)")
        return _error(
            member,
            f"a line of {length:,} bytes, longer than any row can be "
            f"({_BLOCK_SIZE:,} bytes at most; a 197-column row is under 2,000)",
            number,
        )
    return _error(member, f"unreadable CSV ({failure})")


def _first_line_longer_than(data: bytes, limit: int) -> tuple[int | None, int]:
    """The number and length of the first line longer than limit (a broken or hostile file)."""
    number, start = 1, 0
    for match in re.finditer(rb"\r\n|\r|\n", data):
        if match.start() - start > limit:
            return number, match.start() - start
        number, start = number + 1, match.end()
    return (number, len(data) - start) if len(data) - start > limit else (None, 0)


def _first_line_not_utf8(data: bytes) -> int | None:
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return None


def _named_as_stored(data: bytes) -> pacsv.ReadOptions:
    """Read options that name the columns by their stored names, whatever the file spells."""
    first_line = re.split(rb"\r\n|\r|\n", data[:_HEADER_PEEK], maxsplit=1)[0]
    names = [bb.canonical_column(n) for n in first_line.decode("utf-8-sig").split(",")]
    return pacsv.ReadOptions(column_names=names, skip_rows=1)


def _first_line_failing(data: bytes, column: str) -> int | None:
    text = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=_named_as_stored(data),
        convert_options=pacsv.ConvertOptions(
            include_columns=[column],
            column_types={column: pa.string()},
            strings_can_be_null=True,
        ),
    ).column(column)
    target = bb.stored_type(column)
    for index, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            if target == pa.bool_():
                if value not in bb.TRUE_SPELLINGS + bb.FALSE_SPELLINGS:
                    return index + 2
            else:
                pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return index + 2  # line 1 is the header
    return None


def _value_at(data: bytes, column: str, line: int | None) -> str | None:
    if line is None:
        return None
    text = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=_named_as_stored(data),
        convert_options=pacsv.ConvertOptions(
            include_columns=[column], column_types={column: pa.string()}
        ),
    ).column(column)
    return text[line - 2].as_py()


# The day of the month as written, in either of the two styles a date takes.
_DAY_OF_MONTH = r"^(?:\d{4}-\d{1,2}-|\d{1,2}/)(?P<day>\d{1,2})"


def _with_dates(member: Member, table: pa.Table, rows_before: int = 0) -> pa.Table:
    """The date column parsed (ISO, or 2/25/18 on one day of 2018); lines counted from the file's top."""
    text = table.column("date")
    position = table.schema.get_field_index("date")
    try:
        dates = pc.cast(text, pa.date32())
    except pa.ArrowInvalid:
        parsed = pc.coalesce(
            pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True),
            pc.strptime(text, format="%m/%d/%y", unit="s", error_is_null=True),
        )
        bad = pc.and_(pc.is_null(parsed), pc.is_valid(text))
        # strptime rolls a day past the month's end over (2014-02-30 becomes 2014-03-02):
        # the day written must be the day parsed.
        written = pc.struct_field(pc.extract_regex(text, _DAY_OF_MONTH), "day")
        rolled = pc.not_equal(pc.day(parsed), pc.cast(written, pa.int64()))
        bad = pc.or_(bad, pc.fill_null(rolled, False))
        if pc.any(bad).as_py():
            index = pc.index(bad, True).as_py()
            value = text[index].as_py()
            raise _error(
                member, f"unparsable date {value!r}", line=rows_before + index + 2
            ) from None
        dates = pc.cast(parsed, pa.date32())
    if dates.null_count:
        index = pc.index(pc.is_null(dates), True).as_py()
        raise _error(member, "empty date", line=rows_before + index + 2)
    # The store files a row under its file's day; a row of another day would be misfiled.
    elsewhere = pc.not_equal(dates, pa.scalar(dt.date.fromisoformat(member.day), pa.date32()))
    if pc.any(elsewhere).as_py():
        index = pc.index(elsewhere, True).as_py()
        raise _error(
            member,
            f"a row dated {dates[index].as_py()} in the file of {member.day}",
            line=rows_before + index + 2,
        )
    return table.set_column(position, pa.field("date", pa.date32()), dates)


def _with_smart_types(member: Member, data: bytes, table: pa.Table) -> pa.Table:
    """Every SMART column as int64, whatever inference made of it; a clear error if it can't be."""
    empty: pa.Array | None = None  # one all-null array serves every empty column (immutable)
    for position, field in enumerate(table.schema):
        if not bb.is_smart(field.name) or field.type == pa.int64():
            continue
        if field.type == pa.null():
            empty = empty if empty is not None else pa.nulls(table.num_rows, pa.int64())
            column = empty
        else:
            try:
                column = table.column(position).cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                line = _first_line_failing(data, field.name)
                value = _value_at(data, field.name, line)
                raise _error(
                    member, f"column {field.name}: {value!r} is not a valid int64", line
                ) from None
        table = table.set_column(position, pa.field(field.name, pa.int64()), column)
    return table


def _with_derived_columns(table: pa.Table) -> pa.Table:
    # A day has a few dozen distinct models: clean and classify those, not every row.
    model = table.column("model")
    encoded = pc.dictionary_encode(model).combine_chunks()
    models = encoded.dictionary.to_pylist()
    clean = [bb.clean_model(m) for m in models]
    # Most days carry no untidy model string: then the clean column is the model column.
    if clean == models:
        cleaned = model
    else:
        cleaned = pc.take(pa.array(clean, pa.string()), encoded.indices)
    vendors = pa.array([bb.vendor_of(m) for m in models], pa.string())
    return table.append_column("model_clean", cleaned).append_column(
        "vendor", pc.take(vendors, encoded.indices)
    )
