"""Iceberg tables and Parquet files in Backblaze's Drive Stats schema, made from zips, for tests.

As Backblaze's drivestats2iceberg makes its table: each daily CSV read with pyarrow's own
type inference, its date taken from the file name, the columns that day left empty
dropped, ``failure``, ``pod_id``, ``pod_slot_num`` and ``is_legacy_format`` as int8,
``vault_id`` and ``cluster_id`` as strings, SMART columns int64, headers kept as spelt;
a month's days appended at once (earlier when the columns change, with the schema evolved
by name); partitioned by month of ``date`` (``date_month``). A PyIceberg SQL catalog on
a SQLite file with a local warehouse: nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TYPES = {
    "date": pa.date32(),
    "serial_number": pa.string(),
    "model": pa.string(),
    "capacity_bytes": pa.int64(),
    "failure": pa.int8(),
    "datacenter": pa.string(),
    "cluster_id": pa.string(),
    "vault_id": pa.string(),
    "pod_id": pa.int8(),
    "pod_slot_num": pa.int8(),
    "is_legacy_format": pa.int8(),
}
DAY = re.compile(r"(?:^|/)(\d{4})-(\d{2})-(\d{2})\.csv$")
IDENTIFIER = "default.drivestats"


def backblaze_type(name: str) -> pa.DataType:
    if name in TYPES:
        return TYPES[name]
    if name.startswith("smart_"):
        return pa.int64()
    raise ValueError(f"unexpected column {name}")


def day_table(text: bytes, day: dt.date) -> pa.Table | None:
    """One daily CSV as Backblaze's table holds it, or None for a day without rows."""
    table = pacsv.read_csv(pa.BufferReader(text))
    if table.num_rows == 0:
        return None
    table = table.drop(["date"]).add_column(
        0, "date", pa.array([day] * table.num_rows, pa.date32())
    )
    table = table.drop([f.name for f in table.schema if f.type == pa.null()])
    return table.cast(pa.schema([(name, backblaze_type(name)) for name in table.column_names]))


def days_of(zips: Iterable[Path]) -> Iterator[tuple[dt.date, pa.Table]]:
    """Every day with rows in the zips, oldest first, as Backblaze's table holds it."""
    members = []
    for path in zips:
        archive = zipfile.ZipFile(path)
        for name in archive.namelist():
            match = DAY.search(name)
            if match and "__MACOSX" not in name:
                members.append((dt.date(*map(int, match.groups())), archive, name))
    for day, archive, name in sorted(members, key=lambda m: m[0]):
        table = day_table(archive.read(name), day)
        if table is not None:
            yield day, table


def catalog(folder: Path):  # type: ignore[no-untyped-def]
    from pyiceberg.catalog.sql import SqlCatalog

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "warehouse").mkdir(exist_ok=True)
    return SqlCatalog(
        "default",  # PyIceberg's default catalog name, which an import URI is loaded under
        uri=f"sqlite:///{folder / 'catalog.db'}",
        warehouse=(folder / "warehouse").as_uri(),
    )


def uri(folder: Path, identifier: str = IDENTIFIER) -> str:
    """The import argument naming the table: its catalog's URI and identifier."""
    return f"sqlite:///{folder / 'catalog.db'}#{identifier}"


def _same_columns(a: pa.Schema, b: pa.Schema) -> bool:
    return set(a.names) == set(b.names) and all(a.field(n).type == b.field(n).type for n in a.names)


def append_days(folder: Path, days: Iterable[tuple[dt.date, pa.Table]]):  # type: ignore[no-untyped-def]
    """Append days to the table (made on the first call), a month at a time; the table."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.transforms import MonthTransform

    made = catalog(folder)
    try:
        table = made.load_table(IDENTIFIER)
    except NoSuchTableError:
        table = None
    pending: list[pa.Table] = []
    month = None

    def write() -> None:
        if pending:
            table.append(pa.concat_tables(pending))
            pending.clear()

    for day, data in days:
        if table is None:
            made.create_namespace_if_not_exists("default")
            table = made.create_table(IDENTIFIER, schema=data.schema)
            with table.update_spec() as spec:
                spec.add_field("date", MonthTransform(), "date_month")
        schema = table.schema().as_arrow()
        missing = [n for n in data.column_names if n not in schema.names]
        if missing or (pending and not _same_columns(pending[0].schema, data.schema)):
            write()
            if missing:
                with table.update_schema() as update:
                    update.union_by_name(data.schema)
        if month is not None and (day.year, day.month) != month:
            write()
        month = (day.year, day.month)
        pending.append(data)
    write()
    return table


def write_parquet(days: Iterable[tuple[dt.date, pa.Table]], target: Path) -> Path:
    """The same rows as one plain Parquet file: every column of every day, by name."""
    tables = [table for _, table in days]
    schema = pa.unify_schemas([t.schema for t in tables])
    conformed = [
        pa.table(
            {
                f.name: (
                    t.column(f.name) if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
                )
                for f in schema
            }
        )
        for t in tables
    ]
    pq.write_table(pa.concat_tables(conformed), target, row_group_size=5000)
    return target
